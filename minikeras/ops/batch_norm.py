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
of a few hundred kilobytes along A, so a chain of NumPy calls on one tile runs in the CPU cache and
main memory is read about once per phase. Channels-last data (B == 1) is viewed with `fold`
consecutive rows side by side, `(A / fold, fold * C, 1)`, with the per-channel vectors repeated
`fold` times, so NumPy's inner loops run over thousands of elements instead of C. Other layouts
(virtual batches, non-contiguous axes, masks) use plain broadcasting NumPy.
"""
import math

import numpy as np

from ..backend.tensor import Tensor, record, unbroadcast
from .math import as_array

_TILE_ELEMENTS = 1 << 15      # elements per tile (128 KB of float32): several tiles fit in L2
_WIDE_ROW = 1 << 12           # aim for inner loops of about this many elements (channels-last)


# ---------------------------------------------------------------------------------------
# layout: how an input is walked
# ---------------------------------------------------------------------------------------
class _Layout:
    """The reduction of an input shape over `axes`, and the tiled `(A, K, B)` view when the kept
    axes form one contiguous block (`view` is None otherwise)."""

    def __init__(self, shape, axes):
        ndim = len(shape)
        self.shape = tuple(shape)
        self.axes = tuple(sorted(a % ndim for a in axes))
        kept = [i for i in range(ndim) if i not in self.axes]
        self.stat_shape = tuple(1 if i in self.axes else n for i, n in enumerate(shape))
        self.count = int(np.prod([shape[a] for a in self.axes], dtype=np.int64))
        self.channels = int(np.prod([shape[i] for i in kept], dtype=np.int64))
        self.view = None
        if not kept or kept != list(range(kept[0], kept[-1] + 1)) or self.count == 0:
            return
        lead = int(np.prod(shape[:kept[0]], dtype=np.int64))
        trail = int(np.prod(shape[kept[-1] + 1:], dtype=np.int64))
        self.fold = 1
        if trail == 1:
            self.fold = math.gcd(lead, max(1, _WIDE_ROW // max(self.channels, 1)))
        self.view = (lead // self.fold, self.channels * self.fold, trail)
        row = self.view[1] * self.view[2]
        self.rows_per_tile = max(1, _TILE_ELEMENTS // max(row, 1))

    def tiles(self):
        rows = self.view[0]
        step = self.rows_per_tile
        return [slice(start, min(start + step, rows)) for start in range(0, rows, step)]

    def wide(self, vector):
        """A per-channel vector laid out to broadcast against one tile of the view."""
        flat = np.reshape(vector, (self.channels,))
        if self.fold > 1:
            flat = np.tile(flat, self.fold)
        return flat.reshape(self.view[1], 1)

    def fold_sum(self, wide_sum):
        """Per-channel totals from sums over the (possibly folded) view."""
        if self.fold == 1:
            return wide_sum
        return wide_sum.reshape(self.fold, self.channels).sum(axis=0)

    def to_stat(self, per_channel):
        return np.reshape(per_channel, self.stat_shape)


def _tile_sums(layout, fn):
    """Per-channel totals over all tiles; `fn(tile)` returns that tile's partial sums (each of
    shape (K,)). Summing per-tile partials also keeps float32 rounding small."""
    totals = None
    for tile in layout.tiles():
        parts = fn(tile)
        totals = [p.copy() for p in parts] if totals is None else [t + p for t, p in zip(totals, parts)]
    return [layout.fold_sum(t) for t in totals]


def _channel_sum(tile_array):
    return np.einsum("akb->k", tile_array)


def _channel_dot(a, b):
    return np.einsum("akb,akb->k", a, b)


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
    return np.reshape(value, layout.stat_shape)


def _param_grad(grad_stat, param, layout):
    """Reduce a gradient of stat shape to the parameter's own shape."""
    value = as_array(param)
    if value.ndim == len(layout.shape):
        return unbroadcast(grad_stat, value.shape)
    return np.reshape(grad_stat, value.shape)


