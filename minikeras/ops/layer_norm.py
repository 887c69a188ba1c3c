"""Layer normalization as one op: moments over some axes, normalise, scale and shift."""
import numpy as np

from ..core.tensor import record
from ..core.tensor import as_array


def layer_norm(x, gamma, beta, axes, epsilon, param_shape):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta`, moments over `axes` of each sample.

    `gamma` and `beta` (either may be None) are reshaped to `param_shape`, a shape that
    broadcasts against x (1 on the axes not normalised). The backward pass is the closed form
    `dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))`, `dxhat = g * gamma`.
    """
    xd = as_array(x)
    axes = tuple(axes)
    normalized = xd - xd.mean(axis=axes, keepdims=True)
    variance = np.mean(np.square(normalized), axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(variance + np.asarray(epsilon, xd.dtype))
    normalized *= inv_std                      # in place: the centred copy is not needed again
    gamma_b = None if gamma is None else as_array(gamma).reshape(param_shape)
    beta_b = None if beta is None else as_array(beta).reshape(param_shape)
    out = normalized if gamma_b is None else normalized * gamma_b
    if beta_b is not None:
        out = out + beta_b if out is normalized else np.add(out, beta_b, out=out)
    batch_axes = tuple(i for i in range(xd.ndim) if i not in axes)

    def backward(g, needs):
        g_times_norm = g * normalized
        ggamma = gbeta = gx = None
        if gamma is not None and needs[1]:
            ggamma = np.sum(g_times_norm, axis=batch_axes).reshape(as_array(gamma).shape)
        if beta is not None and needs[2]:
            gbeta = np.sum(g, axis=batch_axes).reshape(as_array(beta).shape)
        if needs[0]:
            if gamma_b is not None:
                g_times_norm *= gamma_b            # now dxhat * xhat
            gx = g * gamma_b if gamma_b is not None else g.copy()   # dxhat
            mean_dxhat_xhat = np.mean(g_times_norm, axis=axes, keepdims=True)
            gx -= gx.mean(axis=axes, keepdims=True)
            gx -= normalized * mean_dxhat_xhat
            gx *= inv_std
        return gx, ggamma, gbeta
    return record(out, (x, gamma, beta), backward)
