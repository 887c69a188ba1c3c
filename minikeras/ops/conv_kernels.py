"""NumPy convolution kernels, channels_last, any number of spatial axes.

Arrays are `x (batch, *spatial, channels)`, kernels `(*kernel_size, channels // groups, filters)`
(Keras' layout). Padding is given explicitly as one `(lo, hi)` pair per spatial axis.

Forward: a strided view of every window is copied into one contiguous im2col buffer
`(groups, positions, taps * cin_g)` and multiplied by the kernel in one (group-batched) GEMM; the
buffer is kept for the kernel gradient (one GEMM). Input gradient: for stride 1 it is itself a
convolution of the zero-padded output gradient with the flipped, transposed kernel (im2col + one
GEMM); for larger strides one GEMM gives every tap's contribution and a loop over kernel taps adds
them back (col2im). Stride-1 convolutions with a few taps (2x2, 1x1, ...) take their gradients
on the padded input's grid instead, one GEMM per tap and no copies (`_grid_gradients`).

Measured on Conv2D(64, 3, 'same') over (32, 56, 56, 64) float32: the im2col copy costs about a
tenth of the forward GEMM, while accumulating one GEMM per kernel tap over a flattened padded
input (no copy) ran 2x slower forward and 3x slower backward (skinny GEMMs, nine accumulations
of the output), so im2col is the general route. Inputs with few channels may instead take the
band route (conv_band.py: band rows and one GEMM with a banded kernel), and 2-D 3x3 stride-1
convolutions the Winograd F(2x2, 3x3) route (winograd.py: 2.25x fewer multiplies; ~1.3-1.7x per
layer from 32 channels up), each timed per shape by `plan`.
"""
import itertools
import math
import sys
import threading
import time

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..core.session import register_session_cache
from . import winograd
from .cells import copy_byte_runs, copy_cells
from .conv_band import BandKernel, width_block
from . import parallel
from .parallel import local_buffer, pieces, run_split


def _count(sizes):
    """The product of a shape's sizes as an int (`np.prod` costs ~5-15 us of Python a call
    on the main thread, a dozen calls a convolution and step)."""
    return int(math.prod(int(n) for n in sizes))


# ---------------------------------------------------------------------------------------
# scratch buffers reused between steps
# ---------------------------------------------------------------------------------------
# A training step allocates the same large arrays (padded inputs, im2col buffers, GEMM outputs)
# every time; fresh ones cost page faults that were measured to slow a large GEMM 2-3x. Arrays
# of at least _MIN_BYTES are cached by shape and handed out again once nothing but the cache
# refers to them (an array still in use, or viewed by anything, has more references).
_SCRATCH = {}
_MIN_BYTES = 1 << 20
_MAX_PER_SHAPE = 4
_MAX_CACHED_BYTES = 2 << 30
_cached_bytes = 0


def scratch(shape, dtype):
    """An uninitialised array of `shape`, reusing a cached array that is no longer used."""
    global _cached_bytes
    shape = tuple(int(n) for n in shape)
    dtype = np.dtype(dtype)
    nbytes = _count(shape) * dtype.itemsize
    if nbytes < _MIN_BYTES:
        return np.empty(shape, dtype)
    arrays = _SCRATCH.setdefault((shape, dtype.str), [])
    for array in arrays:
        if sys.getrefcount(array) == 3:    # the list, this loop variable, getrefcount's argument
            return array
    array = np.empty(shape, dtype)
    if len(arrays) < _MAX_PER_SHAPE and _cached_bytes + nbytes <= _MAX_CACHED_BYTES:
        arrays.append(array)
        _cached_bytes += nbytes
    return array


def output_array(shape, dtype, cached):
    """An op's result array: from the scratch cache when `cached` (training: the tape holds
    every output until backward anyway, and a fresh 100 MB array costs ~10 ms of page faults
    each step), else fresh (inference frees each output after its last reader; caching them
    would keep every layer's output resident)."""
    return scratch(shape, dtype) if cached else np.empty(shape, dtype)


# glibc serves blocks above this size by mmap whatever its thresholds (64-bit maximum): only
# those are faulted in afresh at every step. Smaller ones come back from the heap, still warm
# in cache: MobileNet-style training with its 1-16 MB batch-norm outputs from the scratch
# cache took 2.8 % more CPU (6 interleaved epochs, one thread, load 9.8).
MMAP_LIMIT_BYTES = 32 << 20


def large_output_array(shape, dtype, cached):
    """`output_array`, from the scratch cache only when `cached` and above MMAP_LIMIT_BYTES."""
    nbytes = _count(shape) * np.dtype(dtype).itemsize
    return output_array(shape, dtype, cached and nbytes > MMAP_LIMIT_BYTES)


def clear_scratch():
    """Drop every cached buffer (they are reallocated on demand)."""
    global _cached_bytes
    _SCRATCH.clear()
    _cached_bytes = 0


register_session_cache(clear_scratch)   # keras.backend.clear_session() frees them


def fill_border(array, pads, value):
    """Set the `pads` margins of the spatial axes of `(batch, *spatial, channels)` to `value`."""
    for axis, (lo, hi) in enumerate(pads, start=1):
        index = [slice(None)] * array.ndim
        if lo:
            index[axis] = slice(0, lo)
            array[tuple(index)] = value
        if hi:
            index[axis] = slice(array.shape[axis] - hi, None)
            array[tuple(index)] = value


