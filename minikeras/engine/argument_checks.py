"""Checks for layer arguments shared by many layers, worded as Keras words them.

Example:
>>> positive_int(4, "units", "Dense")
4
>>> positive_int(True, "units", "Dense")
Traceback (most recent call last):
TypeError: Dense: `units` must be an integer, received: units=True (of type bool)
>>> python_int(2.5, "units", "Dense"), python_int("3", "units", "Dense")
(2, 3)
"""
import contextlib
import contextvars

import numpy as np

# No weight or dimension is larger than this many bytes/elements (256 TiB): anything larger is
# a typo or a hostile config, never a model.
MAX_ELEMENTS = 2 ** 48
# (file, most elements a weight can have) while a model is built from a file
_LOADING_FROM = contextvars.ContextVar("minikeras_loading_from", default=None)


@contextlib.contextmanager
def weights_from_file(source, largest):
    """While a model is built from the file `source`: a weight of more than `largest` elements
    (more than the file could hold) is refused before its memory is taken, so that a size
    forged in the file's config (`units` = 10**9) fails at once instead of filling the memory."""
    token = _LOADING_FROM.set((source, largest))
    try:
        yield
    finally:
        _LOADING_FROM.reset(token)


def integer(value, name, owner, allow_none=False):
    """`value` as a Python int: ints, NumPy ints and integral floats (2.0) pass; bools,
    fractional floats and other types raise TypeError naming the argument."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, np.integer, float, np.floating)) or \
            (isinstance(value, (float, np.floating)) and not float(value).is_integer()):
        raise TypeError(f"{owner}: `{name}` must be an integer, received: {name}={value!r} "
                        f"(of type {type(value).__name__})")
    value = int(value)
    if abs(value) > MAX_ELEMENTS:
        raise ValueError(f"{owner}: `{name}`={value} is too large (at most {MAX_ELEMENTS}).")
    return value


def python_int(value, name, owner):
    """`value` through Python's `int()` unless it already is an int, as tf.keras' Dense (units)
    and convolutions (float filters) do: 2.5 -> 2, "3" -> 3; None or "a" raise int()'s own
    TypeError / ValueError. A bool counts as its int (tf.keras builds Dense(True) with 1 unit)."""
    if isinstance(value, bool) or not isinstance(value, int):
        value = int(value)
    if abs(value) > MAX_ELEMENTS:
        raise ValueError(f"{owner}: `{name}`={value} is too large (at most {MAX_ELEMENTS}).")
    return value


def positive_int(value, name, owner, allow_zero=False):
    value = integer(value, name, owner)
    if value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"Received an invalid value for `{name}`, expected a {kind} integer. "
                         f"Received: {name}={value}")
    return value


def int_tuple(value, length, name, owner, allow_zero=True):
    """An int or a tuple of `length` non-negative ints (padding, cropping, sizes)."""
    values = (value,) * length if not isinstance(value, (tuple, list)) else tuple(value)
    if len(values) != length:
        raise ValueError(f"{owner}: `{name}` should have {length} elements. Received: "
                         f"{name}={value!r}")
    return tuple(positive_int(v, name, owner, allow_zero=allow_zero) for v in values)


def weight_shape(shape, name, owner):
    """A weight's shape as ints, refused when a dimension is negative or the total is absurd."""
    dims = tuple(integer(d, f"shape of weight '{name}'", owner) for d in (shape or ()))
    if any(d < 0 for d in dims):
        raise ValueError(f"{owner}: cannot create weight '{name}' with a negative dimension: "
                         f"shape={dims}")
    total = 1
    for d in dims:
        total *= d
    if total > MAX_ELEMENTS:
        raise ValueError(f"{owner}: cannot create weight '{name}' of shape {dims}: {total} "
                         "elements is too large for any model (check the layer's size "
                         "arguments, e.g. `units`).")
    loading = _LOADING_FROM.get()
    if loading is not None and loading[1] is not None and total > loading[1]:
        raise ValueError(f"{owner}: cannot create weight '{name}' of shape {dims} while loading "
                         f"{loading[0]}: {total} elements is more than the file could hold "
                         "(check the layer's size arguments in its config, e.g. `units`).")
    return dims


def dimension(value):
    """One dimension of a shape: None or an integer (TensorFlow's rule: anything with
    `__index__`), as a Python int."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not hasattr(value, "__index__"):
        raise TypeError("Dimension value must be integer or None or have an __index__ method, "
                        f"got value '{value!r}' with type '{type(value)}'")
    value = value.__index__()
    if value < 0 or value > MAX_ELEMENTS:
        raise ValueError(f"Dimension {value} must be >= 0 and at most {MAX_ELEMENTS}.")
    return value


def shape_tuple(shape, name="shape"):
    """A shape given by the user (`Input(shape=...)`, `input_shape=`) as a tuple of dims."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"`{name}` must be a tuple of integers (or None), received: "
                        f"{name}={shape!r}")
    return tuple(dimension(d) for d in shape)


def validate_axis(axis, input_shape):
    """`axis` (an int or a list of ints, negative counting from the end) as a list of
    non-negative axes, checked against the input rank (tf.keras' `tf_utils.validate_axis`)."""
    rank = len(input_shape)
    if not rank:
        raise ValueError(f"Input has undefined rank. Received: input_shape={input_shape}")
    axes = [axis] if isinstance(axis, int) else list(axis)
    axes = [a + rank if a < 0 else a for a in axes]
    for a in axes:
        if a < 0 or a >= rank:
            raise ValueError("Invalid value for `axis` argument. Expected 0 <= axis < inputs.rank "
                             f"(with inputs.rank={rank}). Received: axis={tuple(axes)}")
    if len(axes) != len(set(axes)):
        raise ValueError(f"Duplicate axis: {tuple(axes)}")
    return axes
