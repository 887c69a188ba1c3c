"""`K.*` and `keras.losses.*` functions called on KerasTensors build TFOpLambda layers.

tf.keras records such a call at the level of the TensorFlow ops the function runs: `K.square(x)`
is one `tf.math.square` layer, `K.sqrt(x)` a `tf.math.maximum` then a `tf.math.sqrt` layer,
`keras.losses.mse(a, b)` four layers. The recipes below reproduce those layers (names, op
symbols and call arguments as tf.keras writes them into model configs) for the functions
Keras 2 scripts use on symbolic tensors. Any other function becomes one layer whose op is the
function itself (`keras.backend.<name>` / `keras.losses.<name>`), as tf.keras records the
Keras functions it dispatches whole (`K.binary_crossentropy`).
"""
import inspect

import numpy as np

from .. import activations, losses, ops
from ..core import config, dispatch, nest
from ..core.tensor import Tensor, unwrap
from ..engine.tf_op_layer import TFOpLambda, register_symbol_resolver, register_tf_symbol
from ..ops.image import resize as resize_images_kernel
from ..ops.math import pad as pad_kernel, split as split_kernel
from . import functions as backend_functions
from . import nn_functions


def _tf(symbol, first, **kwargs):
    """One TFOpLambda layer: `tf.<symbol>(first, **kwargs)`."""
    return TFOpLambda(symbol)(first, **kwargs)


def _ndim(x):
    return len(getattr(x, "shape", ()))


def _positive_axis(axis, rank):
    return axis % rank if axis is not None and axis < 0 and rank else axis


# --- the TF ops the recipes use, with TF's parameter names --------------------------------------
K = backend_functions


def _reduce(function):
    return lambda input_tensor, axis=None, keepdims=False, name=None: function(
        input_tensor, axis=axis, keepdims=keepdims)


_OPS = {
    "math.square": lambda x, name=None: K.square(x),
    "math.exp": lambda x, name=None: K.exp(x),
    "math.log": lambda x, name=None: K.log(x),
    "math.sqrt": lambda x, name=None: K.sqrt(x),
    "math.sigmoid": lambda x, name=None: K.sigmoid(x),
    "math.tanh": lambda x, name=None: K.tanh(x),
    "math.softplus": lambda features, name=None: K.softplus(features),
    "math.sign": lambda x, name=None: K.sign(x),
    "math.round": lambda x, name=None: K.round(x),
    "nn.relu": lambda features, name=None: K.relu(features),
    "nn.elu": lambda features, name=None: K.elu(features),
    "nn.leaky_relu": lambda features, alpha=0.2, name=None: K.relu(features, alpha=alpha),
    "nn.selu": lambda features, name=None: ops.selu(features),
    "nn.silu": lambda features, beta=1.0, name=None: ops.silu(features),
    "nn.softmax": lambda logits, axis=None, name=None: K.softmax(
        logits, axis=-1 if axis is None else axis),
    "math.reduce_sum": _reduce(K.sum),
    "math.reduce_mean": _reduce(K.mean),
    "math.reduce_max": _reduce(K.max),
    "math.reduce_min": _reduce(K.min),
    "math.reduce_std": _reduce(K.std),
    "math.reduce_variance": _reduce(K.var),
    "math.reduce_prod": _reduce(K.prod),
    "math.reduce_any": _reduce(K.any),
    "math.reduce_all": _reduce(K.all),
    "math.maximum": lambda x, y, name=None: K.maximum(x, y),
    "math.minimum": lambda x, y, name=None: K.minimum(x, y),
    "math.equal": lambda x, y, name=None: K.equal(x, y),
    "math.greater": lambda x, y, name=None: K.greater(x, y),
    "math.squared_difference": lambda x, y, name=None: K.square(ops.subtract(x, y)),
    "math.argmax": lambda input, axis=None, name=None, output_type=None: K.argmax(  # noqa: A002
        input, axis=0 if axis is None else axis),
    "math.cumsum": lambda x, axis=0, exclusive=False, reverse=False, name=None: K.cumsum(
        x, axis=axis),
    "math.l2_normalize": lambda x, axis=None, epsilon=1e-12, name=None, dim=None: K.l2_normalize(
        x, axis=axis),
    "clip_by_value": lambda t, clip_value_min, clip_value_max, name=None: K.clip(
        t, clip_value_min, clip_value_max),
    "cast": lambda x, dtype, name=None: K.cast(x, dtype),
    "compat.v1.size": lambda input, name=None, out_type=None: Tensor(  # noqa: A002
        np.asarray(np.size(unwrap(input)), np.int32)),
    "math.divide_no_nan": lambda x, y, name=None: _divide_no_nan(x, y),
    "convert_to_tensor": lambda value, dtype=None, dtype_hint=None, name=None:
        K.cast(value, dtype) if dtype else value,
    "concat": lambda values, axis, name="concat": K.concatenate(values, axis=axis),
    "stack": lambda values, axis=0, name="stack": K.stack(values, axis=axis),
    "reshape": lambda tensor, shape, name=None: K.reshape(tensor, shape),
    "expand_dims": lambda input, axis, name=None: K.expand_dims(input, axis),  # noqa: A002
    "compat.v1.squeeze": lambda input, axis=None, name=None, squeeze_dims=None: K.squeeze(  # noqa
        input, axis[0] if isinstance(axis, (list, tuple)) else axis),
    "compat.v1.transpose": lambda a, perm=None, name="transpose", conjugate=False:
        K.transpose(a) if perm is None else K.permute_dimensions(a, perm),
    "tile": lambda input, multiples, name=None: K.tile(input, multiples),  # noqa: A002
    "one_hot": lambda indices, depth, on_value=None, off_value=None, axis=None, dtype=None,
    name=None: K.one_hot(indices, depth),
    "zeros_like": lambda input, dtype=None, name=None: K.zeros_like(input, dtype=dtype),  # noqa
    "ones_like": lambda input, dtype=None, name=None: K.ones_like(input, dtype=dtype),  # noqa
    "compat.v1.gather": lambda params, indices, validate_indices=None, name=None, axis=None,
    batch_dims=0: K.gather(params, indices),
    "unstack": lambda value, num=None, axis=0, name="unstack": list(
        ops.unstack(value, num=num, axis=axis)),
    "stop_gradient": lambda input, name=None: ops.stop_gradient(input),  # noqa: A002
    "split": lambda value, num_or_size_splits, axis=0, num=None, name="split": list(
        split_kernel(value, num_or_size_splits, axis=axis)),
    "reverse": lambda tensor, axis, name=None: nn_functions.reverse(tensor, axis),
    "nn.relu6": lambda features, name=None: K.relu(features, max_value=6.0),
    "math.less": lambda x, y, name=None: K.less(x, y),
    "math.less_equal": lambda x, y, name=None: K.less_equal(x, y),
    "math.greater_equal": lambda x, y, name=None: K.greater_equal(x, y),
    "math.add": lambda x, y, name=None: ops.add(x, y),
    "image.resize": lambda images, size, method="bilinear", preserve_aspect_ratio=False,
    antialias=False, name=None: resize_images_kernel(images, size[0], size[1], method),
    "compat.v1.pad": lambda tensor, paddings, mode="CONSTANT", name=None, constant_values=0:
        pad_kernel(tensor, paddings, constant_values),
    "compat.v1.nn.max_pool": lambda value, ksize, strides, padding, data_format="NHWC",
    name=None, input=None: nn_functions.pool2d(  # noqa: A002
        value, tuple(ksize[1:3]), tuple(strides[1:3]), padding.lower(), "channels_last", "max"),
    "compat.v1.nn.avg_pool": lambda value, ksize, strides, padding, data_format="NHWC",
    name=None, input=None: nn_functions.pool2d(  # noqa: A002
        value, tuple(ksize[1:3]), tuple(strides[1:3]), padding.lower(), "channels_last", "avg"),
    "compat.v1.nn.convolution": lambda input, filter, padding, strides=None,  # noqa: A002
    dilation_rate=None, name=None, data_format=None, filters=None, dilations=None:
        nn_functions.conv2d(input, _float_kernel(filter), tuple(strides or (1, 1)),
                            padding.lower(), "channels_last", tuple(dilation_rate or (1, 1))),
}


