"""RandomTranslation: shifts each image by a random fraction of its height and width."""
import numpy as np

from ...ops.image import projective_transform, translation_transforms
from .base_random_image import BaseRandomImageLayer
from .image_utils import (H_AXIS, W_AXIS, RandomState, bounds,
                          check_fill_mode_and_interpolation)
from .channels_first import keras3_data_format


@keras3_data_format
class RandomTranslation(BaseRandomImageLayer):
    """In training, shifts each image by `dy ~ U(height_factor) * height` rows (down when
    positive) and `dx ~ U(width_factor) * width` columns (right when positive), filling the
    uncovered area by `fill_mode`. The identity at inference.

    Example:
    >>> layer = RandomTranslation(0.1, 0.1, seed=1)
    >>> layer(np.zeros((8, 32, 32, 3)), training=True).shape
    (8, 32, 32, 3)
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = bounds(height_factor)
        if self.height_upper < self.height_lower:
            raise ValueError("`height_factor` cannot have upper bound less than lower bound, "
                             f"got {height_factor}")
        if abs(self.height_lower) > 1.0 or abs(self.height_upper) > 1.0:
            raise ValueError("`height_factor` argument must have values between [-1, 1]. "
                             f"Received: height_factor={height_factor}")
        self.width_factor = width_factor
        self.width_lower, self.width_upper = bounds(width_factor)
        if self.width_upper < self.width_lower:
            raise ValueError("`width_factor` cannot have upper bound less than lower bound, "
                             f"got {width_factor}")
        if abs(self.width_lower) > 1.0 or abs(self.width_upper) > 1.0:
            raise ValueError(f"`width_factor` must have values between [-1, 1], got {width_factor}")
        check_fill_mode_and_interpolation(fill_mode, interpolation)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.interpolation = interpolation
        self.seed = seed
        self._random = RandomState(seed)

    def _transform(self, images):
        rng = self._random.rng
        batch, height, width = images.shape[0], images.shape[H_AXIS], images.shape[W_AXIS]
        dy = rng.uniform(self.height_lower, self.height_upper, batch).astype(np.float32) * height
        dx = rng.uniform(self.width_lower, self.width_upper, batch).astype(np.float32) * width
        return projective_transform(images, translation_transforms(dx, dy), self.interpolation,
                                    self.fill_mode, self.fill_value)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor,
                       "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                       "interpolation": self.interpolation, "seed": self.seed})
        return config
