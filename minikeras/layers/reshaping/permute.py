"""Permute: reorders the non-batch axes of the input."""
from ... import ops
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec


class Permute(Layer):
    """Permutes the axes of each sample by `dims` (1-based, batch axis excluded):
    `Permute((2, 1))` turns `(batch, 10, 64)` into `(batch, 64, 10)`.

    Example:
    >>> Permute((2, 1)).compute_output_shape((None, 10, 64))
    (None, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dims, (list, tuple)):
            raise TypeError(f"`dims` must be a tuple of integers. Received: dims={dims!r}")
        if any(isinstance(d, bool) or not hasattr(d, "__index__") for d in dims):
            raise TypeError(f"`dims` must be a tuple of integers. Received: dims={dims!r}")
        dims = tuple(d.__index__() for d in dims)
        self.dims = dims
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of "
                             "indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def count_flops(self, input_shape, output_shape):
        return 0   # moves data only

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config
