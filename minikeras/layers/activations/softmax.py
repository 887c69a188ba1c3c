"""Softmax: normalized exponential over one or more axes, honouring a mask."""
import numpy as np

from ... import activations, ops
from ...engine.base_layer import Layer

# What masked positions get added (tf.keras' `_large_compatible_negative` for float32/64).
_LARGE_NEGATIVE = -1e9


def _dtype_name(value):
    """The TF dtype name of a bad axis, as tf's op attribute error names it."""
    return "string" if isinstance(value, str) else "float" if isinstance(value, float) else \
        type(value).__name__


class Softmax(Layer):
    """`exp(x) / sum(exp(x))` over `axis` (an int or a list of ints). Positions where the
    call's `mask` is False (0) are pushed to -1e9 first, so they get (almost) zero weight.

    Example:
    >>> Softmax()(np.array([[1.0, 2.0, 1.0]]), mask=np.array([[True, False, True]])).numpy()
    array([[0.5, 0. , 0.5]], dtype=float32)
    """

    def __init__(self, axis=-1, robust_masking=False, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.robust_masking = robust_masking
        self.axis = axis

    def call(self, inputs, mask=None):
        self._check_axes(len(inputs.shape))
        if mask is not None:
            inputs = self._apply_mask(inputs, ops.unwrap(mask))
        # One axis: tf.keras' K.softmax, whose result remembers its (masked) logits for a
        # following crossentropy; over several axes it is exp(x - logsumexp(x)), which does not.
        if isinstance(self.axis, (list, tuple)):
            if len(self.axis) > 1:
                return ops.exp(ops.subtract(
                    inputs, ops.logsumexp(inputs, axis=list(self.axis), keepdims=True)))
            return activations.softmax(inputs, axis=self.axis[0])
        return activations.softmax(inputs, axis=self.axis)

    def _check_axes(self, rank):
        for axis in (self.axis if isinstance(self.axis, (list, tuple)) else (self.axis,)):
            if not isinstance(axis, (int, np.integer)):
                # tf's InvalidArgumentError from its reduce op (our ValueError), at call time
                raise ValueError(f"Value for attr 'Tidx' of {_dtype_name(axis)} is not in the "
                                 "list of allowed values: int32, int64")
            if not -rank <= axis < rank:
                raise ValueError(f"`dim` must be in the range [-{rank}, {rank}) where {rank} is "
                                 "the number of dimensions in the input. Received: "
                                 f"dim={axis}")

    def compute_output_shape(self, input_shape):
        # tf.keras runs `call` while a functional model is built: the same axis check
        self._check_axes(len(tuple(input_shape)))
        return input_shape

    def count_flops(self, input_shape, output_shape):
        return 0   # elementwise, no multiply-adds

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        if self.robust_masking:
            config["robust_masking"] = True
        return config

    def _apply_mask(self, inputs, mask):
        dtype = ops.unwrap(inputs).dtype
        mask = np.asarray(mask)
        if self.robust_masking:
            keep = mask if mask.dtype == bool else mask > 0.5
            return ops.where(keep, inputs, np.asarray(_LARGE_NEGATIVE, dtype))
        # 0 where kept, -1e9 where masked: adding it before the softmax removes those entries.
        adder = (1.0 - mask.astype(dtype)) * np.asarray(_LARGE_NEGATIVE, dtype)
        return ops.add(inputs, adder)
