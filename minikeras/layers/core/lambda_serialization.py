"""Storing Lambda functions in configs without ever executing untrusted code by default."""
import base64
import marshal
import sys
import types
from ...core.registry import get_registered_object


def _keys(key):
    """Config keys of a stored callable: tf.keras uses `function`, `function_type`, `module`
    for the function and `<key>`, `<key>_type`, `<key>_module` for output_shape and mask."""
    if key == "function":
        return "function_type", "module"
    return f"{key}_type", f"{key}_module"


def serialize_function(function, key):
    """Named module-level functions are stored by name; lambdas as bytecode (Keras' format)."""
    type_key, module_key = _keys(key)
    if isinstance(function, types.LambdaType) and function.__name__ == "<lambda>" or \
            getattr(function, "__closure__", None):
        raw = marshal.dumps(function.__code__)
        code = base64.b64encode(raw).decode("ascii")
        defaults = function.__defaults__
        closure = tuple(c.cell_contents for c in function.__closure__) if function.__closure__ else None
        return {key: (code, defaults, closure), type_key: "lambda", module_key: function.__module__}
    return {key: function.__name__, type_key: "function", module_key: function.__module__}


def deserialize_function(config, key, custom_objects=None, safe_mode=True):
    type_key, module_key = _keys(key)
    kind = config.get(type_key, "function")
    value = config[key]
    if kind == "function":
        if custom_objects and value in custom_objects:
            return custom_objects[value]
        found = get_registered_object(value, custom_objects)
        if found is not None:
            return found
        import importlib
        module = config.get(module_key)
        if module:
            try:
                return getattr(importlib.import_module(module), value)
            except (ImportError, AttributeError):
                pass
        raise ValueError(f"Unknown function: '{value}' (Lambda layer {key}). Pass it in "
                         "`custom_objects`.")
    if safe_mode:
        raise ValueError(
            "Requested the deserialization of a `Lambda` layer whose function was stored as "
            "Python bytecode. This carries a potential risk of arbitrary code execution and thus "
            "it is disallowed by default. If you trust the source of the saved model, you can "
            "pass `safe_mode=False` to the loading function in order to allow `Lambda` layer "
            "loading.")
    if isinstance(value, (list, tuple)):
        code, defaults, closure = (list(value) + [None, None])[:3]
    else:
        code, defaults, closure = value, None, None
    raw = base64.b64decode(code.encode("ascii") if isinstance(code, str) else code)
    function_code = marshal.loads(raw)
    if closure:
        closure = tuple(types.CellType(c) for c in closure)
    # Names the code uses resolve in the module it was written in when that module is loaded,
    # then in custom_objects (as tf.keras does), e.g. `K` in `lambda x: K.relu(x)`.
    namespace = dict(globals())
    module = sys.modules.get(config.get(module_key) or "")
    if module is not None:
        namespace.update(module.__dict__)
    namespace.update(custom_objects or {})
    return types.FunctionType(function_code, namespace, argdefs=tuple(defaults) if defaults else None,
                              closure=closure)
