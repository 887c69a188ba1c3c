"""`keras.utils.generic_utils`: the tf.keras 2 module scripts import these names from
(`from keras.utils.generic_utils import get_custom_objects, to_list, Progbar`, ...)."""
import codecs
import inspect
import marshal
import types

import numpy as np

from ..callbacks.progbar import Progbar  # noqa: F401
from ..core.registry import (  # noqa: F401
    CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
    get_registered_object, register_keras_serializable,
)
from ..core.serialization import serialize_keras_object, deserialize_keras_object  # noqa: F401
from ..core.session import to_snake_case  # noqa: F401


def to_list(x):
    """A list as is, a tuple... or anything else wrapped in a one-element list (Keras' rule:
    only lists pass through)."""
    if isinstance(x, list):
        return x
    return [x]


def has_arg(fn, name, accept_all=False):
    """Whether `fn` takes a keyword argument `name` (or any, with `accept_all` and `**kwargs`)."""
    spec = inspect.getfullargspec(fn)
    if accept_all and spec.varkw is not None:
        return True
    return name in spec.args or name in spec.kwonlyargs


def make_batches(size, batch_size):
    """`(start, end)` index pairs covering `range(size)` in batches."""
    count = int(np.ceil(size / float(batch_size)))
    return [(i * batch_size, min(size, (i + 1) * batch_size)) for i in range(count)]


def slice_arrays(arrays, start=None, stop=None):
    """`arrays[start:stop]` for an array or a list of arrays (None entries kept); `start` may
    be a list of indices instead."""
    if arrays is None:
        return [None]
    if isinstance(start, list) and stop is not None:
        raise ValueError("The stop argument has to be None if the value of start is a list.")
    if isinstance(arrays, list):
        if hasattr(start, "__len__"):
            if hasattr(start, "shape"):
                start = start.tolist()
            return [None if x is None else x[start] for x in arrays]
        return [None if x is None else
                None if not hasattr(x, "__getitem__") else x[start:stop] for x in arrays]
    if hasattr(start, "__len__"):
        if hasattr(start, "shape"):
            start = start.tolist()
        return arrays[start]
    if hasattr(start, "__getitem__"):
        return arrays[start:stop]
    return [None]


def func_dump(func):
    """A Python function as `(base64 marshalled bytecode, defaults, closure)`, tf.keras' form."""
    code = codecs.encode(marshal.dumps(func.__code__), "base64").decode("ascii")
    closure = tuple(cell.cell_contents for cell in func.__closure__) if func.__closure__ else None
    return code, func.__defaults__, closure


def func_load(code, defaults=None, globs=None):
    """The inverse of `func_dump` (trusted input only: it runs marshalled bytecode)."""
    if isinstance(code, (tuple, list)):
        code, defaults, closure = code
        if isinstance(defaults, list):
            defaults = tuple(defaults)
    else:
        closure = None
    raw = codecs.decode(code.encode("ascii"), "base64")
    code = marshal.loads(raw)
    if closure is not None:
        closure = tuple(types.CellType(value) for value in closure)
    return types.FunctionType(code, globs if globs is not None else globals(), name=code.co_name,
                              argdefs=defaults, closure=closure)


def validate_kwargs(kwargs, allowed_kwargs, error_message="Keyword argument not understood:"):
    """Raise TypeError for the first keyword not in `allowed_kwargs`."""
    for kwarg in kwargs:
        if kwarg not in allowed_kwargs:
            raise TypeError(error_message, kwarg)
