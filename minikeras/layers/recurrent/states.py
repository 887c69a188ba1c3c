"""The states of a recurrent cell: their nesting and their zero initial values."""
import numpy as np


class StateShape:
    """One multi-dimensional state in a cell's `state_size` (tf.keras' `TensorShape` entry,
    `state_size = [TensorShape([10]), TensorShape([20, 30])]`): a leaf of the state nesting,
    where a bare list of sizes would be one state per entry."""

    def __init__(self, shape):
        self.shape = tuple(int(d) for d in shape)

    def __repr__(self):
        return f"StateShape({self.shape})"


def dims(size):
    """A state size (an int, a `StateShape`, or a shape for convolutional cells) as a shape
    tuple."""
    if isinstance(size, StateShape):
        return size.shape
    return (int(size),) if isinstance(size, (int, np.integer)) else tuple(size)


def is_shape(value):
    """Whether `value` is one shape (a list/tuple of sizes) rather than a nesting of them."""
    return isinstance(value, (list, tuple)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in value)


def _sizes(size):
    """A cell's `state_size` as a nesting whose leaves are single states: an entry of a list
    that is itself a shape (`TensorShape([20, 30])`, `(20, 30)`) is one state of that shape."""
    if isinstance(size, (list, tuple)):
        return [StateShape(s) if is_shape(s) else s for s in size]
    return size


def state_structure(cell):
    """The nesting of a cell's states (leaves are sizes): `[u]`, `[u, u]`, `[u, [u, u]]`, and
    for a stack of cells one entry per cell."""
    cells = getattr(cell, "cells", None)
    if cells is not None and isinstance(cell.state_size, tuple) and len(cells) == len(cell.state_size):
        return [_sizes(c.state_size) for c in cells]
    size = _sizes(cell.state_size)
    return size if isinstance(size, list) else [size]


def initial_state_of(cell, inputs=None, batch_size=None, dtype=None):
    """A cell's zero initial state, in its own structure (one array per state)."""
    if hasattr(cell, "get_initial_state"):
        states = cell.get_initial_state(inputs=inputs, batch_size=batch_size, dtype=dtype)
        if not isinstance(cell.state_size, (list, tuple)) and isinstance(states, (list, tuple)) \
                and len(states) == 1:
            return states[0]
        return states
    if isinstance(cell.state_size, (list, tuple)):
        return [np.zeros((batch_size,) + dims(size), dtype) for size in cell.state_size]
    return np.zeros((batch_size,) + dims(cell.state_size), dtype)
