"""Subtract: difference of exactly two inputs."""
from ... import ops
from .base_merge import Merge, _shapes_str


class Subtract(Merge):
    """`inputs[0] - inputs[1]`; needs exactly two inputs.

    Example:
    >>> Subtract()([np.ones((2, 3)), np.ones((2, 3))]).shape
    (2, 3)
    """

    _tf_op_name = "Sub"

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={_shapes_str(input_shape)}")

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: inputs={inputs}")
        return ops.subtract(inputs[0], inputs[1])


def subtract(inputs, **kwargs):
    """Functional interface to `Subtract`: `subtract([x1, x2])`."""
    return Subtract(**kwargs)(inputs)
