"""Resolving Keras identifiers (a name, a config dict or an object) to objects."""


def serialize_keras_object(obj, module):
    """The tf.keras 2.x form: `{'module', 'class_name', 'config', 'registered_name'}`."""
    if obj is None:
        return None
    from ..saving.registry import _GLOBAL_CUSTOM_NAMES
    registered = _GLOBAL_CUSTOM_NAMES.get(type(obj))
    return {"module": module if registered is None else None,
            "class_name": type(obj).__name__ if registered is None else registered,
            "config": _functions_by_name(obj.get_config()), "registered_name": registered}


def _functions_by_name(config):
    """Functions inside a config (e.g. a metric wrapper's `fn`) are stored by their
    (registered) name, as tf.keras does, so that the config is plain JSON."""
    import types
    from ..saving.registry import get_registered_name
    if not isinstance(config, dict):
        return config
    return {key: get_registered_name(value)
            if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)) else value
            for key, value in config.items()}


def serialize_object(obj):
    """`{'class_name': ..., 'config': ...}` for objects with get_config, the name otherwise."""
    if obj is None:
        return None
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    return getattr(obj, "__name__", obj)


def deserialize_object(identifier, module_objects, custom_objects=None, kind="object"):
    from ..saving.registry import get_registered_object
    if isinstance(identifier, dict):
        class_name = identifier.get("class_name")
        config = identifier.get("config", {})
        cls = _lookup(class_name, module_objects, custom_objects, get_registered_object)
        if cls is None:
            raise ValueError(f"Unknown {kind}: '{class_name}'. Please ensure you are using a "
                             "`keras.utils.custom_object_scope` and that this object is included "
                             "in the scope. See https://www.tensorflow.org/guide/keras/save_and_"
                             "serialize#registering_the_custom_object for details.")
        if hasattr(cls, "from_config"):
            return cls.from_config(config)
        return cls(**config)
    if isinstance(identifier, str):
        obj = _lookup(identifier, module_objects, custom_objects, get_registered_object)
        if obj is None:
            raise ValueError(f"Unknown {kind}: '{identifier}'. Please ensure you are using a "
                             "`keras.utils.custom_object_scope` and that this object is included "
                             "in the scope. See https://www.tensorflow.org/guide/keras/save_and_"
                             "serialize#registering_the_custom_object for details.")
        return obj
    return identifier


def _lookup(name, module_objects, custom_objects, registry_lookup):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    registered = registry_lookup(name, custom_objects)
    if registered is not None:
        return registered
    return module_objects.get(name)
