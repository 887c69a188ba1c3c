"""Nested layers in the configs of RNN, StackedRNNCells and the wrappers.

tf.keras 2.x writes a nested layer as `{"module", "class_name", "config", "registered_name"}`
and reads either that or the older `{"class_name", "config"}`; classes are found through the
registry (custom objects first, then the built-in layers).
"""
from ...core.registry import builtin_objects
from ...core.serialization import deserialize_keras_object, serialize_keras_object


def serialize_layer(layer):
    return serialize_keras_object(layer)


def deserialize_layer(config, custom_objects=None):
    return deserialize_keras_object(config, builtin_objects("layers"), custom_objects, "layer")
