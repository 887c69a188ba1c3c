"""NumPy max/average pooling kernels, channels_last, any number of spatial axes.

Forward: pooling windows are boxes, so the max (or sum) over a window is taken one spatial axis
at a time: `k` strided slices along the first axis are combined (halving the data for a 2x2 /
stride-2 pool), then along the next axis. That costs `sum(pool_size)` vectorised NumPy calls
instead of `prod(pool_size)`, and the first pass reads whole contiguous rows.

Max-pool backward routes each window's gradient to its first maximum (row-major within the
window). When the windows tile the input (stride == pool size, e.g. 2x2 / 2: Keras' default) it
works on whole rows of windows (`_tiled_first_max_routing`); otherwise once per tap with
byte-mask comparisons (no masked `where=` writes, which NumPy does not vectorise), every tap
writing its own cells when windows do not overlap and accumulating where they do.
"""
import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .conv_kernels import Context, _sample_chunks, fill_border, interior, output_array, \
    output_sizes, pad_input, scratch, tap_slices
from .cells import channel_cells
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
        elif axis == xp.ndim - 2 and s == k and _combine_along_rows(result, k, o, combine, acc):
            pass
        else:
            combine(_axis_window(result, axis, 0, s, o), _axis_window(result, axis, 1, s, o),
                    out=acc)
            for t in range(2, k):
                combine(acc, _axis_window(result, axis, t, s, o), out=acc)
        result = acc
    return out


def _combine_along_rows(result, k, o, combine, acc):
    """The last spatial axis when windows tile it (stride == pool size): every row of cells
    combined with itself shifted by 1 .. k-1 cells (whole-row inner loops, not `channels`-long
    ones), then every k-th cell kept by whole-cell copies. False (nothing done) when the cells
    of `result` or `acc` are not contiguous."""
    channels = result.shape[-1]
    if channel_cells(acc) is None or channel_cells(result) is None or \
            result.strides[-2] != channels * result.itemsize:
        return False
    rows = result.reshape(result.shape[:-2] + (-1,))
    length = ((o - 1) * k + 1) * channels        # up to the first cell of the last window
    combined = local_buffer("pool_rows", rows.shape[:-1] + (length,), result.dtype)
    combine(rows[..., :length], rows[..., channels:channels + length], out=combined)
    for d in range(2, k):
        combine(combined, rows[..., d * channels:d * channels + length], out=combined)
    starts = channel_cells(combined.reshape(combined.shape[:-1] + (-1, channels)))[..., ::k]
    np.copyto(channel_cells(acc), starts)
    return True


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
    """Each window's gradient goes to its first maximum (row-major order within the window),
    as tf's MaxPoolGrad; in 3-D to every maximum of the window, as tf's MaxPool3DGrad."""
    xp, out, pool_size, strides = ctx.xp, ctx.out, ctx.pool_size, ctx.strides
    g = np.asarray(g, dtype=xp.dtype)
    disjoint = all(s >= p for s, p in zip(strides, pool_size))
    dxp = scratch(xp.shape, g.dtype)
    every_max = len(pool_size) == 3
    tiled = tuple(strides) == tuple(pool_size) and 0 not in ctx.out_sizes and \
        _window_rows(xp, pool_size, ctx.out_sizes) is not None and \
        _window_rows(dxp, pool_size, ctx.out_sizes) is not None
    if tiled:
        masks = _phase_masks(ctx.out_sizes[-1], pool_size[-1], xp.shape[-1])
        per_sample = 2 * xp[:1].nbytes
    else:
        taps = tap_slices(pool_size, strides, (1,) * len(pool_size), ctx.out_sizes)
        per_sample = xp[:1].nbytes + out[:1].nbytes

    def work(lo, hi):
        for b0, b1 in _sample_chunks(lo, hi, per_sample):
            if tiled:
                _zero_uncovered(dxp[b0:b1], pool_size, strides, ctx.out_sizes)
                _tiled_first_max_routing(xp[b0:b1], out[b0:b1], g[b0:b1], dxp[b0:b1],
                                         pool_size, ctx.out_sizes, masks, every_max)
            else:
                _first_max_routing(xp[b0:b1], out[b0:b1], g[b0:b1], dxp[b0:b1], taps,
                                   disjoint, pool_size, strides, ctx.out_sizes, every_max)
    run_split(work, xp.shape[0], uses_blas=False)
    return dxp[interior(ctx.x_shape[1:-1], ctx.pads)]


