"""GaussianDropout: multiplicative one-centred Gaussian noise in training."""
import math

from ... import ops
from ...core.random import make_rng
from ...engine.base_layer import Layer
from ._noise_utils import check_rate, layer_rng, noise_dtype, normal_noise


class GaussianDropout(Layer):
    """Multiplies inputs by `N(1, rate / (1 - rate))` noise in training (for 0 < rate < 1);
    the identity at inference.

    Example:
    >>> layer = GaussianDropout(0.2, seed=1)
    >>> layer(np.ones((2, 3), "float32"), training=True).shape
    (2, 3)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.rate = check_rate(rate)
        self.seed = seed
        self._rng = make_rng(seed) if seed is not None else None

    def call(self, inputs, training=None):
        if not training or not 0 < self.rate < 1:
            return inputs
        dtype = noise_dtype(inputs)
        noise = normal_noise(layer_rng(self), inputs.shape, dtype)
        noise *= dtype.type(math.sqrt(self.rate / (1.0 - self.rate)))
        noise += dtype.type(1.0)
        return ops.multiply(inputs, noise)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
