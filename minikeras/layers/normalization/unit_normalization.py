"""UnitNormalization: scale each sample to unit L2 norm over `axis`."""
from ... import ops
from ...engine.argument_checks import validate_axis
from ...engine.base_layer import Layer


class UnitNormalization(Layer):
    """`x / sqrt(max(sum(x ** 2, axis), 1e-12))` (tf.math.l2_normalize).

    Example:
    >>> UnitNormalization()(np.array([[3.0, 4.0]], "float32")).numpy()
    array([[0.6, 0.8]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError("Invalid value for `axis` argument: expected an int or a list/tuple "
                            f"of ints. Received: axis={axis}")
        self.supports_masking = True

    def build(self, input_shape):
        validate_axis(self.axis, input_shape)
        super().build(input_shape)

    def call(self, inputs):
        x = ops.cast(inputs, self._dtype) if ops.unwrap(inputs).dtype != self._dtype else inputs
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return ops.l2_normalize(x, axis=axis)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
