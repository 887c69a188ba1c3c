"""Resizing: images to a fixed height and width (tf.image.resize rules)."""
from ...engine.argument_checks import positive_int
from ...engine.base_layer import Layer
from .image_utils import (apply_batched, check_image_rank, resize_images, resized_shape,
                          smart_resize, to_float)
from .channels_first import keras3_data_format

_KNOWN = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
          "mitchellcubic")


def _check_interpolation(interpolation):
    """tf_keras' `get_interpolation` (its wording and type): the method's lower-case name."""
    interpolation = interpolation.lower()
    if interpolation not in _KNOWN:
        raise NotImplementedError(f"Value not recognized for `interpolation`: {interpolation}. "
                                  f"Supported values are: dict_keys({list(_KNOWN)})")
    return interpolation


@keras3_data_format
class Resizing(Layer):
    """Resizes images (3D or 4D, channels_last) to `(height, width)`; with
    `crop_to_aspect_ratio=True` the largest centred window of the target aspect ratio is
    cropped first. Every `tf.image.resize` interpolation is computed with TF's weights
    ("bicubic": Keys cubic with half-pixel centres, "area", and the "lanczos3", "lanczos5",
    "gaussian", "mitchellcubic" sampling kernels, none antialiased).

    Example:
    >>> Resizing(16, 8)(np.zeros((2, 32, 32, 3))).shape
    (2, 16, 8, 3)
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 **kwargs):
        self.height = positive_int(height, "height", "Resizing")
        self.width = positive_int(width, "width", "Resizing")
        self.interpolation = interpolation   # as given (the config keeps it), used lower-cased
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self._interpolation_method = _check_interpolation(interpolation)
        super().__init__(**kwargs)

    def call(self, inputs):
        inputs = to_float(inputs, self._dtype)
        check_image_rank(inputs, self)
        method = smart_resize if self.crop_to_aspect_ratio else resize_images
        return apply_batched(lambda x: method(x, self.height, self.width,
                                              self._interpolation_method),
                             inputs)

    def compute_output_shape(self, input_shape):
        check_image_rank(input_shape, self)
        return resized_shape(input_shape, self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width,
                       "interpolation": self.interpolation,
                       "crop_to_aspect_ratio": self.crop_to_aspect_ratio})
        return config
