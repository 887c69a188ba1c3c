"""Winograd F(2x2, 3x3) for 2-D 3x3 convolutions with stride 1 (channels_last).

Every 2x2 block of outputs (a tile) is computed from the 4x4 input patch under it:
`Y = A^T [(G W G^T) . (B^T d B)] A`, where the product `.` is, for each of the 16 positions of
the transformed patch, one GEMM `(tiles, cin) @ (cin, filters)`. That is 16 multiply-adds per
4 outputs and input channel where im2col does 36: 2.25x fewer, and the transformed input
(4x the input) is smaller than an im2col buffer (9x). The transforms are sums and differences
(G has halves), so the results match the direct convolution to float32 round-off.

The same machinery gives both gradients: the input gradient is this convolution of the output
gradient with the flipped kernel (a stride-1 convolution's adjoint), and the kernel gradient is
`G^T [sum over tiles of V^T (A dY A^T)] G` per transformed position (16 GEMMs
`(cin, tiles) @ (tiles, filters)`).

The kernels work on a chunk of samples at a time (the caller splits the batch), a cache-sized
slice of it at a time, in per-thread buffers; `Tiling` holds the geometry of one input size
and padding.
"""
import threading
import weakref

import numpy as np

from .cells import channel_cells
from .parallel import inside_split, local_buffer, near_equal_bounds

# Kernel transform (4x3): U = G W G^T. Its entries (0, +-1/2, 1) are exact in binary.
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
# The input transform computes V with its row i = 2 and column j = 2 negated (B^T's row 2 as
# `d1 - d2`: see `_InputTransform`), the signs `_OutputTransform` wants of the products, so
# the kernel's transform is the plain G W G^T.
_INPUT_SIGNS = np.array([1.0, 1.0, -1.0, 1.0])
# The kernel gradient's output-gradient transform A dY A^T is computed with +dY1 where A has
# -dY1 (its last row); these signs, applied to the small (16, cin, filters) sum, undo that
# and the input transform's.
_SIGNS = np.array([1.0, 1.0, 1.0, -1.0]) * _INPUT_SIGNS
# The transformed data keeps its column positions j in pairs (see `transform_input`): pair 0
# holds j = 0, 3 and pair 1 j = 1, 2; `_SLOT_OF[j]` is where j sits among the four (2p + q).
_SLOT_OF = [0, 2, 3, 1]
# The position j held by each slot of the slot order (the inverse of `_SLOT_OF`).
_J_OF_SLOT = [_SLOT_OF.index(slot) for slot in range(4)]
# NumPy's ufunc buffer size inside the transforms (elements; NumPy's default is 8192). With the
# default, a pass over a strided 2-D view whose rows are shorter than the buffer is copied
# through it: 0.31 ns per element against 0.16-0.20 unbuffered for rows of 512-1024 elements,
# and 0.39-0.44 against 0.47 for rows of 32 (one thread, NumPy 2.4). The size is per thread
# (NumPy keeps it per thread) and restored afterwards (`_short_ufunc_buffer`).
_UFUNC_BUFFER = 1024

_buffers = threading.local()


class _short_ufunc_buffer:
    """NumPy's ufunc buffer at `_UFUNC_BUFFER` elements on this thread while inside. Nested
    uses (a layer's pieces, each a `convolve_chunk`) set it once: `np.setbufsize` costs a few
    us of Python under the GIL, which the other thread of a two-thread predict then waits for."""

    def __enter__(self):
        depth = getattr(_buffers, "short_depth", 0)
        _buffers.short_depth = depth + 1
        if not depth:
            self._previous = np.setbufsize(_UFUNC_BUFFER)

    def __exit__(self, *exc):
        _buffers.short_depth -= 1
        if not _buffers.short_depth:
            np.setbufsize(self._previous)
        return False


def applies(kernel_shape, strides, pads, dilation, groups):
    """Whether this route computes the convolution: 2-D, 3x3, stride 1, no dilation, one
    group, at most 2 zero rows/columns of padding on each side."""
    return (len(kernel_shape) == 4 and tuple(kernel_shape[:2]) == (3, 3)
            and tuple(strides) == (1, 1) and tuple(dilation) == (1, 1) and groups == 1
            and all(0 <= lo <= 2 and 0 <= hi <= 2 for lo, hi in pads))


