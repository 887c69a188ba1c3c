"""RandomZoom: zooms each image in or out by a random factor per axis."""
import numpy as np

from ...ops.image import projective_transform, zoom_transforms
from .base_random_image import BaseRandomImageLayer
from .image_utils import (H_AXIS, W_AXIS, RandomState, bounds,
                          check_fill_mode_and_interpolation)
from .channels_first import keras3_data_format


@keras3_data_format
class RandomZoom(BaseRandomImageLayer):
    """In training, scales the sampling grid of each image about its centre by
    `1 + U(height_factor)` vertically and `1 + U(width_factor)` horizontally (positive
    factors zoom out, negative zoom in; `width_factor=None` keeps the aspect ratio).
    The identity at inference.

    Example:
    >>> layer = RandomZoom(0.2, seed=1)
    >>> layer(np.zeros((8, 32, 32, 3)), training=True).shape
    (8, 32, 32, 3)
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = bounds(height_factor)
        if abs(self.height_lower) > 1.0 or abs(self.height_upper) > 1.0:
            raise ValueError("`height_factor` argument must have values between [-1, 1]. "
                             f"Received: height_factor={height_factor}")
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = bounds(width_factor)
            if self.width_lower < -1.0 or self.width_upper < -1.0:
                raise ValueError("`width_factor` argument must have values larger than -1. "
                                 f"Received: width_factor={width_factor}")
        check_fill_mode_and_interpolation(fill_mode, interpolation)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.interpolation = interpolation
        self.seed = seed
        self._random = RandomState(seed)

    def _transform(self, images):
        rng = self._random.rng
        batch, height, width = images.shape[0], images.shape[H_AXIS], images.shape[W_AXIS]
        zoom_y = rng.uniform(1.0 + self.height_lower, 1.0 + self.height_upper,
                             batch).astype(np.float32)
        zoom_x = zoom_y if self.width_factor is None else rng.uniform(
            1.0 + self.width_lower, 1.0 + self.width_upper, batch).astype(np.float32)
        transforms = zoom_transforms(zoom_x, zoom_y, np.float32(height), np.float32(width))
        return projective_transform(images, transforms, self.interpolation, self.fill_mode,
                                    self.fill_value)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor,
                       "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                       "interpolation": self.interpolation, "seed": self.seed})
        return config
