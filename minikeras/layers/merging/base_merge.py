"""Base class of the elementwise merge layers (Add, Subtract, Multiply, Average, ...)."""
import numpy as np

from ... import ops
from ...core import dtype_errors
from ...core.tensor import Tensor
from ...engine.base_layer import Layer
from ...engine.flops import per_sample_size


class Merge(Layer):
    """Merges a list of inputs with `_merge_function`, broadcasting as tf.keras does.

    Inputs of lower rank are expanded at axis 1 (just after the batch axis) until every input
    has the same rank; then NumPy broadcasting applies. Shapes are checked without data by
    `build` and `compute_output_shape`.
    """

    # TF's op that tf.keras' merge function runs, named in its mixed-dtype errors
    _tf_op_name = "AddV2"
    # tf.keras' merge layers keep no build config when `build` is called directly
    _direct_build_keeps_shape = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_input_dtypes(self, inputs, symbolic):
        """tf.keras casts float inputs to the layer's dtype (autocast) and leaves the others:
        an integer input beside float ones reaches TF's op, which refuses to mix dtypes
        (a TypeError while building a functional graph, InvalidArgumentError when eager)."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            return
        dtypes = [np.dtype(getattr(x, "dtype", self._dtype)) for x in inputs]
        if self._dtype.kind == "f":
            dtypes = [self._dtype if dtype.kind == "f" else dtype for dtype in dtypes]
        if all(dtype == dtypes[0] for dtype in dtypes):
            return
        # tf.keras quotes the layer's name with ' when eager, with " in a graph
        heading = "Exception encountered when calling layer {} (type %s)." % type(self).__name__
        if not symbolic:
            try:
                dtype_errors.check_same_dtype(
                    self._tf_op_name, [np.empty(0, dtype) for dtype in dtypes])
            except dtype_errors.InvalidArgumentError as error:
                raise dtype_errors.InvalidArgumentError(
                    heading.format(f"'{self.name}'") + f"\n\n{error}") from None
        detail = dtype_errors.graph_mismatch_detail(self._tf_op_name, dtypes)
        raise TypeError(heading.format(f'"{self.name}"') + f"\n\n{detail}")

    def _infer_outputs(self, args, kwargs):
        self._check_input_dtypes(args[0] if args else None, symbolic=True)
        return super()._infer_outputs(args, kwargs)

    def build(self, input_shape):
        _check_list_of_shapes(input_shape)
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError("Cannot merge tensors with different batch sizes. "
                             f"Got tensors with shapes {_shapes_str(input_shape)}")
        self._elementwise_output_shape(input_shape)
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("A merge layer should be called on a list of inputs. "
                             f"Received: inputs={inputs} (not a list of tensors)")
        self._check_input_dtypes(inputs, symbolic=False)
        shapes = [tuple(x.shape) for x in inputs]
        self._elementwise_output_shape(shapes)   # same error as at build time on a mismatch
        max_ndim = max(len(s) for s in shapes)
        aligned = [_expand_at_axis_1(x, max_ndim) for x in inputs]
        return self._merge_function(aligned)

    def compute_output_shape(self, input_shape):
        _check_list_of_shapes(input_shape)
        output_shape = self._elementwise_output_shape(input_shape)
        batch_sizes = {s[0] for s in input_shape if s is not None} - {None}
        batch = batch_sizes.pop() if len(batch_sizes) == 1 else None
        return (batch,) + output_shape

    def compute_mask(self, inputs, mask=None):
        """The output is masked where any input is: the logical AND of the input masks."""
        mask = _check_masks(inputs, mask)
        if mask is None:
            return None
        present = [np.asarray(ops.unwrap(m), dtype=bool) for m in mask if m is not None]
        return Tensor(np.logical_and.reduce(np.stack(present), axis=0))

    def get_config(self):
        # tf.keras' _Merge defines one (the base keys only): no automatic config of the
        # construction arguments, so no `input_shape` beside `batch_input_shape`
        return super().get_config()

    def _merge_function(self, inputs):
        raise NotImplementedError

    def _elementwise_output_shape(self, input_shapes):
        """Broadcast shape of the inputs without their batch axis (tf.keras' rule)."""
        output_shape = tuple(input_shapes[0][1:])
        for shape in input_shapes[1:]:
            output_shape = _broadcast_shapes(output_shape, tuple(shape[1:]))
        return output_shape

    def count_flops(self, input_shape, output_shape):
        """One elementwise operation per output element for each input after the first."""
        return (len(input_shape) - 1) * per_sample_size(output_shape)


def _broadcast_shapes(shape1, shape2):
    """Right-aligned broadcast of two shapes; unknown (None) sizes stay unknown."""
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return shape1
    output_shape = list(shape1[:-len(shape2)])
    for i, j in zip(shape1[-len(shape2):], shape2):
        if i is None or j is None:
            output_shape.append(None)
        elif i == 1:
            output_shape.append(j)
        elif j == 1 or i == j:
            output_shape.append(i)
        else:
            raise ValueError("Inputs have incompatible shapes. "
                             f"Received shapes {_shape_str(shape1)} and {_shape_str(shape2)}")
    return tuple(output_shape)


def _expand_at_axis_1(x, ndim):
    """(batch, d) -> (batch, 1, ..., 1, d): how tf.keras aligns inputs of lower rank."""
    missing = ndim - x.ndim
    if missing == 0:
        return x
    return ops.reshape(x, (x.shape[0],) + (1,) * missing + tuple(x.shape[1:]))


# Keras 2's name of this base class: custom merge layers subclass `keras.layers.merge._Merge`
# (tf.keras 2.9+: `keras.layers.merging.base_merge._Merge`) and override `_merge_function`.
_Merge = Merge


def _check_list_of_shapes(input_shape):
    if not isinstance(input_shape, (list, tuple)) or not input_shape or \
            not isinstance(input_shape[0], (list, tuple)):
        raise ValueError("A merge layer should be called on a list of inputs. "
                         f"Received: input_shape={_shapes_str(input_shape)} (not a list of shapes)")


def _check_masks(inputs, mask):
    """Validate `mask` against `inputs` as tf.keras does; None when nothing is masked."""
    if mask is None:
        return None
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and not isinstance(mask, (list, tuple)):
        mask = [mask]
    if not isinstance(mask, (list, tuple)):
        raise ValueError(f"`mask` should be a list. Received: mask={mask}")
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"`inputs` should be a list. Received: inputs={inputs}")
    if len(mask) != len(inputs):
        raise ValueError("The lists `inputs` and `mask` should have the same length. "
                         f"Received: inputs={inputs} of length {len(inputs)}, and "
                         f"mask={mask} of length {len(mask)}")
    if all(m is None for m in mask):
        return None
    return list(mask)


def _shape_str(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _shapes_str(shapes):
    """Shapes printed as tf.keras prints them: tuples, inside a list."""
    if isinstance(shapes, (list, tuple)) and shapes and isinstance(shapes[0], (list, tuple)):
        return "[" + ", ".join(_shape_str(tuple(s)) for s in shapes) + "]"
    if isinstance(shapes, (list, tuple)):
        return _shape_str(tuple(shapes))
    return str(shapes)
