"""RandomHeight and RandomWidth: resize the images along one axis by a random factor."""
import numpy as np

from .base_random_image import BaseRandomImageLayer
from .image_utils import H_AXIS, W_AXIS, RandomState, resize_images
from .resizing import _check_interpolation


class _RandomAxisResize(BaseRandomImageLayer):
    """In training, scales the `_AXIS` size of the whole batch by one factor drawn from
    `[1 + lower, 1 + upper]` per call (`f` means `[-f, f]`), truncated to an integer, with
    `tf.image.resize` rules; the identity at inference."""

    _AXIS = None
    _NAME = None

    def __init__(self, factor, interpolation="bilinear", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        if isinstance(factor, (tuple, list)):
            self._lower, self._upper = factor[0], factor[1]
        else:
            self._lower, self._upper = -factor, factor
        if self._upper < self._lower:
            raise ValueError("`factor` argument cannot have an upper bound lesser than the "
                             f"lower bound. Received: factor={factor}")
        if self._lower < -1.0 or self._upper < -1.0:
            raise ValueError("`factor` argument must have values larger than -1. Received: "
                             f"factor={factor}")
        _check_interpolation(interpolation)
        self.interpolation = interpolation
        self.seed = seed
        self._random = RandomState(seed)

    def _transform(self, images):
        scale = np.float32(self._random.rng.uniform(1.0 + self._lower, 1.0 + self._upper))
        size = [images.shape[H_AXIS], images.shape[W_AXIS]]
        index = 0 if self._AXIS == H_AXIS else 1
        size[index] = int(scale * np.float32(size[index]))
        return resize_images(images, size[0], size[1], self.interpolation)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self._AXIS] = None
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "interpolation": self.interpolation,
                       "seed": self.seed})
        return config


class RandomHeight(_RandomAxisResize):
    """Resizes the image height by a random factor in training (see `_RandomAxisResize`).

    Example:
    >>> RandomHeight((0.5, 0.5))(np.zeros((2, 8, 6, 3)), training=True).shape
    (2, 12, 6, 3)
    """

    _AXIS = H_AXIS


class RandomWidth(_RandomAxisResize):
    """Resizes the image width by a random factor in training (see `_RandomAxisResize`).

    Example:
    >>> RandomWidth((-0.5, -0.5))(np.zeros((2, 8, 6, 3)), training=True).shape
    (2, 8, 3, 3)
    """

    _AXIS = W_AXIS
