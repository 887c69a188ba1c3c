"""Optimizers with tf.keras 2.x (>= 2.11) defaults and update rules."""
from .base import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adam import Adam  # noqa: F401
from . import schedules  # noqa: F401
from ..utils.serialization import deserialize_object, serialize_keras_object

_BY_NAME = {"SGD": SGD, "Adam": Adam, "sgd": SGD, "adam": Adam}


def serialize(optimizer):
    return serialize_keras_object(optimizer, "keras.optimizers")


def deserialize(config, custom_objects=None):
    if isinstance(config, dict):
        name = config.get("class_name", "")
        lookup = {**_BY_NAME, **{k.lower(): v for k, v in _BY_NAME.items()}}
        cls = lookup.get(name) or lookup.get(name.lower()) or (custom_objects or {}).get(name)
        if cls is None:
            return deserialize_object(config, _BY_NAME, custom_objects, "optimizer")
        return cls.from_config(config.get("config", {}))
    return deserialize_object(config, _BY_NAME, custom_objects, "optimizer")


def get(identifier):
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        lookup = {k.lower(): v for k, v in _BY_NAME.items()}
        cls = lookup.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
