"""Average: elementwise mean of a list of inputs."""
from ... import ops
from .base_merge import Merge


class Average(Merge):
    """Averages a list of inputs elementwise.

    Example:
    >>> Average()([np.zeros((2, 3)), np.full((2, 3), 4.0)]).numpy()[0]
    array([2., 2., 2.], dtype=float32)
    """

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return ops.divide(output, len(inputs))


def average(inputs, **kwargs):
    """Functional interface to `Average`: `average([x1, x2])`."""
    return Average(**kwargs)(inputs)
