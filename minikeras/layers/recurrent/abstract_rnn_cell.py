"""AbstractRNNCell: the base a user's recurrent cell may subclass."""
import numpy as np

from ...engine.base_layer import Layer
from .states import dims


class AbstractRNNCell(Layer):
    """A cell for `keras.layers.RNN`: subclasses define `state_size`, `output_size` and
    `call(inputs, states) -> (output, new_states)`; the zero initial state comes from here.

    Example:
    >>> class Accumulate(AbstractRNNCell):
    ...     state_size = 2
    ...     output_size = 2
    ...     def call(self, inputs, states):
    ...         total = inputs + states[0]
    ...         return total, [total]
    >>> keras.layers.RNN(Accumulate())(np.ones((1, 3, 2), "float32")).numpy()
    array([[3., 3.]], dtype=float32)
    """

    @property
    def state_size(self):
        raise NotImplementedError("Abstract method")

    @property
    def output_size(self):
        raise NotImplementedError("Abstract method")

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        batch = batch_size if batch_size is not None else np.shape(inputs)[0]
        dtype = dtype or self.dtype
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        states = [np.zeros((batch,) + dims(size), dtype) for size in sizes]
        return states if isinstance(self.state_size, (list, tuple)) else states[0]
