"""The Keras 2 backend functions (`keras.backend`, usually imported as `K`).

They follow `tf.keras.backend` semantics and are differentiable, so they can be used in
`Lambda` layers, custom losses and custom layers.
"""
import numpy as np

from ..core.random import make_rng, stateful_op_seeds
from ..core import config, dtype_errors, philox
from ..core.tensor import Tensor, Variable
from ..core import dispatch
from .. import ops
from .. import activations
from ..core.tensor import as_array
from ..ops.math import batch_dot as _ops_batch_dot, convert_to_tensor  # noqa: F401  (K.* name)
from ..ops.nn import l2_normalize  # noqa: F401  (K.* name)

# --- state ------------------------------------------------------------------------------
from ..core.session import (  # noqa: F401,E402  (K.* names)
    clear_session, get_uid, unique_object_name, learning_phase, set_learning_phase,
)
from ..engine.keras_tensor import KerasTensor
from .. import losses


# --- construction ------------------------------------------------------------------------
def constant(value, dtype=None, shape=None, name=None):
    arr = np.asarray(as_array(value) if isinstance(value, Tensor) else value,
                     dtype=dtype or config.floatx())
    if shape is not None:
        arr = np.broadcast_to(arr, shape).copy()
    return Tensor(arr)


def variable(value, dtype=None, name=None, constraint=None):
    return Variable(np.asarray(as_array(value), dtype=dtype or config.floatx()),
                    name=name or "Variable", constraint=constraint)


def get_value(x):
    """A snapshot of `x` (later `set_value`/`assign` calls do not change it), a NumPy scalar
    for a 0-d value, as tf.keras' `x.numpy()`."""
    value = np.array(as_array(x))
    return value[()] if value.ndim == 0 else value


def batch_get_value(tensors):
    return [get_value(t) for t in tensors]


def set_value(x, value):
    if not isinstance(x, Variable):
        raise ValueError(f"set_value expects a Variable, got {type(x).__name__}")
    x.assign(np.asarray(value, dtype=x.dtype))


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)


def eval(x):  # noqa: A001 - Keras name
    return get_value(x)


def zeros(shape, dtype=None, name=None):
    return Variable(np.zeros(shape, dtype=dtype or config.floatx()), name=name or "zeros")


def ones(shape, dtype=None, name=None):
    return Variable(np.ones(shape, dtype=dtype or config.floatx()), name=name or "ones")


def zeros_like(x, dtype=None, name=None):
    return Tensor(np.zeros_like(as_array(x), dtype=dtype))


def ones_like(x, dtype=None, name=None):
    return Tensor(np.ones_like(as_array(x), dtype=dtype))


def eye(size, dtype=None, name=None):
    return Variable(np.eye(size, dtype=dtype or config.floatx()), name=name or "eye")


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    dtype = np.dtype(dtype or config.floatx())
    if dtype == np.float32:     # tf's stateful op, replayed (its numbers, its running stream)
        shape = _shape_tuple(shape)
        values = philox.stateful_normal(shape, *stateful_op_seeds("normal", seed, _size(shape)))
        return Tensor(values * np.float32(stddev) + np.float32(mean))
    rng = make_rng(seed)
    return Tensor(rng.normal(mean, stddev, size=shape).astype(dtype))


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    dtype = np.dtype(dtype or config.floatx())
    if dtype == np.float32:
        shape = _shape_tuple(shape)
        unit = philox.stateful_uniform(shape, *stateful_op_seeds("uniform", seed, _size(shape)))
        return Tensor(unit * (np.float32(maxval) - np.float32(minval)) + np.float32(minval))
    rng = make_rng(seed)
    return Tensor(rng.uniform(minval, maxval, size=shape).astype(dtype))


