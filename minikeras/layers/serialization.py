"""`keras.layers.serialize` / `keras.layers.deserialize` (tf.keras 2.x forms).

Example:
>>> config = serialize(Dense(2))
>>> config["class_name"], config["module"]
('Dense', 'keras.layers')
>>> deserialize(config).units
2
"""
from ..utils.serialization import serialize_keras_object


def serialize(layer):
    """`{"module", "class_name", "config", "registered_name"}` of a layer (or model)."""
    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A layer, or a Sequential/functional model, from its serialized form. Lambda layers
    follow safe mode: no Python bytecode and no function a config names is loaded unless it
    is registered or in `custom_objects`."""
    # Models live above layers (models/ and saving/ import layers), hence the late import.
    from ..saving.serialization import deserialize_layer
    return deserialize_layer(config, custom_objects)
