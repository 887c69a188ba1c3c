"""Identity: returns its inputs unchanged (a placeholder layer, tf.keras 2.x)."""
from ...core.nest import map_structure
from ...engine.base_layer import Layer


class Identity(Layer):
    """Returns its `inputs` (any structure of tensors) as they are.

    Example:
    >>> Identity()(np.ones((2, 3), "float32")).shape
    (2, 3)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return map_structure(lambda tensor: tensor, inputs)

    def compute_output_shape(self, input_shape):
        return input_shape
