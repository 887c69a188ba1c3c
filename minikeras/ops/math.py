"""Differentiable elementwise, reduction and shape ops over NumPy arrays.

Every op takes Tensors, NumPy arrays or Python numbers and returns a Tensor. Python numbers
stay Python numbers inside the arithmetic so NumPy keeps float32 arrays float32.
"""
import operator

import numpy as np

from ..core.tensor import SliceGradient, Tensor, as_array, record, unbroadcast, unwrap
from ..core import config, dtype_errors, indexed_rows
from . import parallel
from .activation_kernels import sigmoid_array, sigmoid_grad, tanh_grad
from .erf_kernels import erf_array, erfc_array, exp_array, flush_subnormals


def _shape(x):
    return np.shape(x)


def _reduce_like(grad, x):
    """Gradient for an operand that may have been broadcast (or be a Python scalar)."""
    if isinstance(x, Tensor):
        return unbroadcast(grad, x.data.shape)
    return None


# ---------------------------------------------------------------------------------------
# binary arithmetic
# ---------------------------------------------------------------------------------------
def _broadcast(arithmetic, ad, bd):
    """`arithmetic(ad, bd)`, reporting shapes that do not broadcast in TensorFlow's words
    rather than NumPy's."""
    try:
        return arithmetic(ad, bd)
    except ValueError as error:
        shapes = [np.shape(ad), np.shape(bd)]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            first, second = (",".join(str(d) for d in shape) for shape in shapes)
            raise ValueError(f"Incompatible shapes: [{first}] vs. [{second}]") from error
        raise


def _sum_of(ad, bd):
    """`ad + bd`; two large float arrays of one shape and dtype are added on two threads
    (a residual block's Add: 8 MB a call for resnet_small, a serial pass otherwise)."""
    if type(ad) is np.ndarray and type(bd) is np.ndarray and ad.shape == bd.shape \
            and ad.dtype == bd.dtype and ad.dtype.kind == "f" and ad.ndim \
            and ad.size >= parallel.SPLIT_ELEMENTS and ad.flags.c_contiguous \
            and bd.flags.c_contiguous:
        out = np.empty_like(ad)
        parallel.split_rows(lambda rows: np.add(ad[rows], bd[rows], out=out[rows]), out)
        return out
    return _broadcast(operator.add, ad, bd)


# The tape's sums of gradients reaching one tensor by two paths (a residual block's input:
# its convolution's and its shortcut's) are such additions too.
indexed_rows.set_dense_sum(_sum_of)


def add(a, b):
    def backward(g, needs):
        return (_reduce_like(g, a) if needs[0] else None,
                _reduce_like(g, b) if needs[1] else None)
    return record(_sum_of(unwrap(a), unwrap(b)), (a, b), backward)


def subtract(a, b):
    def backward(g, needs):
        return (_reduce_like(g, a) if needs[0] else None,
                _reduce_like(-g, b) if needs[1] else None)
    return record(_broadcast(operator.sub, unwrap(a), unwrap(b)), (a, b), backward)


def multiply(a, b):
    ad, bd = unwrap(a), unwrap(b)

    def backward(g, needs):
        return (_reduce_like(g * bd, a) if needs[0] else None,
                _reduce_like(g * ad, b) if needs[1] else None)
    return record(_broadcast(operator.mul, ad, bd), (a, b), backward)


def divide(a, b):
    ad, bd = unwrap(a), unwrap(b)
    out = _broadcast(operator.truediv, ad, bd)

    def backward(g, needs):
        ga = _reduce_like(g / bd, a) if needs[0] else None
        gb = _reduce_like(-g * out / bd, b) if needs[1] else None
        return ga, gb
    return record(out, (a, b), backward)


