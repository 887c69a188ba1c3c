"""Dropout: randomly zeroes inputs during training."""
import numbers

from ... import ops
from ...core.random import make_rng
from ...engine.base_layer import Layer


class Dropout(Layer):
    """Sets inputs to 0 with probability `rate` in training, scaling the others by
    `1 / (1 - rate)`; the identity at inference.

    `noise_shape` gives the shape of the random mask (`None` entries take the input's size),
    e.g. `(batch, 1, features)` to drop the same features at every timestep.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value "
                             f"between 0 and 1. Received: rate={rate}")
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed
        self.supports_masking = True
        self._rng = make_rng(seed) if seed is not None else None

    def _noise_shape(self, inputs):
        if self.noise_shape is None:
            return None
        return tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return ops.multiply(inputs, 0.0)
        rng = self._rng if self._rng is not None else make_rng(None)
        return ops.dropout(inputs, self.rate, rng, self._noise_shape(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config
