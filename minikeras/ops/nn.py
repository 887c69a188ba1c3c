"""Fused neural-network primitives with hand-derived backward passes."""
from math import prod

import numpy as np

from ..core.tensor import Tensor, Variable, record, unbroadcast
from . import math as _math
from ..core.tensor import as_array, unwrap
from .math import sigmoid as _sigmoid_op
from .activation_kernels import capped_relu_grad_into, relu_grad, sigmoid_array, sigmoid_grad, \
    tanh_grad
from . import parallel
from .conv_kernels import _zero_row, relu_in_place
from .own_blocks import held_result
from .parallel import split_rows


# ---------------------------------------------------------------------------------------
# dense: x @ W + b (+ activation), one op
# ---------------------------------------------------------------------------------------
def _activation_backward(name, out, g):
    """d activation / d pre-activation, computed from the activation's output."""
    if name == "relu":
        return relu_grad(g, out)
    if name == "tanh":
        return tanh_grad(g, out)
    if name == "sigmoid":
        return sigmoid_grad(g, out)
    return g


FUSABLE_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", None)


def dense(x, kernel, bias=None, activation=None):
    """`activation(x @ kernel + bias)` over the last axis of x, as one op.

    The activation (relu, tanh or linear) is applied in place on the fresh GEMM output, and its
    gradient is taken from the output, so the pre-activation is never stored. Sigmoid keeps the
    pre-activation as the output's `_keras_logits` (for the crossentropy losses).
    """
    if activation == "sigmoid":
        # Keep the pre-activation: a following binary crossentropy uses these logits
        # (`_keras_logits`), as tf.keras does after a sigmoid activation.
        logits = dense(x, kernel, bias)
        out = _sigmoid_op(logits)
        out._keras_logits = logits
        return out
    xd, wd = as_array(x), as_array(kernel)
    rows = prod(xd.shape[:-1])          # explicit: -1 cannot be inferred when empty
    x2 = xd.reshape(rows, xd.shape[-1]) if xd.ndim != 2 else xd
    out = parallel.matmul(x2, wd)
    if bias is not None:
        out += bias.data if isinstance(bias, Tensor) else bias
    if activation == "relu":
        relu_in_place(out)                  # against a row of zeros: NumPy's scalar maximum is slow
    elif activation == "tanh":
        np.tanh(out, out=out)
    if xd.ndim != 2:
        out = out.reshape(xd.shape[:-1] + (wd.shape[-1],))

    def backward(g, needs):
        g = _activation_backward(activation, out, g)
        g2 = g.reshape(rows, wd.shape[-1])         # Dense(0) gives empty gradients, not errors
        gx, gw = parallel.matmul_pair((g2, wd.T) if needs[0] else None,
                                      (x2.T, g2) if needs[1] else None)
        gx = None if gx is None else gx.reshape(xd.shape)
        gb = _bias_gradient(g2, 0) if (bias is not None and needs[2]) else None
        return gx, gw, gb
    return record(out, (x, kernel, bias), backward)


def l2_normalize(x, axis=None):
    """`x / sqrt(max(sum(x**2, axis), 1e-12))`, as `tf.math.l2_normalize`."""
    squares = _math.sum(_math.square(x), axis=axis, keepdims=True)
    return _math.multiply(x, _math.power(_math.maximum(squares, 1e-12), -0.5))


def bias_add(x, bias, axis=-1):
    """Add a per-channel bias along `axis` (last for channels_last, 1 for channels_first)."""
    xd, bd = as_array(x), as_array(bias)
    axis = axis % xd.ndim
    shape = [1] * xd.ndim
    shape[axis] = bd.shape[0]
    out = xd + bd.reshape(shape)
    reduce_axes = tuple(i for i in range(xd.ndim) if i != axis)

    def backward(g, needs):
        return (g if needs[0] else None, _bias_gradient(g, reduce_axes) if needs[1] else None)
    return record(out, (x, bias), backward)


