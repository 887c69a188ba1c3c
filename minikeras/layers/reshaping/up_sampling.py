"""UpSampling1D/2D/3D: repeat rows/columns ('nearest'), or resizing in 2-D (tf.image.resize's
bilinear, bicubic, area, lanczos3/5, gaussian and mitchellcubic)."""
import numpy as np

from ... import ops
from ...core.config import normalize_data_format
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec
from ...ops.image import MATRIX_INTERPOLATIONS, resize
from .. import conv_utils
from .spatial_utils import spatial_axes


def bilinear_matrix(size_in, scale, dtype):
    """(out, in) interpolation weights of TF's half-pixel-centre bilinear resize on one axis."""
    size_out = size_in * scale
    source = (np.arange(size_out) + 0.5) / scale - 0.5
    lower = np.floor(source)
    frac = source - lower
    lo = np.clip(lower, 0, size_in - 1).astype(int)
    hi = np.clip(lower + 1, 0, size_in - 1).astype(int)
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    matrix[rows, lo] += 1 - frac      # each statement touches every row once: no repeated index
    matrix[rows, hi] += frac
    return matrix.astype(dtype)


# The methods tf.keras' UpSampling2D accepts:
# tf.image.ResizeMethod's names, in tf_keras' `image_utils.get_interpolation` order
TF_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                     "gaussian", "mitchellcubic")


def check_interpolation_name(interpolation):
    """tf_keras' `get_interpolation`: the name in lower case; an unknown one is a
    NotImplementedError."""
    interpolation = interpolation.lower()
    if interpolation not in TF_INTERPOLATIONS:
        raise NotImplementedError(f"Value not recognized for `interpolation`: {interpolation}. "
                                  f"Supported values are: dict_keys({list(TF_INTERPOLATIONS)})")
    return interpolation


class UpSampling(Layer):
    def __init__(self, rank, size, data_format="channels_last", interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.size = conv_utils.normalize_tuple(size, rank, "size")
        self.data_format = normalize_data_format(data_format)
        if rank == 2:   # stored lower-cased, as tf.keras' UpSampling2D does
            interpolation = check_interpolation_name(interpolation)
        elif interpolation != "nearest":
            raise NotImplementedError(f'interpolation="{interpolation}" is not supported by '
                                      f'UpSampling{rank}D; only "nearest".')
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        if self.interpolation in MATRIX_INTERPOLATIONS:
            return self._resize(inputs)
        outputs = inputs
        for axis, factor in zip(spatial_axes(self.rank, self.data_format), self.size):
            if factor == 1:
                continue
            if self.interpolation == "nearest":
                outputs = ops.repeat(outputs, factor, axis)
            else:
                weights = bilinear_matrix(outputs.shape[axis], factor, outputs.dtype)
                moved = ops.tensordot(outputs, weights, axes=([axis], [1]))
                order = list(range(outputs.ndim - 1))
                order.insert(axis, outputs.ndim - 1)
                outputs = ops.transpose(moved, order)
        return outputs

    def _resize(self, inputs):
        """tf.keras' backend.resize_images: tf.image.resize of the NHWC images, no antialias."""
        channels_first = self.data_format == "channels_first"
        images = ops.transpose(inputs, (0, 2, 3, 1)) if channels_first else inputs
        height, width = images.shape[1] * self.size[0], images.shape[2] * self.size[1]
        resized = resize(images, height, width, self.interpolation)
        return ops.transpose(resized, (0, 3, 1, 2)) if channels_first else resized

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, factor in zip(spatial_axes(self.rank, self.data_format), self.size):
            if shape[axis] is not None:
                shape[axis] *= factor
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size[0] if self.rank == 1 else self.size
        if self.rank > 1:
            config["data_format"] = self.data_format
        if self.rank == 2:
            config["interpolation"] = self.interpolation
        return config


class UpSampling1D(UpSampling):
    """Repeats each timestep `size` times. Example: `UpSampling1D(2)`."""

    def __init__(self, size=2, **kwargs):
        super().__init__(1, size, **kwargs)


class UpSampling2D(UpSampling):
    """Repeats rows and columns, or resizes bilinearly. Example: `UpSampling2D(2)`."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(2, size, data_format=data_format, interpolation=interpolation, **kwargs)


class UpSampling3D(UpSampling):
    """Repeats along three spatial axes. Example: `UpSampling3D(2)`."""

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(3, size, data_format=data_format, **kwargs)
