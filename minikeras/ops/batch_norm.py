"""Batch normalization primitives with hand-derived backward passes.

- `batch_moments(x, axes, weights)`: mean and biased variance over `axes` (kept as size-1 axes),
  as `tf.nn.moments` / `tf.nn.weighted_moments` compute them (two passes, no gradient).
- `batch_norm_train(x, scale, offset, axes, epsilon)`: normalise with the batch moments, then
  scale and shift, as one op whose backward is the closed-form batch-norm gradient
  (the gradient flows through the batch mean and variance).
- `batch_norm_inference(x, mean, variance, scale, offset, axes, epsilon)`: the affine map
  `(x - mean) / sqrt(variance + epsilon) * scale + offset` with constant statistics, as one op.

`scale` and `offset` may be None, Tensors (differentiable) or arrays (constants); they have either
one entry per normalised channel (single normalised axis) or the rank of `x` (broadcastable).

Speed: when the normalised axes form one contiguous block, `x` is viewed as `(A, K, B)` (A: the
reduced axes before the block, K: the channels, B: the reduced axes after it) and walked in tiles
of about a megabyte along A, so the NumPy calls chained on one tile find it in the CPU cache.
Channels-last data (B == 1) is viewed as `(A / fold, fold * C)`, `fold` rows side by side, with the
per-channel vectors repeated `fold` times, so NumPy's inner loops run over ~2000 elements instead
of C (with NumPy's ufunc buffer set shorter than the rows, see `_for_each_tile`); its column
sums are matrix-vector products. `x - mean` only ever exists one tile at a time
(no activation-sized buffer is kept for the backward pass, which reads x again): the output is
`x * gain + (offset - mean * gain)` as in `tf.nn.batch_normalization`, and the input gradient
`gain * (g + x * slope + const)` costs four elementwise calls per tile. Large inputs split their
tiles over two threads (NumPy releases the GIL), each thread's calls covering runs of several
tiles (partial sums still per tile: the numbers do not depend on the threads). Other layouts
(virtual batches, non-contiguous axes, masks) use plain broadcasting NumPy.
"""
import functools
import threading

import numpy as np

from ..core.tensor import is_recording, is_tracked, record, unbroadcast
from ..core.tensor import as_array
from .activation_kernels import FUSABLE_ACTIVATIONS, RELU6_CAP, activation_grad_into, \
    activation_in_place
from .math import tanh as _tanh_op
from .nn import relu as _relu_op
from .nn_ops import sigmoid as _sigmoid_op
from .parallel import can_split, pieces, run_split
from . import pool_kernels
from .conv_kernels import large_output_array, same_padding

_TILE_ELEMENTS = 1 << 18      # elements per tile (1 MB of float32): measured best on a 2-core EPYC
_WIDE_ROW = 1 << 11           # aim for inner loops of about this many elements (channels-last)
_THREADED_ELEMENTS = 1 << 18  # inputs at least this large split their tiles over two threads
_THREADED_TILES = 4           # ... when cut into at least this many tiles
# Split over two threads, each thread walks runs of up to _BLOCK_TILES tiles per NumPy call (the
# partial sums still per tile, by stacked calls: the same numbers). Calls on one tile (~25 us)
# make the two threads meet on the GIL at many calls (a futex sleep and wake each): batch norm +
# relu forward + backward, two threads, wall / CPU ms, runs of 1 -> 2 -> 4 tiles (medians of 80,
# interleaved, SCHED_FIFO, load 13): 64x32x32x32 4.11 / 7.36 -> 3.77 / 6.82 -> 4.03 / 7.35,
# 64x16x16x64 2.15 / 3.66 -> 1.97 / 3.45 -> 1.86 / 3.27, 32x16x16x128 2.60 / 4.36 -> 2.10 / 3.65
# -> 2.19 / 3.81, 64x32x32x64 9.78 / 17.9 -> 9.01 / 16.4 -> 9.29 / 16.7; voluntary context
# switches 27 -> 16 -> 16 for the first. Inputs of 2-3 tiles stay on one thread (64x8x8x128
# split in halves: 1.22 ms against 0.94 on one thread).
_BLOCK_TILES = 2
# A broadcast of a wide per-channel row over a tile (rows shorter than NumPy's default 8192-
# element ufunc buffer) is copied through that buffer; with a buffer no longer than the rows
# it is not: x * row on (867, 1020) float32 0.167 -> 0.118 ms (one thread, NumPy 2.4). Setting
# the size costs ~6 us, so only inputs of at least _SHORT_BUFFER_ELEMENTS take it. With it, rows
# of ~2000 beat ~1000 and ~8000: LeNet's first batch norm + sigmoid forward and backward
# (256x24x24x6) 3.0-3.4 ms -> 2.4-2.8 ms, its second (256x8x8x16) 0.81 -> 0.70 ms (one thread,
# interleaved, load ~10).
_UFUNC_BUFFER = 1 << 10
_SHORT_BUFFER_ELEMENTS = 1 << 16
USE_SHORT_BUFFER = True