def _bias_gradient(g, axes):
    """The sum of `g` over `axes`; a float16 one accumulated in float32 and rounded once, as
    TensorFlow's BiasAddGrad (NumPy's float16 sum accumulates in float16)."""
    if g.dtype == np.float16:
        return np.add.reduce(g, axis=axes, dtype=np.float32).astype(np.float16)
    return np.add.reduce(g, axis=axes)


# ---------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras' relu: `x` above threshold, `negative_slope * (x - threshold)` below, capped."""
    xd = as_array(x)
    if negative_slope == 0 and max_value is None and threshold == 0:
        return record(*_relu_with_backward(xd, x))
    if negative_slope == 0 and threshold == 0 and max_value == 6:
        return _capped_relu(x, xd, max_value)           # tf.nn.relu6: slope 0 at 0 and at 6
    if max_value is None and threshold == 0:
        # tf.nn.leaky_relu: slope negative_slope at 0 too
        above = xd > 0
        out = np.where(above, xd, negative_slope * xd).astype(xd.dtype, copy=False)
        slope = np.where(above, 1, negative_slope).astype(xd.dtype)
    else:
        out, slope = _keras2_relu_pieces(xd, negative_slope, max_value, threshold)
    # tf.keras' K.relu uses tf.nn.relu (its gradient keeps x) unless only thresholded
    uses_tf_relu = threshold == 0 or negative_slope != 0
    return record(out, (x,), lambda g, needs, uses_tf_relu=uses_tf_relu: (g * slope,))


def _keras2_relu_pieces(xd, negative_slope, max_value, threshold):
    """(values, slopes) of tf.keras' K.relu computed piece by piece as it does, so both match
    tf's at every kink, NaN and inf included: x * (x > threshold) (tf.nn.relu when threshold
    is 0), clipped to [0, max_value] (tf.nn.relu6 when that is all, slope 0 at 6; else
    tf.clip_by_value's minimum then maximum, which pass the gradient at both ends), minus
    negative_slope * relu(threshold - x)."""
    dtype = xd.dtype
    zero = np.zeros((), dtype)
    above = xd > threshold
    slope = above.astype(dtype)
    with np.errstate(invalid="ignore"):    # -inf * 0 is tf's NaN too
        out = xd * slope if threshold != 0 else np.maximum(xd, zero)
    if max_value is not None:
        cap = np.asarray(max_value, dtype)
        if threshold == 0 and max_value == 6:
            slope[out >= cap] = 0
            out = np.minimum(out, cap)
        else:
            clipped = np.minimum(out, cap)
            slope[~((out <= cap) & (clipped >= 0))] = 0
            out = np.maximum(clipped, zero)
    if negative_slope:
        below = threshold - xd
        out = out - negative_slope * np.maximum(below, zero)
        slope[below > 0] += negative_slope
    return out.astype(dtype, copy=False), slope


def _relu_into(source, dest):
    """`np.maximum(source, 0, out=dest)` for C-contiguous float arrays, taken against a shared
    row of zeros as `relu_in_place` does (a scalar operand runs NumPy's scalar loop)."""
    flat_in, flat_out = source.reshape(-1), dest.reshape(-1)
    width = min(_RELU_ROW, flat_in.size)
    if width == 0:
        return
    bulk = flat_in.size - flat_in.size % width
    zeros = _zero_row(width, flat_in.dtype)
    np.maximum(flat_in[:bulk].reshape(-1, width), zeros,
               out=flat_out[:bulk].reshape(-1, width))
    if bulk < flat_in.size:
        np.maximum(flat_in[bulk:], zeros[:flat_in.size - bulk], out=flat_out[bulk:])


_RELU_ROW = 1 << 14


