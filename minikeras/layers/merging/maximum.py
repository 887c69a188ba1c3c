"""Maximum: elementwise maximum of a list of inputs."""
from ... import ops
from .base_merge import Merge


class Maximum(Merge):
    """Elementwise maximum of a list of inputs (on ties the gradient goes to the earlier input,
    as with `tf.maximum`).

    Example:
    >>> Maximum()([np.zeros((2, 3)), np.ones((2, 3))]).numpy()[0]
    array([1., 1., 1.], dtype=float32)
    """

    _tf_op_name = "Maximum"

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.maximum(output, x)
        return output


def maximum(inputs, **kwargs):
    """Functional interface to `Maximum`: `maximum([x1, x2])`."""
    return Maximum(**kwargs)(inputs)
