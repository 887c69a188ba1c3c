"""TensorFlow's refusal to mix tensor dtypes in one op.

TF never promotes: `float32_tensor + float64_tensor`, `K.concatenate([float32, int32])` or
`K.dot` of two dtypes raise `InvalidArgumentError` ("cannot compute AddV2 as input
#1(zero-based) was expected to be a float tensor but is a double tensor ..."), and `x / y`
a TypeError. NumPy operands (Python and NumPy scalars, arrays) are converted to the tensor's
dtype first and never meet this check.
"""
import numpy as np


class InvalidArgumentError(ValueError):
    """tf.errors.InvalidArgumentError: an op was given arguments it cannot compute with."""


# TF's names of dtypes in its op error messages (`DataTypeString`).
_TF_DTYPE_NAMES = {"float32": "float", "float64": "double", "float16": "half"}


def tf_dtype_name(dtype):
    name = np.dtype(dtype).name
    return _TF_DTYPE_NAMES.get(name, name)


def check_same_dtype(op_name, tensors):
    """Raise TF's InvalidArgumentError when `tensors` (all tensors, in the op's argument
    order) do not share the first one's dtype."""
    expected = tensors[0].dtype
    for index, tensor in enumerate(tensors[1:], start=1):
        if tensor.dtype != expected:
            raise InvalidArgumentError(
                f"cannot compute {op_name} as input #{index}(zero-based) was expected to be "
                f"a {tf_dtype_name(expected)} tensor but is a {tf_dtype_name(tensor.dtype)} "
                f"tensor [Op:{op_name}] name: {'concat' if op_name == 'ConcatV2' else ''}")


def check_division_dtypes(x, y):
    """`x / y` of two tensors: tf.math.truediv's TypeError."""
    if x.dtype != y.dtype:
        raise TypeError(graph_mismatch_detail("RealDiv", [x.dtype, y.dtype]))


def graph_mismatch_detail(op_name, dtypes, first="x", second="y"):
    """TF's words when building an op on operands of different `dtypes` (a TypeError in a
    graph): truediv's, ConcatV2's list rule, or the first operand that differs from the
    first one (`first` and `second` are the op's parameter names)."""
    names = [np.dtype(dtype).name for dtype in dtypes]
    if op_name == "RealDiv":
        return f"`x` and `y` must have the same dtype, got tf.{names[0]} != tf.{names[1]}."
    if op_name == "ConcatV2":
        return (f"Tensors in list passed to 'values' of 'ConcatV2' Op have types "
                f"[{', '.join(names)}] that don't all match.")
    other = next(name for name in names[1:] if name != names[0])
    return (f"Input '{second}' of '{op_name}' Op has type {other} that does not match type "
            f"{names[0]} of argument '{first}'.")
