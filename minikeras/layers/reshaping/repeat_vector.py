"""RepeatVector: repeats a vector n times along a new axis."""
import numpy as np

from ... import ops
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec


class RepeatVector(Layer):
    """`(batch, features) -> (batch, n, features)`.

    Example:
    >>> RepeatVector(3).compute_output_shape((None, 32))
    (None, 3, 32)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if not 0 <= n <= 2 ** 48:
            raise ValueError(f"`n` (the number of repetitions) must be a non-negative integer "
                             f"(at most 2**48). Received: n={n}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        # A real copy (not a broadcast view): later ops may expect writable, contiguous data.
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config
