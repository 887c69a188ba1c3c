"""Reshape: gives each sample a new shape."""
import numpy as np

from ... import ops
from ...engine.argument_checks import integer
from ...engine.base_layer import Layer


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (batch axis excluded); one entry may be -1, to be
    inferred from the others.

    Example:
    >>> Reshape((-1, 2, 2)).compute_output_shape((None, 12))
    (None, 3, 2, 2)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, str)) or not hasattr(target_shape, "__iter__"):
            raise TypeError("`target_shape` must be a tuple of integers. Received: "
                            f"target_shape={target_shape!r}")
        self.target_shape = tuple(integer(d, "target_shape", "Reshape") for d in target_shape)
        if any(d < -1 for d in self.target_shape):
            raise ValueError("`target_shape` entries must be non-negative integers or -1 (one "
                             "dimension inferred from the others). Received: "
                             f"target_shape={tuple(target_shape)}")

    def call(self, inputs):
        target = tuple(self._fix_unknown_dimension(inputs.shape[1:], self.target_shape))
        return ops.reshape(inputs, (inputs.shape[0],) + target)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if None in input_shape[1:]:
            # Part of the input shape unknown: -1 stays unknown.
            return (input_shape[0],) + tuple(None if s == -1 else s for s in self.target_shape)
        return (input_shape[0],) + tuple(self._fix_unknown_dimension(input_shape[1:],
                                                                     self.target_shape))

    def count_flops(self, input_shape, output_shape):
        return 0   # moves data only

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config

    @staticmethod
    def _fix_unknown_dimension(input_shape, output_shape):
        """Replace the one negative entry of `output_shape` so the sizes match (as NumPy does)."""
        input_shape, output_shape = list(input_shape), list(output_shape)
        message = ("total size of new array must be unchanged, "
                   f"input_shape = {input_shape}, output_shape = {output_shape}")
        known, unknown = 1, None
        for index, dim in enumerate(output_shape):
            if dim < 0:
                if unknown is not None:
                    raise ValueError("There must be at most one unknown dimension in "
                                     f"output_shape. Received: output_shape={output_shape}.")
                unknown = index
            else:
                known *= dim
        original = int(np.prod(input_shape, dtype=np.int64))
        if unknown is not None:
            if known == 0 or original % known != 0:
                raise ValueError(message)
            output_shape[unknown] = original // known
        elif original != known:
            raise ValueError(message)
        return output_shape
