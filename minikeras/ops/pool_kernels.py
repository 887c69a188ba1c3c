"""NumPy max/average pooling kernels, channels_last, any number of spatial axes.

Forward: pooling windows are boxes, so the max (or sum) over a window is taken one spatial axis
at a time: `k` strided slices along the first axis are combined (halving the data for a 2x2 /
stride-2 pool), then along the next axis. That costs `sum(pool_size)` vectorised NumPy calls
instead of `prod(pool_size)`, and the first pass reads whole contiguous rows.

Max-pool backward routes each window's gradient to its first maximum (row-major within the
window), found once per tap with byte-mask comparisons (no masked `where=` writes, which NumPy
does not vectorise). When windows do not overlap (stride >= pool size, e.g. 2x2 / 2) every tap
writes its own cells directly; overlapping windows accumulate.
"""
import numpy as np

from .conv_kernels import Context, _sample_chunks, fill_border, interior, output_array, \
    output_sizes, pad_input, scratch, tap_slices
from .parallel import local_buffer, run_split


def _pool_geometry(x, pool_size, strides, pads, fill):
    xp = pad_input(x, pads, fill)
    ones = (1,) * len(pool_size)
    out_sizes = output_sizes(xp.shape[1:-1], pool_size, strides, ones)
    return xp, out_sizes


def _axis_window(array, axis, start, stride, count):
    index = [slice(None)] * array.ndim
    index[axis] = slice(start, start + (count - 1) * stride + 1 if count > 0 else start, stride)
    return array[tuple(index)]


def _separable_reduce(xp, pool_size, strides, out_sizes, combine, out):
    """Combine (np.maximum / np.add) the cells of every window into `out`, one spatial axis at
    a time (intermediates in per-thread buffers)."""
    result = xp
    axes = [axis for axis, (k, s) in enumerate(zip(pool_size, strides), start=1)
            if k > 1 or s > 1]
    if not axes:                                        # 1x1 window, stride 1
        np.copyto(out, xp)
        return out
    for axis in axes:
        k, s, o = pool_size[axis - 1], strides[axis - 1], out_sizes[axis - 1]
        shape = result.shape[:axis] + (o,) + result.shape[axis + 1:]
        acc = out if axis == axes[-1] else local_buffer(("pool", axis), shape, xp.dtype)
        if k == 1:
            np.copyto(acc, _axis_window(result, axis, 0, s, o))
        else:
            combine(_axis_window(result, axis, 0, s, o), _axis_window(result, axis, 1, s, o),
                    out=acc)
            for t in range(2, k):
                combine(acc, _axis_window(result, axis, t, s, o), out=acc)
        result = acc
    return out


def _pool_in_chunks(xp, out, pool_size, strides, out_sizes, combine):
    """`_separable_reduce` over chunks of samples (cache-sized), batch halves on two threads."""
    per_sample = xp[:1].nbytes + out[:1].nbytes

    def work(lo, hi):
        for b0, b1 in _sample_chunks(lo, hi, per_sample):
            _separable_reduce(xp[b0:b1], pool_size, strides, out_sizes, combine, out[b0:b1])
    run_split(work, xp.shape[0], uses_blas=False)
    return out


def max_pool_forward(x, pool_size, strides, pads, cached_output=False):
    """Max over each window ('same' padding cells never win); returns `(out, ctx)`."""
    xp, out_sizes = _pool_geometry(x, pool_size, strides, pads, -np.inf)
    out = output_array((x.shape[0],) + tuple(out_sizes) + (x.shape[-1],), x.dtype,
                       cached_output)
    _pool_in_chunks(xp, out, pool_size, strides, out_sizes, np.maximum)
    ctx = Context(xp=xp, x_shape=x.shape, pads=pads, out=out, pool_size=pool_size,
                  strides=strides, out_sizes=out_sizes)
    return out, ctx


def _zero_uncovered(dxp, pool_size, strides, out_sizes):
    """Zero what the taps of non-overlapping windows do not write: everything when windows leave
    gaps (stride > pool), else only the cells past the last window on each axis."""
    if any(s != k for s, k in zip(strides, pool_size)):
        dxp.fill(0)
        return
    fill_border(dxp, [(0, n - o * s) for n, o, s in zip(dxp.shape[1:-1], out_sizes, strides)], 0)


