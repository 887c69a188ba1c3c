"""LeakyReLU: rectifier with a small slope for negative inputs."""
from ... import ops
from ...engine.base_layer import Layer
from ._utils import floatx_value


class LeakyReLU(Layer):
    """`x` for `x >= 0`, `alpha * x` otherwise (`alpha` defaults to 0.3 as in tf.keras 2).

    Example:
    >>> LeakyReLU(alpha=0.5)(np.array([-2.0, 0.0, 2.0])).numpy()
    array([-1.,  0.,  2.], dtype=float32)
    """

    def __init__(self, alpha=0.3, **kwargs):
        super().__init__(**kwargs)
        if alpha is None:
            raise ValueError("The alpha value of a Leaky ReLU layer cannot be None, Expecting a "
                             f"float. Received: {alpha}")
        self.supports_masking = True
        self.alpha = floatx_value(alpha)

    def call(self, inputs):
        return ops.leaky_relu(inputs, negative_slope=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_flops(self, input_shape, output_shape):
        return 0   # elementwise, no multiply-adds

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config