class Tiling:
    """Tile geometry of a stride-1 3x3 convolution over `spatial` (H, W) with `pads`."""

    def __init__(self, spatial, pads):
        self.spatial = tuple(spatial)
        self.pads = tuple(tuple(p) for p in pads)
        self.out = tuple(n + lo + hi - 2 for n, (lo, hi) in zip(spatial, pads))
        self.tiles = tuple((o + 1) // 2 for o in self.out)
        # Zero-padded input covering every tile's 4x4 patch (beyond `hi`: zeros that only
        # reach the cropped half of an odd-sized output).
        self.padded = tuple(2 * t + 2 for t in self.tiles)

    @property
    def tiles_per_sample(self):
        return self.tiles[0] * self.tiles[1]


def transform_kernel(kernel):
    """`(3, 3, cin, filters)` -> `(16, cin, filters)`: G W G^T per channel pair, with the
    columns j in the slots' order (slot `_SLOT_OF[j]` holds column j), as `convolve_chunk`
    multiplies the input transform's slots by it in one product and `_OutputTransform` takes
    the products (whose row i = 2 and column j = 2 carry the input transform's signs)."""
    g, g_slots = _g_of(kernel.dtype)
    cin, filters = kernel.shape[2:]
    rows = np.matmul(g, kernel.reshape(3, -1)).reshape(4, 3, -1)      # sum over a: (i, b, x)
    return np.matmul(g_slots, rows).reshape(16, cin, filters)           # over b: (i, slot, x)


_G_OF_DTYPE = {}


def _g_of(dtype):
    """`(G, G's rows in the slots' order)` in `dtype` (made once: every training step
    transforms each 3x3 kernel twice, on the main thread before the layer's split)."""
    key = np.dtype(dtype).str
    pair = _G_OF_DTYPE.get(key)
    if pair is None:
        g = _G.astype(dtype)
        pair = _G_OF_DTYPE[key] = (g, np.ascontiguousarray(g[_J_OF_SLOT]))
    return pair


def kernel_from_transformed(d_transformed, dtype):
    """The kernel gradient `(3, 3, cin, filters)` from its transformed sum `(16, cin, f)`
    (computed with the sign-flipped output-gradient and input transforms): G^T dU G."""
    cin, filters = d_transformed.shape[1:]
    # G^T diag(signs), in the sum's own precision (float64 operands made this serial step
    # 2.8 ms for 128 channels, against ~0.3 ms).
    g_signed = (_G * _SIGNS[:, None]).T.astype(d_transformed.dtype)
    du = d_transformed.reshape(4, 4, -1)
    columns = np.matmul(g_signed, du)                                 # sum over j: (i, b, x)
    kernel = np.matmul(g_signed, columns.reshape(4, -1))              # sum over i: (a, b*x)
    return kernel.reshape(3, 3, cin, filters).astype(dtype, copy=False)


def flipped_kernel(kernel):
    """The kernel of the input gradient: spatially flipped, input and output channels
    swapped: `(3, 3, filters, cin)`."""
    return np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2))


def input_gradient_tiling(tiling):
    """Tiling of the output gradient for the input gradient (a stride-1 convolution of it
    with the flipped kernel, producing the input's size)."""
    return Tiling(tiling.out, [(2 - lo, 2 - hi) for lo, hi in tiling.pads])


def _zero_bordered(key, shape, dtype):
    """A per-thread zeroed array of `shape` kept under `key`, so that what a caller leaves
    untouched (the zero border) stays zero between calls; at most `_KEPT_BUFFERS` are kept."""
    cache = getattr(_buffers, "zeroed", None)
    if cache is None:
        cache = _buffers.zeroed = {}
    buffer = cache.pop(key, None)
    if buffer is None or buffer.shape[0] < shape[0]:
        buffer = np.zeros(shape, dtype)
    cache[key] = buffer                      # most recently used last
    while len(cache) > _KEPT_BUFFERS:
        del cache[next(iter(cache))]
    return buffer[:shape[0]]


_KEPT_BUFFERS = 8


def padded(x, tiling):
    """`x (count, H, W, c)` placed in a zero-bordered per-thread buffer of the padded size.
    The buffer keeps its zero border between calls, so only the interior is written."""
    channels = x.shape[-1]
    key = ("input", tiling.padded, tiling.pads, tiling.spatial, channels, x.dtype.str)
    out = _zero_bordered(key, (x.shape[0],) + tiling.padded + (channels,), x.dtype)
    (top, _), (left, _) = tiling.pads
    out[:, top:top + x.shape[1], left:left + x.shape[2]] = x
    return out


def transform_input(xp, tiling):
    """`xp (count, 2th+2, 2tw+2, c)` -> `V (4, 2, count*th*tw, 2, c)`: B^T d B for every tile
    (its row i = 2 and column j = 2 negated, `_INPUT_SIGNS`), the transformed positions (i, j)
    in column pairs `[i, p, :, q]`: (j=0, j=3) as p=0 and
    (j=1, j=2) as p=1 (`_PAIRS`), each a `(tiles, c)` matrix with row stride 2c (BLAS takes it
    as it is). (In fresh buffers; the kernels reuse an `_InputTransform`.)"""
    transform = _InputTransform(tiling, xp.shape[0], xp.shape[-1], xp.dtype)
    np.copyto(transform.xp, xp)
    with _short_ufunc_buffer():
        return transform.run()


class _InputTransform:
    """The input transform of `count` samples: its buffers, and every pass as a ufunc with
    its operand views, made once per shape and reused (`_transform`): a slice then costs
    its NumPy passes and no view, buffer or ufunc-buffer-size set-up (~40 us a slice before).

    V comes out with its row i = 2 and column j = 2 negated (B^T's row 2 taken as `d1 - d2`
    instead of `d2 - d1`: negation is exact), which lets passes that share a ufunc be one
    call. Column combinations first: `d[w] - d[w+2]` (pair 0: j = 0 at even w, j = 3 at odd
    w) and `d[w] - d[w+1]` (-j2 at odd w) as one subtraction of stacked views over the whole
    flat buffer, `d[w+1] + d[w+2]` (j1 at even w) one flat addition, and -j2 copied over the
    odd columns by channel runs. Then the row combinations of both pairs over whole rows of
    tiles: `(v0, v3) = (r0, r1) - (r2, r3)`, `v1 = r1 + r2`, `-v2 = r1 - r2`. Six calls a
    slice where the unsigned transform took eight (each a GIL hand-back that the other
    thread of a split may have to wait for)."""

    def __init__(self, tiling, count, channels, dtype):
        th, tw = tiling.tiles
        height, width = tiling.padded
        (top, _), (left, _) = tiling.pads
        # Zero-padded input; only its interior is written afterwards, the border stays zero.
        self.xp = np.zeros((count, height, width, channels), dtype)
        self.interior = self.xp[:, top:top + tiling.spatial[0], left:left + tiling.spatial[1]]
        flat = self.xp.reshape(-1)
        size, shift = flat.size, 2 * channels
        row = 2 * tw * channels
        # One buffer: both pairs' columns (so that each row combination is one pass) and then
        # V, whose memory holds the -j2 steps until the row passes write it: the column
        # differences and the steps lie a fixed stride apart, one stacked output.
        v_size = 16 * count * th * tw * channels
        whole = np.empty(2 * size + max(v_size, size), dtype)
        columns = whole[:2 * size].reshape(2, count, height, width * channels)
        v = whole[2 * size:2 * size + v_size].reshape(4, 2, count, th, row)
        steps = whole[2 * size:3 * size].reshape(self.xp.shape)
        values = size - shift
        item = flat.itemsize
        # (d[w] - d[w+2], d[w] - d[w+1]) into (the pair-0 columns, the steps).
        differences = (flat[:values],
                       np.lib.stride_tricks.as_strided(flat[shift:], (2, values),
                                                       (-channels * item, item)),
                       np.lib.stride_tricks.as_strided(whole, (2, values),
                                                       (2 * size * item, item)))
        sums = columns[1].reshape(-1)

        def row_pairs(first):
            """Rows `2t + first` and `2t + first + 1` of both pairs' columns as `(2, 2,
            count, th, row)` (row offset, pair, sample, tile row, values)."""
            rows = columns[:, :, first:first + 2 * th].reshape(2, count, th, 2,
                                                                  width * channels)
            return rows[..., :row].transpose(3, 0, 1, 2, 4)
        r01, r23 = row_pairs(0), row_pairs(2)
        self._passes = [
            (np.subtract,) + differences,
            (np.add, flat[channels:-channels], flat[shift:], sums[:-shift]),
            (np.copyto,) + _runs(steps[:, :, 1:2 * tw + 1:2], columns[1].reshape(
                count, height, tw + 1, 2, channels)[:, :, :tw, 1]) + (None,),
            (np.subtract, r01, r23, v[0::3]),
            (np.add, r01[1], r23[0], v[1]),
            (np.subtract, r01[1], r23[0], v[2])]
        self.pairs = v.reshape(4, 2, count * th * tw, 2, channels)
        # Both pairs as one `(i, p, q, tiles, c)` operand: slot (p, q) holds j = 0, 3, 1, 2,
        # the slot order of `transform_kernel`'s kernel and `_OutputTransform`'s products;
        # as `(i, p, q, c, tiles)` the kernel gradient's.
        self.operand = self.pairs.transpose(0, 1, 3, 2, 4)
        self.kernel_operand = self.pairs.transpose(0, 1, 3, 4, 2)

    def run(self, x=None):
        """V of `x` (placed in the padded buffer first) or of what the buffer holds; inside
        `_short_ufunc_buffer`."""
        if x is not None:
            np.copyto(self.interior, x)
        _run_passes(self._passes)
        return self.pairs


def _run_passes(passes):
    """Run a transform's recorded `(function, a, b, out)` passes in order; `out` None marks
    `np.copyto(a, b)`, which takes no `out`."""
    for ufunc, a, b, out in passes:
        if out is None:
            ufunc(a, b)
        else:
            ufunc(a, b, out=out)


def _runs(source, dest):
    """`(dest', source')` such that `np.copyto(dest', source')` copies `source` into `dest`
    (same shape, contiguous last axes) one last-axis run at a time, each run one opaque (void)
    element: a memcpy per run. The transforms' interleaved columns are strided with runs of c
    floats, where an arithmetic pass pays ~20 ns per run: at 32 channels a strided
    subtraction took 12 us a sample, a flat one and this copy 6 (one thread)."""
    return channel_cells(dest), channel_cells(source)