def divide_no_nan(a, b):
    """`a / b`, and 0 wherever `b` is 0 (tf.math.divide_no_nan); the gradients are 0 there too."""
    ad, bd = unwrap(a), unwrap(b)
    divisor_is_zero = np.equal(bd, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(divisor_is_zero, 0, ad / bd)

    def backward(g, needs):
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if needs[0]:
                ga = _reduce_like(np.where(divisor_is_zero, 0, g / bd), a)
            if needs[1]:
                gb = _reduce_like(np.where(divisor_is_zero, 0, -g * out / bd), b)
        return ga, gb
    return record(out, (a, b), backward)


def power(a, b):
    ad, bd = unwrap(a), unwrap(b)
    out = np.power(ad, bd)

    def backward(g, needs):
        ga = gb = None
        if needs[0]:
            ga = _reduce_like(g * bd * np.power(ad, bd - 1), a)
        if needs[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(ad > 0, np.log(np.where(ad > 0, ad, 1)), 0).astype(out.dtype)
            gb = _reduce_like(g * out * log_a, b)
        return ga, gb
    return record(out, (a, b), backward)


def maximum(a, b):
    ad, bd = unwrap(a), unwrap(b)
    pick_a = ad >= bd

    def backward(g, needs):
        return (_reduce_like(np.where(pick_a, g, 0).astype(g.dtype), a) if needs[0] else None,
                _reduce_like(np.where(pick_a, 0, g).astype(g.dtype), b) if needs[1] else None)
    return record(np.maximum(ad, bd), (a, b), backward)


def minimum(a, b):
    ad, bd = unwrap(a), unwrap(b)
    pick_a = ad <= bd

    def backward(g, needs):
        return (_reduce_like(np.where(pick_a, g, 0).astype(g.dtype), a) if needs[0] else None,
                _reduce_like(np.where(pick_a, 0, g).astype(g.dtype), b) if needs[1] else None)
    return record(np.minimum(ad, bd), (a, b), backward)


def _product(x, y):
    """`x @ y`; 2-D products go through `parallel.matmul` (split over two threads when large
    inside a step, where BLAS runs single-threaded)."""
    if np.ndim(x) == 2 and np.ndim(y) == 2:
        return parallel.matmul(x, y)
    if x.dtype == np.float16 and y.dtype == np.float16:    # float32 accumulation, as tf
        return (x.astype(np.float32) @ y.astype(np.float32)).astype(np.float16)
    return x @ y


def matmul(a, b):
    """Matrix product over the last two axes (batched, like `tf.matmul`)."""
    ad, bd = unwrap(a), unwrap(b)

    def backward(g, needs):
        ga = gb = None
        if needs[0]:
            ga = _reduce_like(_product(g, np.swapaxes(bd, -1, -2)) if bd.ndim > 1
                              else np.multiply.outer(g, bd), a)
        if needs[1]:
            gb = _reduce_like(_product(np.swapaxes(ad, -1, -2), g) if ad.ndim > 1
                              else np.multiply.outer(ad, g), b)
        return ga, gb
    return record(_product(ad, bd), (a, b), backward)


def tensordot(a, b, axes):
    ad, bd = unwrap(a), unwrap(b)
    out = np.tensordot(ad, bd, axes)
    if isinstance(axes, int):
        a_axes = list(range(ad.ndim - axes, ad.ndim))
        b_axes = list(range(axes))
    else:
        a_axes, b_axes = axes
        a_axes = [a_axes] if isinstance(a_axes, int) else list(a_axes)
        b_axes = [b_axes] if isinstance(b_axes, int) else list(b_axes)
    a_axes = [ax % ad.ndim for ax in a_axes]
    b_axes = [ax % bd.ndim for ax in b_axes]
    a_free = [i for i in range(ad.ndim) if i not in a_axes]
    b_free = [i for i in range(bd.ndim) if i not in b_axes]

    def backward(g, needs):
        ga = gb = None
        na, nb = len(a_free), len(b_free)
        if needs[0]:
            # g[a_free, b_free] . b[b_axes, b_free] over b_free -> [a_free, b_axes order]
            # the remaining axes of b come out in b's axis order; each pairs with an a axis
            t = np.tensordot(g, bd, axes=(list(range(na, na + nb)), b_free))
            current = a_free + [a_axes[k] for k in np.argsort(b_axes)]
            ga = np.transpose(t, np.argsort(current))
        if needs[1]:
            t = np.tensordot(ad, g, axes=(a_free, list(range(na))))
            current = [b_axes[k] for k in np.argsort(a_axes)] + b_free
            gb = np.transpose(t, np.argsort(current))
        return ga, gb
    return record(out, (a, b), backward)


# ---------------------------------------------------------------------------------------
# unary elementwise
# ---------------------------------------------------------------------------------------
def negative(x):
    return record(-unwrap(x), (x,), lambda g, needs: (-g,))


def abs(x):  # noqa: A001 - mirrors the Keras name
    xd = unwrap(x)
    return record(np.abs(xd), (x,), lambda g, needs: (g * np.sign(xd),))


def square(x):
    xd = unwrap(x)
    return record(np.square(xd), (x,), lambda g, needs: (g * (2 * xd),))


def squared_difference(a, b):
    """`(a - b) ** 2` as tf.math.squared_difference, with its gradient `(2 g) * (a - b)`: the
    2 goes with g, so a difference near float32's largest value keeps a finite gradient."""
    ad, bd = unwrap(a), unwrap(b)
    difference = _broadcast(operator.sub, ad, bd)

    def backward(g, needs):
        grad = (g * 2) * difference
        return (_reduce_like(grad, a) if needs[0] else None,
                _reduce_like(-grad, b) if needs[1] else None)
    return record(np.square(difference), (a, b), backward)


def sqrt(x):
    xd = unwrap(x)
    out = np.sqrt(xd)

    def backward(g, needs):
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = g / (2 * out)
        if not np.all(out):
            # tf's SqrtGrad is 0 where the incoming gradient is 0 (not 0 / 0): sqrt(0) on a
            # branch K.switch / tf.where drops, or sliced away, gives no NaN
            grad = np.where(np.equal(g, 0), np.zeros((), grad.dtype), grad)
        return (grad,)
    return record(out, (x,), backward)


def exp(x):
    out = np.exp(unwrap(x))
    return record(out, (x,), lambda g, needs: (g * out,))


def log(x):
    xd = unwrap(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(xd)
    return record(out, (x,), lambda g, needs: (g / xd,))


def log1p(x):
    xd = unwrap(x)
    return record(np.log1p(xd), (x,), lambda g, needs: (g / (1 + xd),))


def expm1(x):
    out = np.expm1(unwrap(x))
    return record(out, (x,), lambda g, needs: (g * (out + 1),))


def sin(x):
    xd = unwrap(x)
    return record(np.sin(xd), (x,), lambda g, needs: (g * np.cos(xd),))


def cos(x):
    xd = unwrap(x)
    return record(np.cos(xd), (x,), lambda g, needs: (-g * np.sin(xd),))


def tanh(x):
    out = np.tanh(unwrap(x))
    return record(out, (x,), lambda g, needs: (tanh_grad(g, out),))


def sigmoid(x):
    out = sigmoid_array(unwrap(x))
    return record(out, (x,), lambda g, needs: (sigmoid_grad(g, out),))


def softplus(x):
    xd = unwrap(x)
    out = np.logaddexp(xd, 0).astype(xd.dtype, copy=False)

    def backward(g, needs):
        return (g * sigmoid_array(xd),)
    return record(out, (x,), backward)


def erf(x):
    """tf.math.erf: Eigen's rational approximation, vectorised (erf_kernels.py)."""
    xd = unwrap(x)
    out = erf_array(xd)

    def backward(g, needs):
        return (_erf_derivative(g, xd, 2 / np.sqrt(np.pi)),)
    return record(out, (x,), backward)


def erfc(x):
    """1 - erf(x), accurate where erf(x) is near 1 (tf.math.erfc; gelu's exact form uses it)."""
    xd = unwrap(x)
    out = erfc_array(xd)

    def backward(g, needs):
        return (_erf_derivative(g, xd, -2 / np.sqrt(np.pi)),)
    return record(out, (x,), backward)


def _erf_derivative(g, xd, scale):
    """tf's ErfGrad / ErfcGrad: `g * scale * exp(-square(x))`, in that order, in g's dtype
    (a float64 NumPy scalar would lift a float32 g to float64)."""
    g = np.asarray(g)
    grad = g * g.dtype.type(scale) if g.dtype.kind == "f" else g * scale
    xd = np.asarray(xd)
    with np.errstate(over="ignore", invalid="ignore"):    # inf x and 0 * inf, as tf's NaN
        negated_square = np.square(xd, out=np.empty(xd.shape, xd.dtype))
        np.negative(negated_square, out=negated_square)
        grad *= exp_array(negated_square)
    return flush_subnormals(grad) if isinstance(grad, np.ndarray) else grad


def sign(x):
    # tf's Sign gradient is zeros, not None: a loss reached only through sign has gradients
    return record(np.sign(unwrap(x)), (x,), lambda g, needs: (np.zeros_like(g),))


def floor(x):
    return Tensor(np.floor(unwrap(x)))


def round(x):  # noqa: A001
    return Tensor(np.round(unwrap(x)))


def clip(x, min_value, max_value):
    xd = unwrap(x)
    lo, hi = unwrap(min_value), unwrap(max_value)
    out = np.clip(xd, lo, hi)
    if out.dtype != xd.dtype:
        out = out.astype(xd.dtype)

    def backward(g, needs):
        inside = (xd >= lo) & (xd <= hi)
        return (np.where(inside, g, 0).astype(g.dtype), None, None)
    return record(out, (x, min_value, max_value), backward)


def where(condition, a, b):
    cond = unwrap(condition)
    out = np.where(cond, unwrap(a), unwrap(b))

    def backward(g, needs):
        zero = np.zeros((), g.dtype)
        return (None,
                _reduce_like(np.where(cond, g, zero), a) if needs[1] else None,
                _reduce_like(np.where(cond, zero, g), b) if needs[2] else None)
    return record(out, (condition, a, b), backward)


def stop_gradient(x):
    return Tensor(unwrap(x))


def cast(x, dtype):
    xd = unwrap(x)
    dtype = np.dtype(dtype)
    if np.iscomplexobj(xd) and dtype.kind != "c":
        xd = np.real(xd)    # tf.cast keeps the real part, without NumPy's ComplexWarning
    out = np.asarray(xd).astype(dtype)
    if dtype.kind != "f":
        return Tensor(out)
    src_dtype = np.asarray(xd).dtype
    return record(out, (x,), lambda g, needs: (g.astype(src_dtype) if src_dtype.kind == "f" else None,))


# ---------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------
def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (list, tuple, np.ndarray)):     # improved_wgan: np.arange(1, ndim)
        return tuple(sorted(int(a) % ndim for a in np.ravel(axis)))
    return (axis % ndim,)


def _expand_back(g, shape, axes, keepdims):
    """Reshape a reduced gradient so it broadcasts against the input."""
    if keepdims:
        return g
    shape_kept = [1 if i in axes else n for i, n in enumerate(shape)]
    return np.reshape(g, shape_kept)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    xd = as_array(x)
    axes = _norm_axes(axis, xd.ndim)
    out = np.sum(xd, axis=axes, keepdims=keepdims)

    def backward(g, needs):
        return (np.broadcast_to(_expand_back(g, xd.shape, axes, keepdims), xd.shape),)
    return record(np.asarray(out, dtype=xd.dtype), (x,), backward)


# Middle axes reduced over at least this many values are summed pairwise (`_pairwise_mean`).
_PAIRWISE_MEAN_MIN = 4


def _middle_block(shape, axes):
    """(outer, reduced, inner) sizes when `axes` are consecutive and leave the last axis out
    (global average pooling's spatial axes, channels_last), else None."""
    if not axes or list(axes) != list(range(axes[0], axes[0] + len(axes))) or \
            axes[-1] == len(shape) - 1:
        return None
    sizes = [int(np.prod(shape[:axes[0]])), int(np.prod(shape[axes[0]:axes[-1] + 1])),
             int(np.prod(shape[axes[-1] + 1:]))]
    return sizes if sizes[1] >= _PAIRWISE_MEAN_MIN and sizes[2] > 1 else None


def _pairwise_mean(xd, axes, block, keepdims):
    """The mean over middle axes as a pairwise sum (halving the reduced axis each step).

    NumPy sums pairwise only along the contiguous last axis: over middle axes it adds row after
    row, with a float32 error growing with the count (3.8x tf's at 56x56 global average
    pooling). Pairwise halving: log2(count) NumPy calls, one buffer half the input's size,
    float32 throughout."""
    outer, reduced, inner = block
    rows = xd.reshape(outer, reduced, inner)
    half = reduced // 2
    summed = np.add(rows[:, :half], rows[:, half:2 * half])
    if reduced % 2:
        summed[:, 0] += rows[:, 2 * half]
    while half > 1:     # the later halvings in place, in the first one's buffer
        quarter = half // 2
        summed[:, :quarter] += summed[:, quarter:2 * quarter]
        if half % 2:
            summed[:, 0] += summed[:, 2 * quarter]
        half = quarter
    out = np.divide(summed[:, 0], np.asarray(reduced, xd.dtype))
    shape = [1 if i in axes else d for i, d in enumerate(xd.shape)] if keepdims else \
        [d for i, d in enumerate(xd.shape) if i not in axes]
    return out.reshape(shape)


def mean(x, axis=None, keepdims=False):
    xd = as_array(x)
    axes = _norm_axes(axis, xd.ndim)
    count = int(np.prod([xd.shape[a] for a in axes])) if axes else 1
    # float16 keeps NumPy's mean, which already matches tf's half-precision reduction bits
    pairwise = xd.dtype.kind == "f" and xd.dtype.itemsize >= 4
    block = _middle_block(xd.shape, axes) if pairwise else None
    if block is not None:
        out = _pairwise_mean(xd, axes, block, keepdims)
    else:
        out = np.mean(xd, axis=axes, keepdims=keepdims,
                      dtype=xd.dtype if xd.dtype.kind == "f" else None)

    def backward(g, needs):
        g = _expand_back(g, xd.shape, axes, keepdims) / np.asarray(count, dtype=g.dtype)
        return (np.broadcast_to(g, xd.shape),)
    if xd.dtype.kind != "f":
        out = out.astype(config.floatx())
    return record(np.asarray(out), (x,), backward)


def _extreme(x, axis, keepdims, fn):
    xd = as_array(x)
    axes = _norm_axes(axis, xd.ndim)
    out = fn(xd, axis=axes, keepdims=True)

    def backward(g, needs):
        # Ties share the gradient equally, as TensorFlow's reduce_max gradient does. Counted
        # in uint16 where they fit and multiplied in the input's dtype: no float64 pass over x
        # (the same bits: a float32 quotient rounded twice is rounded once).
        hit = np.equal(xd, out)
        reduced = xd.size // (out.size or 1)
        counts = np.add.reduce(hit.view(np.uint8), axis=axes, keepdims=True,
                               dtype=np.uint16 if reduced < 1 << 16 else np.int64)
        share = (_expand_back(g, xd.shape, axes, keepdims) / counts).astype(xd.dtype, copy=False)
        return (np.multiply(hit, share, dtype=xd.dtype),)
    result = out if keepdims else np.squeeze(out, axis=axes)
    return record(np.asarray(result), (x,), backward)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _extreme(x, axis, keepdims, np.max)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return _extreme(x, axis, keepdims, np.min)


def _product_of_others(xd, axes):
    """Each element's product of the other elements of its reduction: TensorFlow's prod
    gradient, exclusive cumulative products from both ends (no division, so zeros work)."""
    others = [i for i in range(xd.ndim) if i not in axes]
    order = list(axes) + others
    moved = np.transpose(xd, order)
    rows = moved.reshape(int(np.prod([xd.shape[a] for a in axes], dtype=np.int64)), -1)
    left = np.ones_like(rows)
    np.cumprod(rows[:-1], axis=0, out=left[1:])
    right = np.ones_like(rows)
    right[:-1] = np.cumprod(rows[::-1], axis=0)[:-1][::-1]
    left *= right
    return np.transpose(left.reshape(moved.shape), np.argsort(order))


def prod(x, axis=None, keepdims=False):
    xd = as_array(x)
    axes = _norm_axes(axis, xd.ndim)
    out_keep = np.prod(xd, axis=axes, keepdims=True)

    def backward(g, needs):
        g = _expand_back(g, xd.shape, axes, keepdims)
        return ((g * _product_of_others(xd, axes)).astype(xd.dtype, copy=False),)
    out = out_keep if keepdims else np.squeeze(out_keep, axis=axes)
    return record(np.asarray(out), (x,), backward)


def var(x, axis=None, keepdims=False):
    centered = subtract(x, mean(x, axis=axis, keepdims=True))
    return mean(square(centered), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def logsumexp(x, axis=None, keepdims=False):
    xd = as_array(x)
    axes = _norm_axes(axis, xd.ndim)
    peak = np.max(xd, axis=axes, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0).astype(xd.dtype)
    shifted = np.exp(xd - peak)
    total = np.sum(shifted, axis=axes, keepdims=True)
    out_keep = np.log(total) + peak

    def backward(g, needs):
        g = _expand_back(g, xd.shape, axes, keepdims)
        return (g * (shifted / total),)
    out = out_keep if keepdims else np.squeeze(out_keep, axis=axes)
    return record(np.asarray(out), (x,), backward)


def cumsum(x, axis=0):
    xd = as_array(x)

    def backward(g, needs):
        return (np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis),)
    return record(np.cumsum(xd, axis=axis), (x,), backward)


def argmax(x, axis=-1):
    return Tensor(np.argmax(unwrap(x), axis=axis))


def argmin(x, axis=-1):
    return Tensor(np.argmin(unwrap(x), axis=axis))


# ---------------------------------------------------------------------------------------
# shape ops
# ---------------------------------------------------------------------------------------
def reshape(x, shape):
    xd = as_array(x)
    shape = tuple(-1 if s is None else int(s) for s in shape)
    return record(xd.reshape(shape), (x,), lambda g, needs: (g.reshape(xd.shape),))


def transpose(x, axes=None):
    xd = as_array(x)
    if axes is None:
        axes = tuple(reversed(range(xd.ndim)))
    axes = tuple(axes)
    inverse = tuple(np.argsort(axes))
    return record(np.transpose(xd, axes), (x,), lambda g, needs: (np.transpose(g, inverse),))


def expand_dims(x, axis):
    xd = as_array(x)
    return record(np.expand_dims(xd, axis), (x,), lambda g, needs: (g.reshape(xd.shape),))


def squeeze(x, axis=None):
    xd = as_array(x)
    return record(np.squeeze(xd, axis=axis), (x,), lambda g, needs: (g.reshape(xd.shape),))


def broadcast_to(x, shape):
    xd = as_array(x)
    return record(np.broadcast_to(xd, shape), (x,), lambda g, needs: (unbroadcast(g, xd.shape),))


def concatenate(tensors, axis=-1):
    arrays = [as_array(t) for t in tensors]
    out = np.concatenate(arrays, axis=axis)
    bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]

    def backward(g, needs):
        return tuple(np.split(g, bounds, axis=axis))
    return record(out, tuple(tensors), backward)


def stack(tensors, axis=0):
    arrays = [as_array(t) for t in tensors]
    out = np.stack(arrays, axis=axis)

    def backward(g, needs):
        return tuple(np.take(g, i, axis=axis) for i in range(len(arrays)))
    return record(out, tuple(tensors), backward)


def split(x, num_or_indices, axis=-1):
    xd = as_array(x)
    pieces = np.split(xd, num_or_indices, axis=axis)
    bounds = np.cumsum([p.shape[axis] for p in pieces])[:-1]
    outs = []
    for i, piece in enumerate(pieces):
        start = 0 if i == 0 else bounds[i - 1]

        def backward(g, needs, start=start, size=piece.shape[axis]):
            index = [slice(None)] * xd.ndim
            index[axis] = slice(int(start), int(start + size))
            return (SliceGradient(xd.shape, xd.dtype, tuple(index), g),)
        outs.append(record(piece, (x,), backward))
    return outs


def getitem(x, index):
    xd = as_array(x)
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    out = xd[index]

    def backward(g, needs):
        return (SliceGradient(xd.shape, xd.dtype, index, g),)
    return record(np.asarray(out), (x,), backward)


def gather(x, indices, axis=0):
    xd = as_array(x)
    idx = np.asarray(unwrap(indices)).astype(np.intp)
    out = np.take(xd, idx, axis=axis)

    def backward(g, needs):
        full = np.zeros_like(xd)
        moved = np.moveaxis(full, axis, 0)
        g_moved = np.moveaxis(g, list(range(axis, axis + idx.ndim)), list(range(idx.ndim)))
        np.add.at(moved, idx, g_moved)
        return (full, None)
    return record(out, (x, indices), backward)


def pad(x, paddings, constant_values=0):
    xd = as_array(x)
    paddings = [tuple(int(v) for v in p) for p in paddings]
    out = np.pad(xd, paddings, constant_values=constant_values)

    def backward(g, needs):
        index = tuple(slice(lo, lo + n) for (lo, _), n in zip(paddings, xd.shape))
        return (g[index],)
    return record(out, (x,), backward)


def tile(x, reps):
    xd = as_array(x)
    reps = tuple(int(r) for r in reps)
    out = np.tile(xd, reps)

    def backward(g, needs):
        shape = []
        for r, n in zip(reps, xd.shape):
            shape += [r, n]
        summed = g.reshape(shape).sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return (summed,)
    return record(out, (x,), backward)


def repeat(x, repeats, axis):
    xd = as_array(x)
    out = np.repeat(xd, repeats, axis=axis)

    def backward(g, needs):
        shape = list(xd.shape)
        shape.insert(axis % xd.ndim + 1, repeats)
        return (g.reshape(shape).sum(axis=axis % xd.ndim + 1),)
    return record(out, (x,), backward)


def flip(x, axis):
    xd = as_array(x)
    return record(np.flip(xd, axis), (x,), lambda g, needs: (np.flip(g, axis),))


# ---------------------------------------------------------------------------------------
# comparisons (not differentiable)
# ---------------------------------------------------------------------------------------
def equal(a, b):
    return Tensor(np.equal(unwrap(a), unwrap(b)))


def not_equal(a, b):
    return Tensor(np.not_equal(unwrap(a), unwrap(b)))


def greater(a, b):
    return Tensor(np.greater(unwrap(a), unwrap(b)))


def greater_equal(a, b):
    return Tensor(np.greater_equal(unwrap(a), unwrap(b)))


def less(a, b):
    return Tensor(np.less(unwrap(a), unwrap(b)))


def less_equal(a, b):
    return Tensor(np.less_equal(unwrap(a), unwrap(b)))


def convert_to_tensor(x, dtype=None):
    if isinstance(x, Tensor) and (dtype is None or x.dtype == np.dtype(dtype)):
        return x
    if isinstance(x, Tensor):
        return cast(x, dtype)
    return Tensor(x, dtype=dtype)


def batch_dot(x, y, axes=None):
    """Keras 2 `K.batch_dot`: per-sample dot product over `axes` (batch axis 0 kept)."""
    x, y = convert_to_tensor(x), convert_to_tensor(y)
    x_ndim, y_ndim = x.ndim, y.ndim
    if x_ndim < 2 or y_ndim < 2:
        raise ValueError(
            f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes "
            f"{x.shape} and {y.shape}.")
    if axes is None:
        axes = [x_ndim - 1, y_ndim - 2] if y_ndim > 2 else [x_ndim - 1, y_ndim - 1]
    if isinstance(axes, int):
        axes = [axes, axes]
    ax_x, ax_y = [a % n for a, n in zip(axes, (x_ndim, y_ndim))]
    if ax_x == 0 or ax_y == 0:
        raise ValueError("Cannot perform batch_dot over axis 0.")
    if x.shape[ax_x] != y.shape[ax_y]:
        raise ValueError(
            f"Cannot do batch_dot on inputs with shapes {x.shape} and {y.shape} with axes="
            f"{axes}. x.shape[{axes[0]}] != y.shape[{axes[1]}] ({x.shape[ax_x]} != "
            f"{y.shape[ax_y]}).")
    # Move the contracted axes to the end of x / just after the batch axis of y.
    x_moved = transpose(x, [i for i in range(x_ndim) if i != ax_x] + [ax_x])
    y_moved = transpose(y, [0, ax_y] + [i for i in range(1, y_ndim) if i != ax_y])
    xs, ys = x_moved.shape, y_moved.shape
    # explicit sizes (not -1): an empty batch leaves -1 undetermined
    x3 = reshape(x_moved, (xs[0], int(np.prod(xs[1:-1])), xs[-1]))
    y3 = reshape(y_moved, (ys[0], ys[1], int(np.prod(ys[2:]))))
    out = matmul(x3, y3)
    out_shape = (xs[0],) + tuple(xs[1:-1]) + tuple(ys[2:])
    if len(out_shape) == 1:
        out_shape = (xs[0], 1)
    return reshape(out, out_shape)


# ---------------------------------------------------------------------------------------
# Tensor operators
# ---------------------------------------------------------------------------------------
def _defer_to_symbolic(operator, tf_op_name=None):
    """A binary operator that leaves a symbolic (Keras) operand to that operand's reflected
    operator: `K.variable(0.) + keras_tensor` is a graph node, as in tf.keras. Two tensors
    of different dtypes raise TF's errors (`tf_op_name` names the op in them); a reflected
    operator (`tf_op_name` None) only ever sees a non-tensor left operand."""
    def apply(a, b):
        if getattr(b, "_is_keras_tensor", False):
            return NotImplemented
        if tf_op_name is not None and isinstance(b, Tensor) and b.dtype != a.dtype:
            if tf_op_name == "RealDiv":
                dtype_errors.check_division_dtypes(a, b)
            dtype_errors.check_same_dtype(tf_op_name, [a, b])
        return operator(a, _converted_like(b, a))
    return apply


def _converted_like(other, tensor):
    """A NumPy operand of a float tensor's operator in the tensor's dtype: TF converts it with
    the tensor's dtype (float32 * an int64 or float64 array is float32, never float64)."""
    if type(other) in (float, int) or isinstance(other, Tensor):
        return other
    if isinstance(other, (np.ndarray, np.generic, list, tuple)) and tensor.dtype.kind == "f":
        array = np.asarray(other)
        if array.dtype != tensor.dtype and array.dtype.kind in "biuf":
            return array.astype(tensor.dtype)
    return other


def _equality(compare, when_incomparable, tf_op_name):
    """`tensor == other` (`!=`) elementwise, as TF 2's eager and graph tensors (a custom
    metric's `tf.cast(y_true, "int32") == tf.cast(y_pred, "int32")` counts matches); `None`
    or shapes that do not broadcast give a plain bool, as TF's
    `equal(..., incompatible_shape_error=False)` does. Two tensors of different dtypes raise
    TF's InvalidArgumentError; a NumPy operand takes a float tensor's dtype. Hashing stays by
    identity."""
    def apply(a, b):
        if getattr(b, "_is_keras_tensor", False):
            return NotImplemented
        if b is None:
            return when_incomparable
        if isinstance(b, Tensor) and b.dtype != a.dtype:
            dtype_errors.check_same_dtype(tf_op_name, [a, b])
        left, right = unwrap(a), unwrap(_converted_like(b, a))
        try:
            np.broadcast_shapes(np.shape(left), np.shape(right))
        except ValueError:
            return when_incomparable
        return compare(left, right)
    return apply


def _unrecorded(function, a, b):
    """`function` of two operands (Tensors or NumPy values) as a Tensor no tape records."""
    return Tensor(function(unwrap(a), unwrap(b)))


def _floor_divide(a, b):
    """tf's FloorDiv: integers as NumPy's floor_divide, floats `floor(a / b)` of the rounded
    quotient (1 // 0.1 in float32 is 10, NumPy's exact floor_divide says 9)."""
    with np.errstate(divide="ignore", invalid="ignore"):    # inf and NaN, as tf
        quotient = np.true_divide(a, b)
    if quotient.dtype.kind != "f" or np.result_type(a, b).kind != "f":
        return np.floor_divide(a, b)
    return np.floor(quotient, out=quotient if isinstance(quotient, np.ndarray) else None)


def _install_operators():
    T = Tensor
    T.__eq__ = _equality(lambda a, b: Tensor(np.equal(a, b)), False, "Equal")
    T.__ne__ = _equality(lambda a, b: Tensor(np.not_equal(a, b)), True, "NotEqual")
    T.__hash__ = lambda a: id(a)     # defining __eq__ would otherwise drop it
    T.T = property(lambda a: transpose(a))
    binary = {   # name: (operator, TF's op for two tensors, None when reflected)
        "__add__": (lambda a, b: add(a, b), "AddV2"), "__radd__": (lambda a, b: add(b, a), None),
        "__sub__": (lambda a, b: subtract(a, b), "Sub"),
        "__rsub__": (lambda a, b: subtract(b, a), None),
        "__mul__": (lambda a, b: multiply(a, b), "Mul"),
        "__rmul__": (lambda a, b: multiply(b, a), None),
        "__truediv__": (lambda a, b: divide(a, b), "RealDiv"),
        "__rtruediv__": (lambda a, b: divide(b, a), None),
        "__pow__": (lambda a, b: power(a, b), "Pow"), "__rpow__": (lambda a, b: power(b, a), None),
        "__matmul__": (lambda a, b: matmul(a, b), "MatMul"),
        "__rmatmul__": (lambda a, b: matmul(b, a), None),
        "__lt__": (lambda a, b: less(a, b), "Less"),
        "__le__": (lambda a, b: less_equal(a, b), "LessEqual"),
        "__gt__": (lambda a, b: greater(a, b), "Greater"),
        "__ge__": (lambda a, b: greater_equal(a, b), "GreaterEqual"),
        # not differentiable, as tf's FloorDiv (FloorMod's gradient is not kept either)
        "__floordiv__": (lambda a, b: _unrecorded(_floor_divide, a, b), "FloorDiv"),
        "__rfloordiv__": (lambda a, b: _unrecorded(_floor_divide, b, a), None),
        "__mod__": (lambda a, b: _unrecorded(np.mod, a, b), "FloorMod"),
        "__rmod__": (lambda a, b: _unrecorded(np.mod, b, a), None),
    }
    for name, (operator, tf_op_name) in binary.items():
        setattr(T, name, _defer_to_symbolic(operator, tf_op_name))
    T.__neg__ = lambda a: negative(a)
    T.__pos__ = lambda a: a
    T.__abs__ = lambda a: abs(a)
    T.__getitem__ = lambda a, i: getitem(a, i)
    T.__and__ = lambda a, b: Tensor(np.logical_and(unwrap(a), unwrap(b)))
    T.__or__ = lambda a, b: Tensor(np.logical_or(unwrap(a), unwrap(b)))
    T.__invert__ = lambda a: Tensor(np.logical_not(unwrap(a)))


_install_operators()
