"""Resolving Keras identifiers (a name, a config dict or an object) to objects, through the
registry (custom objects first, then the built-ins the public modules registered)."""
import numpy as np

from .registry import _GLOBAL_CUSTOM_NAMES, builtin_objects, get_registered_name, get_registered_object


# Public Keras modules of minikeras' objects, for `serialize_keras_object(obj)`.
_PUBLIC_MODULES = ("layers", "initializers", "regularizers", "constraints", "losses", "metrics",
                   "optimizers", "activations")


def _public_module(obj):
    parts = type(obj).__module__.split(".")
    if parts[0] == "minikeras" and len(parts) > 1:
        if parts[1] == "optimizers" and len(parts) > 2 and parts[2] == "schedules":
            return "keras.optimizers.schedules"
        if parts[1] in _PUBLIC_MODULES:
            return f"keras.{parts[1]}"
        if parts[1] == "engine":
            return "keras"
    return type(obj).__module__


def serialize_keras_object(obj, module=None):
    """The tf.keras 2.x form: `{'module', 'class_name', 'config', 'registered_name'}`; a
    function becomes its (registered) name.

    Example:
    >>> serialize_keras_object(keras.initializers.Zeros())["class_name"]
    'Zeros'
    """
    if obj is None:
        return None
    if not hasattr(obj, "get_config"):
        if callable(obj):
            return get_registered_name(obj)
        raise ValueError(f"Cannot serialize {obj!r} since it doesn't implement `get_config()`.")
    module = module or _public_module(obj)
    registered = _GLOBAL_CUSTOM_NAMES.get(type(obj))
    entry = {"module": module if registered is None else None,
             "class_name": type(obj).__name__ if registered is None else registered,
             "config": _functions_by_name(obj.get_config()), "registered_name": registered}
    build_shape = getattr(obj, "_build_input_shape", None) if getattr(obj, "built", False) \
        else None
    if overrides_build_config(obj) and getattr(obj, "built", False):
        build_config = obj.get_build_config()
        if build_config is not None:
            entry["build_config"] = build_config
    elif build_shape is not None:     # a built layer, as tf.keras 2.13+ writes it
        entry["build_config"] = {"input_shape": _plain_shape(build_shape)}
    return entry


def overrides_build_config(obj, method_name="get_build_config"):
    """Whether a user's class overrides `get_build_config` (files keep what it returns) or
    `build_from_config` (loading hands it the saved build config)."""
    method = getattr(type(obj), method_name, None)
    return method is not None and not method.__module__.startswith("minikeras.")


def _plain_shape(shape):
    """A shape (or nested shapes) as JSON lists of ints and None."""
    if isinstance(shape, (list, tuple)):
        return [_plain_shape(d) for d in shape]
    return None if shape is None else int(shape)


def _functions_by_name(config):
    """Functions inside a config (e.g. a metric wrapper's `fn`) are stored by their
    (registered) name, as tf.keras does, so that the config is plain JSON."""
    import types
    if not isinstance(config, dict):
        return config
    return {key: get_registered_name(value)
            if isinstance(value, (types.FunctionType, types.BuiltinFunctionType))
            else _python_numbers(value) for key, value in config.items()}


def _python_numbers(value):
    """NumPy scalars (an optimizer's float32 learning rate) as Python numbers, in nested
    lists and dicts too, as tf.keras' serialize_keras_object writes them."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: _python_numbers(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_python_numbers(item) for item in value)
    return value


def serialize_object(obj):
    """`{'class_name': ..., 'config': ...}` for objects with get_config, the name otherwise."""
    if obj is None:
        return None
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    return getattr(obj, "__name__", obj)


class UnknownClassError(TypeError):
    """tf.keras 2.13+'s TypeError for a config naming a class it cannot find (a loader's
    deliberate error: file loaders let it through unchanged)."""


def unknown_object_message(kind, name):
    """tf.keras 2's words for a name it cannot find (a kernel's custom loss, metric or layer
    missing from `custom_objects`)."""
    return (f"Unknown {kind}: '{name}'. Please ensure you are using a "
            "`keras.utils.custom_object_scope` and that this object is included in the scope. "
            "See https://www.tensorflow.org/guide/keras/save_and_serialize"
            "#registering_the_custom_object for details.")


def names_builtin_class(module, registered_name):
    """tf.keras 2.13+'s rule for an entry of its current form: a `"module": "keras..."`
    entry without a registered name is the built-in class, whatever `custom_objects` says
    (`custom_objects={"Dense": MyDense}` replaces Dense only in legacy `.h5` entries)."""
    return isinstance(module, str) and (module == "keras" or module.startswith("keras.")) \
        and not registered_name


def _keras3_function_name(identifier):
    """Keras 3 writes a function as `{"module": "builtins", "class_name": "function",
    "config": "package>name", "registered_name": "function"}`: the name to look up is in
    `config` (None for any other identifier)."""
    if isinstance(identifier, dict) and identifier.get("class_name") == "function" and \
            isinstance(identifier.get("config"), str):
        return identifier["config"]
    return None


def deserialize_object(identifier, module_objects, custom_objects=None, kind="object"):
    identifier = _keras3_function_name(identifier) or identifier
    if isinstance(identifier, dict):
        class_name = identifier.get("class_name")
        config = identifier.get("config", {})
        cls = _lookup(class_name, module_objects, custom_objects, get_registered_object)
        if cls is None:
            raise ValueError(unknown_object_message(kind, class_name))
        if hasattr(cls, "from_config"):
            return cls.from_config(config)
        return cls(**config)
    if isinstance(identifier, str):
        obj = _lookup(identifier, module_objects, custom_objects, get_registered_object)
        if obj is None:
            raise ValueError(unknown_object_message(kind, identifier))
        return obj
    return identifier


def deserialize_by_name(identifier, module_objects, custom_objects=None, kind="object"):
    """`deserialize_object`, then an instance for a class given by name: tf.keras'
    `losses/initializers/regularizers/constraints.deserialize("Name")` instantiate it with
    no arguments (a function found by name comes back as it is)."""
    obj = deserialize_object(identifier, module_objects, custom_objects, kind)
    return obj() if isinstance(identifier, str) and isinstance(obj, type) else obj


def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name="object"):
    """The object for a name or `{'class_name', 'config'}`: from `custom_objects`, the
    registry, `module_objects` or (by default) minikeras' public modules."""
    if module_objects is None:
        module_objects = _public_objects(identifier)
    return deserialize_object(identifier, module_objects, custom_objects, printable_module_name)


def _public_objects(identifier):
    names = _PUBLIC_MODULES
    if isinstance(identifier, dict) and str(identifier.get("module", "")).startswith("keras."):
        wanted = identifier["module"].split(".")[1]
        names = (wanted,) + tuple(n for n in _PUBLIC_MODULES if n != wanted)
    found = {}
    for name in reversed(names):        # earlier modules win
        found.update(builtin_objects(name))
    return found


def _lookup(name, module_objects, custom_objects, registry_lookup):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    registered = registry_lookup(name, custom_objects)
    if registered is not None:
        return registered
    if isinstance(name, str) and name.startswith("Custom>"):
        # tf.keras registers its built-in optimizers as `Custom>Adam` and writes that name
        name = name[len("Custom>"):]
    return module_objects.get(name)
