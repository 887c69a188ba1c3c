"""ELU: exponential linear unit."""
from ... import ops
from ...engine.base_layer import Layer
from ._utils import floatx_value


class ELU(Layer):
    """`x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise.

    Example:
    >>> ELU(alpha=2.0)(np.array([0.0, 1.0])).numpy()
    array([0., 1.], dtype=float32)
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if alpha is None:
            raise ValueError("Alpha of an ELU layer cannot be None, expecting a float. "
                             f"Received: {alpha}")
        self.supports_masking = True
        self.alpha = floatx_value(alpha)

    def call(self, inputs):
        return ops.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_flops(self, input_shape, output_shape):
        return 0   # elementwise, no multiply-adds

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config
