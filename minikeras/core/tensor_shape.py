"""The shape `get_shape()` returns: tf.keras 2 code asks it `as_list()` and `rank`."""
import math


class TensorShape(tuple):
    """A tuple of dimensions (None where unknown) that also answers the questions Keras 2 code
    asks of TensorFlow's TensorShape (`x.get_shape().as_list()`, `.rank`), printed as tf does.

    Example:
    >>> s = TensorShape((None, 3))
    >>> s.as_list(), s.rank, s[1], str(s)
    ([None, 3], 2, 3, '(None, 3)')
    """

    def as_list(self):
        return list(self)

    @property
    def rank(self):
        return len(self)

    @property
    def ndims(self):
        return len(self)

    def is_fully_defined(self):
        return all(d is not None for d in self)

    def num_elements(self):
        """The number of elements, None when a dimension is unknown."""
        return math.prod(self) if self.is_fully_defined() else None

    def __repr__(self):
        return f"TensorShape({list(self)})"

    def __str__(self):
        return tuple.__repr__(self)
