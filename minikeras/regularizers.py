"""Weight regularizers: penalties added to the training loss (`keras.regularizers`)."""
import math

import numpy as np

from . import ops
from .core import config
from .core.serialization import deserialize_object, serialize_keras_object
from .core.registry import register_builtins

register_builtins("regularizers", globals())   # names looked up by `deserialize_keras_object`


class Regularizer:
    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

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


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2
_BY_NAME = {"L1L2": L1L2, "L1": L1, "L2": L2, "l1": L1, "l2": L2, "l1_l2": l1_l2}


def serialize(regularizer):
    return serialize_keras_object(regularizer, "keras.regularizers")


def deserialize(config_, custom_objects=None):
    return deserialize_object(config_, _BY_NAME, custom_objects, "regularizer")


def get(identifier):
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        found = _BY_NAME.get(identifier)
        return found() if found is not None else deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier}")
