"""Minimum: elementwise minimum of a list of inputs."""
from ... import ops
from .base_merge import Merge


class Minimum(Merge):
    """Elementwise minimum of a list of inputs (on ties the gradient goes to the earlier input,
    as with `tf.minimum`).

    Example:
    >>> Minimum()([np.zeros((2, 3)), np.ones((2, 3))]).numpy()[0]
    array([0., 0., 0.], dtype=float32)
    """

    _tf_op_name = "Minimum"

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.minimum(output, x)
        return output


def minimum(inputs, **kwargs):
    """Functional interface to `Minimum`: `minimum([x1, x2])`."""
    return Minimum(**kwargs)(inputs)