def _relu_with_backward(xd, x):
    """`max(x, 0)` and its backward: both passes on two threads for large inputs, the
    forward written straight into a fresh array (copying x first cost a serial pass), the
    gradient as the mask copied into floats times g (a float-by-bool product casts through
    NumPy's small buffers: 2M values 1.0 -> 0.7 ms, one thread), the same numbers."""
    if xd.dtype.kind == "f" and xd.ndim and xd.flags.c_contiguous:
        out = np.empty(xd.shape, xd.dtype)
        split_rows(lambda rows: _relu_into(xd[rows], out[rows]), out)
    else:
        out = np.array(xd, copy=True)
        split_rows(lambda rows: relu_in_place(out[rows]), out)

    def backward(g, needs):
        if np.shape(g) != out.shape or np.result_type(g, out) != out.dtype:
            return (relu_grad(g, out),)
        grad = np.empty_like(out)

        def work(rows):
            np.copyto(grad[rows], np.greater(out[rows], 0))
            np.multiply(grad[rows], g[rows], out=grad[rows])
        split_rows(work, grad)
        return (grad,)
    return out, (x,), backward


def _capped_relu(x, xd, max_value):
    """`clip(x, 0, max_value)`, slope 1 strictly inside (0 at both ends, as tf.nn.relu6)."""
    cap = np.asarray(max_value, xd.dtype)
    out = np.empty_like(xd)
    split_rows(lambda rows: np.clip(xd[rows], 0, cap, out=out[rows]), out)

    def backward(g, needs):
        grad = np.empty(out.shape, np.result_type(g, out))
        split_rows(lambda rows: capped_relu_grad_into(out[rows], g[rows], cap, grad[rows]),
                   grad)
        return (grad,)
    return record(out, (x,), backward)


def leaky_relu(x, alpha=0.2):
    xd = as_array(x)
    positive = xd > 0
    scaled = xd * alpha
    if isinstance(scaled, np.ndarray) and xd.dtype.kind == "f" and scaled.dtype == xd.dtype \
            and np.ndim(alpha) == 0 and alpha > 0:
        # For a positive slope, max(x, alpha x) (min when alpha > 1) is where(x > 0, x, alpha x)
        # bit for bit, signed zeros and infinities included; np.where branches on every element
        # (802k mixed-sign floats: 3.0 -> 0.2 ms)
        out = (np.maximum if alpha <= 1 else np.minimum)(xd, scaled, out=scaled)
    else:
        out = np.where(positive, xd, scaled).astype(xd.dtype, copy=False)

    def backward(g, needs):
        scaled_g = g * alpha
        if isinstance(scaled_g, np.ndarray) and scaled_g.dtype == g.dtype and \
                g.dtype.kind == "f" and scaled_g.shape == np.shape(positive):
            return (_select_where(positive, g, scaled_g),)
        return (np.where(positive, g, scaled_g).astype(g.dtype),)
    return record(out, (x,), backward)


def _select_where(mask, if_true, if_false):
    """`np.where(mask, if_true, if_false)` for float arrays of one dtype, written into
    `if_false` (which must be writeable and not broadcast), by bit operations: the same bits,
    without np.where's per-element branch (802k mixed floats: 3.1 -> 0.5 ms)."""
    integers = np.dtype(f"int{8 * if_false.dtype.itemsize}")
    keep_true = mask.view(np.uint8).astype(integers)
    np.negative(keep_true, out=keep_true)              # all bits set where the mask is True
    bits = if_false.view(integers)
    difference = np.bitwise_xor(bits, if_true.view(integers))
    difference &= keep_true
    bits ^= difference
    return if_false


def elu(x, alpha=1.0):
    xd = as_array(x)
    positive = xd > 0
    neg = (np.expm1(np.minimum(xd, 0)) * alpha).astype(xd.dtype, copy=False)
    out = np.where(positive, xd, neg)

    def backward(g, needs):
        # tf's EluGrad passes the gradient wherever the output is not negative: alpha * g at
        # a NaN input (K.elu scales the gradient by alpha below 0 before it), not NaN
        slope = np.where(np.isnan(neg), np.asarray(alpha, neg.dtype), neg + alpha)
        return (np.where(positive, g, g * slope).astype(g.dtype),)
    return record(out, (x,), backward)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    xd = as_array(x)
    # tf.nn.selu: scale * alpha * (exp(x) - 1) below 0; its gradient takes the linear branch
    # wherever that value is not negative (x = 0, or exp(x) rounding to 1)
    neg = ((np.exp(np.minimum(xd, 0)) - 1) * (_SELU_SCALE * _SELU_ALPHA)).astype(xd.dtype,
                                                                               copy=False)
    out = np.where(xd < 0, neg, xd * np.asarray(_SELU_SCALE, xd.dtype))
    positive = ~(out < 0)

    def backward(g, needs):
        return (np.where(positive, g * _SELU_SCALE, g * (neg + _SELU_SCALE * _SELU_ALPHA)).astype(g.dtype),)
    return record(out, (x,), backward)


