"""RandomFlip: flips each image left-right and/or top-bottom with probability 1/2."""
from ...ops.image import random_flip
from .base_random_image import BaseRandomImageLayer
from .image_utils import RandomState
from .channels_first import keras3_data_format

HORIZONTAL = "horizontal"
VERTICAL = "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"


@keras3_data_format
class RandomFlip(BaseRandomImageLayer):
    """In training, flips each image independently with probability 1/2: left-right for
    `"horizontal"`, top-bottom for `"vertical"`, each independently for
    `"horizontal_and_vertical"`. The identity at inference (`predict`, `training=False`).

    Example:
    >>> layer = RandomFlip("horizontal", seed=1)
    >>> layer(np.zeros((8, 32, 32, 3)), training=True).shape
    (8, 32, 32, 3)
    """

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.mode = mode
        if mode == HORIZONTAL:
            self.horizontal, self.vertical = True, False
        elif mode == VERTICAL:
            self.horizontal, self.vertical = False, True
        elif mode == HORIZONTAL_AND_VERTICAL:
            self.horizontal, self.vertical = True, True
        else:
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode "
                             f"argument {mode}")
        self.seed = seed
        self._random = RandomState(seed)

    def _transform(self, images):
        rng = self._random.rng
        batch = images.shape[0]
        flip_cols = rng.random(batch) < 0.5 if self.horizontal else None
        flip_rows = rng.random(batch) < 0.5 if self.vertical else None
        return random_flip(images, flip_rows, flip_cols)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "seed": self.seed})
        return config