def _shape_tuple(shape):
    """A shape given as a tuple/list (of ints or 0-d tensors), an int or a 1-D tensor."""
    shape = as_array(shape) if isinstance(shape, Tensor) else shape
    if isinstance(shape, (int, np.integer)) or np.ndim(shape) == 0 and \
            not isinstance(shape, (tuple, list)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


# --- introspection -----------------------------------------------------------------------
def is_keras_tensor(x):
    # tf.keras refuses what is no tensor at all (a NumPy array, a Python number)
    if not isinstance(x, (Tensor, KerasTensor)):
        raise ValueError(f"Unexpectedly found an instance of type `{type(x)}`. "
                         "Expected a symbolic tensor instance.")
    return isinstance(x, KerasTensor)


def is_tensor(x):
    return isinstance(x, (Tensor, KerasTensor))


def int_shape(x):
    if hasattr(x, "shape") and not isinstance(x, (Tensor, np.ndarray)):
        return tuple(x.shape)
    return tuple(int(d) for d in np.shape(as_array(x)))


def shape(x):
    return Tensor(np.asarray(np.shape(as_array(x)), dtype=np.int32))


def ndim(x):
    return len(int_shape(x))


def dtype(x):
    return np.dtype(getattr(x, "dtype", None) or np.asarray(x).dtype).name


def count_params(x):
    return int(np.prod(int_shape(x)))


def cast(x, dtype):
    return ops.cast(x, dtype)


def cast_to_floatx(x):
    return np.asarray(x, dtype=config.floatx())


# --- math ----------------------------------------------------------------------------------
def _integer_array(x):
    """x's array if it holds integers (TF reduces those in their own dtype), else None."""
    array = as_array(x)
    return array if array.dtype.kind in "iu" else None


def mean(x, axis=None, keepdims=False):
    integers = _integer_array(x)
    if integers is not None:
        # tf.reduce_mean of integers: the sum divided by the count, truncated, in x's dtype
        total = np.sum(integers, axis=axis, keepdims=keepdims, dtype=np.int64)
        count = integers.size // np.asarray(total).size
        return Tensor(np.trunc(total / count).astype(integers.dtype))
    return ops.mean(x, axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return ops.sum(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return ops.max(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return ops.min(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    integers = _integer_array(x)
    if integers is not None:     # NumPy would widen int32 to int64
        return Tensor(np.prod(integers, axis=axis, keepdims=keepdims, dtype=integers.dtype))
    return ops.prod(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return ops.var(x, axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return ops.std(x, axis=axis, keepdims=keepdims)


def cumsum(x, axis=0):
    integers = _integer_array(x)
    if integers is not None:     # NumPy would widen int32 to int64
        return Tensor(np.cumsum(integers, axis=axis, dtype=integers.dtype))
    return ops.cumsum(x, axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    return ops.logsumexp(x, axis=axis, keepdims=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001
    return Tensor(np.any(as_array(x), axis=axis, keepdims=keepdims))


def all(x, axis=None, keepdims=False):  # noqa: A001
    return Tensor(np.all(as_array(x), axis=axis, keepdims=keepdims))


def argmax(x, axis=-1):
    return ops.math.argmax(x, axis)     # int64, as tf.keras (Keras 3 ops.argmax: int32)


def argmin(x, axis=-1):
    return ops.math.argmin(x, axis)


def square(x):
    return ops.square(x)


def sqrt(x):
    """Square root, with negative inputs clipped to 0 first (as Keras 2 does)."""
    return ops.sqrt(ops.maximum(x, 0.0))


def exp(x):
    return ops.exp(x)


def log(x):
    return ops.log(x)


def abs(x):  # noqa: A001
    return ops.abs(x)


def pow(x, a):  # noqa: A001
    return ops.power(x, a)


def sign(x):
    return ops.sign(x)


def round(x):  # noqa: A001
    return ops.round(x)


def _same_dtype(tf_op_name, values):
    """TF's dtype rule for an op's operands: tensors of different dtypes raise its
    InvalidArgumentError; a NumPy operand beside a float tensor takes that tensor's dtype
    (`K.maximum(float32_tensor, float64_array)` is float32)."""
    tensors = [value for value in values if isinstance(value, Tensor)]
    if not tensors:
        return list(values)
    dtype_errors.check_same_dtype(tf_op_name, tensors)
    dtype = tensors[0].dtype
    if dtype.kind != "f":
        return list(values)
    return [value if isinstance(value, Tensor) or not isinstance(value, (np.ndarray, np.generic))
            or value.dtype == dtype or value.dtype.kind not in "biuf" else value.astype(dtype)
            for value in values]


def maximum(x, y):
    return ops.maximum(*_same_dtype("Maximum", [x, y]))


def minimum(x, y):
    return ops.minimum(*_same_dtype("Minimum", [x, y]))


def sin(x):
    return ops.sin(x)


def cos(x):
    return ops.cos(x)


def clip(x, min_value, max_value):
    """Clip to [min_value, max_value]; a max below the min is raised to the min (Keras 2)."""
    if min_value is None:
        min_value = -np.inf
    if max_value is None:
        max_value = np.inf
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)) \
            and max_value < min_value:
        max_value = min_value
    return ops.clip(x, min_value, max_value)


def equal(x, y):
    return ops.equal(x, y)


def not_equal(x, y):
    return ops.not_equal(x, y)


def greater(x, y):
    return ops.greater(x, y)


def greater_equal(x, y):
    return ops.greater_equal(x, y)


def less(x, y):
    return ops.less(x, y)


def less_equal(x, y):
    return ops.less_equal(x, y)


def switch(condition, then_expression, else_expression):
    then_v = then_expression() if callable(then_expression) else then_expression
    else_v = else_expression() if callable(else_expression) else else_expression
    return ops.where(condition, then_v, else_v)


def stop_gradient(variables):
    if isinstance(variables, (list, tuple)):
        return [ops.stop_gradient(v) for v in variables]
    return ops.stop_gradient(variables)


# --- nn ------------------------------------------------------------------------------------
def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    return ops.relu(x, negative_slope=alpha, max_value=max_value, threshold=threshold)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def sigmoid(x):
    # tf.keras' K.sigmoid remembers its logits: a crossentropy on the result reads them
    return activations.sigmoid(x)


def hard_sigmoid(x):
    return ops.nn.keras2_hard_sigmoid(x)


def tanh(x):
    return ops.tanh(x)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def softmax(x, axis=-1):
    # tf.keras' K.softmax remembers its logits: a crossentropy on the result reads them
    return activations.softmax(x, axis=axis)


def bias_add(x, bias, data_format=None):
    fmt = config.normalize_data_format(data_format)
    return ops.bias_add(x, bias, axis=1 if fmt == "channels_first" else -1)


def dropout(x, level, noise_shape=None, seed=None):
    return ops.dropout(x, level, make_rng(seed), noise_shape)


def binary_crossentropy(target, output, from_logits=False):
    return losses.binary_crossentropy_elementwise(target, output, from_logits)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return losses.categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return losses.sparse_categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


# TF's names of the dtypes its integer-only kernels refuse, in their errors
_TF_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "half", "bool": "bool"}


def one_hot(indices, num_classes):
    """tf.one_hot in floatx: indices outside `[0, num_classes)` give rows of zeros; float
    indices are TF's InvalidArgumentError (its OneHot kernel takes integers only)."""
    if not getattr(indices, "_is_keras_tensor", False):
        kind = np.asarray(as_array(indices)).dtype
        if kind.kind not in "iu":
            raise dtype_errors.InvalidArgumentError(
                f"Value for attr 'TI' of {_TF_TYPE_NAMES.get(kind.name, kind.name)} is not in "
                "the list of allowed values: uint8, int8, int32, int64")
    return ops.one_hot(indices, num_classes)


def in_train_phase(x, alt, training=None):
    if training is None:
        training = learning_phase()
    chosen = x if training else alt
    return chosen() if callable(chosen) else chosen


def in_test_phase(x, alt, training=None):
    return in_train_phase(alt, x, training=training)


# --- shapes --------------------------------------------------------------------------------
def concatenate(tensors, axis=-1):
    return ops.concatenate(_same_dtype("ConcatV2", list(tensors)), axis=axis)


def stack(x, axis=0):
    return ops.stack(list(x), axis=axis)


def reshape(x, shape):
    return ops.reshape(x, shape)


def flatten(x):
    return ops.reshape(x, (-1,))


def batch_flatten(x):
    return ops.reshape(x, (np.shape(as_array(x))[0], -1))


def transpose(x):
    return ops.transpose(x)


def permute_dimensions(x, pattern):
    return ops.transpose(x, tuple(pattern))


def expand_dims(x, axis=-1):
    return ops.expand_dims(x, axis)


def squeeze(x, axis):
    return ops.squeeze(x, axis)


def tile(x, n):
    if isinstance(n, int):
        n = [n]
    count = len(n) if isinstance(n, (list, tuple)) else np.size(as_array(n))
    rank = np.ndim(as_array(x))
    if count != rank:     # NumPy would prepend axes; TF's Tile refuses
        raise dtype_errors.InvalidArgumentError(
            f"Expected multiples argument to be a vector of length {rank} but got length "
            f"{count} [Op:Tile]")
    return ops.tile(x, n)


def repeat_elements(x, rep, axis):
    return ops.repeat(x, rep, axis)


def repeat(x, n):
    """(batch, dim) -> (batch, n, dim)."""
    return ops.tile(ops.expand_dims(x, 1), (1, n, 1))


def gather(reference, indices):
    _check_gather_indices(indices, np.shape(as_array(reference))[0])
    return ops.gather(reference, indices, axis=0)


def _check_gather_indices(indices, size):
    """TF's GatherV2 refuses an index outside [0, size) (NumPy would count negative ones from
    the end)."""
    if getattr(indices, "_is_keras_tensor", False):
        return
    positions = np.asarray(as_array(indices))
    outside = np.argwhere((positions < 0) | (positions >= size))
    if outside.size:
        where = ",".join(str(int(i)) for i in outside[0])
        raise dtype_errors.InvalidArgumentError(
            f"indices[{where}] = {positions[tuple(outside[0])]} is not in [0, {size}) "
            "[Op:GatherV2]")


def dot(x, y):
    """Keras 2 `K.dot`: matrix product; for N-D inputs contracts x's last axis with y's
    second-to-last axis (y's last axis for 1-D y)."""
    x, y = _same_dtype("MatMul", [x, y])
    xs, ys = np.shape(as_array(x)), np.shape(as_array(y))
    if len(xs) <= 2 and len(ys) <= 2:
        return ops.matmul(x, y)
    y_axis = len(ys) - 2 if len(ys) >= 2 else 0
    return ops.tensordot(x, y, axes=([len(xs) - 1], [y_axis]))


def name_scope(name):
    import contextlib
    return contextlib.nullcontext()


# Called on KerasTensors, these functions build TFOpLambda layers (as tf.keras does); the
# ones that only inspect or manage state keep working on symbolic tensors as they are.
dispatch.dispatch_all(globals(), "backend", exclude=(
    "clear_session", "get_uid", "unique_object_name", "learning_phase", "set_learning_phase",
    "is_keras_tensor", "is_tensor", "int_shape", "ndim", "dtype", "count_params", "name_scope",
    "get_value", "batch_get_value", "set_value", "batch_set_value", "eval", "variable",
    "in_train_phase", "in_test_phase"))
# K.* names implemented in ops/ take part too.
def batch_dot(x, y, axes=None):
    return _ops_batch_dot(*_same_dtype("BatchMatMulV2", [x, y]), axes=axes)


batch_dot.__doc__ = _ops_batch_dot.__doc__
batch_dot = dispatch.symbolic_dispatch("backend")(batch_dot)
l2_normalize = dispatch.symbolic_dispatch("backend")(l2_normalize)
