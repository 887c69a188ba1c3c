"""GaussianNoise: additive zero-centred Gaussian noise in training."""
import numbers

from ... import ops
from ...core.random import make_rng
from ...engine.base_layer import Layer
from ._noise_utils import layer_rng, noise_dtype, normal_noise


class GaussianNoise(Layer):
    """Adds `N(0, stddev^2)` noise to every input value in training; the identity at inference.

    Example:
    >>> layer = GaussianNoise(0.1, seed=1)
    >>> layer(np.zeros((2, 3), "float32"), training=True).shape
    (2, 3)
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or stddev < 0:
            raise ValueError("Invalid value received for argument `stddev`. Expected a "
                             f"non-negative float. Received: stddev={stddev}")
        self.supports_masking = True
        self.stddev = stddev
        self.seed = seed
        self._rng = make_rng(seed) if seed is not None else None

    def call(self, inputs, training=None):
        if not training:
            return inputs
        noise = normal_noise(layer_rng(self), inputs.shape, noise_dtype(inputs))
        noise *= noise.dtype.type(self.stddev)
        return ops.add(inputs, noise)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config