def _first_max_routing(xp, out, g, dxp, taps, disjoint, pool_size, strides, out_sizes,
                       every_max=False):
    """Route `g` to each window's first maximum (to all its maxima if `every_max`), for a
    few samples, one tap at a time."""
    if disjoint:
        _zero_uncovered(dxp, pool_size, strides, out_sizes)
    else:
        dxp.fill(0)
    hit = local_buffer("pool_hit", out.shape, np.bool_)
    unclaimed = local_buffer("pool_unclaimed", out.shape, np.bool_)   # no earlier tap won
    for t, index in enumerate(taps):
        np.equal(xp[index], out, out=hit)
        if every_max:                  # every hit keeps its window's gradient
            pass
        elif t == 0:
            np.logical_not(hit, out=unclaimed)
        else:
            np.logical_and(hit, unclaimed, out=hit)
            if t < len(taps) - 1:
                np.not_equal(unclaimed, hit, out=unclaimed)    # unclaimed &= ~hit
        if disjoint:
            np.multiply(g, hit, out=dxp[index])
        else:
            dxp[index] += g * hit


# ---------------------------------------------------------------------------------------
# max-pool backward on whole rows of tiling windows
# ---------------------------------------------------------------------------------------
# A tap slice of a channels_last array (one cell in `pool width`) makes NumPy run inner loops of
# only `channels` values, so each tap pass costs about as much as a contiguous pass over the
# whole input (seed_cnn's 2x2 pool of 223x223x16: eight such passes, 24 ms for 16 samples on
# one thread). When the windows tile the input (stride == pool size), a row of windows along
# the last spatial axis is one contiguous run of `out width * pool width * channels` values:
# the maxima and the gradient are repeated `pool width` times along the row (by whole-cell
# copies, one memcpy per cell), compared and multiplied over whole rows, and the ties inside a
# window are settled with byte masks shifted by whole cells along the row.
def _window_rows(array, pool_size, out_sizes, writeable=False):
    """View `(n, o_1, k_1, ..., o_{d-1}, k_{d-1}, o_d * k_d * channels)` of the cells of
    `array (n, *spatial, channels)` that tiling windows cover: a (window, tap) pair of axes per
    leading spatial axis and the whole row of windows along the last one; None when that row is
    not contiguous."""
    itemsize, channels = array.itemsize, array.shape[-1]
    if channels == 0 or array.strides[-1] != itemsize or \
            array.strides[-2] != channels * itemsize:
        return None
    shape, strides = [array.shape[0]], [array.strides[0]]
    for stride, o, k in zip(array.strides[1:-2], out_sizes[:-1], pool_size[:-1]):
        shape += [o, k]
        strides += [stride * k, stride]
    shape.append(out_sizes[-1] * pool_size[-1] * channels)
    strides.append(itemsize)
    return as_strided(array, shape, strides, writeable=writeable)


def _lead_tap(tap):
    """Index of one tap of the leading window axes in a `_window_rows` view."""
    return (slice(None),) + tuple(part for t in tap for part in (slice(None), t)) + \
        (slice(None),)


def _repeat_cells(source, repeats, dest):
    """`dest (..., width, repeats, channels)`: every cell of `source (..., width, channels)`
    `repeats` times."""
    source_cells, dest_cells = channel_cells(source), channel_cells(dest)
    for phase in range(repeats):
        if source_cells is None or dest_cells is None:
            np.copyto(dest[..., phase, :], source)
        else:
            np.copyto(dest_cells[..., phase], source_cells)


@functools.lru_cache(maxsize=64)
def _phase_masks(out_width, pool_width, channels):
    """For shifts d = 1 .. pool_width - 1 along a row of windows: byte masks of the values with
    at least d cells of their window before them, and of those with at least d after them
    (read-only, made once per shape)."""
    phase = np.arange(out_width * pool_width * channels) // channels % pool_width
    masks = [(phase >= d, phase < pool_width - d) for d in range(1, pool_width)]
    for pair in masks:
        for mask in pair:
            mask.flags.writeable = False
    return masks