def _float_kernel(kernel):
    """A kernel read back from a config is a nested list: floatx, as tf.constant makes it."""
    return kernel if hasattr(kernel, "dtype") else np.asarray(kernel, config.floatx())


def _divide_no_nan(x, y):
    """tf.math.divide_no_nan: x / y, 0 where y is 0 (differentiable in x: a loss's mean)."""
    divisor = np.asarray(unwrap(y))
    if np.all(divisor != 0):
        return ops.divide(x, y)
    dtype = np.asarray(unwrap(x)).dtype
    safe = np.where(divisor == 0, 1, divisor).astype(dtype)
    return ops.multiply(ops.divide(x, safe), (divisor != 0).astype(dtype))


def _concrete_shape(shape):
    return tuple(int(np.asarray(unwrap(d))) for d in shape)


# A seeded random op draws a new sample at every call (TF's op-level seed starts a sequence).
_RANDOM_STREAMS = {}


def _stream(seed):
    if seed not in _RANDOM_STREAMS:
        _RANDOM_STREAMS[seed] = np.random.default_rng(seed)
    return _RANDOM_STREAMS[seed]


def _random_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    sample = _stream(seed).normal(mean, stddev, size=_concrete_shape(shape))
    return Tensor(sample.astype(dtype or config.floatx()))


def _random_uniform(shape, minval=0, maxval=None, dtype="float32", seed=None, name=None):
    sample = _stream(seed).uniform(minval, 1.0 if maxval is None else maxval,
                                   size=_concrete_shape(shape))
    return Tensor(sample.astype(dtype or config.floatx()))


_OPS.update({
    "compat.v1.shape": lambda input, name=None, out_type="int32": Tensor(  # noqa: A002
        np.asarray(np.shape(unwrap(input)), dtype=out_type)),
    "random.normal": _random_normal,
    "random.uniform": _random_uniform,
})
for _symbol, _op in _OPS.items():
    register_tf_symbol(_symbol, _op)


# --- K.* recipes: the TF ops tf.keras records for each function ----------------------------------
def _unary(symbol, with_name):
    extra = {"name": None} if with_name else {}
    return lambda x: _tf(symbol, x, **extra)


def _reduction(op):
    return lambda x, axis=None, keepdims=False: _tf(f"math.reduce_{op}", x, axis=axis,
                                                    keepdims=keepdims)


def _boolean_reduction(op):
    return lambda x, axis=None, keepdims=False: _tf(
        f"math.reduce_{op}", _tf("cast", x, dtype="bool"), axis=axis, keepdims=keepdims)


def _sqrt(x):
    return _tf("math.sqrt", _tf("math.maximum", x, y=0.0, name=None))


def _concatenate(tensors, axis=-1):
    return _tf("concat", list(tensors), axis=_positive_axis(axis, _ndim(tensors[0])))


def _run(symbol, first, **kwargs):
    """`tf.<symbol>(first, **kwargs)`: a layer on symbolic operands, computed at once on
    concrete ones (a K.variable operand of K.dot: tf.keras records no layer for it)."""
    if any(getattr(t, "_is_keras_tensor", False) for t in nest.flatten((first, kwargs))):
        return _tf(symbol, first, **kwargs)
    if symbol == "linalg.matmul":
        return ops.matmul(first, kwargs["b"])
    return _OPS[symbol](first, **kwargs)


def _static_or_shape_scalars(x):
    """tf.keras' K.dot: x's static dimensions, with the unknown ones taken from
    `tf.unstack(tf.shape(x))` (recorded as layers on a KerasTensor)."""
    if not getattr(x, "_is_keras_tensor", False):
        return tuple(np.shape(unwrap(x)))
    scalars = _tf("unstack", _tf("compat.v1.shape", x, name=None, out_type="int32"))
    return tuple(scalar if d is None else d for d, scalar in zip(x.shape, scalars))


