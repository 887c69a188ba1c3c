"""NumPy max/average pooling kernels, channels_last, any number of spatial axes.

Every window is read through a strided view of the padded input; forward and backward loop over
the taps of the pooling window only (each step is one vectorised NumPy call over the whole batch).
"""
import numpy as np

from .conv_kernels import Context, interior, output_sizes, pad_input, scratch, tap_slices


def _pool_geometry(x, pool_size, strides, pads, fill):
    xp = pad_input(x, pads, fill)
    ones = (1,) * len(pool_size)
    out_sizes = output_sizes(xp.shape[1:-1], pool_size, strides, ones)
    return xp, out_sizes, tap_slices(pool_size, strides, ones, out_sizes)


def _copy_of(view):
    out = scratch(view.shape, view.dtype)
    np.copyto(out, view)
    return out


def _zeros(shape, dtype):
    out = scratch(shape, dtype)
    out.fill(0)
    return out


def max_pool_forward(x, pool_size, strides, pads):
    """Max over each window ('same' padding cells never win); returns `(out, ctx)`."""
    xp, out_sizes, taps = _pool_geometry(x, pool_size, strides, pads, -np.inf)
    out = _copy_of(xp[taps[0]])
    for index in taps[1:]:
        np.maximum(out, xp[index], out=out)
    ctx = Context(xp=xp, x_shape=x.shape, pads=pads, taps=taps, out=out, pool_size=pool_size,
                  strides=strides)
    return out, ctx


def max_pool_backward(ctx, g):
    """Each window's gradient goes to its first maximum (row-major order within the window)."""
    xp, out, taps = ctx.xp, ctx.out, ctx.taps
    # Index of the first tap holding the maximum: scan the taps backwards, the last write wins.
    winner = np.zeros(out.shape, dtype=np.uint8 if len(taps) < 256 else np.int32)
    for t in range(len(taps) - 1, -1, -1):
        np.copyto(winner, t, where=xp[taps[t]] == out)
    disjoint = all(s >= p for s, p in zip(ctx.strides, ctx.pool_size))
    dxp = _zeros(xp.shape, g.dtype)
    for t, index in enumerate(taps):
        if disjoint:           # every padded cell belongs to at most one window: write in place
            np.multiply(g, winner == t, out=dxp[index])
        else:
            dxp[index] += g * (winner == t)
    return dxp[interior(ctx.x_shape[1:-1], ctx.pads)]


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


def avg_pool_forward(x, pool_size, strides, pads):
    """Mean over each window; 'same' windows divide by their count of real cells."""
    xp, out_sizes, taps = _pool_geometry(x, pool_size, strides, pads, 0)
    out = _copy_of(xp[taps[0]])
    for index in taps[1:]:
        out += xp[index]
    counts = _window_counts(x.shape[1:-1], pool_size, strides, pads, out_sizes, x.dtype)
    out /= counts
    ctx = Context(padded_shape=xp.shape, x_shape=x.shape, pads=pads, taps=taps, counts=counts)
    return out, ctx


def avg_pool_backward(ctx, g):
    share = g / ctx.counts
    dxp = _zeros(ctx.padded_shape, g.dtype)
    for index in ctx.taps:
        dxp[index] += share
    return dxp[interior(ctx.x_shape[1:-1], ctx.pads)]