def _shifted_hits(row, masks, channels, later, dest, spare):
    """`dest` = whether a cell `d` cells earlier (`later`=False) or later (`later`=True) in the
    same window holds a hit of `row`, for any d."""
    if not masks:
        dest.fill(False)
        return dest
    for d, (after, before) in enumerate(masks, start=1):
        s = d * channels
        target = dest if d == 1 else spare
        if later:
            np.logical_and(row[..., s:], before[:-s], out=target[..., :-s])
            target[..., -s:] = False
        else:
            np.logical_and(row[..., :-s], after[s:], out=target[..., s:])
            target[..., :s] = False
        if d > 1:
            np.logical_or(dest, spare, out=dest)
    return dest


def _keep_first_hits(hits, lead_pool, masks, channels):
    """Clear every hit of `hits` (a `_window_rows` view of byte masks) that comes after another
    hit of its window in row-major order."""
    lead_taps = list(np.ndindex(*lead_pool))
    row_shape = hits[_lead_tap(lead_taps[0])].shape
    blocked = local_buffer("pool_blocked", row_shape, np.bool_)
    window_row = local_buffer("pool_window_row", row_shape, np.bool_)
    spare = local_buffer("pool_spare", row_shape, np.bool_) if len(masks) > 1 else None
    claimed = local_buffer("pool_claimed", row_shape, np.bool_)   # hit in an earlier row
    for i, tap in enumerate(lead_taps):
        row = hits[_lead_tap(tap)]
        _shifted_hits(row, masks, channels, False, blocked, spare)
        if i < len(lead_taps) - 1:                 # any hit of this window row, for later rows
            _shifted_hits(row, masks, channels, True, window_row, spare)
            window_row |= row
            window_row |= blocked
        if i > 0:
            blocked |= claimed
        if i < len(lead_taps) - 1:
            if i == 0:
                np.copyto(claimed, window_row)
            else:
                claimed |= window_row
        np.greater(row, blocked, out=row)          # a hit not blocked by an earlier one


# A window whose maximum is not NaN holds it at least once, so when the hits are exactly as many
# as the windows (and no maximum is NaN), no window has a tie and the masks that keep only the
# first hit of each window are skipped: LeNet's 2x2 pools after a sigmoid, backward of
# 256x24x24x6 1.76 -> 1.22 ms and of 256x8x8x16 0.40 -> 0.27 ms (one thread, min of 40
# interleaved, load 5.8); whole lenet_bn training step 2.84 -> 2.10 ms in the two pooling
# backward ops (one thread, 8 interleaved pairs). After a relu, windows of zeros tie and the
# masks run.
SKIP_MASKS_WITHOUT_TIES = True


def _tiled_first_max_routing(xp, out, g, dxp, pool_size, out_sizes, masks, every_max=False):
    """Route `g` to each window's first maximum (to all its maxima if `every_max`), for a few
    samples, when windows tile `xp`."""
    n, channels = xp.shape[0], xp.shape[-1]
    lead_sizes, width, pool_width = tuple(out_sizes[:-1]), out_sizes[-1], pool_size[-1]
    row_shape = (n,) + lead_sizes + (width * pool_width * channels,)
    # rows of repeated cells, broadcast over the leading taps
    spread = (n,) + tuple(part for o in lead_sizes for part in (o, 1)) + row_shape[-1:]
    repeated_shape = (n,) + lead_sizes + (width, pool_width, channels)
    x_rows = _window_rows(xp, pool_size, out_sizes)
    hits = local_buffer("pool_hits", x_rows.shape, np.bool_)
    repeated = local_buffer("pool_repeated", repeated_shape, xp.dtype)
    _repeat_cells(out, pool_width, repeated)
    np.equal(x_rows, repeated.reshape(spread), out=hits)
    untied = SKIP_MASKS_WITHOUT_TIES and np.count_nonzero(hits) == out.size and \
        not np.isnan(out).any()             # every window holds its maximum once
    if not untied and not every_max:
        _keep_first_hits(hits, pool_size[:-1], masks, channels)
    _repeat_cells(g, pool_width, repeated)
    dx_rows = _window_rows(dxp, pool_size, out_sizes, writeable=True)
    np.copyto(dx_rows, hits)
    np.multiply(dx_rows, repeated.reshape(spread), out=dx_rows)


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
