"""RandomRotation: rotates each image by a random angle about its centre."""
import math

import numpy as np

from ...ops.image import projective_transform, rotation_transforms
from .base_random_image import BaseRandomImageLayer
from .image_utils import (H_AXIS, W_AXIS, RandomState, bounds,
                          check_fill_mode_and_interpolation)
from .channels_first import keras3_data_format


@keras3_data_format
class RandomRotation(BaseRandomImageLayer):
    """In training, rotates each image counter-clockwise by an angle drawn uniformly from
    `factor * 2 pi` (a number `f` means `[-f, f]`), filling the corners by `fill_mode`.
    The identity at inference.

    Example:
    >>> layer = RandomRotation(0.1, seed=1)
    >>> layer(np.zeros((8, 32, 32, 3)), training=True).shape
    (8, 32, 32, 3)
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        self.lower, self.upper = bounds(factor)
        if self.upper < self.lower:
            raise ValueError("`factor` argument cannot have a negative value. "
                             f"Received: factor={factor}")
        check_fill_mode_and_interpolation(fill_mode, interpolation)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.interpolation = interpolation
        self.seed = seed
        self._random = RandomState(seed)

    def _transform(self, images):
        batch, height, width = images.shape[0], images.shape[H_AXIS], images.shape[W_AXIS]
        angles = self._random.rng.uniform(self.lower * 2.0 * math.pi, self.upper * 2.0 * math.pi,
                                          batch).astype(np.float32)
        transforms = rotation_transforms(angles, np.float32(height), np.float32(width))
        return projective_transform(images, transforms, self.interpolation, self.fill_mode,
                                    self.fill_value)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "fill_mode": self.fill_mode,
                       "fill_value": self.fill_value, "interpolation": self.interpolation,
                       "seed": self.seed})
        return config
