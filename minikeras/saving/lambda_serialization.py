"""Storing Lambda functions in configs without ever executing untrusted code by default."""
import base64
import marshal
import types


def serialize_function(function, key):
    """Named module-level functions are stored by name; lambdas as bytecode (Keras' format)."""
    if isinstance(function, types.LambdaType) and function.__name__ == "<lambda>" or \
            getattr(function, "__closure__", None):
        raw = marshal.dumps(function.__code__)
        code = base64.b64encode(raw).decode("ascii")
        defaults = function.__defaults__
        closure = tuple(c.cell_contents for c in function.__closure__) if function.__closure__ else None
        return {key: (code, defaults, closure), f"{key}_type" if key != "function" else "function_type": "lambda",
                "module": function.__module__}
    return {key: function.__name__, f"{key}_type" if key != "function" else "function_type": "function",
            "module": function.__module__}


def deserialize_function(config, key, custom_objects=None, safe_mode=True):
    type_key = "function_type" if key == "function" else f"{key}_type"
    kind = config.get(type_key, "function")
    value = config[key]
    if kind == "function":
        if custom_objects and value in custom_objects:
            return custom_objects[value]
        from .registry import get_registered_object
        found = get_registered_object(value, custom_objects)
        if found is not None:
            return found
        import importlib
        module = config.get("module")
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
    return types.FunctionType(function_code, globals(), argdefs=tuple(defaults) if defaults else None,
                              closure=closure)