def max_pool_backward(ctx, g):
    """Each window's gradient goes to its first maximum (row-major order within the window)."""
    xp, out, pool_size, strides = ctx.xp, ctx.out, ctx.pool_size, ctx.strides
    ones = (1,) * len(pool_size)
    taps = tap_slices(pool_size, strides, ones, ctx.out_sizes)
    g = np.asarray(g, dtype=xp.dtype)
    disjoint = all(s >= p for s, p in zip(strides, pool_size))
    dxp = scratch(xp.shape, g.dtype)

    def work(lo, hi):
        for b0, b1 in _sample_chunks(lo, hi, xp[:1].nbytes + out[:1].nbytes):
            _first_max_routing(xp[b0:b1], out[b0:b1], g[b0:b1], dxp[b0:b1], taps, disjoint,
                               pool_size, strides, ctx.out_sizes)
    run_split(work, xp.shape[0], uses_blas=False)
    return dxp[interior(ctx.x_shape[1:-1], ctx.pads)]


def _first_max_routing(xp, out, g, dxp, taps, disjoint, pool_size, strides, out_sizes):
    """Route `g` to each window's first maximum, for a few samples."""
    if disjoint:
        _zero_uncovered(dxp, pool_size, strides, out_sizes)
    else:
        dxp.fill(0)
    hit = local_buffer("pool_hit", out.shape, np.bool_)
    unclaimed = local_buffer("pool_unclaimed", out.shape, np.bool_)   # no earlier tap won
    for t, index in enumerate(taps):
        np.equal(xp[index], out, out=hit)
        if t == 0:
            np.logical_not(hit, out=unclaimed)
        else:
            np.logical_and(hit, unclaimed, out=hit)
            if t < len(taps) - 1:
                np.not_equal(unclaimed, hit, out=unclaimed)    # unclaimed &= ~hit
        if disjoint:
            np.multiply(g, hit, out=dxp[index])
        else:
            dxp[index] += g * hit


def _window_counts(spatial, pool_size, strides, pads, out_sizes, dtype):
    """Number of real (unpadded) cells in each window, shaped `(1, *out_sizes, 1)`."""
    counts = np.ones((1,) * (len(spatial) + 2), dtype=dtype)
    for axis, (n, p, s, (lo, _), o) in enumerate(zip(spatial, pool_size, strides, pads,
                                                    out_sizes)):
        start = np.arange(o) * s - lo
        per_axis = np.minimum(start + p, n) - np.maximum(start, 0)
        shape = [1] * counts.ndim
        shape[axis + 1] = o
        counts = counts * per_axis.astype(dtype).reshape(shape)
    return counts


def avg_pool_forward(x, pool_size, strides, pads, cached_output=False):
    """Mean over each window; 'same' windows divide by their count of real cells."""
    xp, out_sizes = _pool_geometry(x, pool_size, strides, pads, 0)
    out = output_array((x.shape[0],) + tuple(out_sizes) + (x.shape[-1],), x.dtype,
                       cached_output)
    _pool_in_chunks(xp, out, pool_size, strides, out_sizes, np.add)
    counts = _window_counts(x.shape[1:-1], pool_size, strides, pads, out_sizes, x.dtype)
    out /= counts
    ctx = Context(padded_shape=xp.shape, x_shape=x.shape, pads=pads, pool_size=pool_size,
                  strides=strides, out_sizes=out_sizes, counts=counts)
    return out, ctx


def avg_pool_backward(ctx, g):
    share = g / ctx.counts
    ones = (1,) * len(ctx.pool_size)
    dxp = scratch(ctx.padded_shape, g.dtype)
    if all(s >= p for s, p in zip(ctx.strides, ctx.pool_size)):
        _zero_uncovered(dxp, ctx.pool_size, ctx.strides, ctx.out_sizes)
        for index in tap_slices(ctx.pool_size, ctx.strides, ones, ctx.out_sizes):
            dxp[index] = share
    else:
        dxp.fill(0)
        for index in tap_slices(ctx.pool_size, ctx.strides, ones, ctx.out_sizes):
            dxp[index] += share
    return dxp[interior(ctx.x_shape[1:-1], ctx.pads)]