# ---------------------------------------------------------------------------------------
# shape helpers
# ---------------------------------------------------------------------------------------
def same_padding(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding `(lo, hi)` along one axis: the odd extra goes at the end."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def output_sizes(padded, kernel_size, strides, dilation):
    """Window positions per axis of a padded input."""
    return tuple((p - (k - 1) * d - 1) // s + 1
                 for p, k, s, d in zip(padded, kernel_size, strides, dilation))


def pad_input(x, pads, value=0):
    """`x` with `pads` added on its spatial axes (no copy when there is nothing to pad)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    shape = (x.shape[0],) + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[1:-1], pads)) \
        + (x.shape[-1],)
    out = scratch(shape, x.dtype)
    fill_border(out, pads, value)
    out[interior(x.shape[1:-1], pads)] = x
    return out


def interior(spatial, pads):
    """Index of the unpadded part of a padded `(batch, *spatial, channels)` array."""
    return (slice(None),) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(spatial, pads)) \
        + (slice(None),)


def windows(xp, kernel_size, strides, dilation, out_sizes):
    """Read-only view `(batch, *out_sizes, *kernel_size, channels)` of every window of `xp`."""
    spatial_strides = xp.strides[1:-1]
    shape = (xp.shape[0],) + tuple(out_sizes) + tuple(kernel_size) + (xp.shape[-1],)
    strides_ = ((xp.strides[0],) + tuple(st * s for st, s in zip(spatial_strides, strides))
                + tuple(st * d for st, d in zip(spatial_strides, dilation)) + (xp.strides[-1],))
    return as_strided(xp, shape, strides_, writeable=False)


def tap_slices(kernel_size, strides, dilation, out_sizes):
    """For every kernel tap (row-major): the index of the padded input cells it reads."""
    def axis_slice(t, s, d, o):
        start = t * d
        return slice(start, start + (o - 1) * s + 1 if o > 0 else start, s)
    return [(slice(None),) + tuple(axis_slice(t, s, d, o)
                                   for t, s, d, o in zip(tap, strides, dilation, out_sizes))
            for tap in np.ndindex(*kernel_size)]


# ---------------------------------------------------------------------------------------
# per-shape plans: the cheapest of equivalent routes, timed once
# ---------------------------------------------------------------------------------------
_PLANS = {}
_PLANS_BEING_MADE = {}          # key -> Event set once the thread timing it has chosen
_PLANS_LOCK = threading.Lock()


def plan(key, candidates, repeats=3, margin=0.85):
    """The name of the fastest of `candidates` (name -> function doing the same work) for
    `key`, timed the first time `key` is seen and remembered. Timing: this thread's CPU time,
    candidates interleaved, best of `repeats`; the first candidate is the default and another
    is chosen only when it takes at most `margin` of its time (noise must not flip a plan).
    The routes compute the same numbers up to float32 round-off."""
    choice = _PLANS.get(key)
    if choice is not None:
        return choice
    with _PLANS_LOCK:
        choice = _PLANS.get(key)
        being_made = _PLANS_BEING_MADE.get(key)
        mine = choice is None and being_made is None
        if mine:
            being_made = _PLANS_BEING_MADE[key] = threading.Event()
    if choice is not None:
        return choice
    if not mine:
        # Another thread is timing this key (predict's two batches in flight): wait for its
        # choice, so that both threads' batches take one route (the same numbers as one
        # batch at a time). Time it here only if that thread failed.
        being_made.wait()
        return _PLANS.get(key) or plan(key, candidates, repeats, margin)
    try:
        costs = dict.fromkeys(candidates, float("inf"))
        for _ in range(repeats):
            for name, run in candidates.items():
                start = time.thread_time()
                run()
                costs[name] = min(costs[name], time.thread_time() - start)
        default = next(iter(candidates))
        best = min(costs, key=costs.get)
        choice = best if costs[best] <= margin * costs[default] else default
        _PLANS[key] = choice
    finally:
        with _PLANS_LOCK:
            del _PLANS_BEING_MADE[key]
        being_made.set()
    return choice


def _plan_on_one_blas_thread(key, candidates):
    """`plan` with BLAS on one thread, as the routes run inside `run_split` (thread CPU time
    would not count BLAS' own worker threads). A plan already made is returned at once: the
    thread hand-off of a split costs ~0.1-3 ms of wall time on a loaded machine, paid by every
    Winograd-eligible convolution call before (resnet_small: 11 a batch)."""
    choice = _PLANS.get(key)
    if choice is not None:
        return choice
    chosen = []
    run_split(lambda lo, hi: chosen.append(plan(key, candidates, repeats=5)) if lo == 0 else None,
              2)
    return chosen[0]


class Context:
    """What a convolution's backward needs (kept on the tape until backward ran)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


# ---------------------------------------------------------------------------------------
# the two strategies
# ---------------------------------------------------------------------------------------
def _grouped_kernel(kernel, groups):
    """`(*k, cin_g, filters)` -> `(groups, taps * cin_g, filters // groups)` for im2col GEMMs."""
    taps = _count(kernel.shape[:-2])
    cin_g, filters = kernel.shape[-2:]
    k = kernel.reshape(taps, cin_g, groups, filters // groups)
    return np.ascontiguousarray(k.transpose(2, 0, 1, 3)).reshape(groups, taps * cin_g, -1)


def _im2col(xp, kernel_size, strides, dilation, out_sizes, groups):
    """Contiguous `(groups, positions, taps * cin_g)` copy of every window of `xp`."""
    view = windows(xp, kernel_size, strides, dilation, out_sizes)
    cin_g = xp.shape[-1] // groups
    split = as_strided(view, view.shape[:-1] + (groups, cin_g),
                       view.strides[:-1] + (cin_g * view.strides[-1], view.strides[-1]),
                       writeable=False)
    rank = len(kernel_size)
    # (batch, *out, *k, groups, cin_g) -> (groups, batch, *out, *k, cin_g)
    order = (split.ndim - 2,) + tuple(range(split.ndim - 2)) + (split.ndim - 1,)
    source = split.transpose(order)
    cols = scratch(source.shape, xp.dtype)
    np.copyto(cols, source)
    positions = xp.shape[0] * _count(out_sizes)
    taps = _count(kernel_size) if rank else 1
    return cols.reshape(groups, positions, taps * cin_g)


def _grouped_output_grad(g, groups):
    """`(batch, *out, filters)` -> `(groups, positions, filters // groups)`."""
    filters = g.shape[-1]
    g2 = g.reshape(-1, groups, filters // groups)
    return g2.transpose(1, 0, 2) if groups > 1 else g2.reshape(1, -1, filters)


def _col2im(dcols, padded_shape, kernel_size, strides, dilation, out_sizes, groups):
    """Adjoint of `_im2col`: add every tap's column block back into a padded input gradient."""
    batch, channels = padded_shape[0], padded_shape[-1]
    cin_g = channels // groups
    dxp = scratch(padded_shape, dcols.dtype)
    dxp.fill(0)
    dxp_groups = dxp.reshape(padded_shape[:-1] + (groups, cin_g))
    taps = _count(kernel_size)      # not -1: an empty batch has nothing to infer from
    blocks = dcols.reshape((groups, batch) + tuple(out_sizes) + (taps, cin_g))
    for i, index in enumerate(tap_slices(kernel_size, strides, dilation, out_sizes)):
        block = np.moveaxis(blocks[..., i, :], 0, -2)        # (batch, *out, groups, cin_g)
        dxp_groups[index] += block
    return dxp


# ---------------------------------------------------------------------------------------
# convolution
# ---------------------------------------------------------------------------------------
# Work is done in chunks of whole samples of about this many bytes (im2col rows + output rows),
# so the GEMM reads its im2col rows and the bias/activation epilogue its output rows while they
# are still in cache; the two halves of the batch run on two threads (see parallel.py).
_CHUNK_BYTES = 1 << 23


def _sample_chunks(lo, hi, bytes_per_sample, multiple=1):
    """`(b0, b1)` chunks of `lo:hi` of about `_CHUNK_BYTES`; with `multiple`, each (but the
    last) a whole number of `multiple` samples (at least one such group), a last chunk of
    under half a group joining the one before it (`winograd.join_short_tail`)."""
    step = max(1, _CHUNK_BYTES // max(int(bytes_per_sample), 1))
    if multiple > 1:
        step = max(multiple, step - step % multiple)
    chunks = [(b, min(b + step, hi)) for b in range(lo, hi, step)]
    return winograd.join_short_tail(chunks, multiple) if multiple > 1 else chunks


def _winograd_slice_multiple(tiling, channels, filters):
    """Samples per Winograd slice of a layer on this thread (call it inside the split): its
    chunks are cut at whole slices, so that no chunk ends in a short slice (32x32x32 -> 32 in
    chunks of 5 samples made slices of 2, 2 and 1: 19 slices a half batch of 32 instead of 16,
    each a dozen short NumPy calls that the two threads' Python contests)."""
    return winograd.slice_samples(tiling, max(channels, filters))


def _padded_chunk(x, pads, key, value=0):
    """`x` (a few samples) with `pads`, in a per-thread buffer (x itself when unpadded)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    shape = (x.shape[0],) + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[1:-1], pads)) \
        + (x.shape[-1],)
    out = local_buffer(key, shape, x.dtype)
    fill_border(out, pads, value)
    out[interior(x.shape[1:-1], pads)] = x
    return out


def _as_shape(array, shape):
    """A view of `array` with `shape` (raises rather than silently copying)."""
    view = array.view()
    view.shape = shape
    return view


def _im2col_into(xp, kernel_size, strides, dilation, out_sizes, groups, dest):
    """Copy every window of `xp` into `dest (groups, positions, taps * cin_g)`."""
    if groups == 1 and _window_runs_into(xp, kernel_size, strides, dilation, out_sizes, dest):
        return dest
    view = windows(xp, kernel_size, strides, dilation, out_sizes)
    cin_g = xp.shape[-1] // groups
    split = as_strided(view, view.shape[:-1] + (groups, cin_g),
                       view.strides[:-1] + (cin_g * view.strides[-1], view.strides[-1]),
                       writeable=False)
    order = (split.ndim - 2,) + tuple(range(split.ndim - 2)) + (split.ndim - 1,)
    source = split.transpose(order)
    np.copyto(_as_shape(dest, source.shape), source)
    return dest


def _window_runs_into(xp, kernel_size, strides, dilation, out_sizes, dest):
    """`_im2col_into` for one group when along the last spatial axis a window covers
    `kernel width * channels` contiguous values (no dilation there, contiguous cells): each
    such run is copied as one opaque (void) element, a memcpy instead of an inner loop of a few
    dozen floats (2x2 windows over 16 and 32 channels: 0.17 -> 0.10 and 0.12 -> 0.07 ms per
    sample of seed_cnn's layers, one thread). False (nothing done) otherwise."""
    itemsize, channels = xp.itemsize, xp.shape[-1]
    if not kernel_size or dilation[-1] != 1 or xp.strides[-1] != itemsize or \
            xp.strides[-2] != channels * itemsize or not dest.flags.c_contiguous or \
            xp.size == 0 or dest.size == 0:
        return False
    run = kernel_size[-1] * channels * itemsize
    batch_stride, *spatial = xp.strides[:-1]
    shape = (xp.shape[0],) + tuple(out_sizes) + tuple(kernel_size[:-1]) + (run,)
    strides_ = (batch_stride,) + tuple(st * s for st, s in zip(spatial, strides)) + \
        tuple(st * d for st, d in zip(spatial[:-1], dilation[:-1])) + (1,)
    copy_byte_runs(xp, shape, strides_, dest)
    return True


def _im2col_taps_into(xp, kernel_size, strides, dilation, out_sizes, dest):
    """Tap-major im2col for few input channels: `dest (taps * cin, positions)`, one row per
    (tap, channel) copied from a shifted view of `xp` (inner loops over whole output rows where
    the row-major layout would copy `kernel_width * cin` values at a time)."""
    channels = xp.shape[-1]
    shape = (channels, xp.shape[0]) + tuple(out_sizes)
    # The input as channel planes first (one strided pass), so that every tap's copy runs over
    # whole rows instead of every `channels`-th value (1.6x faster on a 224x224x3 image).
    planes = np.moveaxis(xp, -1, 0)
    if channels > 1:
        source, planes = planes, local_buffer("conv_planes", planes.shape, xp.dtype)
        np.copyto(planes, source)
    for t, index in enumerate(tap_slices(kernel_size, strides, dilation, out_sizes)):
        np.copyto(_as_shape(dest[t * channels:(t + 1) * channels], shape),
                  planes[(slice(None),) + index])


# The tap-major layout is tried only for inputs with at most this many channels (image inputs,
# LeNet's first layers); beyond it the per-channel strided copies lose.
_TAP_MAJOR_MAX_CHANNELS = 8


def _band_kernel(kernel, strides, dilation, groups, out_sizes, dtype):
    """The banded kernel of the band route (conv_band.py) when it applies: few input channels,
    one group, stride 1 and no dilation along the last spatial axis; else None."""
    if groups != 1 or kernel.shape[-2] > _TAP_MAJOR_MAX_CHANNELS or strides[-1] != 1 \
            or dilation[-1] != 1 or 0 in out_sizes:
        return None
    wb = width_block(out_sizes[-1], kernel.shape[-3], kernel.shape[-1])
    return None if wb is None else BandKernel(kernel, wb, strides, dilation, dtype)


def _im2col_layout(x, kernel, strides, pads, dilation, groups, out_sizes, kernel_groups, dtype,
                   band=None):
    """"rows" (positions, taps * cin), "taps" (taps * cin, positions) or "band" (`band`'s rows,
    conv_band.py), timed once per shape on a few samples for few-channel inputs. `band` may
    be a function making it (called only when the layouts are timed)."""
    if groups != 1 or x.shape[-1] > _TAP_MAJOR_MAX_CHANNELS or x.shape[0] == 0 \
            or 0 in out_sizes:
        return "rows"
    kernel_size = kernel.shape[:-2]
    depth = kernel_groups.shape[1]
    # Enough samples for about a megabyte of im2col rows, so the timing is not all overhead.
    count = int(min(x.shape[0], max(1, (1 << 20) // (_count(out_sizes) * depth * 4))))
    key = ("im2col_layout", x.shape[1:], kernel.shape, strides, tuple(map(tuple, pads)),
           dilation, dtype.str, count)
    if key in _PLANS:
        return _PLANS[key]
    if callable(band):
        band = band()
    positions = count * _count(out_sizes)
    sample = np.pad(x[:count], [(0, 0)] + list(pads) + [(0, 0)])
    out = np.empty((positions, kernel.shape[-1]), dtype)

    def rows():
        cols = np.empty((1, positions, depth), dtype)
        _im2col_into(sample, kernel_size, strides, dilation, out_sizes, 1, cols)
        _gemm_rows(cols, kernel_groups, out)

    def taps():
        cols = np.empty((depth, positions), dtype)
        _im2col_taps_into(sample, kernel_size, strides, dilation, out_sizes, cols)
        np.matmul(cols.T, kernel_groups[0], out=out)

    def banded():
        cols = np.empty((positions // band.wb, band.depth), dtype)
        band.rows_into(sample, out_sizes, cols)
        np.matmul(cols, band.matrix, out=_as_shape(out, (positions // band.wb, -1)))
    candidates = {"rows": rows, "taps": taps}
    if band is not None:
        candidates["band"] = banded
    # Five rounds: on a loaded machine three let seed_cnn's first layer (3 channels) keep the
    # row-major layout once, whose copy costs 3.5x the tap-major one.
    return plan(key, candidates, repeats=5)


def _windows_of(xp, kernel_size, strides, dilation, out_sizes, groups, layout, depth, count,
                dtype, band=None):
    """The im2col rows of a chunk in a per-thread buffer: `(taps * cin, count)` for the
    tap-major layout, `(count / wb, band depth)` for the band layout, else
    `(groups, count, taps * cin_g)`. A pointwise (1x1, stride 1) convolution's windows are the
    input's own rows: a view, no copy (SeparableConv's and MobileNet's pointwise layers)."""
    if _pointwise_view(xp, kernel_size, strides, out_sizes, groups, dtype) and \
            layout in ("rows", "taps"):
        rows = xp.reshape(count, depth)
        return rows.T if layout == "taps" else rows[None]
    if layout == "taps":
        cols = local_buffer("conv_cols", (depth, count), dtype)
        _im2col_taps_into(xp, kernel_size, strides, dilation, out_sizes, cols)
    elif layout == "band":
        cols = local_buffer("conv_cols", (count // band.wb, band.depth), dtype)
        band.rows_into(xp, out_sizes, cols)
    else:
        cols = local_buffer("conv_cols", (groups, count, depth), dtype)
        _im2col_into(xp, kernel_size, strides, dilation, out_sizes, groups, cols)
    return cols


def _pointwise_view(xp, kernel_size, strides, out_sizes, groups, dtype):
    """Whether the im2col rows of `xp` are `xp` itself viewed as `(positions, channels)`."""
    return groups == 1 and all(k == 1 for k in kernel_size) and \
        all(s == 1 for s in strides) and tuple(xp.shape[1:-1]) == tuple(out_sizes) and \
        xp.dtype == dtype and xp.flags.c_contiguous


def _gemm_rows(cols, kernel_groups, out_rows, block=None):
    """`out_rows (rows, filters) = cols (groups, rows, depth) @ kernel (groups, depth, f_g)`
    (one group: `block` rows at a time when given, see `_product_rows`)."""
    if cols.shape[0] == 1:
        _product_rows(cols[0], kernel_groups[0], out_rows, block)
    else:
        groups, rows, f_g = cols.shape[0], cols.shape[1], kernel_groups.shape[-1]
        _as_shape(out_rows, (rows, groups, f_g))[...] = \
            np.matmul(cols, kernel_groups).transpose(1, 0, 2)


def _product_rows(a, b, out, block=None):
    """`out = a @ b` (2-D), `block` rows of `a` at a time (all at once when None).

    The whole blocks are one stacked matmul (NumPy calls BLAS for each in its own loop, the
    GIL released), the rest a second: with two threads, a Python call per block made them
    queue for the GIL (see parallel.py)."""
    rows = len(a)
    if block is None or block >= rows:
        np.matmul(a, b, out=out)
        return out
    bulk = rows - rows % block
    np.matmul(_as_shape(a[:bulk], (bulk // block, block, a.shape[1])), b,
              out=_as_shape(out[:bulk], (bulk // block, block, out.shape[1])))
    if bulk < rows:
        np.matmul(a[bulk:], b, out=out[bulk:])
    return out


def _product_summed(a, b, block=None):
    """`a (m, k) @ b (k, n)`, as a sum over blocks of `block` values of k (the kernel
    gradient's long reduction over positions; one product when None). The blocks' products
    are made by one stacked matmul and added in block order."""
    m, k = a.shape
    if block is None or block >= k:
        return a @ b
    whole = k // block
    bulk = whole * block
    parts = np.empty((whole + (bulk < k), m, b.shape[1]), np.result_type(a, b))
    np.matmul(_as_shape(a[:, :bulk], (m, whole, block)).transpose(1, 0, 2),
              _as_shape(b[:bulk], (whole, block, b.shape[1])), out=parts[:whole])
    if bulk < k:
        np.matmul(a[:, bulk:], b[bulk:], out=parts[whole])
    return np.add.reduce(parts, axis=0)


def _small_block(depth, width):
    """Rows per product for OpenBLAS' small-matrix kernels (see `_SMALL_GEMM_MACS`)."""
    return max(1, _SMALL_GEMM_MACS // max(depth * width, 1))


_WIDE_ROW = 1 << 10       # elementwise passes over rows run ~this many elements per inner loop


def _wide_blocks(rows, width=_WIDE_ROW):
    """`rows (n, f)` as at most two blocks: the first `fold * (n // fold)` rows viewed as
    `(n // fold, fold * f)` (`fold` rows side by side, inner loops of ~`width` elements), and
    the remaining rows as they are. Yields `(block, fold)`."""
    n, f = rows.shape
    fold = max(1, width // max(f, 1))
    bulk = n - n % fold
    if bulk:
        yield _as_shape(rows[:bulk], (bulk // fold, fold * f)), fold
    if bulk < n:
        yield rows[bulk:], 1


def _channel_sums(rows):
    """Column sums of `rows (n, f)`, reduced over wide rows."""
    total = np.zeros(rows.shape[1], rows.dtype)
    for block, fold in _wide_blocks(rows):
        total += np.add.reduce(block, axis=0).reshape(fold, -1).sum(axis=0)
    return total


# The bias/relu epilogue runs over rows of this many elements: 1.5x faster than 1024 on
# seed_cnn's layers (16-64 channels; inner loops long enough that NumPy's per-loop setup is lost).
_EPILOGUE_ROW = 1 << 14
_ZERO_ROWS = {}
_SMALL_RELU = 1 << 12          # below this many elements the scalar maximum is as fast


def _zero_row(size, dtype):
    """A read-only row of at least `size` zeros of `dtype` (shared)."""
    dtype = np.dtype(dtype)
    zeros = _ZERO_ROWS.get(dtype)
    if zeros is None or len(zeros) < size:
        zeros = np.zeros(max(size, _EPILOGUE_ROW), dtype)
        zeros.flags.writeable = False
        _ZERO_ROWS[dtype] = zeros
    return zeros[:size]


def relu_in_place(array):
    """`np.maximum(array, 0, out=array)`, taken against a row of zeros: NumPy (2.4) runs a
    maximum with a scalar operand in a scalar loop, 3.5x slower than against an array (seed_cnn's
    first convolution output, 3.2 MB a sample: 0.29 -> 0.08 ms, one thread)."""
    size = array.size
    if size < _SMALL_RELU or not array.flags.c_contiguous:
        np.maximum(array, 0, out=array)
        return array
    flat = array.reshape(-1)                 # C-contiguous: a view (called once a slice)
    width = _EPILOGUE_ROW if size > _EPILOGUE_ROW else size
    bulk = size - size % width
    zeros = _ZERO_ROWS.get(array.dtype)
    if zeros is None or len(zeros) < width:
        zeros = _zero_row(width, array.dtype)
    rows = flat[:bulk].reshape(-1, width)
    np.maximum(rows, zeros[:width], out=rows)
    if bulk < size:
        rest = flat[bulk:]
        np.maximum(rest, zeros[:len(rest)], out=rest)
    return array


def _epilogue(rows, bias, activation):
    """Bias and activation in place on fresh output rows (still in cache)."""
    if bias is not None:
        for block, fold in _wide_blocks(rows, _EPILOGUE_ROW):
            block += np.tile(bias, fold) if fold > 1 else bias
    if activation == "relu":
        relu_in_place(rows)
    elif activation == "tanh":
        np.tanh(rows, out=rows)


def conv_forward(x, kernel, strides, pads, dilation, groups=1, bias=None, activation=None,
                 cached_output=False, epilogue=None):
    """Convolution (cross-correlation) of channels_last `x`, then `+ bias` and a relu/tanh
    activation if given; returns `(out, ctx)`. No im2col buffer outlives its chunk: the kernel
    gradient copies the windows of `x` again, a chunk at a time (a kept buffer would hold
    taps x the input's size per layer until backward: 0.5 GB for resnet_small).

    `epilogue` (inference only, with no `bias`/`activation`; see ops/fused.py) replaces the
    bias/activation epilogue: it gives the output shape (pooled or not), is applied to the
    output rows of each chunk while they are in cache (`rows(rows, start, stop)`), and, when it
    pools, reads each chunk's output from a per-thread buffer and writes the pooled samples
    (`pool_into`), so the full-size convolution output never exists."""
    if x.shape[-1] != kernel.shape[-2] * groups:
        raise ValueError(f"Input has {x.shape[-1]} channels but the kernel expects "
                         f"{kernel.shape[-2]} x {groups} groups.")
    if epilogue is not None and (bias is not None or activation is not None):
        raise ValueError("conv_forward takes either `epilogue` or `bias`/`activation`.")
    kernel_size = kernel.shape[:-2]
    batch, filters = x.shape[0], kernel.shape[-1]
    padded_shape = (batch,) + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[1:-1], pads)) \
        + (x.shape[-1],)
    out_sizes = output_sizes(padded_shape[1:-1], kernel_size, strides, dilation)
    positions = _count(out_sizes)
    depth = _count(kernel_size) * kernel.shape[-2]
    dtype = np.result_type(x, kernel)
    kernel_groups = _grouped_kernel(kernel, groups).astype(dtype, copy=False)
    conv_shape = (batch,) + out_sizes + (filters,)
    pooled = epilogue is not None and epilogue.pools
    out_shape = conv_shape if epilogue is None else epilogue.output_shape(conv_shape)
    out = output_array(out_shape, dtype, cached_output)
    bias = None if bias is None else np.asarray(bias, dtype)
    # The banded kernel is made only when the layout is timed or chosen (the few-channel
    # layers that keep row-major rows made it at every call: ~0.3 ms of main-thread Python).
    band = _lazily(lambda: _band_kernel(kernel, strides, dilation, groups, out_sizes, dtype))
    layout = _im2col_layout(x, kernel, strides, pads, dilation, groups, out_sizes,
                            kernel_groups, dtype, band)
    band = band() if layout == "band" else None

    bytes_per_position = (groups * depth + filters) * dtype.itemsize
    row_positions = positions // out_sizes[0] if out_sizes[0] else 0
    # A sample larger than a chunk is done in bands of output rows along the first spatial
    # axis (not when the epilogue pools: its windows need whole samples).
    band_rows = max(1, _CHUNK_BYTES // max(row_positions * bytes_per_position, 1))
    eff0 = (kernel_size[0] - 1) * dilation[0] + 1

    def finish_rows(rows, start, stop):
        if epilogue is None:
            _epilogue(rows, bias, activation)
        else:
            epilogue.rows(rows, start, stop)

    def im2col_chunk(b0, b1, dest_rows):
        """The convolution of samples b0:b1 into `dest_rows ((b1 - b0) * positions, f)`."""
        xp = _padded_chunk(x[b0:b1], pads, "conv_xp")
        bands = [(0, out_sizes[0])] if b1 - b0 > 1 or band_rows >= out_sizes[0] or \
            layout == "band" or pooled else \
            [(r, min(r + band_rows, out_sizes[0])) for r in range(0, out_sizes[0], band_rows)]
        for r0, r1 in bands:
            rows = slice(r0 * row_positions, (b1 - b0 - 1) * positions + r1 * row_positions)
            count = rows.stop - rows.start
            source = xp if (r0, r1) == (0, out_sizes[0]) else \
                xp[:, r0 * strides[0]:(r1 - 1) * strides[0] + eff0]
            band_sizes = (r1 - r0,) + tuple(out_sizes[1:])
            cols = _windows_of(source, kernel_size, strides, dilation, band_sizes, groups,
                               layout, depth, count, dtype, band)
            product(cols, dest_rows[rows], gemm_block)
            if not pooled:
                base = b0 * positions
                finish_rows(dest_rows[rows], base + rows.start, base + rows.stop)

    def product(cols, dest_rows, block):
        """The GEMM of a chunk's im2col rows into `dest_rows`, `block` rows at a time."""
        if layout == "taps":
            _product_rows(cols.T, kernel_groups[0], dest_rows, block)
        elif layout == "band":
            _product_rows(cols, band.matrix, _as_shape(dest_rows, (len(cols), -1)), block)
        else:
            _gemm_rows(cols, kernel_groups, dest_rows, block)

    def winograd_chunk(b0, b1, dest_rows):
        def finish_slice(lo, hi):
            """The epilogue on samples b0 + lo : b0 + hi, just written (in cache)."""
            wino_finish(dest_rows[lo * positions:hi * positions], (b0 + lo) * positions,
                        (b0 + hi) * positions)
        winograd.convolve_chunk(x[b0:b1].astype(dtype, copy=False), wino_kernel(), tiling,
                                _as_shape(dest_rows, (b1 - b0,) + conv_shape[1:]),
                                None if pooled else finish_slice, wino_bias)

    def destination(b0, b1):
        """Where the convolution of samples b0:b1 goes: their rows of `out`, or a per-thread
        buffer the epilogue pools from."""
        if pooled:
            return local_buffer("conv_fused", ((b1 - b0) * positions, filters), dtype)
        return _as_shape(out, (batch * positions, filters))[b0 * positions:b1 * positions]

    chunk_bytes = positions * bytes_per_position
    gemm_block = None
    if groups == 1 and batch and positions:
        gemm_block = _forward_block(x, kernel, strides, pads, dilation, out_sizes, layout, band,
                                    depth, dtype, _sample_chunks(0, batch, chunk_bytes)[0][1],
                                    band_rows, product)
    route = "im2col"
    if winograd.applies(kernel.shape, strides, pads, dilation, groups) and batch and positions:
        tiling = winograd.Tiling(x.shape[1:-1], pads)
        # Transformed only when the plan times or takes the route (a few-channel layer on
        # im2col transformed its kernel at every call).
        wino_kernel = _lazily(lambda: winograd.transform_kernel(kernel.astype(dtype,
                                                                              copy=False)))
        wino_bias, wino_finish = _winograd_bias(bias, activation, epilogue, pooled, finish_rows)
        if wino_bias is not None:
            wino_bias = winograd.WideBias(wino_bias, dtype)
        b1 = _sample_chunks(0, batch, chunk_bytes)[0][1]
        key = _winograd_plan_key(x.shape, kernel.shape, pads, dtype, activation,
                                 bias is not None, b1)
        # Timed into a per-thread trial buffer (the first chunk's rows of `out` when no
        # epilogue pools; it is written again afterwards).
        trial = (lambda: local_buffer("conv_trial", (b1 * positions, filters), dtype)) \
            if pooled else (lambda: destination(0, b1))
        candidates = {"im2col": lambda: im2col_chunk(0, b1, trial()),
                      "winograd": lambda: winograd_chunk(0, b1, trial())}
        if kernel.shape[-2] >= _WINOGRAD_DEFAULT_CHANNELS:
            candidates = dict(reversed(candidates.items()))
        route = _plan_on_one_blas_thread(key, candidates)
    conv_chunk = winograd_chunk if route == "winograd" else im2col_chunk
    if route == "winograd":
        wino_kernel()                      # made here, not by both threads at once

    def chunk(b0, b1):
        dest = destination(b0, b1)
        conv_chunk(b0, b1, dest)
        if pooled:
            epilogue.pool_into(_as_shape(dest, (b1 - b0,) + conv_shape[1:]), out[b0:b1],
                               b0 * positions)

    def work(lo, hi):
        multiple = _winograd_slice_multiple(tiling, x.shape[-1], filters) \
            if route == "winograd" else 1
        for b0, b1 in _sample_chunks(lo, hi, chunk_bytes, multiple):
            chunk(b0, b1)
    # Inference chains on im2col: the threads take chunks as they become free (`run_split`'s
    # `piece`; a thread held up by other processes no longer leaves the other waiting with the
    # rest of its half). Not on Winograd: chunks cut at other samples make slices of other
    # sizes, whose transforms are then made afresh (see `winograd_inference`).
    first_chunk = _sample_chunks(0, batch, chunk_bytes)[0][1] if batch else 1
    run_split(work, batch,
              piece=first_chunk if epilogue is not None and route == "im2col" else None)
    ctx = Context(x_shape=x.shape, pads=pads, kernel=kernel, strides=strides, dilation=dilation,
                  groups=groups, padded_shape=padded_shape, out_sizes=out_sizes, x=x,
                  out=out, activation=activation, kernel_groups=kernel_groups, layout=layout,
                  band=band)
    return out, ctx


# Winograd inference splits cut the batch into at least this many pieces (when a chunk
# allows): the worker thread starts a wake-up later than the main thread, and with pieces of
# 16-32 samples the main thread then waited for it at the end of every split, where with
# smaller pieces it takes one more piece instead. (Not on the im2col route: there MobileNet-
# style predict's pointwise chains, 4-sample pieces of a batch of 32, were 2-9 % slower.)
_INFERENCE_PIECES = 8


def _inference_piece(batch, first_chunk):
    """Samples per piece of a Winograd inference split: at most a chunk, at least a
    `_INFERENCE_PIECES`-th of the batch."""
    return max(1, min(first_chunk, -(-batch // _INFERENCE_PIECES)))


def _winograd_plan_key(x_shape, kernel_shape, pads, dtype, activation, has_bias, first_chunk):
    """The key of `conv_forward`'s Winograd-or-im2col route plan for these shapes."""
    return ("conv_forward", tuple(x_shape[1:]), tuple(kernel_shape), tuple(map(tuple, pads)),
            np.dtype(dtype).str, activation, has_bias, first_chunk)


# A thread running whole batches beside another (predict's two batches in flight,
# `parallel.enter_batch_thread`) cuts inference chains into larger Winograd slices: fewer
# epilogue and transform calls per batch, whose short NumPy calls the two threads' Python
# contests (GIL). resnet_small predict in flight, interleaved in one process (SCHED_FIFO, load
# ~10-11), all slices of every Winograd layer at once, against 768 KB: 1.5 MB CPU 0.896, wall
# 0.904 (8 pairs); then against 1.5 MB: 2 MB 0.967 / 0.970, 3 MB 0.995 / 0.982, 4 MB 1.002 /
# 1.000; 384 KB and 256 KB 1.22 / 1.21 and 1.33 / 1.31. Per chain (thread CPU, 4 rounds) 2 MB
# takes 0.81-0.86 of 768 KB's time on every resnet_small Winograd chain, but vgg_small's
# pooled chains (`conv_forward`'s pooled route) and plain layers gained nothing (0.93-1.10): only
# this route takes them. The same bits (slices are whole samples). With the products in row
# blocks for OpenBLAS' small-matrix kernels (`winograd._product_in_blocks`: a slice's rows no
# longer decide which kernel multiplies them), against 2 MB (12 pairs each, load 15-16): 2.5 MB
# wall 0.952 / 0.973, CPU 0.952 / 0.969; 3 MB 0.953, CPU 0.956; 4 MB 1.141 / 1.084 (8 pairs).
# Those slices were cut from pieces of at most 8 samples (`_INFERENCE_PIECES`, which a batch
# thread, alone in its batch, does not need): with the batch one piece (perf-rt5, FIFO, load
# 13-14, against pieces at 2.5 MB): 2 MB CPU 0.953 / 0.964, wall 0.958 / 0.975 (12 / 10 pairs),
# 2.5 MB 0.994 / 0.980, wall 0.994 / 0.983, 3.5 MB 1.040 / 1.034.
_IN_FLIGHT_SLICE_BYTES = 1 << 21
# A batch thread runs a Winograd layer's whole batch as one piece (one `convolve_chunk` call:
# 8 pieces made 8 calls' Python a layer, and capped 128-channel slices at 8 samples).
_ONE_PIECE_IN_BATCH_THREADS = True


def winograd_inference(x, kernel_shape, transformed_kernel, pads, epilogue):
    """`conv_forward(x, kernel, (1, 1), pads, (1, 1), epilogue=epilogue)` by the Winograd route
    with the kernel already transformed (`winograd.transform_kernel`), when the route plan
    chose Winograd for this shape and the epilogue does not pool; else None (nothing done).

    An inference chain calls this before `conv_forward`: the same chunks, slices, bias and
    epilogue calls as `conv_forward`'s Winograd route, without `conv_forward`'s set-up of
    the im2col routes and the kernel transform (~0.3 ms of main-thread Python a call, run
    while the worker thread waits: resnet_small predict makes 11 such calls a batch). The
    threads take chunks as they become free (`run_split`'s `piece`, as `conv_forward` does for
    inference chains)."""
    dtype = x.dtype
    if epilogue.pools or dtype != transformed_kernel.dtype or x.ndim != 4 or not x.shape[0] \
            or not winograd.applies(kernel_shape, (1, 1), pads, (1, 1), 1):
        return None
    batch, filters = x.shape[0], kernel_shape[-1]
    tiling = winograd.Tiling(x.shape[1:-1], pads)
    positions = tiling.out[0] * tiling.out[1]
    depth = 9 * kernel_shape[-2]
    chunk_bytes = positions * (depth + filters) * dtype.itemsize
    first_chunk = min(max(1, _CHUNK_BYTES // max(int(chunk_bytes), 1)), batch)
    key = _winograd_plan_key(x.shape, kernel_shape, pads, dtype, None, False, first_chunk)
    if not positions or _PLANS.get(key) != "winograd":
        return None
    out = np.empty((batch,) + tiling.out + (filters,), dtype)
    bias = epilogue.leading_bias()
    finish = epilogue.rows if bias is None else epilogue.rows_after_bias
    rows = _as_shape(out, (batch * positions, filters))

    # The threads take pieces of near-equal sizes (`parallel.pieces`: an even count, at least
    # `_INFERENCE_PIECES`), each cut into near-equal slices of at most a slice's samples:
    # pieces of whole slices left the threads unequal shares (8x8x128: 11 slices of 6 samples,
    # pieces of 18, 18, 18 and 10 samples, so 36 against 28); a piece's slices take at most
    # two sizes, whose transforms (`winograd._transform`, a few kept per thread) are reused
    # between calls.
    step = winograd.slice_samples(tiling, max(kernel_shape[-2], filters),
                                  _IN_FLIGHT_SLICE_BYTES if parallel.in_batch_thread()
                                  else winograd._SLICE_BYTES)
    bounds = [(0, batch)] if _ONE_PIECE_IN_BATCH_THREADS and parallel.in_batch_thread() else \
        pieces(batch, max(step, _inference_piece(batch, first_chunk)))
    wide_bias = None if bias is None else winograd.WideBias.of(bias, dtype)

    def work(first_piece, end_piece):
        with winograd._short_ufunc_buffer():        # set once for all the pieces
            for b0, b1 in bounds[first_piece:end_piece]:
                def finish_slice(s0, s1, b0=b0):
                    finish(rows[(b0 + s0) * positions:(b0 + s1) * positions],
                           (b0 + s0) * positions, (b0 + s1) * positions)
                winograd.convolve_chunk(x[b0:b1], transformed_kernel, tiling, out[b0:b1],
                                        finish_slice, wide_bias,
                                        winograd.even_slices(b1 - b0, step))
    run_split(work, len(bounds), piece=1)
    return out


# From this many input channels the Winograd route is the plan's default (im2col is chosen only
# when timed at most `plan`'s margin of it), below them im2col: one thread, 3x3 'same' + bias +
# relu over 32 samples, Winograd / im2col CPU time 0.61-0.68 at 32-128 channels, 0.92 at 16,
# 1.47 at 3. With im2col the default, a loaded moment during the timing was seen leaving a
# 32-channel layer of resnet_small on im2col (~1.5x its cost).
_WINOGRAD_DEFAULT_CHANNELS = 16


def _winograd_bias(bias, activation, epilogue, pooled, finish_rows):
    """`(vector, finish)`: the bias the Winograd route adds inside its output transform
    (`winograd.convolve_chunk`'s `bias`; None when there is none to take) and the epilogue
    of its output rows without that bias (`finish_rows` when nothing was taken)."""
    if epilogue is None:
        if bias is None:
            return None, finish_rows
        return bias, lambda rows, start, stop: _epilogue(rows, None, activation)
    leading = None if pooled else epilogue.leading_bias()
    if leading is None:
        return None, finish_rows
    return leading, epilogue.rows_after_bias


def _forward_block(x, kernel, strides, pads, dilation, out_sizes, layout, band, depth, dtype,
                   count, lead_rows, product):
    """Rows per forward GEMM: `_small_block`'s when timed faster than one product per chunk on
    the first chunk's im2col rows (the first `count` samples, at most `lead_rows` output rows
    along the first spatial axis: a band of a large sample), else None. Timed once per
    shape."""
    sizes = (min(out_sizes[0], lead_rows),) + tuple(out_sizes[1:])
    positions = count * _count(sizes)
    if layout == "band":
        rows, block = positions // band.wb, _small_block(band.depth, band.matrix.shape[1])
    else:
        rows, block = positions, _small_block(depth, kernel.shape[-1])
    if block >= rows:
        return None
    key = ("forward_blocks", x.shape[1:], kernel.shape, strides, tuple(map(tuple, pads)),
           dilation, layout, dtype.str, count, sizes)
    choice = _PLANS.get(key)
    if choice is None:
        xp = np.pad(x[:count], [(0, 0)] + list(pads) + [(0, 0)]).astype(dtype, copy=False)
        xp = xp[:, :(sizes[0] - 1) * strides[0] + (kernel.shape[0] - 1) * dilation[0] + 1]
        cols = np.array(_windows_of(xp, kernel.shape[:-2], strides, dilation, sizes, 1, layout,
                                    depth, positions, dtype, band))
        out = np.empty((positions, kernel.shape[-1]), dtype)
        choice = _plan_on_one_blas_thread(key, {"whole": lambda: product(cols, out, None),
                                                "small": lambda: product(cols, out, block)})
    return block if choice == "small" else None


def conv_backward(ctx, g, need_input=True, need_kernel=True):
    """`(dx, dkernel)` of `conv_forward` for the output gradient `g` (None where not needed)."""
    dx, dk, _ = conv_gradients(ctx, g, need_input, need_kernel, False)
    return dx, dk


def _lazily(make):
    """A function returning `make()`, computed on its first call."""
    made = []

    def get():
        if not made:
            made.append(make())
        return made[0]
    return get


def _activation_grad(activation, out, g, dest):
    """d activation / d pre-activation times `g`, from the activation's output, into `dest`."""
    if activation == "relu" and np.may_share_memory(dest, g):
        np.multiply(g, out > 0, out=dest)
    elif activation == "relu":
        # The mask cast to floats by a plain copy, then one float product: a float-by-bool
        # product casts through NumPy's small buffers (seed_cnn's first layer, 16 samples:
        # 8.7 -> 4.4 ms).
        mask = np.greater(out, 0, out=local_buffer("relu_mask", out.shape, np.bool_))
        np.copyto(dest, mask)
        np.multiply(dest, g, out=dest)
    elif activation == "tanh":
        np.multiply(out, out, out=dest)
        np.subtract(1, dest, out=dest)
        dest *= g
    else:
        np.copyto(dest, g)
    return dest


def conv_gradients(ctx, g, need_input=True, need_kernel=True, need_bias=False):
    """`(dx, dkernel, dbias)` of `conv_forward` (with its bias and activation) for the output
    gradient `g`; None where not needed. Each half of the batch is done on its own thread:
    activation gradient, bias and kernel gradient partial sums, input gradient rows."""
    # C order: the routes view row blocks of `g` in place (a channels_first layer hands in a
    # transposed gradient, whose reshape may be a strided view).
    g = np.ascontiguousarray(g)
    if not g.size:          # an empty batch (or output): zeros, the routes assume samples
        return (np.zeros(ctx.x_shape, ctx.out.dtype) if need_input else None,
                np.zeros_like(ctx.kernel) if need_kernel else None,
                np.zeros(g.shape[-1], ctx.out.dtype) if need_bias else None)
    if _grid_route_applies(ctx):
        return _grid_gradients(ctx, g, need_input, need_kernel, need_bias)
    kernel, groups = ctx.kernel, ctx.groups
    batch, filters = g.shape[0], g.shape[-1]
    positions = _count(ctx.out_sizes)
    dtype = ctx.out.dtype
    g_rows = g.reshape(batch * positions, filters)
    out_rows = ctx.out.reshape(batch * positions, filters)
    fused = ctx.activation in ("relu", "tanh")
    kernel_groups = ctx.kernel_groups
    depth = kernel_groups.shape[1]
    x_shape = ctx.x_shape
    band = ctx.band
    if band is None and need_input:
        # The input gradient may take the band route even where the forward pass did not.
        band = _band_kernel(kernel, ctx.strides, ctx.dilation, groups, ctx.out_sizes, dtype)
    dx = scratch(x_shape, dtype) if need_input else None
    stride1 = all(s == 1 for s in ctx.strides)
    partial_dk, partial_db = {}, {}
    chunk_bytes = positions * (2 * filters + groups * depth) * dtype.itemsize
    sample_shape = tuple(ctx.out_sizes) + (filters,)

    def work(lo, hi):
        dk_sum = db_sum = None
        multiple = _winograd_slice_multiple(tiling, x_shape[-1], filters) \
            if whole_slices else 1
        for b0, b1 in _sample_chunks(lo, hi, chunk_bytes, multiple):
            rows = slice(b0 * positions, b1 * positions)
            if fused:
                ga = _activation_grad(ctx.activation, out_rows[rows], g_rows[rows],
                                      local_buffer("conv_ga", ((b1 - b0) * positions, filters),
                                                   dtype))
            else:
                ga = g_rows[rows]
            # The Winograd kernel gradient gives the bias gradient too (from its transformed
            # output gradient, in cache: no pass over ga).
            bias_with_kernel = need_bias and need_kernel and kernel_route == "winograd"
            if need_bias and not bias_with_kernel:
                part = _channel_sums(ga)
                db_sum = part if db_sum is None else db_sum + part
            if need_kernel and kernel_route == "winograd":
                # One running transformed sum over this thread's chunks, made a kernel here
                # (on both threads at once) rather than by the main thread after the split.
                if bias_with_kernel and db_sum is None:
                    db_sum = np.zeros(filters, dtype)
                # (db_sum stays None without a bias: bias_with_kernel is need_bias here)
                dk_sum, db_sum = winograd.kernel_grad_sum(
                    ctx.x[b0:b1].astype(dtype, copy=False),
                    ga.reshape((b1 - b0,) + sample_shape), tiling, dk_sum, db_sum)
            elif need_kernel:
                part = kernel_grad(kernel_route, ga, b0, b1)
                dk_sum = part if dk_sum is None else dk_sum + part
            if need_input:
                input_grad(route, ga, b0, b1)
        if need_kernel and kernel_route == "winograd" and dk_sum is not None:
            dk_sum = winograd.kernel_from_slot_sum(dk_sum, dtype)
        partial_dk[lo], partial_db[lo] = dk_sum, db_sum

    def kernel_grad(route, ga, b0, b1):
        """This chunk's kernel gradient: `(groups, depth, f_g)` from im2col, or the
        transformed `(16, cin, filters)` sum of the Winograd route."""
        if route == "winograd":
            return winograd.kernel_grad_chunk(ctx.x[b0:b1].astype(dtype, copy=False),
                                              ga.reshape((b1 - b0,) + sample_shape), tiling)
        cols = _windows_of(_padded_chunk(ctx.x[b0:b1], ctx.pads, "conv_xp"),
                           kernel.shape[:-2], ctx.strides, ctx.dilation, ctx.out_sizes,
                           groups, ctx.layout, depth, (b1 - b0) * positions, dtype, band)
        return kernel_product(cols, ga, kernel_block)

    def kernel_product(cols, ga, block):
        """The kernel gradient GEMM of a chunk's im2col rows, summed over `block` positions
        at a time (one group)."""
        if ctx.layout == "taps":
            return _product_summed(cols, ga, block)[None]
        if ctx.layout == "band":
            return _product_summed(cols.T, _as_shape(ga, (len(cols), -1)), block)[None]
        if groups == 1:
            return _product_summed(cols[0].T, ga, block)[None]
        return np.matmul(cols.transpose(0, 2, 1), _grouped_output_grad(ga, groups))

    def input_grad(route, ga, b0, b1):
        if route == "winograd":
            winograd.convolve_chunk(ga.reshape((b1 - b0,) + sample_shape), flipped_wino(),
                                    grad_tiling, dx[b0:b1])
        elif route == "band":
            rows = _as_shape(ga, (len(ga) // band.wb, -1))
            drows = local_buffer("conv_gcols", (len(rows), band.depth), dtype)
            np.matmul(rows, band.matrix.T, out=drows)
            dxp = local_buffer("conv_dxp", (b1 - b0,) + tuple(ctx.padded_shape[1:]), dtype)
            dxp.fill(0)
            band.rows_add_back(drows, dxp, ctx.out_sizes)
            dx[b0:b1] = dxp[interior(x_shape[1:-1], ctx.pads)]
        elif route == "flipped":
            ga_samples = ga.reshape((b1 - b0,) + sample_shape)
            flipped().into(ga_samples, dx[b0:b1])
        elif groups == 1 and not stride1:
            # Tap-major products gathered phase by phase (`_StridedInputPhases`).
            strided_phases().into(np.matmul(ga, kernel_taps_t()), dx[b0:b1])
        elif groups == 1:
            # Tap-major products (taps, rows, cin): each tap's block is contiguous, so its
            # scatter-add runs inner loops over whole output rows, not over cin channels.
            blocks = np.matmul(ga, kernel_taps_t())
            dxp = local_buffer("conv_dxp", (b1 - b0,) + tuple(ctx.padded_shape[1:]), dtype)
            dxp.fill(0)
            block_shape = (b1 - b0,) + tuple(ctx.out_sizes) + (x_shape[-1],)
            for block, index in zip(blocks, tap_slices(kernel.shape[:-2], ctx.strides,
                                                       ctx.dilation, ctx.out_sizes)):
                dxp[index] += block.reshape(block_shape)
            dx[b0:b1] = dxp[interior(x_shape[1:-1], ctx.pads)]
        else:
            dcols = np.matmul(_grouped_output_grad(ga, groups), kernel_groups.transpose(0, 2, 1))
            dxp = _col2im_into(dcols, (b1 - b0,) + tuple(ctx.padded_shape[1:]),
                               kernel.shape[:-2], ctx.strides, ctx.dilation, ctx.out_sizes,
                               groups)
            dx[b0:b1] = dxp[interior(x_shape[1:-1], ctx.pads)]

    # The routes' operands (transformed or transposed kernels, the first chunk's activation
    # gradient for timing) are made on first use: only the chosen routes' ones, and only while
    # planning the rest; this part of the call runs on one thread while the other waits.
    if need_input and groups == 1:
        taps = _count(kernel.shape[:-2])
        kernel_taps_t = _lazily(lambda: np.ascontiguousarray(
            kernel.reshape(taps, x_shape[-1], filters).transpose(0, 2, 1)).astype(dtype,
                                                                                 copy=False))
        strided_phases = _lazily(lambda: _StridedInputPhases(
            kernel.shape[:-2], ctx.strides, ctx.dilation, ctx.pads, x_shape[1:-1],
            ctx.padded_shape[1:-1], ctx.out_sizes))

    route, kernel_route, kernel_block = "col2im", "im2col", None
    use_winograd = winograd.applies(kernel.shape, ctx.strides, ctx.pads, ctx.dilation, groups)

    def first_chunk_gradient(b1):
        """The first `b1` samples' activation gradient, for timing the routes once per shape."""
        first = g_rows[:b1 * positions]
        if fused:
            first = _activation_grad(ctx.activation, out_rows[:b1 * positions], first,
                                     np.empty_like(first))
        return first
    if batch and positions and ((need_input and stride1) or (need_kernel and use_winograd)):
        b1 = _sample_chunks(0, batch, chunk_bytes)[0][1]
        first = _lazily(lambda: first_chunk_gradient(b1))
        shape_key = (x_shape[1:], kernel.shape, groups, tuple(map(tuple, ctx.pads)),
                     ctx.dilation, dtype.str, b1)
    if use_winograd:
        tiling = winograd.Tiling(x_shape[1:-1], ctx.pads)
        grad_tiling = winograd.input_gradient_tiling(tiling)
        flipped_wino = _lazily(lambda: winograd.transform_kernel(
            winograd.flipped_kernel(kernel.astype(dtype, copy=False))))
    if need_input and stride1:
        # Routes for stride 1: a convolution of g with the flipped kernel (GEMM with the input
        # channels as N), the GEMM with the kernel's taps x input channels as N and a
        # scatter-add per tap, the band GEMM (few channels) or the flipped convolution by
        # Winograd. Their costs cross over with the channel counts: time them once.
        flipped = _lazily(lambda: _Stride1InputGrad(kernel, x_shape, ctx.pads, ctx.dilation,
                                                    groups, ctx.out_sizes, dtype))
        names = ("flipped", "col2im") + (("band",) if band is not None else ()) \
            + (("winograd",) if use_winograd else ())
        route = _plan_on_one_blas_thread(
            ("stride1_input_grad",) + shape_key,
            {name: (lambda name=name: input_grad(name, first(), 0, b1)) for name in names})
    elif need_input and band is not None:
        b1 = min(batch, 8)
        first = _lazily(lambda: first_chunk_gradient(b1))
        key = ("strided_input_grad", x_shape[1:], kernel.shape, ctx.strides,
               tuple(map(tuple, ctx.pads)), ctx.dilation, b1)
        route = plan(key, {name: (lambda name=name: input_grad(name, first(), 0, b1))
                           for name in ("col2im", "band")})
    if need_kernel and use_winograd:
        kernel_route = _plan_on_one_blas_thread(
            ("kernel_grad",) + shape_key,
            {name: (lambda name=name: kernel_grad(name, first(), 0, b1))
             for name in ("im2col", "winograd")})
    if need_kernel and kernel_route == "im2col" and groups == 1 and batch and positions:
        b1 = _sample_chunks(0, batch, chunk_bytes)[0][1]
        rows = b1 * positions
        if ctx.layout == "band":
            rows, block = rows // band.wb, _small_block(band.depth, band.matrix.shape[1])
        else:
            block = _small_block(depth, filters)
        key = ("kernel_blocks", x_shape[1:], kernel.shape, ctx.strides,
               tuple(map(tuple, ctx.pads)), ctx.dilation, ctx.layout, dtype.str, b1)
        choice = _PLANS.get(key) if block < rows else "whole"
        if choice is None:
            # Timed on the first chunk's products alone (its im2col rows copied once).
            cols = np.array(_windows_of(
                np.pad(ctx.x[:b1], [(0, 0)] + list(ctx.pads) + [(0, 0)]).astype(dtype,
                                                                                 copy=False),
                kernel.shape[:-2], ctx.strides, ctx.dilation, ctx.out_sizes, 1, ctx.layout,
                depth, rows if ctx.layout != "band" else b1 * positions, dtype, band))
            ga = first_chunk_gradient(b1)
            choice = _plan_on_one_blas_thread(
                key, {"whole": lambda: kernel_product(cols, ga, None),
                      "small": lambda: kernel_product(cols, ga, block)})
        kernel_block = block if choice == "small" else None
    if need_input:
        # The chosen route's operand is made here, not by both threads at once.
        if route == "winograd":
            flipped_wino()
        elif route == "flipped":
            flipped()
        elif route == "col2im" and groups == 1:
            kernel_taps_t()
            if not stride1:
                strided_phases()
    # Chunks at whole Winograd slices when every route taken is Winograd's.
    whole_slices = use_winograd and (kernel_route == "winograd" or not need_kernel) and \
        (route == "winograd" or not need_input)
    # two halves: dynamic pieces (run_split piece=) measured slower on lenet_bn (13.0k vs
    # 14.5k samples/s) and resnet_small (165 vs 177) training on a quiet machine
    run_split(work, batch)
    dk = db = None
    if need_kernel:
        dk_sum = _sum_in_order(partial_dk)
        if kernel_route == "winograd":
            dk = dk_sum.astype(kernel.dtype, copy=False)       # made a kernel per thread
        elif ctx.layout == "band":
            dk = band.kernel_from_band(dk_sum[0]).astype(kernel.dtype, copy=False)
        else:
            dk = _kernel_from_grouped(dk_sum, kernel.shape, groups).astype(kernel.dtype,
                                                                           copy=False)
    if need_bias:
        db = _sum_in_order(partial_db)
    return dx, dk, db


# ---------------------------------------------------------------------------------------
# gradients of small stride-1 kernels on the padded input's grid (no im2col copy)
# ---------------------------------------------------------------------------------------
# With the output gradient laid on the padded input's grid (zero where no window starts), a
# stride-1 kernel tap is a fixed offset in the flattened grid: its kernel gradient is one GEMM
# of a contiguous slice of the input with the gradient, and its input-gradient contribution one
# GEMM added to a contiguous slice. Measured on seed_cnn's 2x2 convolutions (2 samples,
# one thread): 111x111x16 -> 32 filters 4.7 -> 3.5 ms, 55x55x32 -> 64 filters 3.0 -> 2.6 ms
# against im2col + kernel GEMM + tap-major col2im. With many taps the per-tap GEMMs and adds
# (and their skinny shapes) lose, and few input channels make the per-tap GEMMs too thin.
_GRID_MAX_TAPS = 4
_GRID_MIN_CHANNELS = _TAP_MAJOR_MAX_CHANNELS + 1      # fewer channels: tap-major or band routes


def _grid_route_applies(ctx):
    return ctx.groups == 1 and all(s == 1 for s in ctx.strides) and \
        _count(ctx.kernel.shape[:-2]) <= _GRID_MAX_TAPS and \
        ctx.x_shape[-1] >= _GRID_MIN_CHANNELS and ctx.x_shape[0] > 0 and \
        0 not in ctx.out_sizes


def _grid_offsets(kernel_size, dilation, grid):
    """Flat cell offset of every kernel tap (row-major) on a grid of spatial shape `grid`."""
    cell_strides = [_count(grid[i + 1:]) for i in range(len(grid))]
    return [sum(t * d * st for t, d, st in zip(tap, dilation, cell_strides))
            for tap in np.ndindex(*kernel_size)]


# OpenBLAS' small-matrix kernels (no packing; AVX-512 builds take products of at most 100^3
# multiply-adds) run the grid route's thin products faster than its general ones: seed_cnn's
# 111x111x16 -> 32 kernel gradient products 15 -> 8.6 ms per 16 samples, one thread, in blocks
# of 1536 rows instead of whole chunks. Whether blocks win depends on the BLAS, so it is timed.
_SMALL_GEMM_MACS = 10 ** 6


def _grid_gradients(ctx, g, need_input, need_kernel, need_bias):
    """`conv_gradients` for stride-1, ungrouped convolutions with few taps (see above)."""
    kernel, x_shape, dtype = ctx.kernel, ctx.x_shape, ctx.out.dtype
    kernel_size = kernel.shape[:-2]
    channels, filters = kernel.shape[-2:]
    batch = x_shape[0]
    grid = tuple(ctx.padded_shape[1:-1])
    cells = _count(grid)
    offsets = _grid_offsets(kernel_size, ctx.dilation, grid)
    taps = len(offsets)
    real = (slice(None),) + tuple(slice(0, o) for o in ctx.out_sizes) + (slice(None),)
    uncovered = [(0, n - o) for n, o in zip(grid, ctx.out_sizes)]
    whole_grid = not any(hi for _, hi in uncovered)
    kernel_t = np.ascontiguousarray(
        kernel.reshape(taps, channels, filters).transpose(0, 2, 1)).astype(dtype, copy=False)
    unpadded = not any(lo or hi for lo, hi in ctx.pads)
    dx = scratch(x_shape, dtype) if need_input else None
    chunk_bytes = cells * 2 * (channels + filters) * dtype.itemsize

    def activation_grad_rows(b0, b1):
        """The gradient before the activation of samples b0..b1 laid on the grid, as rows
        `(cells from which every tap stays inside, filters)`."""
        count = (b1 - b0) * cells
        if whole_grid and ctx.activation not in ("relu", "tanh") and \
                g[b0:b1].flags.c_contiguous:
            ga = g[b0:b1]                        # e.g. a 1x1 convolution before batch norm
        else:
            ga = local_buffer("grid_ga", (b1 - b0,) + grid + (filters,), dtype)
            fill_border(ga, uncovered, 0)        # no window starts there
            _activation_grad(ctx.activation, ctx.out[b0:b1], g[b0:b1], ga[real])
        return ga.reshape(count, filters)[:count - offsets[-1]]

    def products(b0, b1, ga_rows, block, dk):
        """Input gradient of samples b0..b1 into dx and their kernel gradient added to dk, the
        products in blocks of `block` grid rows."""
        count, span = (b1 - b0) * cells, len(ga_rows)
        blocks = [(r, min(r + block, span)) for r in range(0, span, block)]
        if need_kernel:
            xp = np.ascontiguousarray(_padded_chunk(ctx.x[b0:b1], ctx.pads, "conv_xp"))
            x_rows = xp.reshape(count, channels)
            for r0, r1 in blocks:
                for t, offset in enumerate(offsets):
                    dk[t] += x_rows[offset + r0:offset + r1].T @ ga_rows[r0:r1]
        if need_input:
            dxp = dx[b0:b1] if unpadded else \
                local_buffer("grid_dxp", (b1 - b0,) + grid + (channels,), dtype)
            dx_rows = dxp.reshape(count, channels)
            dx_rows[span:] = 0
            product = local_buffer("grid_product", (min(block, span), channels), dtype)
            # Last block first: a block's later taps add into rows the blocks after it have
            # already set, so every row still sums its taps in order.
            for r0, r1 in reversed(blocks):
                np.matmul(ga_rows[r0:r1], kernel_t[0], out=dx_rows[r0:r1])   # offsets[0] == 0
                for t in range(1, taps):
                    np.matmul(ga_rows[r0:r1], kernel_t[t], out=product[:r1 - r0])
                    dx_rows[offsets[t] + r0:offsets[t] + r1] += product[:r1 - r0]
            if not unpadded:
                dx[b0:b1] = dxp[interior(x_shape[1:-1], ctx.pads)]

    block = cells * batch                         # whole chunks
    small = max(1, _SMALL_GEMM_MACS // (channels * filters))
    if batch and (need_input or need_kernel):
        b1 = _sample_chunks(0, batch, chunk_bytes)[0][1]
        if small < b1 * cells - offsets[-1]:
            # Timed on the products of the first chunk alone (the rest does not change).
            first = activation_grad_rows(0, b1).copy()
            trial_dk = np.zeros((taps, channels, filters), dtype)
            key = ("grid_blocks", x_shape[1:], kernel.shape, tuple(map(tuple, ctx.pads)),
                   ctx.dilation, dtype.str, b1, need_input, need_kernel)
            choice = _plan_on_one_blas_thread(
                key, {"whole": lambda: products(0, b1, first, block, trial_dk),
                      "small": lambda: products(0, b1, first, small, trial_dk)})
            block = small if choice == "small" else block

    def chunk_gradients(b0, b1):
        rows = activation_grad_rows(b0, b1)
        return rows, rows

    def chunk_products(b0, b1, rows, dk):
        products(b0, b1, rows, block, dk)
    dk, db = kernel_and_bias_sums(batch, chunk_bytes, (taps, channels, filters), dtype, kernel,
                                  chunk_gradients, chunk_products, need_kernel, need_bias)
    return dx, dk, db


def kernel_and_bias_sums(batch, chunk_bytes, dk_shape, dtype, kernel, chunk_gradients,
                         products, need_kernel, need_bias, piece=None, chunk=None):
    """The kernel and bias gradients of a convolution with the batch split over the two
    threads. Per chunk of samples, `chunk_gradients(b0, b1)` gives `(bias_rows, product_input)`;
    the bias gradient sums the rows' channels and `products(b0, b1, product_input, dk)` adds
    the chunk's kernel gradient into `dk` (None when not needed; it may also make the input
    gradient). Each thread's partial sums are added in sample order (deterministic rounding).
    With `piece` (samples), the threads take pieces of the batch as they become free
    (`run_split`'s `piece=`), each piece's sums kept apart. `chunk` (samples) overrides the
    chunks `chunk_bytes` gives."""
    partial_dk, partial_db = {}, {}

    def work(lo, hi):
        dk = np.zeros(dk_shape, dtype) if need_kernel else None
        db = None
        for b0, b1 in _sample_chunks(lo, hi, chunk_bytes) if chunk is None else \
                [(b, min(b + chunk, hi)) for b in range(lo, hi, chunk)]:
            bias_rows, product_input = chunk_gradients(b0, b1)
            if need_bias:
                part = _channel_sums(bias_rows)
                db = part if db is None else db + part
            products(b0, b1, product_input, dk)
        partial_dk[lo], partial_db[lo] = dk, db
    run_split(work, batch, piece=piece)
    dk = db = None
    if need_kernel:
        dk = _sum_in_order(partial_dk).reshape(kernel.shape).astype(kernel.dtype, copy=False)
    if need_bias:
        db = _sum_in_order(partial_db)
    return dk, db



def _sum_in_order(partials):
    """Sum of the per-thread partial results `{first_sample: array}` in sample order, so the
    result does not depend on which thread finished first (deterministic float rounding)."""
    order = sorted(partials)
    total = partials[order[0]]
    for lo in order[1:]:
        total = total + partials[lo]
    return total

def _col2im_into(dcols, padded_shape, kernel_size, strides, dilation, out_sizes, groups):
    """`_col2im` into a per-thread buffer."""
    batch, channels = padded_shape[0], padded_shape[-1]
    cin_g = channels // groups
    dxp = local_buffer("conv_dxp", padded_shape, dcols.dtype)
    dxp.fill(0)
    dxp_groups = dxp.reshape(padded_shape[:-1] + (groups, cin_g))
    taps = _count(kernel_size)
    blocks = dcols.reshape((groups, batch) + tuple(out_sizes) + (taps, cin_g))
    for i, index in enumerate(tap_slices(kernel_size, strides, dilation, out_sizes)):
        block = np.moveaxis(blocks[..., i, :], 0, -2)        # (batch, *out, groups, cin_g)
        dxp_groups[index] += block
    return dxp


def _gemm(a, b):
    """`a @ b` (stacked) into a scratch buffer."""
    return np.matmul(a, b, out=scratch(a.shape[:-1] + b.shape[-1:], np.result_type(a, b)))


class _StridedInputPhases:
    """Input gradient of a strided convolution (one group) from its tap-major products
    `blocks (taps, rows, cin)`, gathered by phases instead of scattered tap by tap.

    Along an axis with stride s, the padded input cells r = q + s p of phase q only receive
    from the taps t with t * d = q (mod s), at p = o + (t * d - q) // s: each phase (one per
    combination of the axes' phases) is a contiguous buffer to which its taps' blocks are
    added at fixed offsets (runs of whole output rows, not of `cin` values at stride s), in
    tap order as the scatter adds them (the same sums), then copied into its cells of dx as
    whole cells (`copy_cells`). A phase fed by one tap covering its cells is copied straight
    from that tap's block; cells fed by no tap (a kernel smaller than the stride) are zeros."""

    def __init__(self, kernel_size, strides, dilation, pads, x_spatial, padded_spatial,
                 out_sizes):
        per_axis = []
        for k, s, d, (lo, _), n, size in zip(kernel_size, strides, dilation, pads, x_spatial,
                                              padded_spatial):
            phases = []
            for q in range(s):
                first = max(0, -(-(lo - q) // s))            # phase cells inside the input
                stop = -(-(lo + n - q) // s)
                if stop <= first:
                    continue
                phases.append(dict(taps=[(t, (t * d - q) // s) for t in range(k)
                                         if (t * d) % s == q],
                                   length=-(-(size - q) // s), cells=slice(first, stop),
                                   dest=slice(q + s * first - lo, q + s * (stop - 1) - lo + 1,
                                              s)))
            per_axis.append(phases)
        self.out_sizes = tuple(out_sizes)
        self.phases = []                     # (dest index, cell index, length, taps)
        self.has_empty = False
        for combination in itertools.product(*per_axis):
            taps = []
            for tap_offsets in itertools.product(*(phase["taps"] for phase in combination)):
                tap = int(np.ravel_multi_index([t for t, _ in tap_offsets], kernel_size))
                taps.append((tap, tuple(offset for _, offset in tap_offsets)))
            self.has_empty = self.has_empty or not taps
            self.phases.append(((slice(None),) + tuple(p["dest"] for p in combination),
                                tuple(p["cells"] for p in combination),
                                tuple(p["length"] for p in combination), taps))

    def _direct(self, cells, taps):
        """The block slice holding a phase's cells when one tap covers them all, else None."""
        if len(taps) != 1:
            return None
        offsets = taps[0][1]
        if all(c.start >= off and c.stop <= off + o
               for c, off, o in zip(cells, offsets, self.out_sizes)):
            return tuple(slice(c.start - off, c.stop - off) for c, off in zip(cells, offsets))
        return None

    def into(self, blocks, dx):
        """dx `(count, *x_spatial, cin)` from `blocks (taps, count * positions, cin)`."""
        count, cin = dx.shape[0], dx.shape[-1]
        samples = blocks.reshape((len(blocks), count) + self.out_sizes + (cin,))
        if self.has_empty:
            dx.fill(0)
        for dest, cells, length, taps in self.phases:
            if not taps:
                continue
            direct = self._direct(cells, taps)
            if direct is not None:
                copy_cells(dx[dest], samples[taps[0][0]][(slice(None),) + direct])
                continue
            phase = local_buffer("conv_phase", (count,) + length + (cin,), dx.dtype)
            phase.fill(0)
            for tap, offsets in taps:
                index = (slice(None),) + tuple(slice(off, off + o)
                                               for off, o in zip(offsets, self.out_sizes))
                phase[index] += samples[tap]
            copy_cells(dx[dest], phase[(slice(None),) + cells])


class _Stride1InputGrad:
    """Input gradient of a stride-1 convolution: `dx[i] = sum_t g[i + lo - t*d] @ K[t].T`, i.e.
    a convolution of `g` (zero-padded by `effective - 1 - lo` before) with the flipped kernel,
    done a chunk of samples at a time."""

    def __init__(self, kernel, x_shape, pads, dilation, groups, out_sizes, dtype):
        kernel_size = kernel.shape[:-2]
        rank = len(kernel_size)
        self.gp_spatial, self.place = [], []
        for n, o, k, d, (lo, _) in zip(x_shape[1:-1], out_sizes, kernel_size, dilation, pads):
            before = (k - 1) * d - lo
            self.gp_spatial.append(n + (k - 1) * d)
            self.place.append(slice(before, before + o))
        flipped = kernel[(slice(None, None, -1),) * rank]          # (*k, cin_g, filters)
        cin_g, filters = kernel.shape[-2:]
        # As a convolution from `filters` to `groups * cin_g` channels in the same groups, with
        # kernel'[t, j, group * cin_g + c] = flipped[t, c, group * f_g + j]:
        f_g = filters // groups
        swapped = flipped.reshape(kernel_size + (cin_g, groups, f_g))
        axes = tuple(range(rank))
        swapped = swapped.transpose(axes + (rank + 2, rank + 1, rank))
        swapped = swapped.reshape(kernel_size + (f_g, groups * cin_g))
        self.kernel_groups = _grouped_kernel(swapped, groups).astype(dtype, copy=False)
        self.kernel_size, self.dilation, self.groups = kernel_size, dilation, groups
        self.x_spatial = tuple(x_shape[1:-1])
        self.depth = _count(kernel_size) * f_g

    def into(self, g, dx):
        """Write the input gradient of the samples of `g` into `dx`."""
        count = g.shape[0]
        gp = local_buffer("conv_gp", (count,) + tuple(self.gp_spatial) + (g.shape[-1],),
                          g.dtype)
        fill_border(gp, [(p.start, n - p.stop) for p, n in zip(self.place, self.gp_spatial)], 0)
        gp[(slice(None),) + tuple(self.place)] = g
        positions = count * _count(self.x_spatial)
        cols = local_buffer("conv_gcols", (self.groups, positions, self.depth), g.dtype)
        ones = (1,) * len(self.kernel_size)
        _im2col_into(gp, self.kernel_size, ones, self.dilation, self.x_spatial, self.groups,
                     cols)
        _gemm_rows(cols, self.kernel_groups, dx.reshape(positions, dx.shape[-1]))


def _kernel_from_grouped(dk_groups, kernel_shape, groups):
    """`(groups, taps * cin_g, f_g)` -> Keras' kernel layout `(*k, cin_g, filters)`."""
    taps = _count(kernel_shape[:-2])
    cin_g = kernel_shape[-2]
    dk = dk_groups.reshape(groups, taps, cin_g, -1).transpose(1, 2, 0, 3)
    return np.ascontiguousarray(dk).reshape(kernel_shape)


# ---------------------------------------------------------------------------------------
# depthwise convolution = grouped convolution with one group per input channel
# ---------------------------------------------------------------------------------------
# A depthwise convolution has no GEMM: as im2col + one GEMM per channel its products are
# matrix-vector products (N = depth_multiplier). Instead every output row is a sum over kernel
# taps of shifted input rows times the tap's channel row, done by `np.einsum` over a strided
# view of the padded input that holds every tap as an axis: one pass that reads each window
# from cache, ~1.4x faster than a multiply and an add per tap (and ~3x faster than the same
# passes with NumPy's default ufunc buffer, which copies strided rows through it).
# Each tap's channel row is tiled over the output width, so the innermost axis is a run of
# `width * channels` contiguous values. Taps stepping by s > 1 along the width read every s-th
# column: the padded input is written as its s column phases (one copy), after which the taps
# of one phase are evenly spaced runs (one einsum per phase). A depth multiplier m > 1 repeats
# each input channel m times (one copy) and runs the same code over `channels * m` channels.
# The kernel gradient is one einsum per tap (products summed over samples and rows, per
# width position), read from views of the unpadded input at stride 1 (`_direct_kernel_grad`);
# the input gradient of a stride-1 convolution is itself a depthwise convolution of the padded
# output gradient with the flipped kernel, for larger strides (no dilation) a gather from the
# output gradient laid on a zero width grid (`_WidthGather`), else a scatter-add of
# `g * kernel[tap]` per tap into the width phases. Work goes in blocks of about
# _DEPTHWISE_BLOCK values (1 MB: larger blocks amortise the per-tap Python work of the kernel
# gradient; forward and input gradient measured the same from 64 kB to 1 MB).
_DEPTHWISE_BLOCK = 1 << 18
_AXES = "abcdefgh"      # einsum letters of the spatial axes (output positions)
_TAP_AXES = "ijklmnop"  # and of the kernel taps


def _copy_channel_runs(dest, source):
    """`dest[...] = source` for width phases: strided cells whose channel runs are contiguous,
    copied run by run (`cells.copy_cells`) unless USE_CHANNEL_RUNS is off (A/B timing)."""
    if USE_CHANNEL_RUNS:
        copy_cells(dest, source)
    else:
        dest[...] = source


USE_CHANNEL_RUNS = True


def _width_phases(xp, step, key):
    """`(step, *xp.shape[:-2], ceil(width / step), channels)`: phase p holds the columns
    p, p + step, ... of `xp` (its last spatial axis); `xp[None]` itself when step is 1."""
    if step == 1:
        return xp[None]
    width = xp.shape[-2]
    phases = local_buffer(key, (step,) + xp.shape[:-2] + (-(-width // step), xp.shape[-1]),
                          xp.dtype)
    for p in range(step):
        count = len(range(p, width, step))
        _copy_channel_runs(phases[p, ..., :count, :], xp[..., p::step, :])
    return phases


def _c_strides(a):
    """`a` with C-order strides on every axis. NumPy calls a view contiguous whatever the
    stride of a length-1 axis: one channels_first channel moved last keeps the stride of a
    whole image, which a run over (width, channels) must not step by."""
    a = np.ascontiguousarray(a)
    if a.strides[-1] != a.itemsize or a.strides[-2] != a.shape[-1] * a.itemsize:
        a = a.copy()
    return a


def _input_phases(x, pads, step, multiplier):
    """The width phases (`_width_phases`) of `x` padded by `pads`, with every channel repeated
    `multiplier` times. With strided taps and no multiplier they are written straight from
    `x` (one copy instead of the padded copy and the phase copy)."""
    if step == 1 or multiplier > 1:
        xp = _repeat_channels(_padded_chunk(x, pads, "depthwise_xp"), multiplier,
                              "depthwise_repeat")
        if xp is x:     # windows_of reads (width, channels) as one run: x may be a view
            xp = _c_strides(x)                  # (channels_first input, a Permute)
        return _width_phases(xp, step, "depthwise_phases")
    padded = [n + lo + hi for n, (lo, hi) in zip(x.shape[1:-1], pads)]
    phase_width = -(-padded[-1] // step)
    phases = local_buffer("depthwise_phases", (step, x.shape[0]) + tuple(padded[:-1]) +
                          (phase_width, x.shape[-1]), x.dtype)
    leading = interior(x.shape[1:-2], pads[:-1])[:-1]
    lo, width = pads[-1][0], x.shape[-2]
    for p in range(step):
        first = (p - lo) % step                       # first column of x in phase p
        count = len(range(first, width, step))
        start = (first + lo) // step
        fill_border(phases[p], list(pads[:-1]) + [(start, phase_width - start - count)], 0)
        if count:
            _copy_channel_runs(phases[p][leading + (slice(start, start + count),)],
                               x[..., first::step, :])
    return phases


class _DepthwiseGeometry:
    """Where the kernel taps of a depthwise convolution read its padded input, grouped by the
    width phase they read (see `_width_phases`): each of `groups` is `(phase, taps along the
    width, first column, spacing)`, the group's taps reading runs of the phase that start at
    `first column` and are `spacing` columns apart; and the einsum subscripts."""

    def __init__(self, kernel_size, strides, dilation, out_sizes):
        self.kernel_size, self.strides, self.dilation = kernel_size, strides, dilation
        self.out_sizes = tuple(out_sizes)
        self.step = strides[-1]
        self.groups = []                     # (phase, taps along the width, first, spacing)
        for p in range(self.step):
            taps = [j for j in range(kernel_size[-1]) if (j * dilation[-1]) % self.step == p]
            if taps:
                columns = [(j * dilation[-1]) // self.step for j in taps]
                spacing = columns[1] - columns[0] if len(columns) > 1 else 1
                self.groups.append((p, taps, columns[0], spacing))
        rank = len(kernel_size)
        lead, tap = _AXES[:rank - 1], _TAP_AXES[:rank - 1]
        # input windows: (batch, *out[:-1], *k[:-1], width taps, out width * channels)
        self.windows = f"z{lead}{tap}wx"
        self.rows = f"{tap}wx"
        self.out = f"z{lead}x"

    def windows_of(self, phases, group, channels):
        """The read-only view `(batch, *out[:-1], *k[:-1], len(taps), out_width * channels)`
        of the windows the group's taps read in `phases`."""
        p, taps, first, spacing = group
        source = phases[p]
        st = source.strides
        shape = (source.shape[0],) + self.out_sizes[:-1] + self.kernel_size[:-1] + \
            (len(taps), self.out_sizes[-1] * channels)
        strides = (st[0],) + tuple(st[1 + a] * s for a, s in enumerate(self.strides[:-1])) + \
            tuple(st[1 + a] * d for a, d in enumerate(self.dilation[:-1])) + \
            (st[-2] * spacing, st[-1])
        start = source[(slice(None),) * (source.ndim - 2) + (slice(first, None),)]
        return as_strided(start, shape, strides, writeable=False)

    def group_rows(self, rows, group):
        """The tiled kernel rows `(*k[:-1], len(taps), out_width * channels)` of a group."""
        return np.ascontiguousarray(rows[..., group[1], :])

    def blocks(self, batch, channels):
        """Index blocks `(samples, rows)` of the output `(batch, *out[:-1], width * channels)`
        holding about _DEPTHWISE_BLOCK values: whole samples, or rows of the first spatial
        axis of one sample when a sample is larger (and there is an axis before the width)."""
        per_sample = _count(self.out_sizes) * channels
        if len(self.out_sizes) > 1 and per_sample > _DEPTHWISE_BLOCK:
            rows = self.out_sizes[0]
            step = max(1, _DEPTHWISE_BLOCK // (per_sample // rows))
            return [(slice(b, b + 1), slice(r, min(r + step, rows)))
                    for b in range(batch) for r in range(0, rows, step)]
        step = max(1, _DEPTHWISE_BLOCK // max(per_sample, 1))
        return [(slice(b, min(b + step, batch)),) for b in range(0, batch, step)]


def _tiled_rows(kernel, out_width):
    """`(*k, out_width * channels)`: each tap's channel row of a `(*k, channels)` kernel
    repeated along the output width."""
    return np.ascontiguousarray(np.broadcast_to(
        kernel[..., None, :], kernel.shape[:-1] + (out_width, kernel.shape[-1]))).reshape(
        kernel.shape[:-1] + (out_width * kernel.shape[-1],))


def _repeat_channels(xp, multiplier, key):
    """`xp` with every channel repeated `multiplier` times (channel c -> c * m .. c * m + m - 1);
    `xp` itself when multiplier is 1."""
    if multiplier == 1:
        return xp
    out = local_buffer(key, xp.shape[:-1] + (xp.shape[-1] * multiplier,), xp.dtype)
    out.reshape(xp.shape + (multiplier,))[...] = xp[..., None]
    return out


def _depthwise_into(geometry, phases, rows, acc):
    """`acc (batch, *out[:-1], out_width * channels)` = the depthwise product of a padded
    chunk, given as its width `phases` (channels already repeated for a depth multiplier),
    with tiled kernel `rows`."""
    channels = phases.shape[-1]
    parts = [(geometry.windows_of(phases, group, channels), geometry.group_rows(rows, group))
             for group in geometry.groups]
    subscripts = f"{geometry.windows},{geometry.rows}->{geometry.out}"
    for block in geometry.blocks(acc.shape[0], channels):
        target = acc[block]
        windows, group_rows = parts[0]
        np.einsum(subscripts, windows[block], group_rows, out=target)
        if len(parts) > 1:
            product = local_buffer("depthwise_product", target.shape, acc.dtype)
            for windows, group_rows in parts[1:]:
                np.einsum(subscripts, windows[block], group_rows, out=product)
                target += product


def depthwise_taps_into(xp, taps, kernel_taps, acc):
    """`acc[..., c, m] = sum over taps t of xp[taps[t]][..., c] * kernel_taps[t, c, m]`: the
    depthwise product of a padded chunk (`taps` from `tap_slices`: their strides, dilation
    and output sizes are read back from them)."""
    channels, multiplier = kernel_taps.shape[1:]
    kernel_size, strides, dilation = _taps_geometry(taps)
    out_sizes = acc.shape[1:-2]
    geometry = _DepthwiseGeometry(kernel_size, strides, dilation, out_sizes)
    rows = _tiled_rows(kernel_taps.reshape(kernel_size + (channels * multiplier,)),
                       out_sizes[-1])
    phases = _width_phases(_repeat_channels(xp, multiplier, "depthwise_repeat"), strides[-1],
                           "depthwise_phases")
    _depthwise_into(geometry, phases, rows, _as_shape(acc, acc.shape[:-3] + (rows.shape[-1],)))


def _taps_geometry(taps):
    """`(kernel_size, strides, dilation)` of a list of `tap_slices` (row-major taps)."""
    first, last = taps[0][1:], taps[-1][1:]
    kernel_size, dilation = [], []
    for axis, (a, b) in enumerate(zip(first, last)):
        span = b.start - a.start
        count = len({index[1 + axis].start for index in taps})
        kernel_size.append(count)
        dilation.append(span // (count - 1) if count > 1 else 1)
    strides = tuple(index.step or 1 for index in first)
    return tuple(kernel_size), strides, tuple(dilation)


def depthwise_conv_forward(x, kernel, strides, pads, dilation, cached_output=False):
    """Depthwise convolution with a `(*k, channels, depth_multiplier)` kernel; output channel
    `c * depth_multiplier + m` is input channel `c` convolved with `kernel[..., c, m]`. A large
    output comes from the scratch cache when `cached_output` (see `large_output_array`)."""
    kernel_size = kernel.shape[:-2]
    channels, multiplier = kernel.shape[-2:]
    if x.shape[-1] != channels:
        raise ValueError(f"Input has {x.shape[-1]} channels but the depthwise kernel expects "
                         f"{channels}.")
    batch = x.shape[0]
    padded_shape = (batch,) + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[1:-1], pads)) \
        + (channels,)
    out_sizes = output_sizes(padded_shape[1:-1], kernel_size, strides, dilation)
    dtype = np.result_type(x, kernel)
    width = channels * multiplier
    geometry = _DepthwiseGeometry(kernel_size, strides, dilation, out_sizes)
    rows = _tiled_rows(kernel.astype(dtype, copy=False).reshape(kernel_size + (width,)),
                       out_sizes[-1])
    out = large_output_array((batch,) + out_sizes + (width,), dtype, cached_output)
    flat_out = _as_shape(out, (batch,) + out_sizes[:-1] + (out_sizes[-1] * width,))

    def work(lo, hi):
        for b0, b1 in _sample_chunks(lo, hi, (out[:1].nbytes + x[:1].nbytes) * 2):
            phases = _input_phases(x[b0:b1], pads, geometry.step, multiplier)
            _depthwise_into(geometry, phases, rows, flat_out[b0:b1])
    if out.size:
        run_split(work, batch, uses_blas=False)
    ctx = Context(x=x, x_shape=x.shape, pads=pads, kernel=kernel, padded_shape=padded_shape,
                  geometry=geometry, rows=rows, out_sizes=out_sizes, strides=strides,
                  dilation=dilation)
    return out, ctx


def _depthwise_kernel_grad(geometry, phases, g, dk_rows):
    """`dk_rows (*k, out_width * channels) += ` the products of each tap's windows of the
    padded input (its width `phases`) with `g (batch, *out[:-1], out_width * channels)`,
    summed over samples and rows."""
    channels = phases.shape[-1]
    # One einsum per tap (one over all taps at once ran 1.5x slower: shorter inner loops).
    subscripts = f"{geometry.out},{geometry.out}->x"
    lead = len(geometry.out_sizes)
    for group in geometry.groups:
        windows = geometry.windows_of(phases, group, channels)
        for block in geometry.blocks(g.shape[0], channels):
            gb, wb = g[block], windows[block]
            for tap in np.ndindex(*wb.shape[lead:-1]):
                row = dk_rows[tap[:-1] + (group[1][tap[-1]],)]
                row += np.einsum(subscripts, wb[(Ellipsis,) + tap + (slice(None),)], gb)


USE_DIRECT_KERNEL_GRAD = True   # stride-1 kernel gradients from the unpadded input
# ... from this many output-gradient values (one thread: 32k values 0.99x the padded route's
# time, 8k 1.10x, 1k 1.14x; fewer values leave less padding to save per Python call).
_DIRECT_MIN_VALUES = 1 << 15


def _direct_tap_ranges(ctx):
    """For the kernel gradient of a stride-1 convolution straight from the unpadded input:
    per kernel tap, the output positions whose window cell of that tap lies inside the input,
    per spatial axis `(first, end, input offset)`, or None when no position's does."""
    ranges = []
    for tap in np.ndindex(*ctx.kernel.shape[:-2]):
        axes = []
        for t, d, (lo, _), n, o in zip(tap, ctx.dilation, ctx.pads, ctx.x_shape[1:-1],
                                       ctx.out_sizes):
            offset = t * d - lo                # output position p reads input cell p + offset
            first, end = max(0, -offset), min(o, n - offset)
            if first >= end:
                break
            axes.append((first, end, offset))
        ranges.append((tap, axes if len(axes) == len(tap) else None))
    return ranges


def _direct_kernel_grad(ranges, x, g, dk_rows):
    """`dk_rows (*k, out_width * channels) += ` each tap's products of the input cells it reads
    with `g (batch, *out, channels)`, summed over samples and all but the width: read from
    views of the unpadded input (no padded copy; cells in the padding contribute nothing),
    in blocks of whole samples of about _DEPTHWISE_BLOCK values."""
    channels = x.shape[-1]
    per_sample = max(1, _count(g.shape[1:]))
    step = max(1, _DEPTHWISE_BLOCK // per_sample)
    for b0 in range(0, x.shape[0], step):
        xb, gb = x[b0:b0 + step], g[b0:b0 + step]
        for tap, axes in ranges:
            if axes is None:
                continue
            gv = gb[(slice(None),) + tuple(slice(a, e) for a, e, _ in axes)]
            xv = xb[(slice(None),) + tuple(slice(a + off, e + off) for a, e, off in axes)]
            first, end = axes[-1][0], axes[-1][1]
            run = (end - first) * channels
            lead = _AXES[:gv.ndim - 2]
            dk_rows[tap][first * channels:end * channels] += np.einsum(
                f"{lead}x,{lead}x->x", xv.reshape(xv.shape[:-2] + (run,)),
                gv.reshape(gv.shape[:-2] + (run,)))


def _flipped_pads(ctx):
    """Pads of the output gradient that make the input gradient of a stride-1 depthwise
    convolution a depthwise convolution with the flipped kernel (None if one is negative)."""
    pads = []
    for n, o, k, d, (lo, _) in zip(ctx.x_shape[1:-1], ctx.out_sizes, ctx.kernel.shape[:-2],
                                   ctx.dilation, ctx.pads):
        before = (k - 1) * d - lo
        after = n + lo - o
        if before < 0 or after < 0:
            return None
        pads.append((before, after))
    return pads


def _depthwise_scatter_grad(g, rows, taps, step, padded_shape, pads, dx):
    """`dx = ` the interior of the scatter-add of `g * kernel[t]` over the cells tap t reads
    (`g` and `rows` with the width and channels flattened), accumulated in width phases."""
    count = g.shape[0]
    channels = padded_shape[-1]
    out_width = g.shape[-1] // channels
    phases = local_buffer("depthwise_dphases", (step, count) + padded_shape[1:-2] + (
        -(-padded_shape[-2] // step), channels), g.dtype)
    phases.fill(0)
    product = local_buffer("depthwise_product", g.shape, g.dtype)
    flat_rows = rows.reshape(len(taps), -1)
    for index, row in zip(taps, flat_rows):
        q, p = divmod(index[-1].start, step)
        target = phases[p][index[:-1] + (slice(q, q + out_width),)]
        np.multiply(g, row, out=product)
        target += product.reshape(target.shape)
    inner = interior(dx.shape[1:-2], pads[:-1])[:-1]
    lo, width = pads[-1][0], dx.shape[-2]
    for p in range(step):
        first = (p - lo) % step                       # first column of dx in phase p
        if first >= width:
            continue
        columns = len(range(first, width, step))
        start = (first + lo) // step
        dx[..., first::step, :] = phases[p][inner + (slice(start, start + columns),)]


USE_WIDTH_GATHER = True    # strided input gradients by row-phase gathers (False: tap scatter)
# Below this many output-gradient values the gather's per-phase Python work outweighs what it
# saves (one thread: 32k values 1.15x the scatter's time, 128k 0.88x, 8k 1.35x).
_GATHER_MIN_VALUES = 1 << 16


class _WidthGather:
    """The input gradient of a strided depthwise convolution without dilation, gathered
    instead of scattered tap by tap. Along the width the output gradient is spread over a
    zero grid (output column o at grid column `o * s + k - 1 - lo`), after which every input
    column is a stride-1 correlation of that grid with the flipped width taps. Along the
    leading axes, the input cells r with `(r + lo) % s == q` receive only from taps
    `q, q + s, ...` (row m - t times tap q + s t, m = (r + lo) // s): per phase of the
    leading axes, one einsum (`_depthwise_into`) writes those input rows of dx straight, their
    `width * channels` values contiguous. Per input cell this does `k_w * taps of its phase`
    multiply-adds (4.5 instead of the scatter's 2.25 for 3x3 stride 2) in long einsum runs,
    with no zero fill of dx, no per-tap product buffer and no strided copy back."""

    @staticmethod
    def applies(kernel_size, strides, pads, dilation, x_spatial, out_sizes):
        """No dilation, and the width grid holds every output column (pads no wider than
        the kernel, as 'same' and 'valid' give)."""
        k_w, s_w, (lo_w, _), n_w, o_w = kernel_size[-1], strides[-1], pads[-1], x_spatial[-1], \
            out_sizes[-1]
        return all(d == 1 for d in dilation) and lo_w <= k_w - 1 and \
            (o_w - 1) * s_w - lo_w <= n_w - 1

    def __init__(self, kernel, strides, pads, x_spatial, out_sizes):
        kernel_size = kernel.shape[:-1]
        *lead_k, k_w = kernel_size
        *lead_s, s_w = strides
        lo_w = pads[-1][0]
        n_w, o_w = x_spatial[-1], out_sizes[-1]
        self.width_start = k_w - 1 - lo_w             # grid column of output column 0
        self.width_step = s_w
        self.grid_width = n_w + k_w - 1
        self.out_width = o_w
        before = [-(-k // s) - 1 for k, s in zip(lead_k, lead_s)]
        after = [0] * len(lead_k)
        axes = []
        for axis, (k, s, (lo, _), n, o) in enumerate(zip(lead_k, lead_s, pads, x_spatial,
                                                         out_sizes)):
            phases = []
            for q in range(s):
                first = (q - lo) % s                  # first input cell of phase q
                count = len(range(first, n, s))
                taps = len(range(q, k, s))
                if count:
                    start = (first + lo) // s + before[axis] - (taps - 1)
                    after[axis] = max(after[axis], (first + lo) // s + count - o)
                    phases.append((q, first, count, taps, start))
            axes.append(phases)
        self.lead_pads = list(zip(before, after))
        flipped_width = kernel[..., ::-1, :]
        self.parts = []
        for combo in itertools.product(*axes):
            cells = tuple(slice(first, None, s) for (_, first, *_), s in zip(combo, lead_s))
            counts = tuple(c[2] for c in combo) + (n_w,)
            taps = tuple(c[3] for c in combo) + (k_w,)
            starts = tuple(c[4] for c in combo)
            if not all(taps):
                self.parts.append((cells, None, None, None))
                continue
            sub = flipped_width[tuple(slice(q, None, s) for (q, *_), s in zip(combo, lead_s))]
            flipped = sub[(slice(None, None, -1),) * len(lead_k)]
            geometry = _DepthwiseGeometry(taps, (1,) * len(taps), (1,) * len(taps), counts)
            self.parts.append((cells, geometry, _tiled_rows(flipped, n_w), starts))

    def into(self, g, dest):
        """`dest (chunk, *x_spatial, width) = ` the input gradient of the output gradient `g`
        `(chunk, *out, width)`."""
        width = dest.shape[-1]
        lead = g.shape[1:-2]
        shape = (g.shape[0],) + tuple(n + lo + hi for n, (lo, hi) in zip(lead, self.lead_pads)) \
            + (self.grid_width, width)
        grid = local_buffer("depthwise_grid", shape, g.dtype)
        grid.fill(0)
        inner = tuple(slice(lo, lo + n) for n, (lo, _) in zip(lead, self.lead_pads))
        end = self.width_start + (self.out_width - 1) * self.width_step + 1
        _copy_channel_runs(
            grid[(slice(None),) + inner + (slice(self.width_start, end, self.width_step),)], g)
        for cells, geometry, rows, starts in self.parts:
            target = dest[(slice(None),) + cells]
            if geometry is None:                      # no tap reaches these cells
                target[...] = 0
                continue
            source = grid[(slice(None),) + tuple(slice(a, None) for a in starts)]
            _depthwise_into(geometry, source[None], rows,
                            _as_shape(target, target.shape[:-2] + (rows.shape[-1],)))


def depthwise_conv_backward(ctx, g, need_input=True, need_kernel=True):
    """`(dx, dkernel)` of `depthwise_conv_forward`."""
    x, pads, geometry = ctx.x, ctx.pads, ctx.geometry
    kernel_size = ctx.kernel.shape[:-2]
    channels, multiplier = ctx.kernel.shape[-2:]
    width = channels * multiplier
    batch = x.shape[0]
    dtype = ctx.rows.dtype
    if not batch or not np.size(g):     # an empty batch: zeros (no partial sums to add)
        return (np.zeros(x.shape, dtype) if need_input else None,
                np.zeros_like(ctx.kernel) if need_kernel else None)
    out_sizes = ctx.out_sizes
    g = np.ascontiguousarray(g, dtype).reshape((batch,) + tuple(out_sizes[:-1]) +
                                               (ctx.rows.shape[-1],))
    flipped_pads = _flipped_pads(ctx) if all(s == 1 for s in ctx.strides) else None
    if need_input and flipped_pads is not None:
        flipped = ctx.kernel.astype(dtype, copy=False).reshape(kernel_size + (width,))[
            (slice(None, None, -1),) * len(kernel_size)]
        flipped_geometry = _DepthwiseGeometry(kernel_size, ctx.strides, ctx.dilation,
                                              x.shape[1:-1])
        flipped_rows = _tiled_rows(flipped, x.shape[-2])
        g_spatial = g.reshape((batch,) + tuple(out_sizes) + (width,))
    gather = None
    if need_input and flipped_pads is None and USE_WIDTH_GATHER and \
            g.size >= _GATHER_MIN_VALUES and _WidthGather.applies(
            kernel_size, ctx.strides, pads, ctx.dilation, x.shape[1:-1], out_sizes):
        gather = _WidthGather(ctx.kernel.astype(dtype, copy=False).reshape(kernel_size + (width,)),
                              ctx.strides, pads, x.shape[1:-1], out_sizes)
    direct_ranges = None
    if need_kernel and multiplier == 1 and all(st == 1 for st in ctx.strides) and \
            USE_DIRECT_KERNEL_GRAD and g.size >= _DIRECT_MIN_VALUES:
        direct_ranges = _direct_tap_ranges(ctx)
    g_spatial = g.reshape((batch,) + tuple(out_sizes) + (width,))
    scatter = need_input and flipped_pads is None and gather is None
    taps = tap_slices(kernel_size, ctx.strides, ctx.dilation, out_sizes) if scatter else None
    repeated_shape = ctx.padded_shape[:-1] + (width,)
    dx = large_output_array(x.shape, dtype, True) if need_input else None
    partial_dk = {}

    def input_grad(b0, b1, dest):
        if flipped_pads is not None:
            gp = _padded_chunk(g_spatial[b0:b1], flipped_pads, "depthwise_gp")
            _depthwise_into(flipped_geometry, gp[None], flipped_rows,
                            _as_shape(dest, dest.shape[:-2] + (flipped_rows.shape[-1],)))
        elif gather is not None:
            gather.into(g_spatial[b0:b1], dest)
        else:
            _depthwise_scatter_grad(g[b0:b1], ctx.rows, taps, geometry.step, repeated_shape,
                                    pads, dest)

    def chunk(b0, b1, dk_rows):
        if need_kernel and direct_ranges is not None:
            _direct_kernel_grad(direct_ranges, x[b0:b1], g_spatial[b0:b1], dk_rows)
        elif need_kernel:
            phases = _input_phases(x[b0:b1], pads, geometry.step, multiplier)
            _depthwise_kernel_grad(geometry, phases, g[b0:b1], dk_rows)
        if need_input:
            if multiplier == 1:
                input_grad(b0, b1, dx[b0:b1])
            else:
                dxr = local_buffer("depthwise_dx_repeated", x[b0:b1].shape[:-1] + (width,),
                                   dtype)
                input_grad(b0, b1, dxr)
                dxr.reshape(dxr.shape[:-1] + (channels, multiplier)).sum(axis=-1,
                                                                         out=dx[b0:b1])

    def work(lo, hi):
        dk_rows = np.zeros(ctx.rows.shape, dtype) if need_kernel else None
        for b0, b1 in _sample_chunks(lo, hi, (g[:1].nbytes + x[:1].nbytes) * 2):
            with winograd._short_ufunc_buffer():
                chunk(b0, b1, dk_rows)
        partial_dk[lo] = dk_rows
    run_split(work, batch, uses_blas=False)
    dk = None
    if need_kernel:
        dk_rows = _sum_in_order(partial_dk).reshape(kernel_size + (out_sizes[-1], width))
        dk = dk_rows.sum(axis=-2).reshape(ctx.kernel.shape).astype(ctx.kernel.dtype,
                                                                   copy=False)
    return dx, dk
