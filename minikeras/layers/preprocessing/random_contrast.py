"""RandomContrast: scales each channel's deviations from its mean by a random factor."""
import numbers

import numpy as np

from ... import ops
from .base_random_image import BaseRandomImageLayer
from .image_utils import RandomState


class RandomContrast(BaseRandomImageLayer):
    """In training, `(x - mean) * factor + mean` for each channel of each image (means over
    height and width), with one factor drawn from `[1 - lower, 1 + upper]` per call (as
    `tf.image.random_contrast`), the result clipped to `[0, 255]`. The identity at
    inference.

    Example:
    >>> layer = RandomContrast(0.5, seed=1)
    >>> layer(np.full((2, 4, 4, 3), 7.0), training=True).numpy().max()
    np.float32(7.0)
    """

    def __init__(self, factor, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        if isinstance(factor, (tuple, list)):
            self.lower, self.upper = factor[0], factor[1]
        else:
            self.lower = self.upper = factor
        if not all(isinstance(f, numbers.Real) for f in (self.lower, self.upper)) or \
                self.lower < 0.0 or self.upper < 0.0 or self.lower > 1.0:
            raise ValueError("`factor` argument cannot have negative values or values greater "
                             f"than 1.Received: factor={factor}")
        self.seed = seed
        self._random = RandomState(seed)

    def _transform(self, images):
        contrast = self._random.rng.uniform(1.0 - self.lower, 1.0 + self.upper)
        contrast = np.asarray(contrast, images.dtype)
        mean = ops.mean(images, axis=(1, 2), keepdims=True)
        adjusted = ops.add(ops.multiply(ops.subtract(images, mean), contrast), mean)
        return ops.clip(adjusted, 0.0, 255.0)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "seed": self.seed})
        return config
