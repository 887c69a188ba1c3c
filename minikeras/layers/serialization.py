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
from ..core.serialization import names_builtin_class, serialize_keras_object
from ..engine.base_layer import Layer


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
    cls = None
    if names_builtin_class(config.get("module"), config.get("registered_name")):
        # tf.keras 2.13+: a built-in's current-form entry ignores custom_objects' same name
        cls = builtin_objects("layers").get(class_name)
    cls = cls or get_registered_object(config.get("registered_name") or class_name, custom_objects) \
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
            layer = cls.from_config(layer_config, custom_objects=custom_objects)
        else:
            layer = cls.from_config(layer_config)
    build_from_config(layer, config.get("build_config"))
    return layer


def build_from_config(layer, build_config):
    """tf.keras builds a deserialized layer from the `build_config` it was saved with (the
    layer a TimeDistributed wraps, say), so its weights exist before the first call, through
    the layer's `build_from_config` (a custom layer may override it). Models have their own
    rules (saving/)."""
    if not build_config or layer.built or hasattr(layer, "_is_graph_network"):
        return
    if type(layer).build_from_config is Layer.build_from_config and \
            build_config.get("input_shape") is None:
        return          # another library's entry (Keras 3's `shapes_dict`): built when called
    layer.build_from_config(build_config)