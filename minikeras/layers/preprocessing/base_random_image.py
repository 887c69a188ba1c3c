"""The shared skeleton of the random image augmentation layers."""
from ...engine.base_layer import Layer
from .image_utils import apply_batched, check_image_rank, to_float


class BaseRandomImageLayer(Layer):
    """Applies `_transform(images)` (one random draw per image) in training only; at inference
    the input passes through as floats. Subclasses implement `_transform`.

    As in tf.keras, a bare call defaults to `training=True`; `predict`, `evaluate` and
    `training=False` leave the images unchanged.
    """

    def call(self, inputs, training=True):
        inputs = to_float(inputs, self._dtype)
        if not training:
            return inputs
        check_image_rank(inputs, self)
        return apply_batched(self._transform, inputs)

    def _transform(self, images):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape
