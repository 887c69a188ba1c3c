"""Windowed pooling (max or average) over 1, 2 or 3 spatial axes."""
import numpy as np

from ...core.config import normalize_data_format
from ...engine.base_layer import Layer
from ...engine.flops import per_sample_size
from ...engine.input_spec import InputSpec
from ...ops.conv import avg_pool, max_pool
from .. import conv_utils


class Pooling(Layer):
    """`strides` default to `pool_size`; 'same' average pooling divides each window by its
    count of real inputs, as Keras does."""

    def __init__(self, rank, mode, pool_size, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self._mode = mode
        if strides is None:
            strides = pool_size
        self.pool_size = conv_utils.normalize_tuple(pool_size, rank, "pool_size")
        self.strides = conv_utils.normalize_tuple(strides, rank, "strides", allow_zero=True)
        self.padding = conv_utils.normalize_padding(padding)
        if self.padding == "causal":
            raise NotImplementedError("padding='causal' is not supported by pooling layers; use "
                                      "'valid' or 'same'.")
        if not all(self.strides):
            raise ValueError(f"The argument `strides` cannot contains 0(s). Received: {self.strides}")
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)      # raises when a window exceeds the input
        pool = max_pool if self._mode == "max" else avg_pool
        return pool(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        spatial = input_shape[2:] if self.data_format == "channels_first" else input_shape[1:-1]
        out = tuple(conv_utils.conv_output_length(n, p, self.padding, s)
                    for n, p, s in zip(spatial, self.pool_size, self.strides))
        if any(size is not None and size <= 0 for size in out):
            raise ValueError(f"The pooling window of layer '{self.name}' (pool_size="
                             f"{self.pool_size}, padding='{self.padding}') does not fit in its "
                             f"input: input shape {input_shape} would give the output shape "
                             f"{out} with a zero or negative dimension. Consider increasing the "
                             "input size or using padding='same'.")
        if self.data_format == "channels_first":
            return input_shape[:2] + out
        return (input_shape[0],) + out + (input_shape[-1],)

    def count_flops(self, input_shape, output_shape):
        """One comparison (max) or addition (average) per window element of each output."""
        return per_sample_size(output_shape) * int(np.prod(self.pool_size))

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config