# ---------------------------------------------------------------------------------------
# moments
# ---------------------------------------------------------------------------------------
class BatchMoments:
    """Mean and biased variance of a batch over the reduction axes (stat shape: reduced axes kept
    with size 1), with what the training op reuses. `count` is the number of values reduced into
    each statistic (the unweighted sample size, used for Bessel's correction)."""

    def __init__(self, mean, variance, layout, weights=None, total_weight=None):
        self.mean = mean
        self.variance = variance
        self.layout = layout
        self.weights = weights
        self.total_weight = total_weight

    @property
    def count(self):
        return self.layout.count


def batch_moments(x, axes, weights=None):
    """Mean and biased variance of `x` over `axes` (no gradient). `weights` (broadcastable to x)
    gives frequency weights, as `tf.nn.weighted_moments`: statistics over zero weight are 0."""
    xd = as_array(x)
    layout = _Layout(xd.shape, axes)
    if weights is not None:
        return _weighted_moments(xd, layout, weights)
    if layout.view is None:
        mean = np.mean(xd, axis=layout.axes, keepdims=True)
        centered = xd - mean
        variance = np.mean(np.square(centered), axis=layout.axes, keepdims=True)
        return BatchMoments(mean, variance, layout)
    xv = np.ascontiguousarray(xd).reshape(layout.view)
    count = layout.count
    (total,) = _tile_sums(layout, lambda t: (_channel_sum(xv[t]),))
    mean = total / count
    mean_wide = layout.wide(mean)
    scratch = np.empty((layout.rows_per_tile,) + layout.view[1:], xd.dtype)

    def squares(tile):
        work = scratch[:tile.stop - tile.start]
        np.subtract(xv[tile], mean_wide, out=work)
        return (_channel_dot(work, work),)
    (sum_sq,) = _tile_sums(layout, squares)
    return BatchMoments(layout.to_stat(mean), layout.to_stat(sum_sq / count), layout)


def _weighted_moments(xd, layout, weights):
    w = np.broadcast_to(np.asarray(as_array(weights), xd.dtype), xd.shape)
    total_weight = np.sum(w, axis=layout.axes, keepdims=True)
    safe = np.where(total_weight == 0, 1, total_weight).astype(xd.dtype)
    mean = np.where(total_weight == 0, 0, np.sum(w * xd, axis=layout.axes, keepdims=True) / safe)
    centered = xd - mean
    variance = np.where(total_weight == 0, 0,
                        np.sum(w * np.square(centered), axis=layout.axes, keepdims=True) / safe)
    return BatchMoments(mean.astype(xd.dtype), variance.astype(xd.dtype), layout, w,
                        total_weight)


# ---------------------------------------------------------------------------------------
# training-mode normalisation
# ---------------------------------------------------------------------------------------
def batch_norm_train(x, scale, offset, axes, epsilon, moments=None):
    """`(x - mean) / sqrt(var + epsilon) * scale + offset` with the batch moments of x over `axes`.

    Returns `(output, moments)`; the moments (plain arrays, stat shape) feed the moving averages.
    The backward pass differentiates through the batch mean and variance:
    `dx = scale * inv * (g - mean(g) - xhat * mean(g * xhat))` (weighted means under a mask).

    Example:
    >>> out, stats = batch_norm_train(x, gamma, beta, axes=(0,), epsilon=1e-3)
    """
    xd = as_array(x)
    if moments is None:
        moments = batch_moments(xd, axes)
    layout = moments.layout
    dtype = xd.dtype
    inv = (1 / np.sqrt(moments.variance + np.asarray(epsilon, dtype))).astype(dtype, copy=False)
    scale_arr, offset_arr = _param_array(scale, layout), _param_array(offset, layout)
    gain = inv if scale_arr is None else inv * scale_arr            # broadcasts to stat shape
    shift = -moments.mean * gain if offset_arr is None else offset_arr - moments.mean * gain
    if layout.view is not None and moments.weights is None and gain.shape == layout.stat_shape \
            and shift.shape == layout.stat_shape:
        out = _affine_tiled(xd, gain, shift, layout)
    else:
        out = xd * gain
        out += shift

    def backward(g, needs):
        if layout.view is not None and moments.weights is None and gain.shape == layout.stat_shape:
            sum_g, sum_gc, dx = _train_backward_tiled(xd, g, moments, inv, gain, needs[0])
        else:
            sum_g, sum_gc, dx = _train_backward_plain(xd, g, moments, inv, gain, needs[0])
        dscale = _param_grad(sum_gc * inv, scale, layout) if (scale is not None and needs[1]) else None
        doffset = _param_grad(sum_g, offset, layout) if (offset is not None and needs[2]) else None
        return dx, dscale, doffset
    return record(out, (x, scale, offset), backward), moments