def prelu(x, alpha):
    """Parametric ReLU: `x` where `x > 0`, `alpha * x` elsewhere; `alpha` (a weight) broadcasts
    against x from the right. One op: tf.keras' `relu(x) - alpha * relu(-x)` has this value."""
    xd, ad = as_array(x), as_array(alpha)
    positive = xd > 0
    out = np.where(positive, xd, ad * xd).astype(xd.dtype, copy=False)

    def backward(g, needs):
        zero = np.zeros((), g.dtype)
        # At exactly 0 both relu terms have slope 0 in TensorFlow, so x gets no gradient there.
        gx = np.where(positive, g, np.where(xd < 0, g * ad, zero)) if needs[0] else None
        galpha = unbroadcast(np.where(positive, zero, g * xd), ad.shape) if needs[1] else None
        return gx, galpha
    return record(out, (x, alpha), backward)


def silu(x):
    """`x * sigmoid(x)` (swish) with tf.nn.silu's own gradient, `g * s * (1 + x * (1 - s))`:
    finite where the product rule's `(g * x) * s'(x)` is inf * 0 (|x| ~1e19 with a large g)."""
    xd = as_array(x)
    s = sigmoid_array(xd)
    out = xd * s

    def backward(g, needs):
        return (g * (s * (1 + xd * (1 - s))),)
    return record(out, (x,), backward)


def softsign(x):
    xd = as_array(x)
    denom = 1 + np.abs(xd)
    return record(xd / denom, (x,), lambda g, needs: (g / (denom * denom),))


def keras2_hard_sigmoid(x):
    """Keras 2's piecewise-linear sigmoid: clip(0.2 x + 0.5, 0, 1) (the 'hard_sigmoid'
    activation of tf.keras; `keras.ops.nn.hard_sigmoid` is Keras 3's relu6(x + 3) / 6)."""
    xd = as_array(x)
    pre = xd * np.asarray(0.2, xd.dtype) + np.asarray(0.5, xd.dtype)
    out = np.clip(pre, 0, 1).astype(xd.dtype, copy=False)
    inside = (pre >= 0) & (pre <= 1)    # tf.clip_by_value passes the gradient at 0 and 1
    return record(out, (x,), lambda g, needs: (g * (inside * np.asarray(0.2, g.dtype)),))


def softmax(x, axis=-1):
    xd = as_array(x)
    maxima = np.maximum.reduce(xd, axis=axis, keepdims=True)     # np.max without its wrapper
    out = np.exp(xd - maxima)
    sums = np.add.reduce(out, axis=axis, keepdims=True)
    out /= sums

    def backward(g, needs):
        return (out * (g - np.sum(g * out, axis=axis, keepdims=True)),)
    # what a crossentropy on these logits would compute again (see `softmax_cross_entropy`)
    backward.softmax_parts = (xd, axis, maxima, sums, out)
    return record(out, (x,), backward)


def log_softmax(x, axis=-1):
    xd = as_array(x)
    shifted = xd - np.max(xd, axis=axis, keepdims=True)
    out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    def backward(g, needs):
        return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)
    return record(out, (x,), backward)