def transform_output(m, tiling, count, out):
    """`m (16, count*th*tw, f)` -> `out (count, *tiling.out, f)`: A^T M A, cropped, for `m`
    with its row i = 2 and column j = 2 negated and its columns in the slots' order (products
    of `transform_kernel`'s kernel).
    (Through fresh buffers; the kernels reuse an `_OutputTransform`.)"""
    transform = _OutputTransform(tiling, count, m.shape[-1], m.dtype)
    np.copyto(transform.m, m)
    with _short_ufunc_buffer():
        transform.run(out)


class _OutputTransform:
    """The output transform of `count` samples, like `_InputTransform`: `m` (the 16 products,
    written through `products`) and the passes that turn it into the output.

    The products come from `transform_kernel`'s kernel (its columns j in the slots' order
    0, 3, 1, 2, as the input transform's pairs lay them: one product a slice), whose row
    i = 2 and column j = 2 are negated, so both combinations of A^T are the same two passes
    over pairs of slots: rows `(m0 + m1, m1 + m2') - (m2', m3)` = `(m0 + m1 + m2, m1 - m2 -
    m3)` (the same values and order as with unsigned products: x + (-y) == x - y exactly),
    then columns alike, into a `(2, 2, tiles, f)` buffer that one copy of whole channel runs
    (void cells, a memcpy each) interleaves into the output. One product, four passes and one
    copy where the two pairs' products and the row and column combinations done per output
    phase took 14-16 NumPy calls (each a GIL hand-back that a second thread running batches
    may have to wait for)."""

    def __init__(self, tiling, count, filters, dtype):
        th, tw = tiling.tiles
        values = count * th * tw * filters
        self.m = np.empty((16, count * th * tw, filters), dtype)
        self.products = self.m.reshape(4, 2, 2, count * th * tw, filters)   # (i, p, q)
        m4 = self.m.reshape(4, 4, values)
        rows = np.empty((2, 4, values), dtype)                       # (a, j)
        self._phases = np.empty((2, 2, count, th, tw, filters), dtype)  # (a, b)
        phases = self._phases.reshape(2, 2, values)
        # Columns in the slots' order j = 0, 3, 1, 2: (j0, j1) are slots 0, 2, (j1, j2) 2, 3
        # and (j2, j3) 3, 1.
        self._passes = [(np.add, m4[0:2], m4[1:3], rows),
                        (np.subtract, rows, m4[2:4], rows),
                        (np.add, rows[:, 0::2], rows[:, 2:4], phases),
                        (np.subtract, phases, rows[:, 3::-2], phases)]
        self._count, self._tiles, self._out = count, (th, tw), tuple(tiling.out)
        self._even = self._out == (2 * th, 2 * tw)
        self._phase_cells = channel_cells(self._phases)               # (a, b, count, th, tw)
        self._cell = self._phase_cells.dtype
        # input transform -> its `_SliceProducts` (weak: an input transform evicted from the
        # per-thread cache takes its entry, and the views of its buffers, with it).
        self._slice_products = weakref.WeakKeyDictionary()
        self._bias_views = {}                # fold -> the bias slot's rows as `WideBias` adds

    def products_from(self, inputs):
        """The `_SliceProducts` of `inputs`' operands into this transform's products (made
        once per input transform: the blocked views cost ~25 us of Python a slice)."""
        products = self._slice_products.get(inputs)
        if products is None:
            products = self._slice_products[inputs] = _SliceProducts([inputs.operand],
                                                                     [self.products])
        return products

    def bias_views(self, fold):
        """The products at `_BIAS_SLOT` as `(rows // fold, fold * f)` (or None) and the rows
        left over (or None), for `WideBias.add_to`."""
        views = self._bias_views.get(fold)
        if views is None:
            views = self._bias_views[fold] = _folded_rows(self.m[_BIAS_SLOT], fold)
        return views

    def run(self, out):
        """`out (count, *tiling.out, f)` (C-contiguous) from `m`; inside
        `_short_ufunc_buffer`."""
        for ufunc, a, b, dest in self._passes:
            ufunc(a, b, out=dest)
        cells = out.view(self._cell)[..., 0] if out.strides[-1] == out.itemsize and \
            out.dtype == self.m.dtype else None
        if cells is None:                    # channels not contiguous: float by float
            cells, phase_cells = out, self._phases
        else:
            phase_cells = self._phase_cells
            tiled = _tile_view(cells, self._count, self._tiles) if self._even else None
            if tiled is not None:
                np.copyto(tiled, phase_cells)
                return
        for a in range(2):                   # odd sizes: each phase cropped
            rows = (self._out[0] - a + 1) // 2
            for b in range(2):
                cols = (self._out[1] - b + 1) // 2
                np.copyto(cells[:, a::2, b::2], phase_cells[a, b, :, :rows, :cols])


def _tile_view(cells, count, tiles):
    """`cells (count, 2 th, 2 tw)` as `(a, b, count, th, tw)` (output row 2 t + a, column
    2 u + b), or None when its strides allow no such view."""
    view = cells.view()
    try:
        view.shape = (count, tiles[0], 2, tiles[1], 2)
    except AttributeError:
        return None
    return view.transpose(2, 4, 0, 1, 3)


