"""The rest of `tf.keras.backend`: convolutions, pooling, padding, resizing, `rnn`, CTC, the
focal crossentropies, variable updates, random variables and the functional helpers.

All follow tf.keras 2.x semantics and defaults; `gradients` adds a node computing
the gradients to the functional graph; `placeholder` is a `keras.Input`.
"""
import contextlib
import warnings

import numpy as np

from . import functions as base
from .. import losses, ops
from ..core.random import make_rng
from ..core import config, dispatch, session
from ..core.tensor import GradientTape, Tensor, Variable, as_array, gradients_while_recording, \
    is_recording, record
from ..engine.base_layer import Layer
from ..layers.core.input_layer import Input
from ..engine.keras_tensor import KerasTensor, recorded_value
from ..models.functional import Functional
from ..ops.conv import avg_pool, conv as conv_kernel, conv_transpose, depthwise_conv, max_pool
from ..ops.image import resize as resize_kernel
from ..ops import local_conv as local_conv_ops
from ..ops.ctc import beam_search, ctc_negative_log_likelihood, dense_paths


def _data_format(data_format):
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Unknown data_format: {data_format}")
    return data_format


def _tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _padding(padding):
    if padding not in ("same", "valid", "causal"):
        raise ValueError(f"Invalid padding: {padding}")
    return padding


# --- ranges, reversal, cumulative product -----------------------------------------------------
def arange(start, stop=None, step=1, dtype="int32"):
    """`[start, stop)` by `step`; one argument means `[0, start)` (a negative one gives [])."""
    if stop is None and start < 0:
        start = 0
    # tf.range: the widest dtype of the bounds and step (a Python float makes a float32
    # range), which only a dtype other than the default "int32" casts
    bounds = [start, step] if stop is None else [start, stop, step]
    range_dtype = max((_range_bound_dtype(b) for b in bounds), key=_RANGE_DTYPES.index)
    values = np.arange(start, step=step) if stop is None else np.arange(start, stop, step)
    values = values.astype(range_dtype)
    return Tensor(values if dtype == "int32" else values.astype(dtype))


_RANGE_DTYPES = ["int32", "int64", "float32", "float64"]


def _range_bound_dtype(bound):
    """The dtype tf.range gives a bound: Python numbers int32/float32, NumPy values their own."""
    if isinstance(bound, (np.generic, np.ndarray, Tensor)):
        name = np.asarray(bound).dtype.name
        if name in _RANGE_DTYPES:
            return name
        return "float32" if np.asarray(bound).dtype.kind == "f" else "int32"
    return "float32" if isinstance(bound, float) else "int32"


def reverse(x, axes):
    """`x` reversed along `axes` (an int or a list of ints)."""
    axes = [axes] if isinstance(axes, int) else list(axes)
    for axis in axes:
        x = ops.flip(x, axis)
    return x


