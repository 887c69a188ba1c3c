"""SpectralNormalization: divides a layer's kernel by its largest singular value while
training (Miyato et al. 2018, https://arxiv.org/abs/1802.05957)."""
import numpy as np

from ... import initializers
from ...engine.input_spec import InputSpec
from ..recurrent.base_wrapper import Wrapper


def _l2_normalize(x):
    """tf.math.l2_normalize of a row vector: x / sqrt(max(sum(x**2), 1e-12))."""
    return x / np.sqrt(np.maximum(np.sum(x * x), np.asarray(1e-12, x.dtype)))


class SpectralNormalization(Wrapper):
    """Wraps a layer with a `kernel` (Dense, Conv...) or `embeddings` (Embedding). Each call
    in training mode runs `power_iterations` steps of the power method from the stored
    estimate `vector_u` (a non-trainable `(1, kernel.shape[-1])` weight) and *assigns*
    `kernel / sigma` to the kernel before calling the layer, as tf.keras does; inference
    calls use the kernel as it is. The kernel is reshaped to `(-1, kernel.shape[-1])` for
    the power method; an all-zero kernel is left alone.

    Example:
    >>> layer = SpectralNormalization(keras.layers.Dense(3, kernel_initializer="ones"))
    >>> layer(np.ones((2, 4), "float32"), training=True).shape
    (2, 3)
    >>> [w.name for w in layer.weights]
    ['spectral_normalization/kernel:0', 'spectral_normalization/bias:0', 'spectral_normalization/vector_u:0']
    >>> round(float(layer.layer.kernel.numpy()[0, 0]), 4)   # 1 / sigma, sigma = sqrt(4 * 3)
    0.2887
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if power_iterations <= 0:
            raise ValueError("`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations}`")
        self.power_iterations = power_iterations

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
            self.layer._build_input_shape = input_shape
            for weight in self.layer.weights:
                # tf.keras builds the inner layer inside the wrapper's name scope
                weight.name = f"{self.name}/{weight.name.split('/', 1)[-1]}"
        self.input_spec = InputSpec(shape=(None,) + input_shape[1:])
        if hasattr(self.layer, "kernel"):
            self.kernel = self.layer.kernel
        elif hasattr(self.layer, "embeddings"):
            self.kernel = self.layer.embeddings
        else:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' "
                             "nor 'embeddings'")
        self.kernel_shape = list(self.kernel.shape)
        self.vector_u = self.add_weight("vector_u", shape=(1, self.kernel_shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02),
                                        trainable=False, dtype=self.kernel.dtype)
        self.built = True

    def call(self, inputs, training=False):
        if training:
            self._update_weights()
        return self.layer(inputs)

    def _update_weights(self):
        if not np.any(self.kernel.data):
            return
        kernel, vector_u = self.normalize_weights()
        self.kernel.assign(kernel)
        self.vector_u.assign(vector_u)

    def normalize_weights(self):
        """(kernel / sigma, the new vector_u) by the power method, as NumPy arrays."""
        weights = self.kernel.data.reshape(-1, self.kernel_shape[-1])
        vector_u = self.vector_u.data
        vector_v = vector_u
        for _ in range(self.power_iterations):
            vector_v = _l2_normalize(vector_u @ weights.T)
            vector_u = _l2_normalize(vector_v @ weights)
        sigma = (vector_v @ weights) @ vector_u.T                  # (1, 1)
        return (weights / sigma).reshape(self.kernel_shape), vector_u

    def compute_output_shape(self, input_shape):
        return tuple(self.layer.compute_output_shape(input_shape))

    def count_flops(self, input_shape, output_shape):
        """The wrapped layer's count (the power method runs in training only)."""
        return self.layer.count_flops(input_shape, output_shape)

    def get_config(self):
        config = super().get_config()
        config["power_iterations"] = self.power_iterations
        return config
