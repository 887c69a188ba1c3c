"""Rescaling: `inputs * scale + offset`, in training and inference alike."""
import numpy as np

from ... import ops
from ...engine.base_layer import Layer
from .image_utils import to_float


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
        scale = np.asarray(self.scale, dtype=self._dtype)
        offset = np.asarray(self.offset, dtype=self._dtype)
        return ops.add(ops.multiply(inputs, scale), offset)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config