def _dot(x, y):
    """tf.keras' K.dot: a matmul of 2-D operands; otherwise x flattened to 2-D times y's
    second-to-last axis moved first and flattened, reshaped back (the TF ops it records)."""
    if _ndim(x) <= 2 and _ndim(y) <= 2:
        return _run("linalg.matmul", x, b=y)
    if _ndim(y) < 2:
        return None
    x_shape, y_shape = _static_or_shape_scalars(x), _static_or_shape_scalars(y)
    y_permutation = list(range(_ndim(y)))
    y_permutation = [y_permutation.pop(-2)] + y_permutation
    x_2d = _run("reshape", x, shape=[-1, x_shape[-1]])
    y_2d = _run("reshape", _run("compat.v1.transpose", y, perm=y_permutation),
                shape=[y_shape[-2], -1])
    return _run("reshape", _run("linalg.matmul", x_2d, b=y_2d),
                shape=list(x_shape[:-1] + y_shape[:-2] + y_shape[-1:]))


def _batch_dot_axes(x, y, axes):
    """tf.keras' batch_dot axes (positive), or None where it would refuse them (the whole
    function then runs and raises its error) or squash ranks above 3 (not recorded op by op)."""
    x_ndim, y_ndim = _ndim(x), _ndim(y)
    if not 2 <= x_ndim <= 3 or not 2 <= y_ndim <= 3:
        return None
    if None not in (x.shape[0], y.shape[0]) and x.shape[0] != y.shape[0]:
        return None
    if isinstance(axes, int):
        axes = [axes, axes]
    if axes is None:
        axes = [x_ndim - 1, y_ndim - 1] if y_ndim == 2 else [x_ndim - 1, y_ndim - 2]
    if any(isinstance(a, (list, tuple)) for a in axes):
        return None
    a0, a1 = [a + rank if a < 0 else a for a, rank in zip(axes, (x_ndim, y_ndim))]
    if 0 in (a0, a1) or None not in (x.shape[a0], y.shape[a1]) and \
            x.shape[a0] != y.shape[a1]:
        return None
    return a0, a1


def _batch_dot(x, y, axes=None):
    """tf.keras' K.batch_dot of ranks 2-3: expand_dims, transposes moving the contracted
    axes, one matmul and a squeeze, recorded as those TF ops."""
    found = _batch_dot_axes(x, y, axes)
    if found is None:
        return None
    a0, a1 = found
    x_rank, y_rank = _ndim(x), _ndim(y)
    if x_rank == 2:
        x, a0 = _run("expand_dims", x, axis=1), a0 + 1
    if y_rank == 2:
        y = _run("expand_dims", y, axis=2)
    x_ndim, y_ndim = max(x_rank, 3), max(y_rank, 3)
    if a0 != x_ndim - 1:
        pattern = list(range(x_ndim))
        pattern[a0:x_ndim - 1] = pattern[a0 + 1:]
        pattern[-1] = a0
        x = _run("compat.v1.transpose", x, perm=pattern)
    if a1 != 1:
        pattern = list(range(y_ndim))
        pattern[2:a1 + 1] = pattern[1:a1]
        pattern[1] = a1
        y = _run("compat.v1.transpose", y, perm=pattern)
    result = _run("linalg.matmul", x, b=y)
    if x_rank == 2:
        return _run("compat.v1.squeeze", result, axis=1, name=None)
    if y_rank == 2:
        return _run("compat.v1.squeeze", result, axis=-1, name=None)
    return result


def _relu(x, alpha=0.0, max_value=None, threshold=0.0):
    if alpha and max_value is None and not threshold:
        return _tf("nn.leaky_relu", x, alpha=alpha)
    if not alpha and max_value == 6 and not threshold:
        return _tf("nn.relu6", x)
    if alpha or max_value is not None or threshold:
        return None
    return _tf("nn.relu", x, name=None)


def _repeat_elements(x, rep, axis):
    """tf.keras' K.repeat_elements along an axis of known size: a split into single slices,
    each repeated, concatenated back (an unknown size takes other ops: one layer here)."""
    size = x.shape[axis] if -len(x.shape) <= axis < len(x.shape) else None
    if size is None:
        return None
    pieces = _tf("split", x, num_or_size_splits=size, axis=axis)
    pieces = pieces if isinstance(pieces, (list, tuple)) else [pieces]
    return _concatenate([piece for piece in pieces for _ in range(rep)], axis=axis)


def _hard_sigmoid(x):
    """tf.keras' K.hard_sigmoid: x * 0.2 + 0.5 clipped to [0, 1], three ops (0.2 a float32
    constant, written into configs as such)."""
    scaled = _tf("math.multiply", x, y=np.float32(0.2))
    return _tf("clip_by_value", _tf("math.add", scaled, y=0.5), clip_value_min=0.0,
               clip_value_max=1.0)


def _channels_last(data_format):
    return (data_format or config.image_data_format()) == "channels_last"


def _resize_images(x, height_factor, width_factor, data_format, interpolation="nearest"):
    rows, cols = x.shape[1:3]
    if not _channels_last(data_format) or None in (rows, cols) or \
            interpolation not in nn_functions._RESIZE_METHODS:
        return None
    return _tf("image.resize", x, size=[rows * height_factor, cols * width_factor],
               method=interpolation)


def _spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    if not _channels_last(data_format):
        return None
    (top, bottom), (left, right) = padding
    return _tf("compat.v1.pad", x, paddings=[[0, 0], [top, bottom], [left, right], [0, 0]])


def _pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    if not _channels_last(data_format) or padding not in ("valid", "same") or \
            pool_mode not in ("max", "avg"):
        return None
    return _tf(f"compat.v1.nn.{pool_mode}_pool", x, ksize=[1, *pool_size, 1],
               strides=[1, *strides, 1], padding=padding.upper(), data_format="NHWC")


def _conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    if not _channels_last(data_format) or padding not in ("valid", "same"):
        return None
    return _tf("compat.v1.nn.convolution", x, filter=kernel, dilation_rate=list(dilation_rate),
               strides=list(strides), padding=padding.upper(), data_format="NHWC")


def _elu(x, alpha=1.0):
    return _tf("nn.elu", x, name=None) if alpha == 1 else None


def _tile(x, n):
    return _tf("tile", x, multiples=list(n) if isinstance(n, (list, tuple)) else [n], name=None)


def _repeat(x, n):
    return _tf("tile", _tf("expand_dims", x, axis=1), multiples=[1, n, 1], name=None)


def _seed(seed):
    """K.random_* draw a seed when none is given, as tf.keras does."""
    return int(np.random.randint(10e6)) if seed is None else seed


def _random_recipe(symbol, low_name, high_name):
    def recipe(shape, low=0.0, high=1.0, dtype=None, seed=None):
        return _tf(symbol, list(shape), **{low_name: low, high_name: high},
                   dtype=dtype or config.floatx(), seed=_seed(seed))
    return recipe