def cumprod(x, axis=0):
    """Cumulative product along `axis`; gradient `reverse_cumsum(g * out) / x`."""
    xd = as_array(x)
    out = np.cumprod(xd, axis=axis, dtype=xd.dtype)

    def backward(g, needs):
        flipped = np.flip(g * out, axis=axis)
        summed = np.flip(np.cumsum(flipped, axis=axis), axis=axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (summed / xd,)
    return record(out, (x,), backward)


# --- normalization -------------------------------------------------------------------------------
def batch_normalization(x, mean, var, beta, gamma, axis=-1, epsilon=1e-3):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta` (tf.nn.batch_normalization)."""
    inverse = ops.divide(1.0, ops.sqrt(ops.add(var, np.asarray(epsilon, as_array(x).dtype))))
    if gamma is not None:
        inverse = ops.multiply(inverse, gamma)
    shift = ops.negative(ops.multiply(mean, inverse))
    if beta is not None:
        shift = ops.add(shift, beta)
    return ops.add(ops.multiply(x, inverse), shift)


def normalize_batch_in_training(x, gamma, beta, reduction_axes, epsilon=1e-3):
    """`(normalized, mean, variance)` with the moments over `reduction_axes`.

    As in tf.keras on CPU, a 4D input reduced over `[0, 1, 2]` goes through TF's fused batch
    norm, which returns the unbiased (n / (n - 1)) variance; other cases the biased one.
    """
    ndim = len(np.shape(as_array(x)))
    fused = ndim == 4 and list(reduction_axes) == [0, 1, 2]
    axes = sorted(a % ndim for a in reduction_axes)
    mean = ops.mean(x, axis=tuple(axes), keepdims=True)
    variance = ops.mean(ops.square(ops.subtract(x, ops.stop_gradient(mean))), axis=tuple(axes),
                        keepdims=True)
    kept_shape = [np.shape(as_array(x))[i] for i in range(ndim) if i not in axes]
    broadcast = [1 if i in axes else np.shape(as_array(x))[i] for i in range(ndim)]

    def as_broadcast(param):
        return None if param is None else ops.reshape(param, broadcast)
    normalized = batch_normalization(x, mean, variance, as_broadcast(beta), as_broadcast(gamma),
                                     epsilon=epsilon)
    if fused:
        count = int(np.prod([np.shape(as_array(x))[a] for a in axes]))
        variance = ops.multiply(variance, np.asarray(count / max(count - 1, 1),
                                                     as_array(variance).dtype))
    return normalized, ops.reshape(mean, kept_shape), ops.reshape(variance, kept_shape)


def moving_average_update(x, value, momentum):
    """`x -= (x - value) * (1 - momentum)` (what tf.keras 2 does eagerly)."""
    momentum = np.asarray(momentum, x.dtype)
    value = np.asarray(as_array(value), x.dtype)
    x.assign_sub((x.data - value) * (np.asarray(1, x.dtype) - momentum))
    return x


# --- focal crossentropies ---------------------------------------------------------------------------
def binary_focal_crossentropy(target, output, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False):
    """Elementwise `(1 - p_t)^gamma * bce`, times `alpha_t` with `apply_class_balancing`."""
    target = ops.convert_to_tensor(target)
    output = ops.convert_to_tensor(output)
    sigmoidal = ops.sigmoid(output) if from_logits else output
    one = np.asarray(1, as_array(output).dtype)
    p_t = ops.add(ops.multiply(target, sigmoidal),
                  ops.multiply(ops.subtract(one, target), ops.subtract(one, sigmoidal)))
    focal_factor = ops.power(ops.subtract(one, p_t), np.asarray(gamma, one.dtype))
    loss = ops.multiply(focal_factor, base.binary_crossentropy(target, output,
                                                               from_logits=from_logits))
    if apply_class_balancing:
        weight = ops.add(ops.multiply(target, np.asarray(alpha, one.dtype)),
                         ops.multiply(ops.subtract(one, target), np.asarray(1 - alpha, one.dtype)))
        loss = ops.multiply(weight, loss)
    return loss


def categorical_focal_crossentropy(target, output, alpha=0.25, gamma=2.0, from_logits=False,
                                   axis=-1):
    """`sum(alpha * (1 - p)^gamma * -target * log p)` over `axis`, with `p` the renormalised,
    clipped probabilities."""
    target = ops.convert_to_tensor(target)
    output = ops.convert_to_tensor(output)
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(f"Shapes {tuple(target.shape)} and {tuple(output.shape)} are "
                         "incompatible")
    return losses.categorical_focal_crossentropy_from_target(target, output, alpha, gamma,
                                                             from_logits, axis)


# --- convolutions ---------------------------------------------------------------------------------
def _conv(x, kernel, rank, strides, padding, data_format, dilation_rate):
    data_format = _data_format(data_format)
    padding = _padding(padding)
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    if padding == "causal":
        if rank != 1:
            raise ValueError("Causal padding is only supported for 1D convolutions.")
        width = (np.shape(as_array(kernel))[0] - 1) * dilation[0]
        x = temporal_padding(x, (width, 0)) if data_format == "channels_last" else \
            ops.pad(x, [(0, 0), (0, 0), (width, 0)])
        padding = "valid"
    return conv_kernel(x, kernel, strides, padding, dilation, data_format=data_format)


def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1D convolution; `kernel` is `(width, in, out)`; `padding` may be 'causal'."""
    return _conv(x, kernel, 1, strides, padding, data_format, dilation_rate)


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    """2D convolution; `kernel` is `(height, width, in, out)`."""
    return _conv(x, kernel, 2, strides, padding, data_format, dilation_rate)


def conv3d(x, kernel, strides=(1, 1, 1), padding="valid", data_format=None,
           dilation_rate=(1, 1, 1)):
    """3D convolution; `kernel` is `(depth, height, width, in, out)`."""
    return _conv(x, kernel, 3, strides, padding, data_format, dilation_rate)


def conv2d_transpose(x, kernel, output_shape, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    """Transposed 2D convolution; `kernel` is `(height, width, out, in)`; `output_shape` the
    full output shape (batch included) in `data_format`."""
    data_format = _data_format(data_format)
    output_shape = tuple(int(d) for d in np.asarray(as_array(output_shape)).ravel())
    spatial = output_shape[2:] if data_format == "channels_first" else output_shape[1:3]
    return conv_transpose(x, kernel, _tuple(strides, 2), _padding(padding),
                          _tuple(dilation_rate, 2), spatial, data_format=data_format)


def depthwise_conv2d(x, depthwise_kernel, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    """Depthwise 2D convolution; `depthwise_kernel` is `(height, width, in, multiplier)`."""
    return depthwise_conv(x, depthwise_kernel, _tuple(strides, 2), _padding(padding),
                          _tuple(dilation_rate, 2), data_format=_data_format(data_format))


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, strides=(1, 1), padding="valid",
                     data_format=None, dilation_rate=(1, 1)):
    """Depthwise convolution followed by a 1x1 (`pointwise_kernel`) convolution."""
    data_format = _data_format(data_format)
    depthwise = depthwise_conv2d(x, depthwise_kernel, strides, padding, data_format,
                                 dilation_rate)
    return conv_kernel(depthwise, pointwise_kernel, (1, 1), "valid", (1, 1),
                       data_format=data_format)


def _local_conv(inputs, kernel, kernel_size, strides, output_shape, data_format):
    """Unshared weights: each output position has its own `(features, filters)` matrix."""
    return local_conv_ops.local_conv(inputs, kernel, kernel_size, strides, tuple(output_shape),
                                     _data_format(data_format))


def local_conv1d(inputs, kernel, kernel_size, strides, data_format=None):
    """1D convolution with unshared weights: `kernel` is `(output_length, kernel_size * in,
    filters)`."""
    output_length = np.shape(as_array(kernel))[0]
    return _local_conv(inputs, kernel, _tuple(kernel_size, 1), _tuple(strides, 1),
                       (output_length,), data_format)


def local_conv2d(inputs, kernel, kernel_size, strides, output_shape, data_format=None):
    """2D convolution with unshared weights: `kernel` is `(rows * cols, kh * kw * in,
    filters)`, `output_shape` is `(rows, cols)`."""
    return _local_conv(inputs, kernel, _tuple(kernel_size, 2), _tuple(strides, 2),
                       tuple(output_shape), data_format)


# --- pooling ----------------------------------------------------------------------------------------
def _pool(x, rank, pool_size, strides, padding, data_format, pool_mode):
    data_format = _data_format(data_format)
    if padding not in ("same", "valid"):
        raise ValueError(f"Invalid padding: {padding}")
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"Invalid pooling mode: {pool_mode}")
    pool = max_pool if pool_mode == "max" else avg_pool
    return pool(x, _tuple(pool_size, rank), _tuple(strides, rank), padding,
                data_format=data_format)


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    """2D max or average (`pool_mode='avg'`) pooling."""
    return _pool(x, 2, pool_size, strides, padding, data_format, pool_mode)


def pool3d(x, pool_size, strides=(1, 1, 1), padding="valid", data_format=None, pool_mode="max"):
    """3D max or average (`pool_mode='avg'`) pooling."""
    return _pool(x, 3, pool_size, strides, padding, data_format, pool_mode)


# --- padding and resizing ------------------------------------------------------------------------
def _check_pairs(padding, count):
    if len(padding) != count or any(len(pair) != 2 for pair in padding):
        raise ValueError(f"`padding` should have {count} elements, each a pair. Received: "
                         f"{padding}")
    return [tuple(int(v) for v in pair) for pair in padding]


def temporal_padding(x, padding=(1, 1)):
    """Zeros before and after the middle (time) axis of a 3D tensor."""
    if len(padding) != 2:
        raise ValueError(f"`padding` should have 2 elements. Received: {padding}")
    return ops.pad(x, [(0, 0), (int(padding[0]), int(padding[1])), (0, 0)])


def _spatial_padding(x, padding, rank, data_format):
    pairs = _check_pairs(padding, rank)
    if _data_format(data_format) == "channels_first":
        return ops.pad(x, [(0, 0), (0, 0)] + pairs)
    return ops.pad(x, [(0, 0)] + pairs + [(0, 0)])


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    """Zeros around the rows and columns of a 4D tensor."""
    return _spatial_padding(x, padding, 2, data_format)


def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    """Zeros around the three spatial axes of a 5D tensor."""
    return _spatial_padding(x, padding, 3, data_format)


_RESIZE_METHODS = ("area", "bicubic", "bilinear", "gaussian", "lanczos3", "lanczos5",
                   "mitchellcubic", "nearest")


def resize_images(x, height_factor, width_factor, data_format, interpolation="nearest"):
    """Rows times `height_factor`, columns times `width_factor` ('nearest' repeats pixels,
    the others interpolate as tf.image.resize)."""
    data_format = _data_format(data_format)
    if interpolation not in _RESIZE_METHODS:
        names = ", ".join(f'"{name}"' for name in _RESIZE_METHODS)
        raise ValueError(f"`interpolation` argument should be one of: {names}. Received: "
                         f'"{interpolation}".')
    rows, cols = (2, 3) if data_format == "channels_first" else (1, 2)
    if interpolation == "nearest":
        return ops.repeat(ops.repeat(x, height_factor, rows), width_factor, cols)
    if data_format == "channels_first":
        x = ops.transpose(x, (0, 2, 3, 1))
    shape = np.shape(as_array(x))
    out = resize_kernel(x, shape[1] * height_factor, shape[2] * width_factor, interpolation)
    return ops.transpose(out, (0, 3, 1, 2)) if data_format == "channels_first" else out


def resize_volumes(x, depth_factor, height_factor, width_factor, data_format):
    """Each spatial axis of a 5D tensor repeated by its factor."""
    first = 2 if _data_format(data_format) == "channels_first" else 1
    for offset, factor in enumerate((depth_factor, height_factor, width_factor)):
        x = ops.repeat(x, factor, first + offset)
    return x


# --- recurrence ---------------------------------------------------------------------------------------
def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None,
        unroll=False, input_length=None, time_major=False, zero_output_for_mask=False,
        return_all_outputs=True):
    """Iterate `step_function(input_t, states) -> (output_t, new_states)` over the time axis.

    Returns `(last_output, outputs, new_states)`; `outputs` is `(batch, time, ...)` (or
    time-major with `time_major=True`), only the last step when `return_all_outputs=False`.
    With a `mask` (batch, time), a masked step keeps the previous states and repeats the
    previous output (zeros with `zero_output_for_mask=True`).
    """
    if not time_major:
        inputs = ops.transpose(inputs, (1, 0) + tuple(range(2, len(inputs.shape))))
    steps = inputs.shape[0]
    if mask is not None:
        mask = np.asarray(as_array(mask)).astype(bool)
        if mask.ndim == 2 and not time_major:
            mask = mask.T
    time_indices = list(range(steps))
    if go_backwards:
        time_indices.reverse()
    states = list(initial_states)
    constants = list(constants or [])
    outputs, previous = [], None
    for t in time_indices:
        output, new_states = step_function(ops.getitem(inputs, t), tuple(states) + tuple(constants))
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        if mask is not None:
            keep = mask[t]
            if previous is None:
                previous = ops.multiply(output, np.asarray(0, as_array(output).dtype))
            hold = ops.multiply(output, np.asarray(0, as_array(output).dtype)) \
                if zero_output_for_mask else previous
            output = ops.where(_expand_mask(keep, output), output, hold)
            new_states = [ops.where(_expand_mask(keep, new), new, old)
                          for new, old in zip(new_states, states)]
            previous = output
        outputs.append(output)
        states = new_states
    last_output = outputs[-1]
    stacked = ops.stack(outputs, axis=0) if return_all_outputs else \
        ops.expand_dims(last_output, 0)
    if not time_major:
        stacked = ops.transpose(stacked, (1, 0) + tuple(range(2, len(stacked.shape))))
    return last_output, stacked, states


def _expand_mask(mask, like):
    shape = mask.shape + (1,) * (len(np.shape(as_array(like))) - mask.ndim)
    return mask.reshape(shape)


def map_fn(fn, elems, name=None, dtype=None):
    """`fn` applied to each slice of `elems` along the first axis, results stacked."""
    return ops.stack([fn(ops.getitem(elems, i)) for i in range(np.shape(as_array(elems))[0])],
                     axis=0)


def foldl(fn, elems, initializer=None, name=None):
    """`fn(accumulator, element)` left to right over the first axis of `elems`."""
    count = np.shape(as_array(elems))[0]
    accumulator = ops.getitem(elems, 0) if initializer is None else initializer
    for i in range(0 if initializer is not None else 1, count):
        accumulator = fn(accumulator, ops.getitem(elems, i))
    return accumulator


def foldr(fn, elems, initializer=None, name=None):
    """`fn(accumulator, element)` right to left over the first axis of `elems`."""
    count = np.shape(as_array(elems))[0]
    accumulator = ops.getitem(elems, count - 1) if initializer is None else initializer
    for i in range(count - 2 if initializer is None else count - 1, -1, -1):
        accumulator = fn(accumulator, ops.getitem(elems, i))
    return accumulator


# --- CTC -----------------------------------------------------------------------------------------------
class SparseTensor:
    """The sparse labels `ctc_label_dense_to_sparse` returns: `indices` (int64, (n, 2)),
    `values` and `dense_shape` (int64), as a `tf.SparseTensor` holds them."""

    def __init__(self, indices, values, dense_shape):
        self.indices = np.asarray(indices, np.int64).reshape(-1, 2)
        self.values = np.asarray(values)
        self.dense_shape = np.asarray(dense_shape, np.int64)

    def __repr__(self):
        return (f"SparseTensor(indices={self.indices.tolist()}, values={self.values.tolist()}, "
                f"dense_shape={self.dense_shape.tolist()})")


def ctc_label_dense_to_sparse(labels, label_lengths):
    """The first `label_lengths[b]` labels of each row, as a SparseTensor."""
    labels = np.asarray(as_array(labels))
    lengths = np.asarray(as_array(label_lengths)).reshape(-1).astype(int)
    indices = [(b, t) for b in range(labels.shape[0]) for t in range(lengths[b])]
    values = np.asarray([labels[b, t] for b, t in indices], labels.dtype)
    return SparseTensor(indices, values, labels.shape)


def is_sparse(tensor):
    return isinstance(tensor, SparseTensor)


def to_dense(tensor):
    """A SparseTensor as a dense Tensor (zeros elsewhere); other tensors unchanged."""
    if not is_sparse(tensor):
        return tensor
    dense = np.zeros(tuple(tensor.dense_shape), tensor.values.dtype)
    if len(tensor.values):
        dense[tuple(tensor.indices.T)] = tensor.values
    return Tensor(dense)


def ctc_batch_cost(y_true, y_pred, input_length, label_length):
    """CTC loss per batch element, `(batch, 1)`, of softmax outputs `y_pred` (batch, time,
    classes; the last class is the blank) for the labels `y_true` (batch, max_label_length)
    with lengths `label_length` and `input_length` valid time steps (each `(batch, 1)`)."""
    probs = as_array(y_pred)
    dtype = probs.dtype
    logits = np.log(probs + np.asarray(config.epsilon(), dtype)).astype(np.float64)
    labels = np.asarray(as_array(y_true)).astype(np.int64)
    lengths = np.asarray(as_array(input_length)).reshape(-1).astype(int)
    label_lengths = np.asarray(as_array(label_length)).reshape(-1).astype(int)
    blank = probs.shape[-1] - 1
    losses = np.zeros((probs.shape[0], 1), np.float64)
    logit_grads = np.zeros(probs.shape, np.float64)
    for b in range(probs.shape[0]):
        steps = lengths[b]
        shifted = logits[b, :steps] - logits[b, :steps].max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        losses[b, 0], logit_grads[b, :steps] = ctc_negative_log_likelihood(log_probs,
                                                        labels[b, :label_lengths[b]], blank)

    def backward(g, needs):
        # d loss / d y_pred = d loss / d logits / (y_pred + epsilon)
        grad = logit_grads * np.asarray(g, np.float64).reshape(-1, 1, 1)
        return (grad / (probs.astype(np.float64) + config.epsilon())).astype(dtype), None, \
            None, None
    return record(losses.astype(dtype), (y_pred, y_true, input_length, label_length), backward)


def ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1):
    """Decode softmax outputs: `([decoded], log_probabilities)`, `decoded` padded with -1.

    Greedy: the most likely class per step, repeats merged, blanks removed; the score is minus
    the sum of the best log-probabilities. Otherwise a prefix beam search of `beam_width`
    keeping `top_paths` paths (repeats not merged across a step, as tf.keras asks TF).
    """
    probs = as_array(y_pred)
    dtype = probs.dtype
    log_probs = np.log(np.transpose(probs, (1, 0, 2)) + np.asarray(config.epsilon(), dtype))
    lengths = np.asarray(as_array(input_length)).reshape(-1).astype(int)
    blank = probs.shape[-1] - 1
    batch = probs.shape[0]
    if greedy:
        paths, scores = [], np.zeros((batch, 1), dtype)
        for b in range(batch):
            best = log_probs[:lengths[b], b].argmax(axis=-1)
            scores[b, 0] = -np.sum(log_probs[:lengths[b], b].max(axis=-1), dtype=dtype)
            merged = [c for i, c in enumerate(best) if i == 0 or c != best[i - 1]]
            paths.append([int(c) for c in merged if c != blank])
        return [Tensor(dense_paths(paths, probs.shape[1]))], Tensor(scores)
    # TF's beam search normalises its inputs with a log-softmax first.
    normalized = log_probs.astype(np.float64)
    normalized -= np.log(np.exp(normalized).sum(axis=-1, keepdims=True))
    results = [beam_search(normalized[:lengths[b], b], blank, beam_width, top_paths)
               for b in range(batch)]
    decoded = [Tensor(dense_paths([results[b][k][0] for b in range(batch)], probs.shape[1]))
               for k in range(top_paths)]
    scores = np.array([[score for _, score in results[b]] for b in range(batch)], dtype)
    return decoded, Tensor(scores)


# --- top-k, random, variables ------------------------------------------------------------------
def in_top_k(predictions, targets, k):
    """Whether each target's prediction is among the `k` largest of its row (ties at the
    boundary count as in)."""
    return ops.in_top_k(np.asarray(as_array(targets)).reshape(-1), predictions, k)


def random_bernoulli(shape, p=0.0, dtype=None, seed=None):
    """1 with probability `p`, else 0."""
    dtype = dtype or config.floatx()
    # tf.keras compares a tf.random.uniform draw of `dtype` (its stateful stream) with `p`
    draws = as_array(base.random_uniform(shape, dtype=dtype, seed=seed))
    # `p` may be a tensor (keras-drop-block computes it from the input's shape)
    return Tensor((draws <= np.asarray(as_array(p))).astype(dtype))


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    """Deprecated alias of `random_bernoulli`."""
    warnings.warn("`keras.backend.random_binomial` is deprecated, and will be removed in a "
                  "future version.Please use `keras.backend.random_bernoulli` instead.",
                  stacklevel=2)
    return random_bernoulli(shape, p, dtype, seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples, redrawn while more than two standard deviations from the mean."""
    rng = make_rng(seed)
    values = rng.standard_normal(size=shape)
    outside = np.abs(values) > 2
    while np.any(outside):
        values[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(values) > 2
    return Tensor((values * stddev + mean).astype(dtype or config.floatx()))


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None):
    """A Variable initialised from a normal distribution."""
    # tf.keras draws it with tf's random normal op, its seed from NumPy when None
    seed = np.random.randint(int(10e8)) if seed is None else seed
    value = base.random_normal(shape, mean, scale, dtype=dtype, seed=seed)
    return base.variable(value, dtype=dtype, name=name)


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None):
    """A Variable initialised from a uniform distribution on [low, high)."""
    seed = np.random.randint(int(10e8)) if seed is None else seed
    value = base.random_uniform(shape, low, high, dtype=dtype, seed=seed)
    return base.variable(value, dtype=dtype, name=name)


class _SymbolicUpdate(tuple):
    """`K.update(x, new_x)` with a symbolic `new_x` (a Keras 2 graph op): the pair
    (variable, new value) that `K.function(..., updates=[...])` assigns at each call."""


def update(x, new_x):
    if isinstance(new_x, KerasTensor):
        return _SymbolicUpdate((x, new_x))
    x.assign(np.asarray(as_array(new_x), x.dtype))
    return x


def update_add(x, increment):
    if isinstance(increment, KerasTensor):
        return _SymbolicUpdate((x, x + increment))
    x.assign_add(np.asarray(as_array(increment), x.dtype))
    return x


def update_sub(x, decrement):
    if isinstance(decrement, KerasTensor):
        return _SymbolicUpdate((x, x - decrement))
    x.assign_sub(np.asarray(as_array(decrement), x.dtype))
    return x


def print_tensor(x, message="", summarize=3):
    """Print `message` and the value of `x` (first and last `summarize` entries per axis);
    return `x`."""
    value = np.asarray(as_array(x))
    text = np.array2string(value, threshold=2 * summarize, edgeitems=summarize)
    print(f"{message} {text}" if message else text)
    return x


# --- session, phases, functions ----------------------------------------------------------------
def backend():
    """'tensorflow', as in tf.keras: Keras 2 scripts test `K.backend() == 'tensorflow'` to pick
    the code path written for TensorFlow's semantics, which are the ones reproduced here
    (the other branch is Theano's or CNTK's). The arrays are NumPy's all the same."""
    return "tensorflow"


def image_dim_ordering():
    """Keras 2.0-2.2's name for the image data format (gone from tf.keras): 'th' for
    channels_first, 'tf' for channels_last. Keras 2 example scripts (deep_dream) branch on it."""
    return "th" if config.image_data_format() == "channels_first" else "tf"


def set_image_dim_ordering(dim_ordering):
    """Keras 2.0-2.2: set the image data format by its old name ('th' or 'tf')."""
    formats = {"th": "channels_first", "tf": "channels_last"}
    if dim_ordering not in formats:
        raise ValueError("Unknown dim_ordering: " + str(dim_ordering))
    config.set_image_data_format(formats[dim_ordering])


def reset_uids():
    """Restart the automatic layer names (`dense`, `dense_1`, ...)."""
    session._NAME_UIDS.clear()


_MANUAL_VARIABLE_INITIALIZATION = [False]


def manual_variable_initialization(value):
    """Kept for TF1 scripts: variables here always hold their initial value at creation, so
    the flag has no effect."""
    _MANUAL_VARIABLE_INITIALIZATION[0] = bool(value)


@contextlib.contextmanager
def learning_phase_scope(value):
    """Run the block with the learning phase set to `value` (0 test, 1 train)."""
    if value not in (0, 1):
        raise ValueError("Expected learning phase to be 0 or 1.")
    previous = session.learning_phase()
    session.set_learning_phase(value)
    try:
        yield
    finally:
        session._LEARNING_PHASE[0] = previous


class LearningPhase(int):
    """What `K.learning_phase()` returns: the current phase (0 or 1), an int that Keras 2
    scripts may also list among `K.function`'s inputs to feed a phase with each call
    (`K.function([model.input, K.learning_phase()], [layer.output])([x, 1])`)."""


def learning_phase():
    """The learning phase: 0 (inference) unless set to 1."""
    return LearningPhase(session.learning_phase())


def function(inputs, outputs, updates=None, name=None, **kwargs):
    """A callable computing `outputs` from values for the KerasTensors `inputs` (a functional
    graph), returning NumPy arrays, as tf.keras' eager `K.function`. A `K.learning_phase()`
    among the inputs takes the phase of each call (1: training behaviour, e.g. dropout)."""
    updates = _update_pairs(updates)
    if kwargs:
        raise ValueError("Invalid argument(s) passed to `K.function`: "
                         f"{sorted(kwargs)}")
    phase_at = None
    if isinstance(inputs, (list, tuple)):
        phases = [i for i, tensor in enumerate(inputs) if isinstance(tensor, LearningPhase)]
        if phases:
            phase_at = phases[0]
            inputs = [tensor for tensor in inputs if not isinstance(tensor, LearningPhase)]
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    symbolic_updates = [value for _, value in updates if isinstance(value, KerasTensor)]
    all_outputs = (list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]) + \
        symbolic_updates
    held = _held_inputs(inputs, all_outputs)
    model = Functional(inputs + held, all_outputs if updates else outputs)
    wrap_outputs = isinstance(outputs, list) and len(outputs) == 1
    graph_mode = bool(updates) or any(_uses_symbolic_gradients(t) for t in all_outputs)

    def run(model_inputs):
        training = None
        model_inputs = list(model_inputs) if isinstance(model_inputs, (list, tuple)) else [
            model_inputs]
        if phase_at is not None:
            training = bool(model_inputs.pop(phase_at))
        model_inputs += [_held_value(tensor) for tensor in held]
        results = model(model_inputs, training=training)
        if updates:
            results = _apply_updates(updates, list(results) if isinstance(
                results, (list, tuple)) else [results], len(symbolic_updates))
            if not isinstance(outputs, (list, tuple)):
                results = results[0]
        elif wrap_outputs:
            results = [results]
        if isinstance(results, (list, tuple)):
            return [_fetched(r, graph_mode) for r in results]
        return _fetched(results, graph_mode)
    return run


def _fetched(result, graph_mode):
    """A `K.function` result as tf.keras gives it: a NumPy array, and for a scalar a Python
    number (eager) or a NumPy scalar (np.float32) when the function is a Keras 2 graph-mode
    one (`K.gradients` or `updates`, which tf.keras runs only with eager execution off)."""
    value = np.asarray(as_array(result))
    if value.ndim:
        return value
    return value[()] if graph_mode else value.item()


def _uses_symbolic_gradients(tensor):
    """Whether `tensor` is computed through a `K.gradients` node."""
    if not isinstance(tensor, KerasTensor):
        return False
    return any(isinstance(upstream.node.layer, _SymbolicGradients)
               for upstream in _upstream_tensors(tensor))


def _update_pairs(updates):
    """`K.function`'s `updates` (Keras 2 graph mode): (variable, new value) pairs or
    `K.update*` of symbolic values; the new values are computed with the outputs, from the
    variables' values before the call, then assigned."""
    pairs = []
    for entry in updates or ():
        if not (isinstance(entry, tuple) and len(entry) == 2 and
                isinstance(entry[0], Variable)):
            # tf.keras' eager error; the Keras 2 graph forms above are the ones run here
            raise ValueError(
                "`updates` argument is not supported during eager execution. You passed: "
                f"{updates} (K.function runs Keras 2 graph updates given as (variable, new "
                "value) pairs or `K.update`/`K.update_add`/`K.update_sub` of symbolic values)")
        pairs.append(entry)
    return pairs


def _apply_updates(updates, results, symbolic_count):
    """Assign the new values (the last `symbolic_count` results are the symbolic ones);
    return the function's own results."""
    if symbolic_count:
        results, new_values = results[:-symbolic_count], iter(results[-symbolic_count:])
    for variable, value in updates:
        value = next(new_values) if isinstance(value, KerasTensor) else value
        variable.assign(np.asarray(as_array(value), variable.dtype))
    return results


def _held_inputs(inputs, outputs):
    """The graph inputs of `outputs` not among `inputs` that hold a value: `Input(tensor=...)`
    of a variable or eager tensor (neural_doodle's mask model, built on `K.variable` masks).
    In a Keras 2 graph that input is the variable itself, so `K.function` need not feed it."""
    given = {id(tensor) for tensor in inputs}
    held, seen = [], set()
    for output in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
        if not isinstance(output, KerasTensor):
            continue
        for graph_input in _graph_inputs(output)[0]:
            if id(graph_input) in given or id(graph_input) in seen:
                continue
            seen.add(id(graph_input))
            if getattr(graph_input.node.layer, "_held_value", None) is not None:
                held.append(graph_input)
    return held


def _held_value(tensor):
    """The current value of a held input (a variable's, at the time of the call)."""
    return np.asarray(as_array(tensor.node.layer._held_value))


def placeholder(shape=None, ndim=None, dtype=None, sparse=False, name=None, ragged=False):
    """A symbolic input, as tf.keras 2.x returns in eager mode (a KerasTensor): `shape`
    includes the batch axis; `ndim` alone gives a shape of Nones."""
    if sparse or ragged:
        raise NotImplementedError("`K.placeholder(sparse=True)` / `ragged=True`: sparse and "
                                  "ragged tensors are not supported.")
    if shape is None:
        if ndim is None:
            raise ValueError("`K.placeholder` needs a `shape` or an `ndim`.")
        shape = (None,) * ndim
    tensor = Input(batch_shape=tuple(shape), dtype=dtype or config.floatx(), name=name)
    # a Keras 2 graph placeholder: backend ops on it give plain tensors there, not layer
    # outputs (see applications._builder.model_inputs)
    tensor.node.layer._keras2_placeholder = True
    return tensor


def gradients(loss, variables):
    """`tf.gradients(loss, variables)` of a Keras 2 graph-mode script (conv_filter_visualization,
    deep_dream, neural_style_transfer): `loss` is a symbolic tensor computed from `Input`s;
    `variables` are some of those inputs, intermediate tensors of the graph (Grad-CAM's last
    conv layer output), or weights (Variables). Returns one symbolic tensor per entry (the
    gradient of `sum(loss)`; None for a Variable or tensor the loss does not use), to be
    evaluated with `K.function`. Gradients are taken in inference mode, as the learning phase
    of a Keras 2 graph defaults to 0."""
    if not isinstance(loss, KerasTensor):
        if isinstance(loss, Tensor) and is_recording():
            return _gradients_in_step(loss, variables)
        raise RuntimeError("tf.gradients is not supported when eager execution is enabled. "
                           "Use tf.GradientTape instead. (`K.gradients` takes a symbolic loss "
                           f"computed from Keras inputs; received {loss!r}.)")
    targets = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    graph_inputs, ancestors = _graph_inputs(loss)
    for target in targets:
        if not isinstance(target, (KerasTensor, Variable)):
            raise ValueError("`K.gradients` takes Keras tensors or Variables as `variables`; "
                             f"received {target!r}.")
    intermediates = [t for t in targets if isinstance(t, KerasTensor) and id(t) in ancestors
                     and not any(t is i for i in graph_inputs)]
    loss_graph = Functional(graph_inputs, [loss] + intermediates)
    # as tf.gradients: None for a Variable or tensor the loss graph does not use
    used = {id(weight) for weight in loss_graph.weights} | ancestors
    connected = [t for t in targets if id(t) in used]
    if not connected:
        return [None] * len(targets)
    result = _SymbolicGradients(loss_graph, connected)(list(graph_inputs))
    result = iter(list(result) if isinstance(result, (list, tuple)) else [result])
    return [next(result) if id(t) in used else None for t in targets]


def _gradients_in_step(loss, variables):
    """`K.gradients(y_pred, averaged_samples)` in a compiled loss (keras-contrib's
    improved_wgan): the loss is this step's value, a Keras tensor among `variables` stands for
    the value it took in this step's forward pass. The gradients are recorded ops, so the step
    differentiates them again (a Keras 2 graph's `tf.gradients`; tf.keras 2 in eager mode
    refuses the symbolic tensor instead)."""
    targets = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    sources = []
    for target in targets:
        value = recorded_value(target) if isinstance(target, KerasTensor) else target
        if isinstance(target, KerasTensor) and value is None:
            raise ValueError(f"`K.gradients`: {target!r} took no value in this training "
                             "step (it is not part of the model being trained).")
        if not isinstance(value, Tensor):
            raise ValueError("`K.gradients` takes Keras tensors, tensors or Variables as "
                             f"`variables`; received {target!r}.")
        sources.append(value)
    return gradients_while_recording([loss], sources, untracked_sources=True)


def _upstream_tensors(tensor):
    """Every KerasTensor `tensor` is computed from (itself included), each once, depth first
    with a node's inputs in their order."""
    seen, pending = set(), [tensor]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if not current.node.is_input:
            pending.extend(reversed(current.node.input_tensors))


def _graph_inputs(tensor):
    """The `Input` KerasTensors `tensor` is computed from, in the order first reached, and the
    ids of every KerasTensor it depends on (itself included)."""
    upstream = list(_upstream_tensors(tensor))
    return [t for t in upstream if t.node.is_input], {id(t) for t in upstream}


class _SymbolicGradients(Layer):
    """The graph node `K.gradients` adds: from the values of the loss graph's inputs, the
    gradients of the loss (summed) with respect to the chosen inputs, intermediate tensors
    (the loss graph's further outputs: their values as computed in this pass) and
    Variables."""

    def __init__(self, loss_graph, targets, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self._loss_graph = loss_graph
        self._targets = targets

    def call(self, inputs):
        if is_recording():
            return self._recorded_call(inputs)
        values = [Tensor(np.asarray(as_array(value), reference.dtype))
                  for value, reference in zip(inputs, self._loss_graph.inputs)]
        by_input = {id(reference): value
                    for reference, value in zip(self._loss_graph.inputs, values)}
        with GradientTape() as tape:
            for value in values:
                tape.watch(value)
            outputs = self._loss_graph(values, training=False)
            loss, *computed = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            loss = ops.sum(loss)
        by_input.update((id(reference), value) for reference, value in
                        zip(self._loss_graph.outputs[1:], computed))
        sources = [by_input.get(id(t), t) for t in self._targets]
        grads = tape.gradient(loss, sources)
        return [Tensor(np.zeros(np.shape(as_array(source)), np.asarray(as_array(source)).dtype))
                if grad is None else Tensor(np.asarray(as_array(grad))) for grad, source in
                zip(grads, sources)]

    def _recorded_call(self, inputs):
        """In a training step (a model with a gradient penalty `add_loss`): the gradients as
        recorded ops of this step's values, so that the step differentiates them again."""
        values = [ops.cast(value, reference.dtype) if isinstance(value, Tensor) else
                  Tensor(np.asarray(as_array(value), reference.dtype))
                  for value, reference in zip(inputs, self._loss_graph.inputs)]
        by_input = {id(reference): value
                    for reference, value in zip(self._loss_graph.inputs, values)}
        outputs = self._loss_graph(values, training=False)
        loss, *computed = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        by_input.update((id(reference), value) for reference, value in
                        zip(self._loss_graph.outputs[1:], computed))
        sources = [by_input.get(id(t), t) for t in self._targets]
        grads = gradients_while_recording([ops.sum(loss)], sources, untracked_sources=True)
        return [Tensor(np.zeros(source.shape, source.dtype)) if grad is None else grad
                for grad, source in zip(grads, sources)]

    def compute_output_shape(self, input_shape):
        return [target.shape if isinstance(target, KerasTensor) else tuple(target.shape)
                for target in self._targets]


class _Experimental:
    """`K.experimental`: the switch of tf.keras' random generator (always on here)."""

    _enabled = [True]

    @staticmethod
    def enable_tf_random_generator():
        _Experimental._enabled[0] = True

    @staticmethod
    def disable_tf_random_generator():
        _Experimental._enabled[0] = False

    @staticmethod
    def is_tf_random_generator_enabled():
        return _Experimental._enabled[0]


experimental = _Experimental()

dispatch.dispatch_all(globals(), "backend", exclude=(
    "backend", "image_dim_ordering", "set_image_dim_ordering", "reset_uids", "manual_variable_initialization", "learning_phase_scope",
    "learning_phase", "LearningPhase",
    "function", "placeholder", "gradients", "is_sparse", "to_dense", "update", "update_add",
    "update_sub", "moving_average_update", "print_tensor", "random_normal_variable",
    "random_uniform_variable", "ctc_label_dense_to_sparse"))
