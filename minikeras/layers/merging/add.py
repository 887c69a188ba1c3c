"""Add: elementwise sum of a list of inputs."""
from ... import ops
from .base_merge import Merge


class Add(Merge):
    """Sums a list of inputs of the same shape (or broadcastable shapes).

    Example:
    >>> Add()([np.ones((2, 3)), np.ones((2, 3))]).shape
    (2, 3)
    """

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return output


def add(inputs, **kwargs):
    """Functional interface to `Add`: `add([x1, x2])`."""
    return Add(**kwargs)(inputs)
