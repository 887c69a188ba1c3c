"""RandomBrightness: adds a random offset to each image in training."""
from ... import ops
from .base_random_image import BaseRandomImageLayer
from .image_utils import RandomState

_FACTOR_ERROR = ("The `factor` argument should be a number (or a list of two numbers) in the "
                 "range [-1.0, 1.0]. ")
_VALUE_RANGE_ERROR = "The `value_range` argument should be a list of two numbers. "


class RandomBrightness(BaseRandomImageLayer):
    """In training, adds `delta * (high - low)` to every pixel of each image, one `delta` per
    image drawn from `factor` (`f` means `[-f, f]`), then clips to `value_range`
    (`(low, high)`, default `(0, 255)`). The identity at inference.

    Example:
    >>> layer = RandomBrightness((0.1, 0.1))
    >>> layer(np.full((1, 2, 2, 3), 100.0), training=True).numpy().max()
    np.float32(125.5)
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2:
                raise ValueError(_FACTOR_ERROR + f"Got {factor}")
            self._factor = sorted(_checked(f) for f in factor)
        elif isinstance(factor, (int, float)):
            self._factor = [-abs(_checked(factor)), abs(factor)]
        else:
            raise ValueError(_FACTOR_ERROR + f"Got {factor}")
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError(_VALUE_RANGE_ERROR + f"Got {value_range}")
        self._value_range = sorted(value_range)
        self._seed = seed
        self._random = RandomState(seed)

    def _transform(self, images):
        low, high = self._value_range
        delta = self._random.rng.uniform(self._factor[0], self._factor[1],
                                         (images.shape[0], 1, 1, 1)) * (high - low)
        return ops.clip(ops.add(images, delta.astype(images.dtype)), float(low), float(high))

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self._factor, "value_range": self._value_range,
                       "seed": self._seed})
        return config


def _checked(value):
    if value > 1.0 or value < -1.0:
        raise ValueError(_FACTOR_ERROR + f"Got {value}")
    return value
