"""The shared skeleton of the random image augmentation layers."""
from ...engine.base_layer import Layer
from .image_utils import apply_batched, check_image_rank, to_float


class BaseRandomImageLayer(Layer):
    """Applies `_transform(images)` (one random draw per image) in training only; at inference
    the input passes through as floats. Subclasses implement `_transform`.

    As in tf.keras, a bare call defaults to `training=True`; `predict`, `evaluate` and
    `training=False` leave the images unchanged.

    `rng_type` is tf.keras' choice of TensorFlow random generator ("stateful" by default for
    these layers): kept in the config for round trips; the draws come from NumPy either way.
    """

    _RNG_TYPES = ("stateful", "stateless", "legacy_stateful")

    def __init__(self, rng_type=None, **kwargs):
        super().__init__(**kwargs)
        if rng_type is not None and rng_type not in self._RNG_TYPES:
            raise ValueError(f"Invalid `rng_type` received. Valid `rng_type` are "
                             f"{list(self._RNG_TYPES)}. Got: {rng_type}")
        self.rng_type = rng_type or "stateful"

    def call(self, inputs, training=True):
        inputs = to_float(inputs, self._dtype)
        if not training:
            return inputs
        check_image_rank(inputs, self)
        return apply_batched(self._transform, inputs)

    def _transform(self, images):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        check_image_rank(input_shape, self)
        return input_shape

    def get_config(self):
        config = super().get_config()
        if self.rng_type != "legacy_stateful":     # tf.keras leaves the legacy type out
            config["rng_type"] = self.rng_type
        return config
