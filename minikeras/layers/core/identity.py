"""Identity: returns its inputs unchanged (a placeholder layer)."""
from ...engine.base_layer import Layer


class Identity(Layer):
    """Returns the inputs as given (any structure).

    Example:
    >>> Identity()(np.ones((2, 3), "float32")).shape
    (2, 3)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
