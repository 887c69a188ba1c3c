"""The states of a recurrent cell: their nesting and their zero initial values."""
import numpy as np


def dims(size):
    """A state size (an int, or a shape for convolutional cells) as a shape tuple."""
    return (int(size),) if isinstance(size, (int, np.integer)) else tuple(size)


def state_structure(cell):
    """The nesting of a cell's states (leaves are sizes): `[u]`, `[u, u]`, `[u, [u, u]]`."""
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


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