# ---------------------------------------------------------------------------------------
# layout: how an input is walked
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _largest_divisor(n, limit):
    """The largest divisor of `n` that is at most `limit` (how many rows to lay side by side:
    a gcd with `limit` can be tiny, e.g. 2 for 147456 rows and limit 170)."""
    for d in range(min(n, limit), 1, -1):
        if n % d == 0:
            return d
    return 1


class _Layout:
    """The reduction of an input shape over `axes`, and the tiled view when the kept axes form
    one contiguous block (`view` is None otherwise): `(rows, K)` when no reduced axis follows the
    kept ones (channels-last, with `fold` rows side by side), else `(rows, K, B)`."""

    def __init__(self, shape, axes):
        ndim = len(shape)
        self.shape = tuple(shape)
        self.axes = tuple(sorted(a % ndim for a in axes))
        kept = [i for i in range(ndim) if i not in self.axes]
        self.stat_shape = tuple(1 if i in self.axes else n for i, n in enumerate(shape))
        self.count = int(np.prod([shape[a] for a in self.axes], dtype=np.int64))
        self.channels = int(np.prod([shape[i] for i in kept], dtype=np.int64))
        self.view = None
        self.fold = 1
        self._tiles = None
        if not kept or kept != list(range(kept[0], kept[-1] + 1)) or self.count == 0:
            return
        lead = int(np.prod(shape[:kept[0]], dtype=np.int64))
        trail = int(np.prod(shape[kept[-1] + 1:], dtype=np.int64))
        if trail == 1:
            self.fold = _largest_divisor(lead, max(1, _WIDE_ROW // max(self.channels, 1)))
            self.view = (lead // self.fold, self.channels * self.fold)
        else:
            self.view = (lead, self.channels, trail)
        row = int(np.prod(self.view[1:]))
        self.size = self.view[0] * row
        self.rows_per_tile = max(1, _TILE_ELEMENTS // max(row, 1))
        self._ones = {}
        self._runs = {}
        # `wide` repeats a channel vector `fold` times with one gather (np.tile costs ~10
        # Python-level calls, and a training step asks for six wide vectors per layer).
        self._wide_index = np.tile(np.arange(self.channels), self.fold) if self.fold > 1 \
            else None

    def view_of(self, array):
        return np.ascontiguousarray(array).reshape(self.view)

    def tiles(self):
        """Slices of the view's rows: as few tiles as `rows_per_tile` allows, of equal sizes
        (the two threads take tiles in turn: 151, 151, 151, 59 rows left one thread 302 of 512
        rows, against 256 for four tiles of 128)."""
        if self._tiles is None:
            rows = self.view[0]
            count = -(-rows // self.rows_per_tile)
            step = -(-rows // count)
            self._tiles = [slice(start, min(start + step, rows)) for start in range(0, rows, step)]
        return self._tiles

    def rows_of(self, lo, hi):
        """The view's rows of tiles `lo` to `hi - 1`."""
        tiles = self.tiles()
        return slice(tiles[lo].start, tiles[hi - 1].stop)

    def runs(self, block_tiles):
        """`[(lo, hi, rows)]`: the tiles cut into an even number of near-equal runs of at most
        `block_tiles` tiles (one run per tile for 1), with their rows of the view (cached)."""
        runs = self._runs.get(block_tiles)
        if runs is None:
            count = len(self.tiles())
            bounds = pieces(count, block_tiles) if block_tiles > 1 else \
                [(i, i + 1) for i in range(count)]
            runs = self._runs[block_tiles] = [(lo, hi, self.rows_of(lo, hi))
                                              for lo, hi in bounds]
        return runs

    def _stacked(self, run, lo, hi):
        """`[(tile count, rows as (count, tile rows, ...))]` of a run of tiles' rows: the
        tiles of equal height stacked, a shorter last tile on its own."""
        tiles = self.tiles()
        height = tiles[lo].stop - tiles[lo].start
        full = hi - lo
        if tiles[hi - 1].stop - tiles[hi - 1].start != height:
            full -= 1
        parts = []
        if full:
            parts.append((full, run[:full * height].reshape((full, height) + run.shape[1:])))
        if full < hi - lo:
            tail = run[full * height:]
            parts.append((1, tail.reshape((1,) + tail.shape)))
        return parts

    def channel_sums_into(self, run, lo, hi, out):
        """Per-tile channel sums of a run of tiles (the view's rows `rows_of(lo, hi)`) into
        `out[lo:hi]`: one stacked call per run, the same numbers as one call per tile (a
        single tile takes the 2-D call: the stacked one costs ~10 us more)."""
        if hi - lo == 1:
            out[lo] = self._channel_sum(run)
            return
        index = lo
        for count, stacked in self._stacked(run, lo, hi):
            if stacked.ndim == 4:
                out[index:index + count] = np.einsum("sakb->sk", stacked)
            else:
                out[index:index + count] = self._ones_for(stacked.shape[1], stacked.dtype) @ \
                    stacked
            index += count

    def channel_dots_into(self, a, b, lo, hi, out):
        """Per-tile channel sums of `a * b` over a run of tiles into `out[lo:hi]`."""
        if hi - lo == 1:
            out[lo] = np.einsum("ak,ak->k" if a.ndim == 2 else "akb,akb->k", a, b)
            return
        index = lo
        for (count, sa), (_, sb) in zip(self._stacked(a, lo, hi), self._stacked(b, lo, hi)):
            spec = "sakb,sakb->sk" if sa.ndim == 4 else "sak,sak->sk"
            out[index:index + count] = np.einsum(spec, sa, sb)
            index += count

    def _channel_sum(self, tile):
        if tile.ndim == 3:
            return np.einsum("akb->k", tile)
        # Column sums of a 2-D tile as a matrix-vector product: BLAS beats NumPy's reduction.
        return self._ones_for(tile.shape[0], tile.dtype) @ tile

    def _ones_for(self, rows, dtype):
        ones = self._ones.get((rows, dtype))
        if ones is None:
            ones = self._ones[(rows, dtype)] = np.ones(rows, dtype)
        return ones

    def wide(self, stat):
        """A per-channel statistic laid out to broadcast against a tile of the view."""
        flat = stat.reshape(self.channels)
        if self._wide_index is not None:
            flat = flat.take(self._wide_index)
        return flat if len(self.view) == 2 else flat.reshape(-1, 1)

    def total(self, partials):
        """Per-channel totals (stat shape) from one row of partial sums per tile, added in tile
        order (deterministic, and per-tile partials keep float32 rounding small)."""
        wide_sum = partials[0] if len(partials) == 1 else np.add.reduce(partials, axis=0)
        if self.fold > 1:
            wide_sum = np.add.reduce(wide_sum.reshape(self.fold, self.channels), axis=0)
        return wide_sum.reshape(self.stat_shape)


_LAYOUTS = {}


def _layout(shape, axes):
    """The `_Layout` of a shape and axes, cached (a training step sees the same few shapes)."""
    key = (tuple(shape), tuple(axes))
    layout = _LAYOUTS.get(key)
    if layout is None:
        if len(_LAYOUTS) >= 256:
            _LAYOUTS.clear()
        layout = _LAYOUTS[key] = _Layout(shape, axes)
    return layout


_scratch_buffers = threading.local()


def _scratch(like):
    """A per-thread buffer shaped like one run of tiles (reused: a tile's temporary stays in
    cache)."""
    buffer = getattr(_scratch_buffers, "array", None)
    if buffer is None or buffer.size < like.size or buffer.dtype != like.dtype:
        buffer = _scratch_buffers.array = np.empty(max(like.size, _TILE_ELEMENTS), like.dtype)
    return buffer[:like.size].reshape(like.shape)


def _for_each_tile(layout, fn):
    """Call `fn(lo, hi, rows)` over runs of tiles `lo` to `hi - 1` (`rows`: their rows of the
    view). On one thread every run is one tile (its calls chained while it is in cache).
    Large inputs are split over two threads (`parallel.run_split`; NumPy releases the GIL
    inside its loops, and every call writes its own rows), in an even number of near-equal
    runs of up to _BLOCK_TILES tiles that the threads take in turn. Inputs of at least
    _SHORT_BUFFER_ELEMENTS run with NumPy's ufunc buffer at _UFUNC_BUFFER elements (per thread,
    restored after)."""
    tiles = layout.tiles()
    short_buffer = USE_SHORT_BUFFER and layout.size >= _SHORT_BUFFER_ELEMENTS
    split = len(tiles) >= _THREADED_TILES and layout.size >= _THREADED_ELEMENTS and \
        can_split()
    runs = layout.runs(_BLOCK_TILES if split else 1)

    def work(first, last):
        previous = np.setbufsize(_UFUNC_BUFFER) if short_buffer else None
        try:
            for lo, hi, rows in runs[first:last]:
                fn(lo, hi, rows)
        finally:
            if previous is not None:
                np.setbufsize(previous)
    if split:
        run_split(work, len(runs), piece=1)  # channel sums are BLAS products: one thread each
    else:
        work(0, len(runs))


# ---------------------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------------------
def _param_array(param, layout):
    """A parameter's values shaped to broadcast against the input, or None."""
    if param is None:
        return None
    value = as_array(param)
    if value.ndim == len(layout.shape):
        return value
    return value.reshape(layout.stat_shape)


def _param_grad(grad_stat, param, layout):
    """Reduce a gradient of stat shape to the parameter's own shape."""
    value = as_array(param)
    if value.ndim == len(layout.shape):
        return unbroadcast(grad_stat, value.shape)
    return grad_stat.reshape(value.shape)


# ---------------------------------------------------------------------------------------
# moments
# ---------------------------------------------------------------------------------------
class BatchMoments:
    """Mean and biased variance of a batch over the reduction axes (stat shape: reduced axes kept
    with size 1), with what the training op and its backward reuse: the tiled view of x (fast
    path) or the centred input `x - mean` (plain path). `count` is the number of values reduced
    into each statistic (the unweighted sample size, for Bessel's correction)."""

    def __init__(self, mean, variance, centered, layout, weights=None, total_weight=None,
                 source=None):
        self.mean = mean
        self.variance = variance
        self.centered = centered      # x - mean (plain path; the tiled path recomputes it)
        self.source = source          # x in the tiled view (tiled path)
        self.layout = layout
        self.weights = weights
        self.total_weight = total_weight

    @property
    def count(self):
        return self.layout.count

    def centered_input(self):
        """x - mean in the input's shape."""
        if self.centered is not None:
            return self.centered
        return np.reshape(self.source, self.layout.shape) - self.mean

    @property
    def tiled(self):
        return self.layout.view is not None and self.weights is None


def batch_moments(x, axes, weights=None):
    """Mean and biased variance of `x` over `axes` (no gradient), two passes as `tf.nn.moments`.
    `weights` (broadcastable to x) are frequency weights, as `tf.nn.weighted_moments`:
    statistics over zero total weight are 0."""
    xd = as_array(x)
    layout = _layout(xd.shape, axes)
    if weights is not None:
        return _weighted_moments(xd, layout, weights)
    if layout.view is None:
        mean = np.mean(xd, axis=layout.axes, keepdims=True)
        centered = xd - mean
        variance = np.mean(np.square(centered), axis=layout.axes, keepdims=True)
        return BatchMoments(mean, variance, centered, layout)
    xv = layout.view_of(xd)
    partials = np.empty((len(layout.tiles()), layout.view[1]), xd.dtype)

    def sums(lo, hi, rows):
        layout.channel_sums_into(xv[rows], lo, hi, partials)
    _for_each_tile(layout, sums)
    mean = layout.total(partials) / layout.count
    mean_wide = layout.wide(mean)

    def squares(lo, hi, rows):
        centered = np.subtract(xv[rows], mean_wide, out=_scratch(xv[rows]))
        layout.channel_dots_into(centered, centered, lo, hi, partials)
    _for_each_tile(layout, squares)
    variance = layout.total(partials) / layout.count
    return BatchMoments(mean, variance, None, layout, source=xv)


def _weighted_moments(xd, layout, weights):
    w = np.broadcast_to(np.asarray(as_array(weights), xd.dtype), xd.shape)
    total_weight = np.sum(w, axis=layout.axes, keepdims=True)
    safe = np.where(total_weight == 0, 1, total_weight).astype(xd.dtype)
    mean = np.where(total_weight == 0, 0, np.sum(w * xd, axis=layout.axes, keepdims=True) / safe)
    mean = mean.astype(xd.dtype)
    centered = xd - mean
    variance = np.where(total_weight == 0, 0,
                        np.sum(w * np.square(centered), axis=layout.axes, keepdims=True) / safe)
    return BatchMoments(mean, variance.astype(xd.dtype), centered, layout, w, total_weight)


# ---------------------------------------------------------------------------------------
# training-mode normalisation
# ---------------------------------------------------------------------------------------
def batch_norm_train(x, scale, offset, axes, epsilon, moments=None, activation=None):
    """`(x - mean) / sqrt(var + epsilon) * scale + offset` with the batch moments of x over `axes`.

    Returns `(output, moments)`; the moments (plain arrays, stat shape) feed the moving averages.
    The backward pass differentiates through the batch mean and variance:
    `dx = scale * inv * (g - mean(g) - xhat * mean(g * xhat))` (weighted means under a mask).

    `activation` ("sigmoid", "tanh", "relu", "relu6" or None) is applied to the normalised
    output. On the tiled layout it is one recorded op: the activation runs on each tile right
    after the affine map, and the backward pass forms the activation's gradient tile by tile inside the
    batch-norm gradient's first pass (the same NumPy calls in the same order as the two ops
    separately, so the same numbers, with one activation-sized array and two passes fewer).
    Elsewhere the activation op follows the batch-norm op.

    Example:
    >>> x = np.array([[0.0, 1.0], [4.0, 9.0]], "float32")
    >>> gamma, beta = np.ones(2, "float32"), np.zeros(2, "float32")
    >>> out, stats = batch_norm_train(x, gamma, beta, axes=(0,), epsilon=1e-3)
    >>> out.numpy().round(3)
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
    >>> stats.mean, stats.variance
    (array([[2., 5.]], dtype=float32), array([[ 4., 16.]], dtype=float32))
    """
    if activation is not None and activation not in FUSABLE_ACTIVATIONS:
        raise ValueError(f"Cannot fuse activation {activation!r} into a batch normalization; "
                         f"use one of {FUSABLE_ACTIVATIONS}.")
    xd = as_array(x)
    if moments is None:
        moments = batch_moments(xd, axes)
    layout = moments.layout
    inv = (1 / np.sqrt(moments.variance + np.asarray(epsilon, xd.dtype))).astype(xd.dtype,
                                                                                  copy=False)
    scale_arr, offset_arr = _param_array(scale, layout), _param_array(offset, layout)
    gain = inv if scale_arr is None else inv * scale_arr            # broadcasts to stat shape
    tiled = moments.tiled and gain.shape == layout.stat_shape and \
        (offset_arr is None or offset_arr.shape == gain.shape or
         np.broadcast_shapes(offset_arr.shape, gain.shape) == gain.shape)
    if activation is not None and not tiled:
        normalized, moments = batch_norm_train(x, scale, offset, axes, epsilon, moments)
        return apply_activation(activation, normalized), moments
    if tiled:
        recorded = is_recording() and any(is_tracked(t) for t in (x, scale, offset)
                                          if t is not None)
        if _needs_centring(moments.mean, inv):
            # x * gain + (offset - mean * gain) cancels when |mean| is many std (2.1x tf's
            # float32 error 10 std off zero, 4 values a channel): (x - mean) * gain + offset,
            # as tf's fused kernel, one NumPy call more per tile.
            out = _affine_tiled(moments.source, gain, offset_arr, layout, activation,
                                cached_output=recorded, centre=moments.mean)
        else:
            # tf.nn.batch_normalization's form: x * gain + (offset - mean * gain)
            shift = -moments.mean * gain if offset_arr is None else \
                offset_arr - moments.mean * gain
            out = _affine_tiled(moments.source, gain, shift, layout, activation,
                                cached_output=recorded)
        out = out.reshape(xd.shape)
    else:
        out = moments.centered_input() * gain
        if offset_arr is not None:
            out += offset_arr

    def backward(g, needs):
        if tiled:
            # A gradient already taken back through the activation (max_pool_after_activation)
            # skips it here.
            through = isinstance(g, ActivationInputGradient)
            sum_g, sum_gc, dx = _train_backward_tiled(
                g.view(np.ndarray) if through else g, moments, inv, gain, needs[0],
                None if through else activation, out)
        else:
            sum_g, sum_gc, dx = _train_backward_plain(g, moments, inv, gain, needs[0])
        dscale = doffset = None
        if scale is not None and needs[1]:
            dscale = _param_grad(sum_gc * inv, scale, layout)
        if offset is not None and needs[2]:
            doffset = _param_grad(sum_g, offset, layout)
        return dx, dscale, doffset
    if tiled and activation is not None:
        backward.fused_activation = activation      # max_pool_after_activation looks for it
    return record(out, (x, scale, offset), backward), moments


class ActivationInputGradient(np.ndarray):
    """A gradient with respect to the input of the activation that a training batch norm applied
    itself (`batch_norm_train(..., activation=)`), handed back by the max pooling after it:
    the batch norm's backward pass then skips the activation's gradient."""


def max_pool_after_activation(x, pool_size, padding):
    """Max pooling (windows tiling the input: strides == pool size, channels_last) of `x`, the
    output of `batch_norm_train(..., activation=)` on the tiled layout; None when `x` is not
    such an output (pool it with the plain op then).

    Same forward as the max pooling op. Backward: the activation's gradient is taken from the
    pooled output (which holds the activation's value at each window's maximum) on the pooled
    gradient, then routed to the maxima, and handed to the batch norm as an
    `ActivationInputGradient`: the same numbers as routing first and taking the activation's
    gradient over the whole input (which is zero, up to its sign, away from the maxima: the
    same sums and input gradient follow), in a quarter of the passes for 2x2 windows. A NaN
    fills its whole channel (through the batch statistics), which both orders spread alike."""
    activation = getattr(getattr(x, "_backward", None), "fused_activation", None)
    xd = as_array(x)
    if activation is None or xd.ndim < 3:
        return None
    spatial = xd.shape[1:-1]
    if padding == "valid":
        pads = [(0, 0)] * len(spatial)
    else:
        pads = [same_padding(n, p, p, 1) for n, p in zip(spatial, pool_size)]
    out, ctx = pool_kernels.max_pool_forward(xd, tuple(pool_size), tuple(pool_size), pads,
                                             cached_output=True)

    def backward(g, needs):
        g = np.asarray(g, dtype=out.dtype)
        through = activation_grad_into(activation, out, g, np.empty_like(out))
        return (pool_kernels.max_pool_backward(ctx, through).view(ActivationInputGradient),)
    return record(out, (x,), backward)


_ACTIVATION_OPS = {"sigmoid": _sigmoid_op, "tanh": _tanh_op, "relu": _relu_op,
                   "relu6": lambda x: _relu_op(x, max_value=RELU6_CAP)}


def apply_activation(name, x):
    """The recorded activation op of one of FUSABLE_ACTIVATIONS (what the layers call)."""
    if name not in _ACTIVATION_OPS:
        raise ValueError(f"Cannot fuse activation {name!r} into a batch normalization; use one "
                         f"of {FUSABLE_ACTIVATIONS}.")
    return _ACTIVATION_OPS[name](x)


def _affine_tiled(xv, gain, shift, layout, activation=None, cached_output=False, centre=None):
    """`activation(xv * gain + shift)` over the tiled view (`shift` and `activation` may be
    None), or `activation((xv - centre) * gain + shift)` given a `centre` (stat shape). The
    logistic takes the negated affine map, `x * -gain + -shift` (negation is exact,
    so these are the same numbers as negating `x * gain + shift`), and saves that pass. A
    large output comes from the scratch cache when `cached_output` (a training op's: see
    `conv_kernels.large_output_array`)."""
    out = large_output_array(layout.view, xv.dtype, cached_output)
    centre_wide = None if centre is None else layout.wide(centre)
    sigmoid = activation == "sigmoid"
    if sigmoid:
        gain = -gain
        shift = None if shift is None else -shift
    gain_wide = layout.wide(gain)
    if shift is not None and shift.shape != gain.shape:
        shift = np.broadcast_to(shift, gain.shape)
    shift_wide = None if shift is None else layout.wide(shift)

    def affine(lo, hi, rows):
        part = out[rows]
        if centre_wide is None:
            np.multiply(xv[rows], gain_wide, out=part)
        else:
            np.subtract(xv[rows], centre_wide, out=part)
            part *= gain_wide
        if shift_wide is not None:
            part += shift_wide
        if sigmoid:
            activation_in_place("negated_sigmoid", part)
        elif activation is not None:
            activation_in_place(activation, part)
    _for_each_tile(layout, affine)
    return out


# The training backward pass takes x - mean per tile (one NumPy call more in each of its two
# passes), and the training forward (x - mean) * gain + offset (one more), only when some
# channel's |mean| / sqrt(variance + epsilon) exceeds this: elsewhere sum(g x) - mean sum(g),
# x * slope + const and x * gain + (offset - mean * gain) cancel little (see
# _train_backward_tiled, batch_norm_train).
_CENTRED_BACKWARD_RATIO = 4.0


def _needs_centring(mean, inv):
    """Whether some channel's mean is more than _CENTRED_BACKWARD_RATIO standard deviations
    (with epsilon) from zero."""
    return bool(np.max(np.abs(mean) * inv, initial=0.0) > _CENTRED_BACKWARD_RATIO)


def _train_backward_tiled(g, moments, inv, gain, need_dx, activation=None, out=None):
    """Per-channel sums of g and g * x, then, tile by tile, dx = gain * (g + x * slope + const)
    with slope = -inv^2 * sum(g (x - mean)) / n and const = -sum(g) / n - mean * slope: two
    reading passes over g and x, and four NumPy calls per tile to write dx.

    Both sum(g x) - mean sum(g) and x * slope + const cancel: each adds float32 rounding errors
    of about eps * |mean| / std relative to the result, on top of the float32 mean's own (which
    tf's kernels share). With channels 3-60 std off centre and 4-64 values per channel (deep
    networks at small inputs), ours were 1.5-2.9x farther from float64 than tf's float32
    gradients (tests/applications/test_float32_backward.py). Past _CENTRED_BACKWARD_RATIO
    (`_needs_centring`), the passes take x - mean first, as tf's kernels do: sum(g (x - mean))
    and dx = gain * (g + (x - mean) * slope - sum(g) / n), one NumPy call more per tile in each.

    With an `activation` (whose output is `out`), g is first taken back through it, tile by tile
    in the first pass, into the rows of dx that the second pass then turns into dx in place."""
    layout = moments.layout
    count = layout.count
    xv = moments.source
    gv = layout.view_of(g)
    partials = np.empty((2, len(layout.tiles()), layout.view[1]), gv.dtype)
    dx = None
    if activation is not None:
        dx = large_output_array(layout.view, gv.dtype, True)
        outv = out.reshape(layout.view)
    mean_wide = layout.wide(moments.mean) if _needs_centring(moments.mean, inv) else None

    def x_rows(rows, out=None):
        """x's rows, centred (into `out`, else a scratch buffer) when `mean_wide` is set."""
        if mean_wide is None:
            return xv[rows]
        return np.subtract(xv[rows], mean_wide, out=_scratch(xv[rows]) if out is None else out)

    def sums(lo, hi, rows):
        g_run = gv[rows]
        if activation is not None:
            g_run = activation_grad_into(activation, outv[rows], g_run, dx[rows])
        layout.channel_sums_into(g_run, lo, hi, partials[0])
        layout.channel_dots_into(g_run, x_rows(rows), lo, hi, partials[1])
    _for_each_tile(layout, sums)
    sum_g = layout.total(partials[0])
    sum_gc = layout.total(partials[1])
    if mean_wide is None:
        sum_gc = sum_gc - moments.mean * sum_g
    if not need_dx:
        return sum_g, sum_gc, None
    slope = -inv * inv * sum_gc / count
    const = -sum_g / count
    if mean_wide is None:
        const = const - moments.mean * slope
    const = layout.wide(const)
    slope, gain_wide = layout.wide(slope), layout.wide(gain)
    after_activation = dx is not None
    if dx is None:
        dx = large_output_array(layout.view, gv.dtype, True)

    def input_grad(lo, hi, rows):
        part = dx[rows]
        np.multiply(x_rows(rows, part), slope, out=part)
        part += const
        part += gv[rows]
        part *= gain_wide

    def input_grad_after_activation(lo, hi, rows):
        # dx[rows] holds the activation's input gradient; same sum order as input_grad.
        part = dx[rows]
        term = _scratch(part)
        term = np.multiply(x_rows(rows, term), slope, out=term)
        term += const
        part += term
        part *= gain_wide
    _for_each_tile(layout, input_grad_after_activation if after_activation else input_grad)
    return sum_g, sum_gc, dx.reshape(g.shape)


def _train_backward_plain(g, moments, inv, gain, need_dx):
    axes = moments.layout.axes
    centered = moments.centered_input()
    sum_g = np.sum(g, axis=axes, keepdims=True)
    sum_gc = np.sum(g * centered, axis=axes, keepdims=True)
    if not need_dx:
        return sum_g, sum_gc, None
    if moments.weights is None:
        count = moments.layout.count
        dx = g - sum_g / count
        dx -= centered * (inv * inv * sum_gc / count)
    else:
        # d mean / dx = w / W and d var / dx = 2 w (x - mean) / W.
        safe = np.where(moments.total_weight == 0, 1, moments.total_weight).astype(g.dtype)
        dx = g - moments.weights * (sum_g / safe)
        dx -= moments.weights * centered * (inv * inv * sum_gc / safe)
    dx *= gain
    return sum_g, sum_gc, dx


# ---------------------------------------------------------------------------------------
# inference-mode normalisation
# ---------------------------------------------------------------------------------------
def batch_norm_inference(x, mean, variance, scale, offset, axes, epsilon):
    """`(x - mean) / sqrt(variance + epsilon) * scale + offset` with constant statistics
    (the moving averages), as one affine op. `mean` and `variance` get no gradient."""
    xd = as_array(x)
    dtype = xd.dtype
    layout = _layout(xd.shape, axes)
    mean_arr = _param_array(np.array(as_array(mean), dtype), layout)
    inv = (1 / np.sqrt(_param_array(np.asarray(as_array(variance), dtype), layout)
                       + np.asarray(epsilon, dtype))).astype(dtype, copy=False)
    scale_arr, offset_arr = _param_array(scale, layout), _param_array(offset, layout)
    gain = inv if scale_arr is None else inv * scale_arr
    shift = -mean_arr * gain if offset_arr is None else offset_arr - mean_arr * gain
    if layout.view is not None and gain.shape == shift.shape == layout.stat_shape:
        out = _affine_tiled(layout.view_of(xd), gain, shift, layout).reshape(xd.shape)
    else:
        out = xd * gain
        out += shift

    def backward(g, needs):
        dx = g * gain if needs[0] else None
        dscale = doffset = None
        if scale is not None and needs[1]:
            normalized = (xd - mean_arr) * inv
            dscale = unbroadcast(g * normalized, scale_arr.shape).reshape(np.shape(as_array(scale)))
        if offset is not None and needs[2]:
            doffset = unbroadcast(g, offset_arr.shape).reshape(np.shape(as_array(offset)))
        return dx, dscale, doffset
    return record(out, (x, scale, offset), backward)


__all__ = ["ActivationInputGradient", "BatchMoments", "apply_activation", "batch_moments",
           "batch_norm_train", "batch_norm_inference", "max_pool_after_activation"]
