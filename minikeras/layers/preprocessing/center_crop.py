"""CenterCrop: the central window of each image."""
from ... import ops
from ...engine.base_layer import Layer
from .image_utils import (H_AXIS, W_AXIS, apply_batched, check_image_rank, resized_shape,
                          smart_resize, to_float)
from .channels_first import keras3_data_format


@keras3_data_format
class CenterCrop(Layer):
    """Crops the central `(height, width)` window of each image; an image smaller than that
    is resized (after cropping to the target aspect ratio) instead, as in tf.keras.

    Example:
    >>> CenterCrop(24, 24)(np.zeros((2, 32, 32, 3))).shape
    (2, 24, 24, 3)
    """

    def __init__(self, height, width, **kwargs):
        self.height = height
        self.width = width
        kwargs.pop("autocast", None)
        super().__init__(**kwargs)

    def call(self, inputs):
        inputs = to_float(inputs, self._dtype)
        check_image_rank(inputs, self)
        h_diff = inputs.shape[H_AXIS] - self.height
        w_diff = inputs.shape[W_AXIS] - self.width
        if h_diff < 0 or w_diff < 0:
            return apply_batched(lambda x: smart_resize(x, self.height, self.width), inputs)
        top, left = int(h_diff / 2), int(w_diff / 2)
        window = (Ellipsis, slice(top, top + self.height), slice(left, left + self.width),
                  slice(None))
        return ops.getitem(inputs, window)

    def compute_output_shape(self, input_shape):
        check_image_rank(input_shape, self)
        return resized_shape(input_shape, self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config
