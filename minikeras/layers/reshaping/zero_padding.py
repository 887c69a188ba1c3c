"""ZeroPadding1D/2D/3D: add zeros at the borders of the spatial axes."""
from ... import ops
from ...core.config import normalize_data_format
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec
from .spatial_utils import normalize_pairs, spatial_axes


class ZeroPadding(Layer):
    def __init__(self, rank, padding, data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.padding = normalize_pairs(padding, rank, "padding")
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        pads = [(0, 0)] * inputs.ndim
        for axis, pair in zip(spatial_axes(self.rank, self.data_format), self.padding):
            pads[axis] = pair
        return ops.pad(inputs, pads)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (lo, hi) in zip(spatial_axes(self.rank, self.data_format), self.padding):
            if shape[axis] is not None:
                shape[axis] += lo + hi
        return tuple(shape)

    def count_flops(self, input_shape, output_shape):
        return 0   # moves data only

    def get_config(self):
        config = super().get_config()
        config["padding"] = self.padding[0] if self.rank == 1 else self.padding
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class ZeroPadding1D(ZeroPadding):
    """Pads the time axis. Example: `ZeroPadding1D(2)`."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(1, padding, **kwargs)


class ZeroPadding2D(ZeroPadding):
    """Pads height and width. Example: `ZeroPadding2D(((1, 0), (1, 0)))`."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(2, padding, data_format=data_format, **kwargs)


class ZeroPadding3D(ZeroPadding):
    """Pads three spatial axes. Example: `ZeroPadding3D(1)`."""

    def __init__(self, padding=(1, 1, 1), data_format=None, **kwargs):
        super().__init__(3, padding, data_format=data_format, **kwargs)
