"""Layer normalization as one op: moments over some axes, normalise, scale and shift."""
import numpy as np

from ..backend.tensor import record
from .math import as_array


def layer_norm(x, gamma, beta, axes, epsilon, param_shape):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta`, moments over `axes` of each sample.

    `gamma` and `beta` (either may be None) are reshaped to `param_shape`, a shape that
    broadcasts against x (1 on the axes not normalised). The backward pass is the closed form
    `dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))`.
    """
    xd = as_array(x)
    axes = tuple(axes)
    mean = xd.mean(axis=axes, keepdims=True)
    centered = xd - mean
    variance = np.mean(centered * centered, axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(variance + np.asarray(epsilon, xd.dtype))
    normalized = centered * inv_std
    gamma_b = None if gamma is None else as_array(gamma).reshape(param_shape)
    beta_b = None if beta is None else as_array(beta).reshape(param_shape)
    out = normalized if gamma_b is None else normalized * gamma_b
    if beta_b is not None:
        out = out + beta_b
    param_axes = tuple(i for i in range(xd.ndim) if i not in axes)

    def backward(g, needs):
        gx = ggamma = gbeta = None
        if needs[0]:
            gnorm = g if gamma_b is None else g * gamma_b
            mean_g = gnorm.mean(axis=axes, keepdims=True)
            mean_gx = np.mean(gnorm * normalized, axis=axes, keepdims=True)
            gx = (gnorm - mean_g - normalized * mean_gx) * inv_std
        if gamma is not None and needs[1]:
            ggamma = np.sum(g * normalized, axis=param_axes).reshape(as_array(gamma).shape)
        if beta is not None and needs[2]:
            gbeta = np.sum(g, axis=param_axes).reshape(as_array(beta).shape)
        return gx, ggamma, gbeta
    return record(out, (x, gamma, beta), backward)
