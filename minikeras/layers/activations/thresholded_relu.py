"""ThresholdedReLU: passes values above `theta`, zeroes the rest."""
import numpy as np

from ... import ops
from ...engine.base_layer import Layer
from ._utils import floatx_value


class ThresholdedReLU(Layer):
    """`x` for `x > theta`, 0 otherwise.

    Example:
    >>> ThresholdedReLU(theta=1.0)(np.array([0.5, 1.0, 1.5])).numpy()
    array([0. , 0. , 1.5], dtype=float32)
    """

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        if theta is None:
            raise ValueError("Theta of a Thresholded ReLU layer cannot be None, expecting a "
                             f"float. Received: {theta}")
        if theta < 0:
            raise ValueError("The theta value of a Thresholded ReLU layer should be >=0. "
                             f"Received: {theta}")
        self.supports_masking = True
        self.theta = floatx_value(theta)

    def call(self, inputs):
        # x * (x > theta): the comparison is a constant, so the gradient is that mask.
        above = np.greater(ops.unwrap(inputs), self.theta)
        return ops.multiply(inputs, above.astype(ops.unwrap(inputs).dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["theta"] = self.theta
        return config
