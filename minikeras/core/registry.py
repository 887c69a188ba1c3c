"""The one registry of names: custom objects (`register_keras_serializable`,
`custom_object_scope`) and the built-in objects of each public Keras module (`keras.layers`,
`keras.losses`, ...), which those modules register when imported, so that looking a name up never
imports or scans a higher floor."""
import threading

_GLOBAL_CUSTOM_OBJECTS = {}
_GLOBAL_CUSTOM_NAMES = {}


class _Scope(threading.local):
    def __init__(self):
        self.stack = []


_scope = _Scope()


def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a class or function loadable by name as `package>name`."""
    def decorator(obj):
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        registered_name = f"{package}>{name or obj.__name__}"
        # tf.keras 2.x lets a later class take the name over (a notebook cell run twice);
        # Keras 3 raises here.
        _GLOBAL_CUSTOM_OBJECTS[registered_name] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered_name
        return obj
    return decorator


def get_registered_name(obj):
    """`package>name` for registered objects, the plain `__name__` otherwise."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", None))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object for `name`: from the active custom object scopes, the registry,
    `custom_objects`, then `module_objects` (None when unknown)."""
    for scope in reversed(_scope.stack):
        if name in scope:
            return scope[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    # `Custom>MyLayer` may be asked for as plain `MyLayer` by older configs.
    for key, obj in _GLOBAL_CUSTOM_OBJECTS.items():
        if key.split(">", 1)[-1] == name:
            return obj
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def get_custom_object(name):
    """The object an active custom object scope or the global registry holds under exactly
    `name` (None when neither does). tf.keras lets these shadow built-in names: a custom
    `gelu` given to `load_model` wins over `keras.activations.gelu`."""
    for scope in reversed(_scope.stack):
        if name in scope:
            return scope[name]
    return _GLOBAL_CUSTOM_OBJECTS.get(name)


def custom_object_instance(name):
    """The custom object under exactly `name` (see `get_custom_object`), a class made with no
    arguments, as tf.keras' `initializers.get` / `regularizers.get` / `constraints.get` make
    it from `{"class_name": name, "config": {}}`; None when there is none."""
    found = get_custom_object(name)
    return found() if isinstance(found, type) else found


# Keras module name ("layers", "losses", ...) -> the namespaces registered for it. They are kept
# live (a module's `globals()`), so names a module gains later are found too.
_BUILTIN_NAMESPACES = {}


def register_builtins(module, namespace):
    """Make the public callables of `namespace` ({name: object}) the built-ins of `keras.<module>`."""
    _BUILTIN_NAMESPACES.setdefault(module, []).append(namespace)


def builtin_objects(module):
    """{name: object} of the public classes and functions registered for `keras.<module>`."""
    found = {}
    for namespace in _BUILTIN_NAMESPACES.get(module, ()):
        found.update({name: obj for name, obj in namespace.items()
                      if not name.startswith("_") and callable(obj)})
    return found


def get_custom_objects():
    """The global registry (a mutable dict: `get_custom_objects()['MyLayer'] = MyLayer`)."""
    return _GLOBAL_CUSTOM_OBJECTS


class custom_object_scope:
    """`with custom_object_scope({'MyLayer': MyLayer}): load_model(...)`."""

    def __init__(self, *scopes):
        self.objects = {}
        for scope in scopes:
            self.objects.update(scope or {})

    def __enter__(self):
        _scope.stack.append(self.objects)
        return self

    def __exit__(self, *exc):
        _scope.stack.pop()
        return False


CustomObjectScope = custom_object_scope
