"""Storing Lambda functions in configs without ever executing untrusted code by default.

A stored function is one of:
- tf.keras 2.x: `function_type="lambda"` with `(base64 marshal bytecode, defaults, closure)`
  (tf.keras writes every Python function so), or `function_type="function"` with a name (and
  `module`) for other callables;
- Keras 3 (no type key): `{"class_name": "__lambda__", "config": {"code", "defaults",
  "closure"}}`, or a named function as `{"class_name": "function", "config": name, "module"}`.

In safe mode (the default) a file can only name functions the user vouched for (`custom_objects`,
the registry) or minikeras' own functions; no module a file names is ever imported and no
bytecode is run. `safe_mode=False` allows both, as Keras does.

Two exceptions, where tf.keras 2 reads Lambdas without safe mode: a legacy `.h5` model file runs
its Lambda bytecode whatever `safe_mode` says (tf.keras' safe mode covers `.keras` files and
`model_from_json` only; see `legacy_h5_bytecode`), and `clone_model` loads bytecode this process
wrote itself (code already running here).
"""
import base64
import binascii
import contextlib
import importlib
import json
import marshal
import sys
import threading
import types

from ...core.registry import get_registered_object

_PACKAGE = __name__.split(".")[0]


def _keys(key):
    """Config keys of a stored callable: tf.keras uses `function`, `function_type`, `module`
    for the function and `<key>`, `<key>_type`, `<key>_module` for output_shape and mask."""
    if key == "function":
        return "function_type", "module"
    return f"{key}_type", f"{key}_module"


def serialize_function(function, key, by_name=False):
    """tf.keras 2 stores every Python function as marshalled bytecode, named `def`s included:
    `[base64 code, defaults, closure]` with `<key>_type: "lambda"`; other callables (builtins,
    NumPy ufuncs) by name. `by_name=True` keeps a named module-level function by name, as
    Keras 3 (`.keras` files) does."""
    type_key, module_key = _keys(key)
    # a Keras function wrapped for symbolic calls is stored as the function itself
    function = getattr(function, "__wrapped_keras_function__", function)
    is_python_function = isinstance(function, types.FunctionType)
    named = is_python_function and function.__name__ != "<lambda>" and not function.__closure__
    if is_python_function and not (by_name and named):
        raw = marshal.dumps(function.__code__)
        code = base64.encodebytes(raw).decode("ascii")   # newline every 76 chars, as tf.keras
        defaults = function.__defaults__
        closure = tuple(_closure_value(c.cell_contents) for c in function.__closure__) \
            if function.__closure__ else None
        _WRITTEN_HERE.add(_stored_form(code, defaults, closure))
        return {key: (code, defaults, closure), type_key: "lambda", module_key: function.__module__}
    return {key: function.__name__, type_key: "function",
            module_key: getattr(function, "__module__", None)}


# The stored forms of the functions this process serialized (see the module docstring).
_WRITTEN_HERE = set()
_trust = threading.local()


def _stored_form(code, defaults, closure):
    """One string per stored function; a JSON round trip (tuples into lists) keeps it."""
    return json.dumps([code, defaults, closure], default=repr)


@contextlib.contextmanager
def trusting_functions_written_here():
    """Within the block, safe mode lets through bytecode this process serialized."""
    previous = getattr(_trust, "on", False)
    _trust.on = True
    try:
        yield
    finally:
        _trust.on = previous


def forget_functions_written_here():
    """From now on, files this process wrote so far count as another's (for tests)."""
    _WRITTEN_HERE.clear()


def _written_here(code, defaults, closure):
    if not getattr(_trust, "on", False):
        return False
    try:
        return _stored_form(code, defaults, closure) in _WRITTEN_HERE
    except (TypeError, ValueError):
        return False


def _closure_value(value):
    """A module captured by a closure is written as tf.keras writes it (by name)."""
    if isinstance(value, types.ModuleType):
        return {"module": "builtins", "class_name": "module", "config": value.__name__,
                "registered_name": "module"}
    return value


# Modules of tf.keras / Keras that a stored closure may name, and their minikeras equivalents.
_MODULE_ALIASES = (("tf_keras.", "minikeras."), ("tensorflow.keras.", "minikeras."),
                   ("keras.", "minikeras."), ("tf_keras", "minikeras"), ("keras", "minikeras"))


def _restore_closure_value(value):
    if isinstance(value, dict) and value.get("class_name") == "module":
        name = value.get("config") or ""
        for prefix, replacement in _MODULE_ALIASES:
            if name == prefix or name.startswith(prefix):
                name = replacement + name[len(prefix):]
                break
        return importlib.import_module(name)
    return value


# tf.keras' words for refusing bytecode in safe mode.
BYTECODE_REFUSED = (
    "Requested the deserialization of a Lambda layer with a Python `lambda` inside it. This "
    "carries a potential risk of arbitrary code execution and thus it is disallowed by default. "
    "If you trust the source of the saved model, you can pass `safe_mode=False` to the loading "
    "function in order to allow Lambda layer loading.")