_K_RECIPES = {
    "shape": lambda x: _tf("compat.v1.shape", x, name=None, out_type="int32"),
    "random_normal": _random_recipe("random.normal", "mean", "stddev"),
    "random_uniform": _random_recipe("random.uniform", "minval", "maxval"),
    "square": _unary("math.square", True), "exp": _unary("math.exp", False),
    "log": _unary("math.log", True), "abs": _unary("math.abs", False),
    "sigmoid": _unary("math.sigmoid", False), "tanh": _unary("math.tanh", True),
    "softplus": _unary("math.softplus", False), "sign": _unary("math.sign", False),
    "round": _unary("math.round", False), "sqrt": _sqrt, "relu": _relu, "elu": _elu,
    "sum": _reduction("sum"), "mean": _reduction("mean"), "max": _reduction("max"),
    "min": _reduction("min"), "std": _reduction("std"), "var": _reduction("variance"),
    "prod": _reduction("prod"), "any": _boolean_reduction("any"),
    "all": _boolean_reduction("all"),
    "pow": lambda x, a: _tf("math.pow", x, y=a),
    "clip": lambda x, min_value, max_value: _tf("clip_by_value", x, clip_value_min=min_value,
                                                clip_value_max=max_value),
    "maximum": lambda x, y: _tf("math.maximum", x, y=y, name=None),
    "minimum": lambda x, y: _tf("math.minimum", x, y=y, name=None),
    "equal": lambda x, y: _tf("math.equal", x, y=y),
    "greater": lambda x, y: _tf("math.greater", x, y=y, name=None),
    "concatenate": _concatenate,
    "stack": lambda x, axis=0: _tf("stack", list(x), axis=axis),
    "reshape": lambda x, shape: _tf("reshape", x, shape=list(shape)),
    "flatten": lambda x: _tf("reshape", x, shape=[-1]),
    "expand_dims": lambda x, axis=-1: _tf("expand_dims", x, axis=axis),
    "squeeze": lambda x, axis: _tf("compat.v1.squeeze", x, axis=[axis], name=None),
    "transpose": lambda x: _tf("compat.v1.transpose", x),
    "permute_dimensions": lambda x, pattern: _tf("compat.v1.transpose", x, perm=list(pattern)),
    "softmax": lambda x, axis=-1: _tf("nn.softmax", x, axis=axis),
    "l2_normalize": lambda x, axis=None: _tf("math.l2_normalize", x, axis=axis),
    "cast": lambda x, dtype: _tf("cast", x, dtype=str(dtype)),
    "argmax": lambda x, axis=-1: _tf("math.argmax", x, axis=axis),
    "one_hot": lambda indices, num_classes: _tf("one_hot", indices, depth=num_classes, axis=-1),
    "zeros_like": lambda x, dtype=None, name=None: _tf("zeros_like", x, dtype=dtype, name=name),
    "ones_like": lambda x, dtype=None, name=None: _tf("ones_like", x, dtype=dtype, name=name),
    "cumsum": lambda x, axis=0: _tf("math.cumsum", x, axis=axis),
    "tile": _tile, "repeat": _repeat, "dot": _dot, "batch_dot": _batch_dot,
    "stop_gradient": lambda variables: None if isinstance(variables, (list, tuple)) else
        _tf("stop_gradient", variables),
    "reverse": lambda x, axes: _tf("reverse", x, axis=[axes] if isinstance(axes, int)
                                   else list(axes), name=None),
    "not_equal": lambda x, y: _tf("math.not_equal", x, y=y),
    "less": lambda x, y: _tf("math.less", x, y=y, name=None),
    "less_equal": lambda x, y: _tf("math.less_equal", x, y=y, name=None),
    "greater_equal": lambda x, y: _tf("math.greater_equal", x, y=y, name=None),
    "hard_sigmoid": _hard_sigmoid, "resize_images": _resize_images,
    "repeat_elements": _repeat_elements,
    "spatial_2d_padding": _spatial_2d_padding, "pool2d": _pool2d, "conv2d": _conv2d,
    "gather": lambda reference, indices: _tf("compat.v1.gather", reference, indices=indices),
}


# --- keras.losses recipes --------------------------------------------------------------------------
def _dtype_name(x):
    return getattr(getattr(x, "dtype", None), "name", None) or config.floatx()


def _cast_true(y_true, y_pred):
    return _tf("cast", y_true, dtype=_dtype_name(y_pred))


def _mse(y_true, y_pred):
    y_pred = _tf("convert_to_tensor", y_pred)
    y_true = _cast_true(y_true, y_pred)
    difference = _tf("math.squared_difference", y_pred, y=y_true, name=None)
    return _tf("math.reduce_mean", difference, axis=-1, keepdims=False)


