"""RandomCrop, RandomContrast, RandomBrightness, RandomHeight, RandomWidth (tf.keras 2.x): random
in training, and at inference the identity (RandomCrop: a centred crop-and-resize)."""
import numpy as np

from ... import ops
from .base_random_image import BaseRandomImageLayer
from .image_utils import (H_AXIS, W_AXIS, RandomState, apply_batched, check_image_rank,
                          resize_images, resized_shape, smart_resize, to_float)
from .channels_first import keras3_data_format


@keras3_data_format
class RandomCrop(BaseRandomImageLayer):
    """In training, one random `height x width` window (the same offsets for the whole batch,
    as tf.keras draws them); at inference, or when the image is smaller than the window, the
    image is `smart_resize`d to `height x width`.

    Example:
    >>> RandomCrop(4, 5, seed=1)(np.zeros((2, 8, 8, 3)), training=True).shape
    (2, 4, 5, 3)
    """

    def __init__(self, height, width, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width, self.seed = height, width, seed
        self._random = RandomState(seed)

    def call(self, inputs, training=True):
        inputs = to_float(inputs, self._dtype)
        check_image_rank(inputs, self)
        h_diff = inputs.shape[H_AXIS] - self.height
        w_diff = inputs.shape[W_AXIS] - self.width
        if training and h_diff >= 0 and w_diff >= 0:
            top = int(self._random.rng.integers(0, h_diff + 1))
            left = int(self._random.rng.integers(0, w_diff + 1))
            index = (Ellipsis, slice(top, top + self.height), slice(left, left + self.width),
                     slice(None))
            return ops.getitem(inputs, index)
        return apply_batched(lambda images: smart_resize(images, self.height, self.width), inputs)

    def compute_output_shape(self, input_shape):
        check_image_rank(input_shape, self)
        return resized_shape(input_shape, self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width, "seed": self.seed})
        return config


class RandomContrast(BaseRandomImageLayer):
    """In training, `(x - mean) * c + mean` per image and channel (mean over height and width),
    one factor `c ~ U(1 - lower, 1 + upper)` for the batch, then clipped to [0, 255]
    (`value_range`: Keras 3's argument, read from Keras 3 files; tf.keras has none).

    Example:
    >>> RandomContrast(0.5, seed=1)(np.ones((2, 4, 4, 3)), training=True).shape
    (2, 4, 4, 3)
    """

    def __init__(self, factor, seed=None, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        self.value_range = tuple(value_range)
        if isinstance(factor, (tuple, list)):
            self.lower, self.upper = factor[0], factor[1]
        else:
            self.lower = self.upper = factor
        if self.lower < 0.0 or self.upper < 0.0 or self.lower > 1.0:
            raise ValueError("`factor` argument cannot have negative values or values greater "
                             f"than 1.Received: factor={factor}")
        self.seed = seed
        self._random = RandomState(seed)

    def _transform(self, images):
        dtype = ops.unwrap(images).dtype
        contrast = np.asarray(self._random.rng.uniform(1.0 - self.lower, 1.0 + self.upper), dtype)
        mean = ops.mean(images, axis=(1, 2), keepdims=True)
        adjusted = ops.add(ops.multiply(ops.subtract(images, mean), contrast), mean)
        return ops.clip(adjusted, float(self.value_range[0]), float(self.value_range[1]))

    def compute_output_shape(self, input_shape):
        # tf.keras builds a contrast of 5-D inputs (its op works on the last three axes)
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "seed": self.seed})
        if self.value_range != (0, 255):     # tf.keras' config has no such key
            config["value_range"] = list(self.value_range)
        return config