# ---------------------------------------------------------------------------------------
# cross-entropies from logits
# ---------------------------------------------------------------------------------------
def softmax_cross_entropy(labels, logits, axis=-1, softmax=None):
    """Per-sample `-sum(labels * log_softmax(logits))` over `axis`, as one op.

    `softmax`, the recorded output of `softmax(logits, axis)` (a softmax activation whose
    logits the loss reads), lends its maxima, sums and probabilities: the same NumPy calls on
    the same values, made once. Its mean can be taken as part of this op (`_mean_of_losses`)."""
    ld, yd = as_array(logits), as_array(labels).astype(as_array(logits).dtype, copy=False)
    parts = _softmax_parts_of(softmax, logits, ld, axis)
    if parts is None:
        maxima = np.maximum.reduce(ld, axis=axis, keepdims=True)
        exps = np.exp(ld - maxima)
        sums = np.add.reduce(exps, axis=axis, keepdims=True)
        probs = None
    else:
        maxima, sums, probs = parts
    log_probs = (ld - maxima) - np.log(sums)
    loss = -np.add.reduce(yd * log_probs, axis=axis)

    def backward(g, needs):
        # TensorFlow's kernel takes the labels as distributions: its logits gradient is
        # `softmax - labels` even for rows that do not sum to 1 (the zero targets of padded
        # time steps in the seq2seq examples), and tf.keras trains with that gradient.
        gexp = g[..., None] if axis in (-1, g.ndim) else np.expand_dims(g, axis)
        glogits = ((exps / sums if probs is None else probs) - yd) * gexp if needs[1] else None
        glabels = -log_probs * gexp if needs[0] else None
        return glabels, glogits
    backward.fuses_mean = True      # see `_mean_of_losses` (a flag: no reference cycle)
    return record(loss, (labels, logits), backward)


def _softmax_parts_of(softmax, logits, array, axis):
    """(maxima, sums, output) of a recorded `softmax` of exactly `array` (the data of `logits`)
    over `axis`. Not for a Variable's logits: assigned in place since, they would be stale."""
    parts = getattr(getattr(softmax, "_backward", None), "softmax_parts", None)
    if parts is None or parts[0] is not array or parts[1] != axis or \
            isinstance(logits, Variable):
        return None
    return parts[2:]


_FILLED_MEAN_GRADIENT = 4096     # values: up to this many, the mean's gradient is filled in


def _mean_of_losses(losses, inputs=None, backward=None):
    """`sum(losses) / losses.size` as one op, the bits of `ops.sum` then `ops.divide` (a
    compiled loss without sample weights). With `inputs` and `backward`, those of the recorded
    op that made the array `losses` (one whose backward has `fuses_mean` set): this op then
    stands for both, and the per-element gradient (`g / size` everywhere) goes straight into
    that op's backward."""
    if inputs is None:
        inputs = (losses,)
    ld = as_array(losses)
    axes = tuple(range(ld.ndim))
    total = np.asarray(np.add.reduce(ld, axis=axes), dtype=ld.dtype)   # np.sum's own call
    count = np.asarray(max(ld.size, 1), dtype=ld.dtype)
    out = total / count

    def mean_backward(g, needs):
        share = g / count
        # a small filled array costs less than broadcast_to's Python; a large one is a view
        per_element = np.full(ld.shape, share) if ld.size <= _FILLED_MEAN_GRADIENT and \
            np.ndim(share) == 0 else np.broadcast_to(np.reshape(share, (1,) * ld.ndim), ld.shape)
        if backward is None:
            return (per_element,)
        return backward(per_element, needs)
    return record(out, inputs, mean_backward)