def _crossentropy(backend_name, reduce):
    def recipe(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
        if label_smoothing:
            return None
        y_true = _cast_true(y_true, y_pred)
        y_pred = _tf("convert_to_tensor", y_pred)
        extra = {"axis": axis} if backend_name == "categorical_crossentropy" else {}
        loss = _tf("keras.backend." + backend_name, y_true, output=y_pred,
                   from_logits=from_logits, **extra)
        return _tf("math.reduce_mean", loss, axis=axis, keepdims=False) if reduce else loss
    return recipe


def _kld(y_true, y_pred):
    y_true = _cast_true(y_true, y_pred)
    y_pred = _tf("convert_to_tensor", y_pred)
    eps = config.epsilon()
    y_true = _tf("clip_by_value", y_true, clip_value_min=eps, clip_value_max=1)
    y_pred = _tf("clip_by_value", y_pred, clip_value_min=eps, clip_value_max=1)
    log_ratio = _tf("math.log", _tf("math.truediv", y_true, y=y_pred, name=None), name=None)
    return _tf("math.reduce_sum", _tf("math.multiply", y_true, y=log_ratio, name=None), axis=-1)


def _weighted_loss(losses, sample_weight=None, reduction="sum_over_batch_size"):
    """A Loss object's weighting and reduction (tf.keras: multiply by the weights, then
    reduce_sum, divided by the number of elements for sum_over_batch_size)."""
    if sample_weight is None:
        sample_weight = 1.0
    elif _ndim(sample_weight) == _ndim(losses) + 1:    # (batch, 1) weights, (batch,) losses
        sample_weight = _tf("compat.v1.squeeze", sample_weight, axis=[-1])
    losses = _tf("math.multiply", losses, y=sample_weight, name=None)
    if reduction == "none":
        return losses
    total = _tf("math.reduce_sum", losses)
    if reduction == "sum":
        return total
    # tf.keras' _safe_mean: reduce_sum(total) / cast(size(losses)), 0 for no element
    count = _tf("cast", _tf("compat.v1.size", losses), dtype=_dtype_name(losses))
    return _tf("math.divide_no_nan", _tf("math.reduce_sum", total), y=count, name=None)


_LOSS_RECIPES = {
    "compute_weighted_loss": _weighted_loss,
    "mean_squared_error": _mse,
    "binary_crossentropy": _crossentropy("binary_crossentropy", reduce=True),
    "categorical_crossentropy": _crossentropy("categorical_crossentropy", reduce=False),
    "kl_divergence": _kld,
}
def _activation_relu(x, alpha=0.0, max_value=None, threshold=0.0):
    if alpha and max_value is None and not threshold:
        return _tf("nn.leaky_relu", x, alpha=alpha)
    return _relu(x, alpha, max_value, threshold)


# keras.activations.*: the TF op each runs (tf.keras 2.21 records `activations.relu(x)` as
# tf.nn.relu, `relu(x, alpha=0.1)` as tf.nn.leaky_relu, softmax with its axis)
_ACTIVATION_RECIPES = {
    "relu": _activation_relu, "sigmoid": _K_RECIPES["sigmoid"], "tanh": _K_RECIPES["tanh"],
    "softplus": _K_RECIPES["softplus"], "elu": _elu,
    "softmax": lambda x, axis=-1: _tf("nn.softmax", x, axis=axis),
    "selu": lambda x: _tf("nn.selu", x, name=None),
    "swish": lambda x: _tf("nn.silu", x), "silu": lambda x: _tf("nn.silu", x),
}

_RECIPES = {"backend": _K_RECIPES, "losses": _LOSS_RECIPES, "activations": _ACTIVATION_RECIPES}


def call_on_symbolic(module, name, function, args, kwargs):
    """The dispatch handler: the recipe's layers, or one layer running the whole function."""
    recipe = _RECIPES[module].get(name)
    if recipe is not None:
        result = recipe(*args, **kwargs)
        if result is not None:
            return result
    return _whole_function_layer(module, name, function, args, kwargs)


def _whole_function_layer(module, name, function, args, kwargs):
    """`tf.keras.<module>.<name>` as one layer; the first argument is the layer's input, the
    others are recorded by parameter name (only those given, as tf.keras records them)."""
    bound = inspect.signature(function).bind(*args, **kwargs)
    arguments = dict(bound.arguments)
    first_name = next(iter(arguments))
    first = arguments.pop(first_name)
    return _tf(f"keras.{module}.{name}", first, **arguments)


def _keras_function(symbol):
    """`keras.backend.<name>` / `keras.losses.<name>`: a Keras function recorded whole."""
    if not symbol.startswith("keras."):
        return None
    module_name, _, name = symbol[len("keras."):].partition(".")
    modules = {"backend": (backend_functions, nn_functions), "losses": (losses,),
               "activations": (activations,)}
    for module in modules.get(module_name, ()):
        function = getattr(module, name, None)
        if callable(function):
            return getattr(function, "__wrapped_keras_function__", function)
    return None


dispatch.set_symbolic_handler(call_on_symbolic)
register_symbol_resolver(_keras_function)
