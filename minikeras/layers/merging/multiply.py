"""Multiply: elementwise product of a list of inputs."""
from ... import ops
from .base_merge import Merge


class Multiply(Merge):
    """Multiplies a list of inputs elementwise.

    Example:
    >>> Multiply()([np.full((2, 3), 2.0), np.full((2, 3), 3.0)]).numpy()[0]
    array([6., 6., 6.], dtype=float32)
    """

    _tf_op_name = "Mul"

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.multiply(output, x)
        return output


def multiply(inputs, **kwargs):
    """Functional interface to `Multiply`: `multiply([x1, x2])`."""
    return Multiply(**kwargs)(inputs)