# Inference slices take up to two sizes per layer shape (`even_slices`): resnet_small's three
# stages use 12 transforms per thread; its training 18 (input, output and output-gradient
# transforms of two slice sizes a stage). cifar10_cnn's training (four 3x3 layers, two of them
# 'valid', each gradient a transform of its own) uses 24-26 a thread, depending on the routes
# its plans chose: at 24 kept, a step that needs 25 rebuilt every one of them (least recently
# used first, in a cycle), ~22 a thread a step, each a fresh zeroed buffer of 1-3 MB. Twice
# as many, ~2.2 MB each, for VGG-style stacks with a few more shapes (vgg_small's training
# uses 26: peak RSS 322 -> 368 MB, 0.96x the CPU). A VGG16 at 224x224 would use an estimated
# ~90 and still rebuild them.
_KEPT_TRANSFORMS = 48


def _transform(kind, tiling, count, channels, dtype):
    """The per-thread `kind` (`_InputTransform` or `_OutputTransform`) for these shapes,
    reused while they repeat; at most `_KEPT_TRANSFORMS` are kept."""
    cache = getattr(_buffers, "transforms", None)
    if cache is None:
        cache = _buffers.transforms = {}
    key = (kind, tiling.spatial, tiling.pads, count, channels, np.dtype(dtype).str)
    transform = cache.pop(key, None)
    if transform is None:
        transform = kind(tiling, count, channels, dtype)
    cache[key] = transform                   # most recently used last
    while len(cache) > _KEPT_TRANSFORMS:
        del cache[next(iter(cache))]
    return transform


# The transforms are memory-bound passes over buffers of (16, tiles, channels): a chunk is done
# in slices of samples whose transformed buffer is about this size, so every pass finds its
# input in the core's cache. Measured (one thread, loaded 2-core EPYC, 1 MB L2 per core, ms per
# 64 samples) on 32x32x32 -> 32: convolution 20.7 -> 15.0 and kernel gradient 23.8 -> 15.4
# going from 6 samples a slice to 3; 16x16x64 -> 64 from 12 to 6: 13.2 -> 11.2 and 15.5 -> 11.2.
# With the column-pair transforms, halving it again (same machine at a load of ~16, ms per 32
# samples, convolution / kernel gradient): 16x16x64 -> 64 from 6 samples to 3: 5.85 -> 5.04 /
# 5.92 -> 5.06; 8x8x128 -> 128 from 12 to 6: 5.04 -> 4.68 / 5.42 -> 5.19; 32x32x32 -> 32
# from 3 to 2: 6.92 -> 7.14 / 6.76 -> 6.70.
_SLICE_BYTES = 3 << 18
# Inside a two-thread split the slices are this many times larger: each slice is a dozen or two
# short NumPy calls, whose Python parts the two threads take the GIL for, and a thread finding
# it taken sleeps on a futex (a voluntary context switch and a wake-up, CPU on both sides). One
# 3x3 layer's forward + backward over 64 samples, two threads, SCHED_FIFO (near idle), load 12,
# min ms (CPU / wall) and context switches a call, x1 -> x2: 32x32x32 -> 32 48.1 / 25.8 / 400
# -> 45.1 / 24.1 / 227, 16x16x64 -> 64 38.5 / 21.3 / 306 -> 36.7 / 20.4 / 140; 8x8x128 no
# change. On one thread (no GIL contest) x2 costs 64 channels 12 %, so one thread keeps x1.
_SPLIT_SLICE_FACTOR = 2


def slice_samples(tiling, channels, budget=None):
    """Samples per slice (see `_SLICE_BYTES`; larger inside a two-thread split,
    `_SPLIT_SLICE_FACTOR`) for the wider of the input and output channels."""
    if budget is None:
        budget = _SLICE_BYTES * (_SPLIT_SLICE_FACTOR if inside_split() else 1)
    per_sample = 16 * tiling.tiles_per_sample * channels * 4
    return max(1, int(round(budget / max(per_sample, 1))))


def _sample_slices(count, tiling, channels):
    """`(lo, hi)` slices of a chunk of `count` samples (see `_SLICE_BYTES`), a last slice of
    under half the others joining the one before it (`join_short_tail`)."""
    step = slice_samples(tiling, channels)
    return join_short_tail([(lo, min(lo + step, count)) for lo in range(0, count, step)], step)


def join_short_tail(bounds, step):
    """`bounds` (consecutive `(lo, hi)` of `step` items but the last) with a last part of
    under `step / 2` items joined to the one before it. A short slice costs a whole slice's
    NumPy calls (and its own transforms) for little work, and in a two-thread split each
    call may wait for the GIL: 16x16x32 -> 32, 16 samples a thread in slices of 16 instead
    of 12 + 4, forward and backward 28.7 -> 24.1 ms of CPU, voluntary switches 143 -> 63
    (FIFO, load 8, medians)."""
    if len(bounds) >= 2 and 2 * (bounds[-1][1] - bounds[-1][0]) < step:
        return bounds[:-2] + [(bounds[-2][0], bounds[-1][1])]
    return bounds


