"""Cropping1D/2D/3D: remove rows/columns/depth slices at the borders."""
from ... import ops
from ...core.config import normalize_data_format
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec
from .spatial_utils import normalize_pairs, spatial_axes


class Cropping(Layer):
    def __init__(self, rank, cropping, data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.cropping = normalize_pairs(cropping, rank, "cropping")
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)     # refuses crops that leave nothing
        index = [slice(None)] * inputs.ndim
        for axis, (lo, hi) in zip(spatial_axes(self.rank, self.data_format), self.cropping):
            index[axis] = slice(lo, inputs.shape[axis] - hi)
        return ops.getitem(inputs, tuple(index))

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (lo, hi) in zip(spatial_axes(self.rank, self.data_format), self.cropping):
            if shape[axis] is not None:
                shape[axis] -= lo + hi
                if shape[axis] <= 0:
                    raise ValueError(f"`cropping` parameter of `{type(self).__name__}` layer must be "
                                     f"smaller than the input size. Received: inputs.shape="
                                     f"{tuple(input_shape)}, cropping={self.cropping}")
        return tuple(shape)

    def count_flops(self, input_shape, output_shape):
        return 0   # moves data only

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping[0] if self.rank == 1 else self.cropping
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class Cropping1D(Cropping):
    """Crops along time. Example: `Cropping1D((1, 2))`."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(1, cropping, **kwargs)


class Cropping2D(Cropping):
    """Crops height and width. Example: `Cropping2D(((1, 1), (2, 2)))`."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(2, cropping, data_format=data_format, **kwargs)


class Cropping3D(Cropping):
    """Crops three spatial axes. Example: `Cropping3D(1)`."""

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(3, cropping, data_format=data_format, **kwargs)
