"""RandomCrop: a random `(height, width)` window of the images in training."""
from ... import ops
from ...engine.base_layer import Layer
from .image_utils import (H_AXIS, W_AXIS, RandomState, apply_batched, check_image_rank,
                          resized_shape, smart_resize, to_float)


class RandomCrop(Layer):
    """In training, crops one random `(height, width)` window, at the same place in every
    image of the batch (tf.keras draws one offset per call); at inference, or when the images
    are smaller than the window, resizes them instead (cropping to the target aspect ratio
    first, `smart_resize`).

    Example:
    >>> RandomCrop(24, 20, seed=1)(np.zeros((2, 32, 32, 3)), training=True).shape
    (2, 24, 20, 3)
    """

    def __init__(self, height, width, seed=None, **kwargs):
        kwargs.pop("autocast", None)
        super().__init__(**kwargs)
        self.height = height
        self.width = width
        self.seed = seed
        self._random = RandomState(seed)

    def call(self, inputs, training=True):
        inputs = to_float(inputs, self._dtype)
        check_image_rank(inputs, self)
        h_diff = inputs.shape[H_AXIS] - self.height
        w_diff = inputs.shape[W_AXIS] - self.width
        if not training or h_diff < 0 or w_diff < 0:
            return apply_batched(lambda x: smart_resize(x, self.height, self.width), inputs)
        top = int(self._random.rng.integers(0, h_diff + 1))
        left = int(self._random.rng.integers(0, w_diff + 1))
        window = (Ellipsis, slice(top, top + self.height), slice(left, left + self.width),
                  slice(None))
        return ops.getitem(inputs, window)

    def compute_output_shape(self, input_shape):
        return resized_shape(input_shape, self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width, "seed": self.seed})
        return config