class RandomBrightness(BaseRandomImageLayer):
    """In training, adds `U(factor) * (value_range width)` to each image (one delta per image,
    all channels), clipped to `value_range`.

    Example:
    >>> RandomBrightness(0.2, seed=1)(np.ones((2, 4, 4, 3)), training=True).shape
    (2, 4, 4, 3)
    """

    _FACTOR_ERROR = ("The `factor` argument should be a number (or a list of two numbers) in the "
                     "range [-1.0, 1.0]. ")
    _VALUE_RANGE_ERROR = "The `value_range` argument should be a list of two numbers. "

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2:
                raise ValueError(self._FACTOR_ERROR + f"Got {factor}")
            for f in factor:
                self._check_factor(f)
            self._factor = sorted(factor)
        elif isinstance(factor, (int, float)):
            self._check_factor(factor)
            self._factor = [-abs(factor), abs(factor)]
        else:
            raise ValueError(self._FACTOR_ERROR + f"Got {factor}")
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError(self._VALUE_RANGE_ERROR + f"Got {value_range}")
        self._value_range = sorted(value_range)
        self._seed = seed
        self._random = RandomState(seed)

    def _check_factor(self, value):
        if value > 1.0 or value < -1.0:
            raise ValueError(self._FACTOR_ERROR + f"Got {value}")

    def call(self, inputs, training=True):
        inputs = to_float(inputs, self._dtype)
        if not training:
            return inputs
        if inputs.ndim not in (3, 4):
            raise ValueError("Expected the input image to be rank 3 or 4. Got inputs.shape = "
                             f"{tuple(inputs.shape)}")
        dtype = ops.unwrap(inputs).dtype
        shape = (1, 1, 1) if inputs.ndim == 3 else (inputs.shape[0], 1, 1, 1)
        low, high = self._value_range
        delta = self._random.rng.uniform(self._factor[0], self._factor[1], shape) * (high - low)
        return ops.clip(ops.add(inputs, delta.astype(dtype)), float(low), float(high))

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self._factor, "value_range": self._value_range,
                       "seed": self._seed})
        return config


class _RandomSize(BaseRandomImageLayer):
    """RandomHeight / RandomWidth: in training, resize one axis by `1 + U(factor)` (one draw
    per batch, the new size truncated to an int); the identity at inference."""

    _AXIS = None
    _NAME = None

    def __init__(self, factor, interpolation="bilinear", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        if isinstance(factor, (tuple, list)):
            self.lower, self.upper = factor[0], factor[1]
        else:
            self.lower, self.upper = -factor, factor
        if self.upper < self.lower:
            raise ValueError(f"`factor` argument cannot have an upper bound lesser than the lower "
                             f"bound. Received: factor={factor}")
        if self.lower < -1.0 or self.upper < -1.0:
            raise ValueError(f"`factor` argument must have values larger than -1. Received: "
                             f"factor={factor}")
        if interpolation not in ("bilinear", "nearest", "bicubic", "area", "lanczos3",
                                 "lanczos5", "gaussian", "mitchellcubic"):
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}.")
        self.interpolation = interpolation
        self.seed = seed
        self._random = RandomState(seed)

    def _transform(self, images):
        size = images.shape[self._AXIS]
        new_size = int(size * (1.0 + self._random.rng.uniform(self.lower, self.upper)))
        height = new_size if self._AXIS == H_AXIS else images.shape[H_AXIS]
        width = new_size if self._AXIS == W_AXIS else images.shape[W_AXIS]
        if self.interpolation not in ("bilinear", "nearest"):
            raise NotImplementedError(f"{type(self).__name__}: interpolation="
                                      f"{self.interpolation!r} is not supported in training; "
                                      "use 'bilinear' or 'nearest'.")
        return resize_images(images, height, width, self.interpolation)

    def compute_output_shape(self, input_shape):
        check_image_rank(input_shape, self)
        shape = list(input_shape)
        shape[self._AXIS] = None
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "interpolation": self.interpolation,
                       "seed": self.seed})
        return config


class RandomHeight(_RandomSize):
    """Randomly resizes the height of the images (see `_RandomSize`).

    Example:
    >>> RandomHeight(0.3, seed=1)(np.zeros((2, 10, 8, 3)), training=False).shape
    (2, 10, 8, 3)
    """

    _AXIS = H_AXIS


class RandomWidth(_RandomSize):
    """Randomly resizes the width of the images (see `_RandomSize`).

    Example:
    >>> RandomWidth(0.3, seed=1)(np.zeros((2, 10, 8, 3)), training=False).shape
    (2, 10, 8, 3)
    """

    _AXIS = W_AXIS