def sparse_softmax_cross_entropy(labels, logits, axis=-1, softmax=None):
    """Per-sample cross-entropy with integer class labels, as one op (`softmax` and the mean as
    for `softmax_cross_entropy`)."""
    ld = as_array(logits)
    if axis not in (-1, ld.ndim - 1):
        ld = np.moveaxis(ld, axis, -1)
    idx = np.asarray(unwrap(labels)).astype(np.intp)
    if idx.ndim == ld.ndim:  # labels with a trailing 1 axis
        idx = idx.reshape(idx.shape[:-1])
    parts = _softmax_parts_of(softmax, logits, ld, axis)    # not for moved axes: another array
    if parts is None:
        maxima = np.maximum.reduce(ld, axis=-1, keepdims=True)
        shifted = ld - maxima
        exps = np.exp(shifted)
        sums = np.add.reduce(exps, axis=-1, keepdims=True)
        probs = None
    else:
        maxima, sums, probs = parts
        shifted = ld - maxima
    picked = np.take_along_axis(shifted, idx[..., None], axis=-1)[..., 0]
    loss = np.log(sums[..., 0]) - picked

    def backward(g, needs):
        grad = exps / sums if probs is None else probs.copy()
        np.put_along_axis(grad, idx[..., None],
                          np.take_along_axis(grad, idx[..., None], axis=-1) - 1, axis=-1)
        grad *= g[..., None]
        if axis not in (-1, ld.ndim - 1):
            grad = np.moveaxis(grad, -1, axis)
        return None, grad
    backward.fuses_mean = True
    return record(loss.astype(ld.dtype, copy=False), (labels, logits), backward)


def sigmoid_cross_entropy(labels, logits):
    """Elementwise `max(x, 0) - x z + log(1 + exp(-|x|))` (TF's stable form)."""
    xd = as_array(logits)
    zd = as_array(labels).astype(xd.dtype, copy=False)
    loss = np.maximum(xd, 0) - xd * zd + np.log1p(np.exp(-np.abs(xd)))

    def backward(g, needs):
        gl = g * (sigmoid_array(xd) - zd) if needs[1] else None
        gz = -g * xd if needs[0] else None
        return gz, gl
    return record(loss, (labels, logits), backward)


# ---------------------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------------------
def dropout(x, rate, rng, noise_shape=None):
    """Zero each unit with probability `rate`, scale the kept ones by 1 / (1 - rate).

    The decisions are those of `rng.random(shape, dtype=float32) >= rate` (the same uniform
    draws), made from the generator's raw 32-bit words compared with an integer threshold:
    half the generator's time of drawing floats, and no float conversion pass.
    """
    xd = as_array(x)
    shape = xd.shape if noise_shape is None else tuple(noise_shape)
    keep = keep_mask(rng, shape, rate)
    mask = np.multiply(keep, np.asarray(1.0 / (1.0 - rate), dtype=xd.dtype), dtype=xd.dtype)
    out = xd * mask
    return record(out, (x,), lambda g, needs: (unbroadcast(g * mask, xd.shape),))


# Bit generators whose raw output is a full 64-bit word (two float32 draws' worth).
_WORDS_OF_64_BITS = (np.random.PCG64, np.random.PCG64DXSM, np.random.SFC64, np.random.Philox)


def keep_mask(rng, shape, rate):
    """Boolean array of `shape`: `rng.random(shape, dtype=float32) >= rate` elementwise.

    NumPy makes a float32 uniform from a 32-bit word `b` as `(b >> 8) * 2**-24`, so
    `u >= rate` is `b >= ceil(rate * 2**24) << 8` (rate rounded to float32 first, as the
    comparison does). A PCG64 generator (`default_rng`) hands out the two 32-bit halves of each
    raw 64-bit word low half first, so the decisions match `random` draw for draw; an odd count
    uses up the last word's high half too."""
    if not isinstance(rng.bit_generator, _WORDS_OF_64_BITS):    # MT19937: 32-bit raw words
        return rng.random(shape, dtype=np.float32) >= rate
    count = prod(shape)
    bit_generator, word_count = rng.bit_generator, (count + 1) // 2
    # in a block this thread wrote last (own_blocks.py): the words are only compared here
    words = held_result(("dropout_words", word_count),
                        lambda: bit_generator.random_raw(word_count))
    bits = words.view(np.uint32)[:count].reshape(shape)
    threshold = int(np.ceil(float(np.float32(rate)) * (1 << 24))) << 8
    if threshold >= 1 << 32:                  # rate rounds to 1: a float32 uniform is below 1
        return np.zeros(shape, bool)
    return bits >= np.uint32(max(threshold, 0))

