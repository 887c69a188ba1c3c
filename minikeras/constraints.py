"""Weight constraints, applied after each optimizer update (`keras.constraints`)."""
import numpy as np

from .core import config
from .core.tensor import as_array
from .core.serialization import deserialize_by_name, serialize_keras_object
from .core.registry import custom_object_instance, register_builtins

register_builtins("constraints", globals())   # names looked up by `deserialize_keras_object`


class Constraint:
    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)


def _norms(w, axis):
    if isinstance(axis, list):  # Keras accepts a list of axes
        axis = tuple(axis)
    for a in (axis if isinstance(axis, tuple) else (axis,)):
        if a is not None and not -w.ndim <= a < w.ndim:
            raise ValueError(f"Invalid reduction dimension ({a} for a weight with {w.ndim} "
                             f"dimension(s)): the constraint's `axis` must be in "
                             f"[-{w.ndim}, {w.ndim}). Received: axis={axis}")
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescale so that the norm over `axis` is at most `max_value`."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = as_array(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (config.epsilon() + norms))).astype(w.dtype)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    def __call__(self, w):
        w = as_array(w)
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = as_array(w)
        return (w / (config.epsilon() + _norms(w, self.axis))).astype(w.dtype)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = as_array(w)
        norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return (w * (desired / (config.epsilon() + norms))).astype(w.dtype)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class RadialConstraint(Constraint):
    """Makes each 2-D slice `w[:, :, i, j]` of a square Conv2D kernel constant on rings around
    its centre, with tf.keras' choice of values: the centre (1x1 for odd sizes, 2x2 for even)
    takes the cell just above-left of the middle, `w[k//2 - 1, k//2 - 1]`, and the r-th ring
    around it the diagonal cell `w[k//2 + r - 1, k//2 + r - 1]` (odd k) or
    `w[k//2 + r, k//2 + r]` (even k).

    Example:

        keras.layers.Conv2D(8, 5, kernel_constraint=keras.constraints.RadialConstraint())
    """

    def __call__(self, w):
        w = as_array(w)
        if w.ndim != 4:
            raise ValueError("The weight tensor must have rank 4. Received weight tensor with "
                             f"shape: {w.shape}")
        height, width = w.shape[:2]
        if height != width or height < 2:
            raise ValueError("RadialConstraint needs a square kernel of at least 2x2 cells "
                             f"(rows, cols, input_depth, output_depth). Received shape: {w.shape}")
        middle = height // 2
        centre = 1 if height % 2 else 2
        # (square size, source cell) from the outermost ring in; each square overwrites the
        # inside of the previous one, so what remains of it is its ring
        squares = [(centre + 2 * r, middle + r - (height % 2)) for r in range(middle, 0, -1)
                   if centre + 2 * r <= height]
        squares.append((centre, middle - 1))
        out = np.empty_like(w)
        for size, source in squares:
            start = (height - size) // 2
            out[start:start + size, start:start + size] = w[source, source]
        return out


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
radial_constraint = RadialConstraint
maxnorm, nonneg, unitnorm = MaxNorm, NonNeg, UnitNorm   # Keras 1/2 names tf.keras keeps
_BY_NAME = {"MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm,
            "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
            "min_max_norm": MinMaxNorm, "maxnorm": MaxNorm, "nonneg": NonNeg,
            "unitnorm": UnitNorm, "RadialConstraint": RadialConstraint,
            "radial_constraint": RadialConstraint}


def serialize(constraint):
    return serialize_keras_object(constraint, "keras.constraints")


def deserialize(config_, custom_objects=None):
    return deserialize_by_name(config_, _BY_NAME, custom_objects, "constraint")


def get(identifier):
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        # a custom object shadows a built-in name, as in tf.keras
        custom = custom_object_instance(identifier)
        if custom is not None:
            return custom
        found = _BY_NAME.get(identifier)
        return found() if found is not None else deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier}")

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from .core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ())
