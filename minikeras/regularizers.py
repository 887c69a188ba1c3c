"""Weight regularizers: penalties added to the training loss (`keras.regularizers`)."""
import math

import numpy as np

from . import ops
from .core import config
from .core.serialization import deserialize_by_name, serialize_keras_object
from .core.registry import custom_object_instance, register_builtins

register_builtins("regularizers", globals())   # names looked up by `deserialize_keras_object`


class Regularizer:
    def __call__(self, x):
        return 0.0

    def get_config(self):
        # as tf.keras: a subclass saved in a model file (or cloned) must define its own
        raise NotImplementedError(f"{self} does not implement get_config()")

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)


def _check_penalty_number(x):
    if not isinstance(x, (float, int, np.floating, np.integer)) or isinstance(x, bool):
        raise ValueError(f"Value {x} is not a valid regularization penalty number, "
                         "expected an int or a float value.")
    if math.isinf(x) or math.isnan(x):
        raise ValueError(f"Value {x} is not a valid regularization penalty number, "
                         "an infinite number or NaN are not valid values.")


def _penalty(x, default):
    """tf.keras validates the penalty and casts it to floatx (configs show the rounded value)."""
    x = default if x is None else x
    _check_penalty_number(x)
    return float(np.asarray(x, dtype=config.floatx()))


class L1L2(Regularizer):
    """`l1 * sum(|x|) + l2 * sum(x**2)`."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _penalty(l1, 0.0)
        self.l2 = _penalty(l2, 0.0)

    def __call__(self, x):
        dtype = ops.as_array(x).dtype
        penalty = None
        if self.l1:
            penalty = ops.multiply(np.asarray(self.l1, dtype), ops.sum(ops.abs(x)))
        if self.l2:
            term = ops.multiply(np.asarray(self.l2, dtype), ops.sum(ops.square(x)))
            penalty = term if penalty is None else ops.add(penalty, term)
        if penalty is None:
            return ops.convert_to_tensor(np.zeros((), dtype))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01, **kwargs):
        l1 = kwargs.pop("l", l1)  # backwards compatibility, as tf.keras
        if kwargs:
            raise TypeError(f"Argument(s) not recognized: {kwargs}")
        super().__init__(l1=_penalty(l1, 0.01))

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01, **kwargs):
        l2 = kwargs.pop("l", l2)  # backwards compatibility, as tf.keras
        if kwargs:
            raise TypeError(f"Argument(s) not recognized: {kwargs}")
        super().__init__(l2=_penalty(l2, 0.01))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2-D weight towards orthogonality:
    `factor * 0.5 * sum(|off-diagonal of n n^T|) / (pairs)`, `n` the L2-normalised rows."""

    def __init__(self, factor=0.01, mode="rows"):
        _check_penalty_number(factor)
        self.factor = float(np.asarray(factor, dtype=config.floatx()))
        if mode not in {"rows", "columns"}:
            raise ValueError('Invalid value for argument `mode`. Expected one of {"rows", '
                             f'"columns"}}. Received: mode={mode}')
        self.mode = mode

    def __call__(self, x):
        shape = tuple(ops.as_array(x).shape)
        if len(shape) != 2:
            raise ValueError("Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape == {shape}")
        dtype = ops.as_array(x).dtype
        if self.mode == "rows":
            normed = ops.l2_normalize(x, axis=1)
            product, size = ops.matmul(normed, ops.transpose(normed)), shape[0]
        else:
            normed = ops.l2_normalize(x, axis=0)
            product, size = ops.matmul(ops.transpose(normed), normed), shape[1]
        off_diagonal = ops.multiply(product, (1 - np.eye(size)).astype(dtype))
        pairs = size * (size - 1.0) / 2.0
        return ops.multiply(np.asarray(self.factor * 0.5 / pairs, dtype),
                            ops.sum(ops.abs(off_diagonal)))

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2
orthogonal_regularizer = OrthogonalRegularizer
_BY_NAME = {"L1L2": L1L2, "L1": L1, "L2": L2, "l1": L1, "l2": L2, "l1_l2": l1_l2,
            "OrthogonalRegularizer": OrthogonalRegularizer,
            "orthogonal_regularizer": OrthogonalRegularizer}


def serialize(regularizer):
    return serialize_keras_object(regularizer, "keras.regularizers")


def deserialize(config_, custom_objects=None):
    if config_ == "l1_l2":
        return L1L2(l1=0.01, l2=0.01)   # tf.keras' special case: the class, not the function
    return deserialize_by_name(config_, _BY_NAME, custom_objects, "regularizer")


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
    raise ValueError(f"Could not interpret regularizer identifier: {identifier}")

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from .core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ())
