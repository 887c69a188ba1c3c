"""AlphaDropout: dropout that keeps the mean and variance of SELU activations."""
from ... import ops
from ...core.random import make_rng
from ...engine.base_layer import Layer
from ._noise_utils import check_rate, layer_rng, noise_dtype

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(Layer):
    """In training, sets dropped units to SELU's negative saturation `-alpha * scale` and then
    applies the affine correction `a * x + b` that restores zero mean and unit variance:
    `a = ((1 - rate) * (1 + rate * alpha_p^2)) ** -0.5`, `b = -a * alpha_p * rate`.
    The identity at inference.

    Note: like tf.keras, `get_config()` lists `rate` and `seed` but not `noise_shape`.

    Example:
    >>> layer = AlphaDropout(0.1, seed=1)
    >>> layer(np.zeros((2, 3), "float32"), training=True).shape
    (2, 3)
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self.supports_masking = True
        self._rng = make_rng(seed) if seed is not None else None

    def _noise_shape(self, inputs):
        if not self.noise_shape:
            return inputs.shape
        return tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))

    def call(self, inputs, training=None):
        if not training or not 0.0 < self.rate < 1.0:
            return inputs
        dtype = noise_dtype(inputs)
        rate = self.rate
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * rate
        kept = (layer_rng(self).random(self._noise_shape(inputs), dtype=dtype) >= rate)
        # a * (x * kept + alpha_p * (1 - kept)) + b, folded into one scale and one shift.
        scale = (kept * dtype.type(a)).astype(dtype)
        shift = ((~kept) * dtype.type(a * alpha_p) + dtype.type(b)).astype(dtype)
        return ops.add(ops.multiply(inputs, scale), shift)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
