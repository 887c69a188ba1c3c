"""Rescaling: `inputs * scale + offset`, in training and inference alike."""
import numpy as np

from ... import ops
from ...engine.base_layer import Layer
from .image_utils import to_float


def _cast_like_tensorflow(value, dtype):
    """`tf.cast(value, dtype)` as tf.keras' Rescaling does it: a Python float (or a list of
    them) first becomes a float32 tensor, so a float64 layer scales by float32(1 / 127.5);
    NumPy arrays and scalars keep their own precision."""
    if not isinstance(value, (np.ndarray, np.generic)):
        value = np.asarray(value)
        if value.dtype.kind == "f":
            value = value.astype(np.float32)
    return np.asarray(value).astype(dtype)


class Rescaling(Layer):
    """Multiplies inputs by `scale` and adds `offset` (integer inputs become floats).

    Example:
    >>> layer = Rescaling(1.0 / 127.5, offset=-1)
    >>> layer(np.array([0, 255])).numpy()
    array([-1.,  1.], dtype=float32)
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        for name, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, (str, bytes)) or np.asarray(value).dtype.kind not in "fiub":
                raise TypeError(f"`{name}` must be a number or an array of numbers. Received: "
                                f"{name}={value!r}")
        self.scale = scale
        self.offset = offset
        super().__init__(**kwargs)

    def call(self, inputs):
        inputs = to_float(inputs, self._dtype)
        scale = _cast_like_tensorflow(self.scale, self._dtype)
        offset = _cast_like_tensorflow(self.offset, self._dtype)
        return ops.add(ops.multiply(inputs, scale), offset)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config
