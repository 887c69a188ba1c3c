"""Keras functions called on symbolic tensors of the functional API.

tf.keras lets `K.square(x)` or `keras.losses.mse(a, b)` take a `KerasTensor` and records the
call as a `TFOpLambda` layer. The functions live below the engine, so they only ask here
whether an argument is symbolic; the layer that records the call registers itself as the
handler (see `layers/core/lambda_layer.py`).
"""
import functools

_HANDLER = [None]


def set_symbolic_handler(handler):
    """`handler(module, name, function, args, kwargs)` builds the symbolic result."""
    _HANDLER[0] = handler


def is_symbolic(value):
    return getattr(type(value), "_is_keras_tensor", False)


def has_symbolic(args, kwargs):
    """Whether a (top-level, or inside a top-level list/tuple) argument is symbolic."""
    for value in list(args) + list(kwargs.values()):
        if is_symbolic(value):
            return True
        if isinstance(value, (list, tuple)) and any(is_symbolic(v) for v in value):
            return True
    return False


def symbolic_dispatch(module):
    """Decorate a `keras.<module>` function so that symbolic arguments build a layer."""
    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if _HANDLER[0] is not None and has_symbolic(args, kwargs):
                return _HANDLER[0](module, function.__name__, function, args, kwargs)
            return function(*args, **kwargs)
        wrapper.__wrapped_keras_function__ = function
        return wrapper
    return decorate


def dispatch_all(namespace, module, exclude=()):
    """Wrap every public function defined in `namespace` (a module's globals)."""
    import types
    for name, value in list(namespace.items()):
        if (isinstance(value, types.FunctionType) and not name.startswith("_")
                and value.__module__ == namespace["__name__"] and name not in exclude
                and not hasattr(value, "__wrapped_keras_function__")):
            namespace[name] = symbolic_dispatch(module)(value)
