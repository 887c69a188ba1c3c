"""Flatten: collapses every axis but the batch axis."""
import numpy as np

from ... import ops
from ...core.config import normalize_data_format
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec


class Flatten(Layer):
    """`(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)`.

    With `data_format='channels_first'` the channel axis is moved last before flattening, as
    Keras does, so the result matches a channels_last model's Flatten.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            order = (0,) + tuple(range(2, inputs.ndim)) + (1,)
            inputs = ops.transpose(inputs, order)
        if inputs.ndim == 1:
            return ops.expand_dims(inputs, 1)
        # The per-sample size is known, so an empty batch still reshapes (-1 cannot be
        # inferred from zero elements).
        return ops.reshape(inputs, (inputs.shape[0], int(np.prod(inputs.shape[1:]))))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) == 1:
            return input_shape + (1,)
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(np.prod(rest))
        return (input_shape[0], size)

    def count_flops(self, input_shape, output_shape):
        return 0   # moves data only

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
