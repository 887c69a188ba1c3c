"""ReLU: rectified linear unit with optional cap, leak and threshold."""
from ... import ops
from ...engine.base_layer import Layer
from ._utils import floatx_value


class ReLU(Layer):
    """`max_value` if `x >= max_value`, `x` if `threshold <= x < max_value`,
    `negative_slope * (x - threshold)` otherwise. Defaults give `max(x, 0)`.

    Example:
    >>> ReLU(max_value=1.0)(np.array([-3.0, -1.0, 0.0, 2.0])).numpy()
    array([0., 0., 0., 1.], dtype=float32)
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError("max_value of a ReLU layer cannot be a negative value. "
                             f"Received: {max_value}")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError("negative_slope of a ReLU layer cannot be a negative value. "
                             f"Received: {negative_slope}")
        if threshold is None or threshold < 0.0:
            raise ValueError("threshold of a ReLU layer cannot be a negative value. "
                             f"Received: {threshold}")
        self.supports_masking = True
        # tf.keras casts the arguments to floatx; its configs show the rounded values.
        self.max_value = None if max_value is None else floatx_value(max_value)
        self.negative_slope = floatx_value(negative_slope)
        self.threshold = floatx_value(threshold)

    def call(self, inputs):
        return ops.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                        threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_flops(self, input_shape, output_shape):
        return 0   # elementwise, no multiply-adds

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config
