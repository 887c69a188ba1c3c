"""Keras functions called on symbolic tensors of the functional API.

tf.keras lets `K.square(x)` or `keras.losses.mse(a, b)` take a `KerasTensor` and records the
call as a `TFOpLambda` layer. The functions live below the engine, so they only ask here
whether an argument is symbolic; the layer that records the call registers itself as the
handler (see `layers/core/lambda_layer.py`).
"""
import functools

import numpy as np

from .tensor import Tensor, Variable

_HANDLER = [None]
_MODULE_HANDLERS = {}


def set_symbolic_handler(handler, module=None):
    """`handler(module, name, function, args, kwargs)` builds the symbolic result (for the
    functions of `module` only when given: `keras.ops` has its own)."""
    if module is None:
        _HANDLER[0] = handler
    else:
        _MODULE_HANDLERS[module] = handler


def _handler(module):
    return _MODULE_HANDLERS.get(module, _HANDLER[0])


def is_symbolic(value):
    return getattr(type(value), "_is_keras_tensor", False)


# Argument types that are never symbolic, checked first: every `keras.ops` call asks.
_CONCRETE_TYPES = frozenset({Tensor, Variable, np.ndarray, np.float32, np.float64, np.int32,
                             np.int64, float, int, bool, str, type(None)})


def has_symbolic(args, kwargs):
    """Whether a (top-level, or inside a top-level list/tuple) argument is symbolic."""
    for values in (args, kwargs.values()) if kwargs else (args,):
        for value in values:
            kind = type(value)
            if kind in _CONCRETE_TYPES:
                continue
            if getattr(kind, "_is_keras_tensor", False):
                return True
            if (kind is list or kind is tuple) and any(is_symbolic(v) for v in value):
                return True
    return False


def symbolic_dispatch(module, name=None):
    """Decorate a `keras.<module>` function so that symbolic arguments build a layer; `name`
    is its public name when it differs from `__name__` (functions made by a factory)."""
    def decorate(function):
        public_name = name or function.__name__

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if has_symbolic(args, kwargs):
                handler = _handler(module)
                if handler is not None:
                    return handler(module, public_name, function, args, kwargs)
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