def _affine_tiled(xd, gain, shift, layout):
    xv = np.ascontiguousarray(xd).reshape(layout.view)
    out = np.empty(layout.view, xd.dtype)
    gain_wide, shift_wide = layout.wide(gain), layout.wide(shift)
    for tile in layout.tiles():
        np.multiply(xv[tile], gain_wide, out=out[tile])
        out[tile] += shift_wide
    return out.reshape(xd.shape)


def _train_backward_tiled(xd, g, moments, inv, gain, need_dx):
    """Per-channel sums of g and g * (x - mean) over the batch, then
    dx = gain * g + k * (x - mean) + c with k = -gain * inv^2 * sum(g (x - mean)) / n and
    c = -gain * sum(g) / n, tile by tile."""
    layout = moments.layout
    count = layout.count
    xv = np.ascontiguousarray(xd).reshape(layout.view)
    gv = np.ascontiguousarray(g).reshape(layout.view)
    mean_wide = layout.wide(moments.mean)
    scratch = np.empty((layout.rows_per_tile,) + layout.view[1:], xd.dtype)

    def sums(tile):
        work = scratch[:tile.stop - tile.start]
        np.subtract(xv[tile], mean_wide, out=work)
        return _channel_sum(gv[tile]), _channel_dot(gv[tile], work)
    sum_g, sum_gc = (layout.to_stat(s) for s in _tile_sums(layout, sums))
    if not need_dx:
        return sum_g, sum_gc, None
    slope = -gain * inv * inv * sum_gc / count
    const = -gain * sum_g / count
    gain_wide, slope_wide, const_wide = layout.wide(gain), layout.wide(slope), layout.wide(const)
    dx = np.empty(layout.view, xd.dtype)
    for tile in layout.tiles():
        work = scratch[:tile.stop - tile.start]
        np.subtract(xv[tile], mean_wide, out=work)
        work *= slope_wide
        work += const_wide
        np.multiply(gv[tile], gain_wide, out=dx[tile])
        dx[tile] += work
    return sum_g, sum_gc, dx.reshape(xd.shape)


def _train_backward_plain(xd, g, moments, inv, gain, need_dx):
    axes = moments.layout.axes
    centered = xd - moments.mean
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
        safe = np.where(moments.total_weight == 0, 1, moments.total_weight).astype(xd.dtype)
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
    layout = _Layout(xd.shape, axes)
    mean_arr = _param_array(np.asarray(as_array(mean), dtype), layout)
    inv = (1 / np.sqrt(_param_array(np.asarray(as_array(variance), dtype), layout)
                       + np.asarray(epsilon, dtype))).astype(dtype, copy=False)
    scale_arr, offset_arr = _param_array(scale, layout), _param_array(offset, layout)
    gain = inv if scale_arr is None else inv * scale_arr
    shift = -mean_arr * gain if offset_arr is None else offset_arr - mean_arr * gain
    if layout.view is not None and gain.shape == layout.stat_shape and shift.shape == layout.stat_shape:
        out = _affine_tiled(xd, gain, shift, layout)
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


__all__ = ["BatchMoments", "batch_moments", "batch_norm_train", "batch_norm_inference"]