def even_slices(count, step):
    """`(lo, hi)` slices of `count` samples, as few as with `step` samples a slice, of
    near-equal sizes (at most two sizes, larger first)."""
    return near_equal_bounds(count, -(-count // max(int(step), 1)))


def convolve_chunk(x, transformed_kernel, tiling, out, finish=None, bias=None, slices=None):
    """`out (count, *tiling.out, f)` = the convolution of `x (count, H, W, c)` (+ `bias`, a
    per-filter vector or a `WideBias`, when given). `finish(lo, hi)`, when given, is called
    once samples lo:hi of `out` are written (still in cache). `slices`, `(lo, hi)` covering
    the chunk in order, replaces the cache-sized slices of `_sample_slices`."""
    channels, filters = x.shape[-1], transformed_kernel.shape[-1]
    kernels = [transformed_kernel.reshape(4, 2, 2, -1, filters)]     # (i, p, q): slot order
    wide_bias = bias if bias is None or isinstance(bias, WideBias) else WideBias(bias, x.dtype)
    if slices is None:
        slices = _sample_slices(x.shape[0], tiling, max(channels, filters))
    # The kernels as stacked operands of row blocks (`_SliceProducts`), made once a chunk.
    kernel_blocks = [kernels[0][..., None, :, :]]
    sized = {}                               # samples -> (input, output transform)
    with _short_ufunc_buffer():
        for lo, hi in slices:
            transforms = sized.get(hi - lo)
            if transforms is None:
                transforms = sized[hi - lo] = (
                    _transform(_InputTransform, tiling, hi - lo, channels, x.dtype),
                    _transform(_OutputTransform, tiling, hi - lo, filters, x.dtype))
            inputs, outputs = transforms
            inputs.run(x[lo:hi])
            outputs.products_from(inputs).run(kernels, kernel_blocks)
            if wide_bias is not None:
                wide_bias.add_to_views(outputs.bias_views(wide_bias.fold))
            outputs.run(out[lo:hi])
            if finish is not None:
                finish(lo, hi)


# OpenBLAS' small-matrix kernels (AVX-512 builds take products of at most 100^3 multiply-adds,
# without packing the operands) multiply a slice's products faster than its general kernels:
# one thread, (4, 2, rows, c) @ (4, 2, c, f) as the transforms lay them out, rows in blocks of
# at most this many multiply-adds against whole: c = f = 32, 1024-2048 rows 0.79-0.82x the
# time; 64 -> 64, 256-2048 rows 0.82-0.88x; 64 -> 128 0.83-0.91x; 128 -> 128, 256-1536 rows
# 0.89-0.91x (61-row blocks), 2048-4096 0.98-1.02x. The same bits.
_SMALL_PRODUCT_MACS = 10 ** 6


def _product_in_blocks(operand, kernel, out):
    """`np.matmul(operand, kernel, out=out)` for stacked `(..., rows, c) @ (..., c, f)`, with
    the rows cut into near-equal blocks of at most `_SMALL_PRODUCT_MACS` multiply-adds (all
    whole blocks in one stacked call, the rest in a second)."""
    _SliceProducts([operand], [out]).run([kernel], [kernel[..., None, :, :]])


class _SliceProducts:
    """A slice's products `np.matmul(operand, kernel, out=product)` for the operand and product
    pairs of its input and output transforms, the rows cut into near-equal blocks of at most
    `_SMALL_PRODUCT_MACS` multiply-adds (all whole blocks in one stacked call, the rest in a
    second), with the views made once (the buffers are the transforms' own, reused slice after
    slice): per pair `(operand blocks, product blocks, operand rest, product rest)`, None
    where there is no such part."""

    def __init__(self, operands, products):
        self.pairs = []
        for operand, product in zip(operands, products):
            rows, depth = operand.shape[-2:]
            whole, size = _block_layout(rows, depth, product.shape[-1])
            done = whole * size
            self.pairs.append((
                _row_blocks(operand, whole, size) if whole else None,
                _row_blocks(product, whole, size) if whole else None,
                operand[..., done:, :] if done < rows else None,
                product[..., done:, :] if done < rows else None))

    def run(self, kernels, kernel_blocks):
        """The products with `kernels` (per pair `(..., c, f)`) and `kernel_blocks` (each
        `kernel[..., None, :, :]`)."""
        for (blocks, block_out, rest, rest_out), kernel, kernel_block in zip(
                self.pairs, kernels, kernel_blocks):
            if blocks is not None:
                np.matmul(blocks, kernel_block, out=block_out)
            if rest is not None:
                np.matmul(rest, kernel, out=rest_out)


def _block_layout(rows, depth, filters):
    """`(whole, size)`: `whole` blocks of `size` rows (the rows past them are one more
    product), or `(0, 0)` when the rows take one product."""
    block = max(1, _SMALL_PRODUCT_MACS // max(depth * filters, 1))
    if rows <= block:
        return 0, 0
    size = -(-rows // -(-rows // block))
    return rows // size, size


def _row_blocks(array, count, size):
    """The first `count * size` rows of `array (..., rows, n)` as `(..., count, size, n)` (a
    view, whatever its strides)."""
    strides = array.strides
    return np.lib.stride_tricks.as_strided(
        array, shape=array.shape[:-2] + (count, size, array.shape[-1]),
        strides=strides[:-2] + (strides[-2] * size, strides[-2], strides[-1]), writeable=True)


# A^T has ones in its column i = 1 (both output rows), so a vector added to the product at
# transformed position (1, 1) reaches all four outputs of the tile unchanged: the bias costs a
# pass over a sixteenth of the products instead of one over the output (32 channels: ~4 us a
# sample less, one thread).
_BIAS_SLOT = 4 * 1 + _SLOT_OF[1]


_WIDE_BIASES = {}       # (id, dtype) -> (vector, its bytes, WideBias), for `WideBias.of`


class WideBias:
    """A per-filter vector added to `(rows, f)` products over rows of ~1024 values (`fold`
    copies of the vector side by side: broadcasting over f-long rows copies through the ufunc
    buffer). Made once per call of the convolution, not per chunk (an `np.tile` each)."""

    def __init__(self, vector, dtype):
        self.vector = np.asarray(vector, dtype).reshape(-1)
        self.fold = max(1, 1024 // max(len(self.vector), 1))
        self.wide = np.tile(self.vector, self.fold)

    @classmethod
    def of(cls, vector, dtype):
        """A `WideBias` of `vector`, kept while the same array holds the same values (an
        inference chain's bias stays one array between batches; `np.tile` and the set-up
        cost ~20 us of Python a call)."""
        key = (id(vector), np.dtype(dtype).str)
        values = vector.tobytes()
        kept = _WIDE_BIASES.get(key)
        if kept is not None and kept[0] is vector and kept[1] == values:
            return kept[2]
        if len(_WIDE_BIASES) >= 64:
            _WIDE_BIASES.clear()
        wide = cls(vector, dtype)
        _WIDE_BIASES[key] = (vector, values, wide)
        return wide

    def add_to(self, rows):
        self.add_to_views(_folded_rows(rows, self.fold))

    def add_to_views(self, views):
        """Add to the rows `_folded_rows(rows, self.fold)` gave as `views`."""
        block, rest = views
        if block is not None:
            np.add(block, self.wide, out=block)
        if rest is not None:
            np.add(rest, self.vector, out=rest)


def _folded_rows(rows, fold):
    """`(block, rest)`: the first `fold * (n // fold)` rows of `rows (n, f)` viewed as
    `(n // fold, fold * f)` and the rows left over (None for an empty part)."""
    n, filters = rows.shape
    bulk = n - n % fold
    block = rows[:bulk].reshape(bulk // fold, fold * filters) if bulk else None
    return block, (rows[bulk:] if bulk < n else None)


def transform_output_grad(g, tiling):
    """`g (count, *tiling.out, f)` -> `(4, 2, count*th*tw, 2, f)`: A dY A^T per tile, with +dY1
    in place of -dY1 in the last row and column (undone by `kernel_from_transformed`), in the
    column pairs of `transform_input`. (In fresh buffers; the kernels reuse an
    `_OutputGradTransform`.)"""
    transform = _OutputGradTransform(tiling, g.shape[0], g.shape[-1], g.dtype)
    with _short_ufunc_buffer():
        return transform.run(g)


class _OutputGradTransform:
    """The kernel gradient's output-gradient transform of `count` samples, like
    `_InputTransform`: buffers and passes made once per shape (the views cost ~20 us of Python
    a slice, under the GIL that a split's other thread may be waiting for).

    Pair 0 (j = 0, 3: dY0, dY1) is a copy of the gradient in the first of two column planes
    (zero-bordered for odd output sizes: only the interior is written), pair 1 (j = 1, 2:
    dY0 + dY1, dY0 - dY1) the second: `dY[w] + dY[w+1]` in one flat pass (right at even w)
    and `dY[w] - dY[w+1]` in another (into the not yet written transformed buffer), its even
    columns copied over the odd ones by channel runs (`_runs`); then the row combinations of
    both planes over whole rows of tiles: seven calls a slice (eleven with a row stage per
    pair)."""

    def __init__(self, tiling, count, filters, dtype):
        th, tw = tiling.tiles
        grid = (2 * th, 2 * tw)
        row = 2 * tw * filters
        columns = np.zeros((2, count) + grid + (filters,), dtype)
        self.interior = columns[0, :, :tiling.out[0], :tiling.out[1]]
        d = np.empty((4, 2, count, th, row), dtype)
        flat, sums = columns[0].reshape(-1), columns[1].reshape(-1)
        steps = d.reshape(-1)[:flat.size].reshape(columns[0].shape)
        # Rows 2t and 2t + 1 of both planes: `(2, 2, count, th, row)` (row offset, pair, ...).
        rows = columns.reshape(2, count, th, 2, row).transpose(3, 0, 1, 2, 4)
        self._passes = [
            (np.add, flat[:-filters], flat[filters:], sums[:-filters]),
            (np.subtract, flat[:-filters], flat[filters:], steps.reshape(-1)[:-filters]),
            (np.copyto,) + _runs(steps[:, :, 0::2], columns[1].reshape(
                count, 2 * th, tw, 2, filters)[:, :, :, 1]) + (None,),
            (np.copyto, d[0::3], rows, None),
            (np.add, rows[0], rows[1], d[1]),
            (np.subtract, rows[0], rows[1], d[2])]
        self.pairs = d.reshape(4, 2, count * th * tw, 2, filters)
        # The kernel-gradient product's operand `(i, p, q, tiles, f)` and the tiles' sums of
        # their four outputs (position (1, 1): A's column 1 is all ones), the bias gradient's.
        self.operand = self.pairs.transpose(0, 1, 3, 2, 4)
        pair, slot = divmod(_SLOT_OF[1], 2)
        self.tile_sums = self.pairs[1, pair, :, slot]

    def run(self, g):
        """The transform of `g`; inside `_short_ufunc_buffer`."""
        np.copyto(self.interior, g)
        _run_passes(self._passes)
        return self.pairs


def kernel_grad_chunk(x, g, tiling, bias_sums=False):
    """Transformed kernel-gradient sum `(16, cin, f)` of a chunk of samples (turn it into a
    kernel with `kernel_from_transformed` once every chunk is added). With `bias_sums`, also
    the per-filter sums of `g` (the bias gradient), as `(dk, db)` (see `kernel_grad_sum`)."""
    cin, filters = x.shape[-1], g.shape[-1]
    total, bias = kernel_grad_sum(x, g, tiling, bias=np.zeros(filters, np.result_type(x, g))
                                  if bias_sums else None)
    # In the order k = 4i + j.
    dk = total.reshape(4, 4, cin, filters)[:, _SLOT_OF].reshape(16, cin, filters)
    return (dk, bias) if bias_sums else dk


def kernel_grad_sum(x, g, tiling, total=None, bias=None):
    """`(total, bias)`: the transformed kernel-gradient sum of a chunk of samples added to
    `total` (in place; None: a new sum), in the transforms' slot order `(4, 2, 2, cin, f)`
    (`kernel_from_slot_sum` turns it into a kernel), and when `bias` (a per-filter vector) is
    given, the per-filter sums of `g` (the bias gradient) added to it: the transformed
    gradient at position (1, 1) is each tile's sum of its four outputs (A's column 1 is all
    ones), so they come from a product over a sixteenth of the transformed values, in cache,
    instead of a pass over g. A caller keeps one running sum over its chunks: no zeroed sum
    and no reordering copy per chunk (1 MB each at 128 channels)."""
    cin, filters = x.shape[-1], g.shape[-1]
    shape = (4, 2, 2, cin, filters)                                   # (i, p, q) order
    dtype = np.result_type(x, g)
    part = local_buffer("wino_dk_part", shape, dtype)
    sized = {}                               # samples -> (input, output-gradient transform)
    with _short_ufunc_buffer():
        for lo, hi in _sample_slices(x.shape[0], tiling, max(cin, filters)):
            transforms = sized.get(hi - lo)
            if transforms is None:
                transforms = sized[hi - lo] = (
                    _transform(_InputTransform, tiling, hi - lo, cin, x.dtype),
                    _transform(_OutputGradTransform, tiling, hi - lo, filters, g.dtype))
            inputs, grads = transforms
            inputs.run(x[lo:hi])
            grads.run(g[lo:hi])
            if total is None:
                total = np.matmul(inputs.kernel_operand, grads.operand)
            else:
                np.matmul(inputs.kernel_operand, grads.operand, out=part)
                total += part
            if bias is not None:
                bias += _ones(len(grads.tile_sums), dtype) @ grads.tile_sums
    return total, bias


def kernel_from_slot_sum(slot_sum, dtype):
    """The kernel gradient `(3, 3, cin, filters)` from a `kernel_grad_sum` total (slot order):
    `kernel_from_transformed` with the slots' order folded into G^T's columns (no reordering
    copy)."""
    cin, filters = slot_sum.shape[-2:]
    g_signed = (_G * _SIGNS[:, None]).T.astype(slot_sum.dtype)
    du = slot_sum.reshape(4, 4, -1)
    columns = np.matmul(g_signed[:, _J_OF_SLOT], du)                  # sum over j: (i, b, x)
    kernel = np.matmul(g_signed, columns.reshape(4, -1))              # sum over i: (a, b*x)
    return kernel.reshape(3, 3, cin, filters).astype(dtype, copy=False)


def _ones(count, dtype):
    """A per-thread vector of `count` ones (the left operand of column sums)."""
    ones = getattr(_buffers, "ones", None)
    if ones is None or len(ones) < count or ones.dtype != dtype:
        ones = _buffers.ones = np.ones(count, dtype)
    return ones[:count]