def deserialize_function(config, key, custom_objects=None, safe_mode=True):
    """The callable stored under `config[key]` (see the module docstring for the forms)."""
    type_key, module_key = _keys(key)
    value = config.get(key)
    kind = config.get(type_key)
    module = config.get(module_key)
    if isinstance(value, dict) and kind is None:          # Keras 3
        if value.get("class_name") == "__lambda__" and isinstance(value.get("config"), dict):
            if safe_mode:       # Keras 3 refuses its bytecode in safe mode, in .h5 files too
                raise ValueError(BYTECODE_REFUSED)
            inner = value["config"]
            return _load_bytecode((inner.get("code"), inner.get("defaults"), inner.get("closure")),
                                  module, custom_objects, safe_mode)
        if value.get("class_name") == "function":
            # Keras 3 names the function in `config` (its registered_name is "function").
            name = value.get("config") if isinstance(value.get("config"), str) \
                else value.get("registered_name")
            return _named_function(name, value.get("module"), key, custom_objects, safe_mode)
        raise ValueError(f"Unknown stored function for the Lambda layer's `{key}`: {value!r}")
    if kind is None:      # tf.keras always writes the type; infer it only from the value's form
        kind = "function" if isinstance(value, str) else "lambda"
    if kind == "function":
        return _named_function(value, module, key, custom_objects, safe_mode)
    if kind == "lambda":
        return _load_bytecode(value, module, custom_objects, safe_mode)
    raise ValueError(f"Unknown function type for the Lambda layer's `{key}`: {kind!r}. Expected "
                     "'function' or 'lambda'.")


def _named_function(name, module, key, custom_objects, safe_mode):
    if not isinstance(name, str):
        raise ValueError(f"A Lambda layer's `{key}` stored by name must be a string, received "
                         f"{type(name).__name__}: {name!r}.")
    found = get_registered_object(name, custom_objects)
    if found is not None:
        return found
    module = module if isinstance(module, str) else ""
    builtin = _minikeras_function(name, module)
    if builtin is not None:
        return builtin
    if safe_mode:
        raise ValueError(
            f"Refusing to load the function '{name}' of a `Lambda` layer from module "
            f"'{module}' in safe mode: loading it could import and run arbitrary code. Pass the "
            "function in `custom_objects`, register it with "
            "`keras.utils.register_keras_serializable`, or pass `safe_mode=False` if you trust "
            "the source of the file.")
    if module:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            pass
    raise ValueError(f"Unknown function: '{name}' (Lambda layer {key}). Pass it in "
                     "`custom_objects`.")


def _minikeras_function(name, module):
    """A function defined by minikeras itself, from one of its already imported modules
    (nothing is imported: a name can only reach code minikeras already loaded)."""
    if module != _PACKAGE and not module.startswith(_PACKAGE + "."):
        return None
    found = getattr(sys.modules.get(module), name, None)
    defined_in = getattr(found, "__module__", None) or ""
    if isinstance(found, (types.FunctionType, types.BuiltinFunctionType)) and \
            (defined_in == _PACKAGE or defined_in.startswith(_PACKAGE + ".")):
        return found
    return None


class _LegacyH5(threading.local):
    loading = False


_legacy_h5 = _LegacyH5()


@contextlib.contextmanager
def legacy_h5_bytecode():
    """While a legacy `.h5` model file is read: tf.keras 2's Lambda bytecode (`function_type:
    "lambda"`) runs even in safe mode, as tf.keras 2.x loads such files (its safe mode does not
    reach the `.h5` reader). Keras 3's form (`__lambda__`) still needs safe mode off, as in
    Keras 3; named functions never import a module the file names unless safe mode is off."""
    previous = _legacy_h5.loading
    _legacy_h5.loading = True
    try:
        yield
    finally:
        _legacy_h5.loading = previous


def _load_bytecode(value, module, custom_objects, safe_mode):
    if isinstance(value, (list, tuple)):
        code, defaults, closure = (list(value) + [None, None])[:3]
    else:
        code, defaults, closure = value, None, None
    if safe_mode and not _legacy_h5.loading and not _written_here(code, defaults, closure):
        raise ValueError(BYTECODE_REFUSED)
    try:
        raw = base64.b64decode(code.encode("ascii") if isinstance(code, str) else code)
        function_code = marshal.loads(raw)
    except (TypeError, ValueError, EOFError, binascii.Error) as error:
        raise ValueError(f"The Lambda layer's stored bytecode cannot be read: {error}") from None
    if not isinstance(function_code, types.CodeType):
        raise ValueError("The Lambda layer's stored bytecode is not a code object.")
    if closure:
        closure = tuple(types.CellType(_restore_closure_value(c)) for c in closure)
    # Names the code uses resolve in the module it was written in when that module is loaded,
    # then in custom_objects (as tf.keras does), e.g. `K` in `lambda x: K.relu(x)`.
    namespace = dict(globals())
    loaded = sys.modules.get(module) if isinstance(module, str) else None
    if loaded is not None:
        namespace.update(loaded.__dict__)
    namespace.update(custom_objects or {})
    try:
        return types.FunctionType(function_code, namespace,
                                  argdefs=tuple(defaults) if defaults else None, closure=closure)
    except (TypeError, ValueError) as error:
        raise ValueError(f"The Lambda layer's stored function cannot be rebuilt: {error}") \
            from None
