"""RandomFourierFeatures: `cos(x @ kernel / scale + bias)`, random features whose inner
products approximate a shift-invariant kernel (Rahimi & Recht)."""
import numpy as np

from ... import constraints, initializers, ops
from ...engine.argument_checks import python_int
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec

SUPPORTED_KERNELS = ["gaussian", "laplacian"]


class RandomFourierFeatures(Layer):
    """Maps `(batch, d)` inputs to `(batch, output_dim)` features `cos(x @ W / scale + b)`,
    with `W` drawn for a Gaussian (normal) or Laplacian (Cauchy) kernel, `b` uniform in
    `[0, 2 pi)`; only the scale is a trainable weight (and only with `trainable=True`).

    Example:
    >>> layer = RandomFourierFeatures(8, kernel_initializer="laplacian")
    >>> layer(np.ones((2, 3), "float32")).shape
    (2, 8)
    """

    def __init__(self, output_dim, kernel_initializer="gaussian", scale=None, trainable=False,
                 name=None, **kwargs):
        if output_dim <= 0:
            raise ValueError(f"`output_dim` should be a positive integer. Received: {output_dim}")
        if isinstance(kernel_initializer, str) and \
                kernel_initializer.lower() not in SUPPORTED_KERNELS:
            raise ValueError(f"Unsupported `kernel_initializer`: {kernel_initializer} Expected "
                             f"one of: {SUPPORTED_KERNELS}")
        if scale is not None and scale <= 0.0:
            raise ValueError(f"When provided, `scale` should be a positive float. Received: "
                             f"{scale}")
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.output_dim = python_int(output_dim, "output_dim", "RandomFourierFeatures")
        self.kernel_initializer = kernel_initializer
        self.scale = scale

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"The rank of the input tensor should be 2. Received input with "
                             f"rank {len(input_shape)} instead. Full input shape received: "
                             f"{tuple(input_shape)}")
        input_dim = input_shape[1]
        if input_dim is None:
            raise ValueError("The last dimension of the input tensor should be defined. Found "
                             f"`None`. Full input shape received: {tuple(input_shape)}")
        self.input_spec = InputSpec(ndim=2, axes={1: input_dim})
        self.unscaled_kernel = self.add_weight(
            "unscaled_kernel", shape=(input_dim, self.output_dim),
            initializer=_features_initializer(self.kernel_initializer, (input_dim,
                                                                         self.output_dim)),
            trainable=False)
        self.bias = self.add_weight(
            "bias", shape=(self.output_dim,),
            initializer=initializers.RandomUniform(minval=0.0, maxval=2 * np.pi),
            trainable=False)
        if self.scale is None:
            self.scale = _default_scale(self.kernel_initializer, input_dim)
        self.kernel_scale = self.add_weight(
            "kernel_scale", shape=(1,), initializer=initializers.Constant(self.scale),
            trainable=True, constraint=constraints.NonNeg())
        self.built = True

    def call(self, inputs):
        kernel = ops.multiply(ops.divide(1.0, self.kernel_scale), self.unscaled_kernel)
        inputs = ops.cast(inputs, self.compute_dtype)
        return ops.cos(ops.bias_add(ops.matmul(inputs, kernel), self.bias))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"Shape {input_shape} must have rank 2")
        if input_shape[-1] is None:
            raise ValueError("The last dimension of the input tensor should be defined. Found "
                             f"`None`. Full input shape received: {input_shape}")
        return input_shape[:-1] + (self.output_dim,)

    def get_config(self):
        kernel_initializer = self.kernel_initializer
        if not isinstance(kernel_initializer, str):
            kernel_initializer = initializers.serialize(kernel_initializer)
        config = super().get_config()
        config.update({"output_dim": self.output_dim, "kernel_initializer": kernel_initializer,
                       "scale": self.scale})
        return config


def _features_initializer(initializer, shape):
    """The Gaussian kernel's features are standard normal; the Laplacian's standard Cauchy,
    drawn as tf.keras does from NumPy's global generator (so `np.random.seed` fixes them)."""
    if not isinstance(initializer, str):
        return initializers.get(initializer)
    if initializer.lower() == "gaussian":
        return initializers.RandomNormal(stddev=1.0)
    uniform = np.random.uniform(low=0.0, high=1.0, size=shape)
    return initializers.Constant(np.tan(np.pi * (uniform - 0.5)))


def _default_scale(initializer, input_dim):
    if isinstance(initializer, str) and initializer.lower() == "gaussian":
        return float(np.sqrt(input_dim / 2.0))
    return 1.0
