"""`keras.layers.serialize` / `keras.layers.deserialize` (tf.keras 2.x forms).

Example:
>>> config = serialize(keras.layers.Dense(2))
>>> config["class_name"], config["module"]
('Dense', 'keras.layers')
>>> deserialize(config).units
2
"""
import inspect

from ..core.registry import builtin_objects, custom_object_scope, get_registered_object
from ..core.serialization import serialize_keras_object


def serialize(layer):
    """`{"module", "class_name", "config", "registered_name"}` of a layer (or model)."""
    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A layer, or a Sequential/functional model (models register themselves among the
    layers), from its serialized form. Lambda layers stay in safe mode: no Python bytecode and
    no function a config names is loaded unless registered or in `custom_objects`."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Improper config format for a layer: {config!r}. Expecting a dict with "
                         "'class_name' and 'config' keys.")
    class_name = config["class_name"]
    cls = get_registered_object(config.get("registered_name") or class_name, custom_objects) \
        or builtin_objects("layers").get(class_name)
    if not isinstance(cls, type) or not hasattr(cls, "from_config"):
        raise ValueError(
            f"Unknown layer: '{class_name}'. Please ensure you are using a "
            "`keras.utils.custom_object_scope` and that this object is included in the scope. "
            "See https://www.tensorflow.org/guide/keras/save_and_serialize"
            "#registering_the_custom_object for details.")
    layer_config = config.get("config", {})
    with custom_object_scope(custom_objects or {}):
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            return cls.from_config(layer_config, custom_objects=custom_objects)
        return cls.from_config(layer_config)
