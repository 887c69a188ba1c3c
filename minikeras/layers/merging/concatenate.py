"""Concatenate: joins a list of inputs along one axis."""
import numpy as np

from ... import ops
from ...core.tensor import Tensor
from ...engine.keras_tensor import KerasTensor
from .base_merge import Merge, _check_masks, _shapes_str


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis`; all other sizes must match.

    Example:
    >>> Concatenate(axis=1)([np.zeros((2, 2, 5)), np.ones((2, 1, 5))]).shape
    (2, 3, 5)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) < 1 or \
                not isinstance(input_shape[0], (list, tuple)):
            raise ValueError("A `Concatenate` layer should be called on a list of at least 1 "
                             f"input. Received: input_shape={_shapes_str(input_shape)}")
        self._check_shapes(input_shape)
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("A `Concatenate` layer should be called on a list of inputs. "
                             f"Received: inputs={inputs}")
        self._check_input_dtypes(inputs, symbolic=False)
        self._check_shapes([tuple(x.shape) for x in inputs])
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not isinstance(input_shape[0], (list, tuple)):
            raise ValueError("A `Concatenate` layer should be called on a list of inputs. "
                             f"Received: input_shape={_shapes_str(input_shape)}")
        output_shape = list(input_shape[0])
        for shape in input_shape[1:]:
            if output_shape[self.axis] is None or shape[self.axis] is None:
                output_shape[self.axis] = None
                break
            output_shape[self.axis] += shape[self.axis]
        return tuple(output_shape)

    _tf_op_name = "ConcatV2"

    def _infer_outputs(self, args, kwargs):
        """tf.keras builds a functional model by running `call`, whose static shape takes the
        other axes' sizes from any input that knows them ((None, None, 2) + (None, 4, 3) gives
        (None, 4, 5)); its `compute_output_shape` keeps the first input's (None)."""
        output = super()._infer_outputs(args, kwargs)
        shapes = [tuple(t.shape) for t in args[0]] if isinstance(args[0], (list, tuple)) else []
        known = list(output.shape)
        axis = self.axis % len(known)
        for i, size in enumerate(known):
            if size is None and i != axis:
                known[i] = next((shape[i] for shape in shapes
                                 if len(shape) == len(known) and shape[i] is not None), None)
        return KerasTensor(known, dtype=output.dtype) if known != list(output.shape) else output

    def compute_mask(self, inputs, mask=None):
        """Masks are concatenated like the inputs (unmasked inputs count as all True), then
        reduced over the last axis, as tf.keras does."""
        mask = _check_masks(inputs, mask)
        if mask is None:
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                masks.append(np.ones(np.shape(ops.unwrap(x)), dtype=bool))
                continue
            m = np.asarray(ops.unwrap(m), dtype=bool)
            masks.append(m[..., None] if m.ndim < np.ndim(ops.unwrap(x)) else m)
        return Tensor(np.all(np.concatenate(masks, axis=self.axis), axis=-1))

    def count_flops(self, input_shape, output_shape):
        return 0   # copies data

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config

    def _check_shapes(self, input_shape):
        """All sizes but the concatenation axis must agree (unknown sizes agree with any)."""
        message = ("A `Concatenate` layer requires inputs with matching shapes except for the "
                   f"concatenation axis. Received: input_shape={_shapes_str(input_shape)}")
        if len({len(s) for s in input_shape}) > 1:
            raise ValueError(message)
        reduced = []
        for shape in input_shape:
            shape = list(shape)
            del shape[self.axis]
            reduced.append(shape)
        for sizes in zip(*reduced):
            if len({d for d in sizes if d is not None}) > 1:
                raise ValueError(message)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional interface to `Concatenate`: `concatenate([x1, x2], axis=-1)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)
