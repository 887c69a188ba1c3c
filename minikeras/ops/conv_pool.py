"""Training op for a few-tap stride-1 convolution with its bias and relu (or no activation)
followed by a max pooling whose windows tile the convolution output (stride == pool size, no
pool padding): one recorded op, so the full-size convolution output never exists.

Phases: the convolution outputs that tap `q` of the pooling windows reads (positions
`pool * i + q`) are themselves a convolution with stride `pool` of the input shifted by `q`.
The im2col rows of a chunk of samples are copied phase by phase (phase-major), so the product
gives every phase's outputs as one contiguous block and the pooling is an elementwise maximum
of whole blocks (no strided passes). The bias is added to every phase block (in cache, per
chunk; for few input channels by the product itself, through a row of ones in the im2col rows)
so that the first maximum is found among the biased values, as the unfused layers find it; the relu commutes with the maximum (nondecreasing) and runs on the pooled output, a quarter
of the values for 2x2 windows. The forward pass keeps the pooled output and, per pooled value,
the index of the first phase holding the maximum (one byte).

Backward: the pooled gradient times the relu mask (pooled resolution) is spread over the phases
by the kept indices; the kernel gradient is then one product with the phase-major im2col rows
(inputs with few channels; the forward pass keeps them, chunk by chunk) or, like the grid route
of conv_kernels.py, per-tap products on the padded input's grid, where the input gradient is
made too (one product per tap added to a contiguous slice); each phase's gradient is then
copied onto that grid as whole cells of `filters` values. Positions no pooling window reads
get no gradient, as in the unfused ops.

The two threads take chunks of samples in turn; every chunk makes few, long NumPy calls
(stacked products over blocks and taps, 8-16 MB chunks), since each call holds the GIL the other
thread may be waiting for (see DESIGN.md, "Performance habits").

Ties go to the first maximum in window order, as in the unfused max pooling's gradient.
"""
from math import prod

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..core.tensor import as_array, is_recording, is_tracked, record
from .cells import channel_cells, copy_byte_runs
from .conv import conv_pads
from .conv_kernels import _PLANS, _TAP_MAJOR_MAX_CHANNELS, Context, _activation_grad, \
    _as_shape, _epilogue, _grid_offsets, _im2col_into, _padded_chunk, \
    _plan_on_one_blas_thread, _product_rows, _product_summed, _small_block, \
    fill_border, interior, kernel_and_bias_sums, output_array, output_sizes, same_padding, \
    scratch
from .parallel import local_buffer, run_split

# Kernels with at most this many taps (2x2, 1x1, 1-D k <= 4): the grid products of the
# backward pass lose with more (see conv_kernels' grid route).
MAX_TAPS = 4
# Phase indices are kept in bytes.
_MAX_PHASES = 255
# The threads take chunks of samples as they become free (run_split's `piece=`) rather than
# half the batch each.
PIECES = True
# Training keeps the forward's im2col rows of few-channel layers for the backward pass (see
# `forward`).
KEEP_COLS = True
# Few-channel layers add the bias in the forward product (see `forward`).
BIAS_IN_PRODUCT = True
# Samples are processed in chunks of about this many bytes of im2col rows and products (more
# than conv_kernels' 8 MB: fewer NumPy calls per sample, so the two threads wait less for the
# GIL; see `_chunk_samples`).
CHUNK_BYTES = 1 << 24
# The forward pass' chunks are smaller: its im2col rows and phase products then stay in the
# shared 32 MB L3 cache while the two threads work (8 MB against 16 MB: seed_cnn's second and
# third forward 17 % and 29 % less CPU, one thread; whole training steps ~4 % less CPU). Not
# for few-channel (tap-major) layers, whose forward chunks are also their backward's: seed_cnn's
# first layer gained 1-3 % but took one sample a chunk, and its two threads then waited for
# each other (the GIL) 4-5x as often (20 -> 90-115 voluntary context switches a call).
FORWARD_CHUNK_BYTES = 1 << 23


def _chunk_samples(per_sample, chunk_bytes=None):
    """Samples per chunk for work of `per_sample` bytes a sample."""
    chunk_bytes = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    return max(1, chunk_bytes // max(int(per_sample), 1))


def _chunks(lo, hi, samples):
    return [(b, min(b + samples, hi)) for b in range(lo, hi, samples)]


def applies(x_shape, kernel_shape, strides, pads, dilation, groups, pool_size, pool_strides,
            pool_pads, activation):
    """Whether the fused op handles this convolution (channels_last shapes) and pooling."""
    rank = len(kernel_shape) - 2
    if groups != 1 or activation not in ("relu", None) or len(pool_size) != rank or \
            len(x_shape) != rank + 2 or x_shape[0] == 0:
        return False
    if any(s != 1 for s in strides) or tuple(pool_strides) != tuple(pool_size) or \
            any(lo or hi for lo, hi in pool_pads):
        return False
    if prod(kernel_shape[:-2]) > MAX_TAPS or \
            prod(pool_size) > _MAX_PHASES or x_shape[-1] != kernel_shape[-2]:
        return False
    grid = [n + lo + hi for n, (lo, hi) in zip(x_shape[1:-1], pads)]
    conv_sizes = output_sizes(grid, kernel_shape[:-2], strides, dilation)
    return all(o // p > 0 for o, p in zip(conv_sizes, pool_size)) and kernel_shape[-1] > 0


class _Geometry:
    def __init__(self, x_shape, kernel_shape, pads, dilation, pool_size):
        self.kernel_size = tuple(kernel_shape[:-2])
        self.cin, self.filters = kernel_shape[-2:]
        self.pads, self.dilation, self.pool_size = pads, tuple(dilation), tuple(pool_size)
        self.grid = tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[1:-1], pads))
        ones = (1,) * len(self.grid)
        conv_sizes = output_sizes(self.grid, self.kernel_size, ones, dilation)
        self.pooled = tuple(o // p for o, p in zip(conv_sizes, pool_size))
        self.phases = list(np.ndindex(*pool_size))
        self.cells = prod(self.pooled)            # pooled positions per sample
        self.grid_cells = prod(self.grid)
        self.taps = prod(self.kernel_size)
        self.depth = self.taps * self.cin
        # Few input channels: tap-major im2col rows (whole output rows per copy); else the
        # grid products for the kernel gradient.
        self.tap_major = self.cin <= _TAP_MAJOR_MAX_CHANNELS
        self.covered = tuple(p * k for p, k in zip(self.pooled, pool_size))

    def phase_cols(self, xp, dest):
        """The im2col rows of the padded chunk `xp`, phase-major: `dest (depth, phases *
        count)` when tap-major, else `(phases * count, depth)`; count = samples x pooled
        positions."""
        n = xp.shape[0]
        count = n * self.cells
        if self.tap_major:
            self._tap_major_into(xp, dest)
        elif not self._window_runs_into(xp, dest):
            for p, phase in enumerate(self.phases):
                shifted = xp[(slice(None),) + tuple(slice(q, None) for q in phase)]
                _im2col_into(shifted, self.kernel_size, self.pool_size, self.dilation,
                             self.pooled, 1, dest[p * count:(p + 1) * count])
        return dest

    def _tap_major_into(self, xp, dest):
        """Tap-major phase im2col rows `dest (depth, phases * count)` in a few copies.

        The input is first split by column modulo the last pool size, channels first (one
        copy per residue), so that every read below runs along whole rows of one split. A
        (phase, tap) pair reads the input cells `phase + dilation * tap + pool * position`:
        along every axis but the last that is affine in phase and tap, so all pairs sharing
        the last axis' phase and tap are one strided copy (4 copies for 2x2 windows and a 2x2
        kernel, not 16, each a single NumPy call: few calls matter when two threads share
        the GIL)."""
        n, channels = xp.shape[0], self.cin
        pool, last_pool = self.pool_size, self.pool_size[-1]
        width = -(-self.grid[-1] // last_pool)
        splits = local_buffer("conv_pool_splits", (last_pool, channels, n) + self.grid[:-1] +
                              (width,), xp.dtype)
        for r in range(last_pool):
            source = np.moveaxis(xp[..., r::last_pool, :], -1, 0)
            np.copyto(splits[r][..., :source.shape[-1]], source)
        rank = len(self.grid)
        outer = range(rank - 1)
        tap_rows = [prod(self.kernel_size[a + 1:]) * channels for a in range(rank)]
        phase_columns = [prod(pool[a + 1:]) * n * self.cells for a in range(rank)]
        position_columns = [prod(self.pooled[a + 1:]) for a in range(rank)]
        shape = tuple(self.kernel_size[a] for a in outer) + (channels,) + \
            tuple(pool[a] for a in outer) + (n,) + self.pooled
        row, column = dest.strides
        dest_strides = tuple(tap_rows[a] * row for a in outer) + (row,) + \
            tuple(phase_columns[a] * column for a in outer) + (self.cells * column,) + \
            tuple(p * column for p in position_columns)
        for phase in range(last_pool):
            for tap in range(self.kernel_size[-1]):
                cell = phase + self.dilation[-1] * tap
                split = splits[cell % last_pool][..., cell // last_pool:]
                channel_stride, sample_stride, *cell_strides = split.strides
                source = as_strided(split, shape, tuple(
                    self.dilation[a] * cell_strides[a] for a in outer) + (channel_stride,) +
                    tuple(cell_strides[a] for a in outer) + (sample_stride,) +
                    tuple(pool[a] * cell_strides[a] for a in outer) + (cell_strides[-1],),
                    writeable=False)
                target = as_strided(dest[tap * channels:, phase * phase_columns[-1]:], shape,
                                    dest_strides)
                np.copyto(target, source)

    def _window_runs_into(self, xp, dest):
        """Row-major phase im2col as one copy of whole runs: along the last spatial axis a
        window covers `kernel width * cin` contiguous values, copied as one opaque (void)
        element each (a memcpy, not a loop of `2 * cin` floats: seedcnn's 111x111x16 and
        55x55x32 layers 0.23 -> 0.13 and 0.16 -> 0.09 ms per sample, one thread). False (nothing
        done) when the runs are not contiguous (dilated last axis, strided channels)."""
        itemsize = xp.itemsize
        if self.dilation[-1] != 1 or xp.strides[-1] != itemsize or \
                xp.strides[-2] != self.cin * itemsize or not dest.flags.c_contiguous:
            return False
        run = self.kernel_size[-1] * self.cin * itemsize
        batch_stride, *spatial = xp.strides[:-1]
        shape = tuple(self.pool_size) + (xp.shape[0],) + self.pooled + \
            self.kernel_size[:-1] + (run,)
        strides = tuple(spatial) + (batch_stride,) + \
            tuple(s * k for s, k in zip(spatial, self.pool_size)) + \
            tuple(s * d for s, d in zip(spatial[:-1], self.dilation[:-1])) + (1,)
        copy_byte_runs(xp, shape, strides, dest)
        return True

    def cols_buffer(self, count, dtype, extra_rows=0):
        """A per-thread buffer for `phase_cols`; tap-major, with `extra_rows` rows after the
        im2col rows (a row of ones carrying the bias)."""
        shape = (self.depth + extra_rows, len(self.phases) * count) if self.tap_major else \
            (len(self.phases) * count, self.depth)
        return local_buffer("conv_pool_cols", shape, dtype)

    def as_rows(self, cols):
        """The im2col rows as `(positions, depth)` (a transposed view when tap-major)."""
        return cols.T if self.tap_major else cols

    def kernel_grid_products(self, x_rows, ga_rows, blocks, dk):
        """Add to `dk (depth, f)` every tap's kernel gradient `x_rows[offset + r].T @
        ga_rows[r]` over the rows r of `ga_rows`, block by block, as one stacked product of
        all taps and whole blocks (and one for the last, partial block); each tap adds its
        blocks' products to `dk` in block order."""
        rows_per_cell = [prod(self.grid[a + 1:]) for a in range(len(self.grid))]
        row_bytes = x_rows.strides[0]
        tap_strides = tuple(d * c * row_bytes for d, c in zip(self.dilation, rows_per_cell))
        slots = 1 + blocks.whole + (blocks.rest > 0)
        parts = local_buffer("conv_pool_dk_parts", (self.taps, slots, self.cin, self.filters),
                             dk.dtype)
        taps_first = _as_shape(parts, self.kernel_size + parts.shape[1:])
        dk_taps = _as_shape(dk, (self.taps, self.cin, self.filters))
        parts[:, 0] = dk_taps
        if blocks.whole:
            windows = as_strided(x_rows, self.kernel_size + (blocks.whole, self.cin, blocks.size),
                                 tap_strides + (blocks.size * row_bytes, x_rows.strides[1],
                                                row_bytes), writeable=False)
            np.matmul(windows, blocks.whole_blocks(ga_rows),
                      out=taps_first[..., 1:1 + blocks.whole, :, :])
        if blocks.rest:
            windows = as_strided(x_rows[blocks.bulk:], self.kernel_size + (self.cin, blocks.rest),
                                 tap_strides + (x_rows.strides[1], row_bytes), writeable=False)
            np.matmul(windows, ga_rows[blocks.bulk:], out=taps_first[..., -1, :, :])
        np.add.reduce(parts, axis=1, out=dk_taps)

    def phase_views(self, ga, n):
        """The cells of the grid `ga (n, *grid, ...)` that each phase reads, as `(n, *pooled,
        ...)` views (phase order)."""
        covered = ga[(slice(None),) + tuple(slice(0, c) for c in self.covered)]
        split = _as_shape(covered, (n,) + tuple(part for o, k in zip(self.pooled,
                                                                     self.pool_size)
                                                for part in (o, k)) +
                          ga.shape[1 + len(self.grid):])
        return [split[(slice(None),) + tuple(i for q in phase for i in (slice(None), q))]
                for phase in self.phases]

    def clear_margin(self, ga):
        """Zero the cells of the grid `ga` that no pooling window reads."""
        fill_border(ga, [(0, g - c) for g, c in zip(self.grid, self.covered)], 0)

    def spread_to_grid(self, spread, n, ga):
        """Lay the phase-major gradient `spread (phases, count, f)` on the grid `ga (n, *grid,
        f)` at the positions the phases read; zeros elsewhere."""
        self.clear_margin(ga)
        targets = self.phase_views(self.cells_of(ga), n)
        for view, block in zip(targets, self.cells_of(spread)):
            np.copyto(view, block.reshape(view.shape))

    def cells_of(self, array):
        """`array (..., f)` (C-contiguous) as opaque (void) cells of `f` values: copies of
        cells between strided layouts are then one memcpy per cell, not a strided float pass
        with an inner loop per cell (~20 ns each: seed_cnn conv2's backward 7.5 ms a batch)."""
        return channel_cells(array)


class _KeptCols:
    """The tap-major im2col rows of every forward chunk, kept for the kernel gradient: chunk
    `(b0, b1)` is the matrix `(rows, phases * count)` at samples b0..b1 of one buffer (`rows`:
    the depth, and a row of ones when the forward product adds the bias)."""

    def __init__(self, geo, batch, dtype, rows):
        self.per_sample = rows * len(geo.phases) * geo.cells
        self.rows = rows
        self.buffer = scratch((batch * self.per_sample,), dtype)
        self.filled = set()

    def chunk(self, b0, b1):
        """Chunk b0..b1's matrix, to be filled by the forward pass."""
        self.filled.add((b0, b1))
        return self._view(b0, b1)

    def made(self, b0, b1):
        """Chunk b0..b1's matrix if the forward pass made exactly this chunk, else None."""
        return self._view(b0, b1) if (b0, b1) in self.filled else None

    def _view(self, b0, b1):
        return self.buffer[b0 * self.per_sample:b1 * self.per_sample].reshape(self.rows, -1)


class _Blocks:
    """`rows` rows cut into blocks of `size` (OpenBLAS' small-matrix kernels, see
    conv_kernels' `_SMALL_GEMM_MACS`): `whole` full blocks and `rest` rows after them."""

    def __init__(self, rows, size):
        self.size = size
        self.whole, self.rest = divmod(rows, size)
        self.bulk = self.whole * size

    def whole_blocks(self, rows):
        """The full blocks of `rows (rows, k)` as `(whole, size, k)`."""
        return _as_shape(rows[:self.bulk], (self.whole, self.size, rows.shape[-1]))

    def product(self, rows, b, out):
        """`out (..., rows, n) = rows @ b (..., k, n)` block by block: one stacked matmul of
        the whole blocks and one of the rest."""
        if self.whole:
            np.matmul(self.whole_blocks(rows), b[..., None, :, :] if b.ndim > 2 else b,
                      out=_as_shape(out[..., :self.bulk, :],
                                    out.shape[:-2] + (self.whole, self.size, out.shape[-1])))
        if self.rest:
            np.matmul(rows[self.bulk:], b, out=out[..., self.bulk:, :])


def _max_of_phases(y, out):
    """`out` = the maximum of the phase blocks `y (phases, count, f)`."""
    if len(y) == 1:
        np.copyto(out, y[0])
        return
    np.maximum(y[0], y[1], out=out)
    for p in range(2, len(y)):
        np.maximum(out, y[p], out=out)


def _pool_phases(y, out, first):
    """`out` = the maximum of the phase blocks `y (phases, count, f)`, `first` (bytes) = the
    index of the first phase holding it."""
    phases = len(y)
    _max_of_phases(y, out)
    if phases == 1:
        first.fill(0)
        return
    # first = number of leading phases that all miss the maximum, in few calls (each call
    # holds the GIL the other thread may wait for; `logical_and.accumulate` along the phases
    # is 100x slower than these calls)
    missed = local_buffer("conv_pool_missed", (phases - 1,) + out.shape, np.bool_)
    np.not_equal(y[:-1], out, out=missed)
    for p in range(1, phases - 1):
        np.logical_and(missed[p - 1], missed[p], out=missed[p])
    np.add.reduce(missed.view(np.uint8), axis=0, out=first)


def forward(x, kernel, bias, pads, dilation, pool_size, activation, cached_output=False,
            finish=None, keep_cols=None):
    """`max_pool(activation(conv(x, kernel) + bias))` (stride-1 convolution, tiling pooling
    windows; see `applies`); returns `(out, ctx)`.

    Inference (`finish` given, no `bias`/`activation`): `finish(rows)` runs in place on each
    chunk's pooled rows `(positions, filters)` (nondecreasing steps, see ops/fused.py), the
    first-maximum bytes are not made and ctx is None. `keep_cols` (default: `cached_output`,
    i.e. training) keeps a few-channel layer's im2col rows for the kernel gradient."""
    geo = _Geometry(x.shape, kernel.shape, pads, dilation, pool_size)
    batch, filters = x.shape[0], geo.filters
    dtype = np.result_type(x, kernel)
    out = output_array((batch,) + geo.pooled + (filters,), dtype, cached_output)
    first = output_array(out.shape, np.uint8, cached_output) if finish is None else None
    kernel_rows = kernel.reshape(geo.depth, filters).astype(dtype, copy=False)
    bias = None if bias is None else np.asarray(bias, dtype)
    # Tap-major rows (few channels) get a row of ones and the kernel the bias as its last row:
    # the product adds the bias (no pass over the full-size output before the pooling; the
    # first maximum is still found among the biased values, as the unfused layers find it).
    ones_row = BIAS_IN_PRODUCT and geo.tap_major and bias is not None
    if ones_row:
        kernel_rows = np.concatenate([kernel_rows, bias[None]])
    phases = len(geo.phases)
    per_sample = phases * geo.cells * (geo.depth + filters) * dtype.itemsize
    out_rows = _as_shape(out, (-1, filters))
    first_rows = None if first is None else _as_shape(first, (-1, filters))

    def products(b0, b1, block, kept=None):
        count = (b1 - b0) * geo.cells
        cols = geo.phase_cols(_padded_chunk(x[b0:b1], pads, "conv_xp"),
                              geo.cols_buffer(count, dtype, ones_row) if kept is None else
                              kept.chunk(b0, b1))
        if ones_row:
            cols[-1] = 1
        y = local_buffer("conv_pool_y", (phases * count, filters), dtype)
        _product_rows(geo.as_rows(cols), kernel_rows, y, block)
        return y.reshape(phases, count, filters)

    chunk = _chunk_samples(per_sample, CHUNK_BYTES if geo.tap_major else FORWARD_CHUNK_BYTES)
    block = _forward_block(geo, x, pads, dtype, min(chunk, batch), products,
                           geo.depth + ones_row)
    # Training a layer with few input channels: the backward pass reads the kernel gradient's
    # im2col rows from here instead of copying the windows again (seed_cnn's first layer:
    # 2.4 MB a sample, a third of its backward CPU).
    kept = _KeptCols(geo, batch, dtype, geo.depth + ones_row) \
        if KEEP_COLS and finish is None and geo.tap_major and \
        (cached_output if keep_cols is None else keep_cols) else None

    def work(lo, hi):
        for b0, b1 in _chunks(lo, hi, chunk):
            y = products(b0, b1, block, kept)
            rows = slice(b0 * geo.cells, b1 * geo.cells)
            if finish is None:
                # The bias goes on before the pooling (unless the product added it): the first
                # maximum must be found among the biased values, as the unfused layers find it
                # (adding a constant can round two different values to one, and then the
                # earlier one takes the gradient).
                if not ones_row:
                    _epilogue(_as_shape(y, (-1, filters)), bias, None)
                _pool_phases(y, out_rows[rows], first_rows[rows])
                _epilogue(out_rows[rows], None, activation)
            else:
                _max_of_phases(y, out_rows[rows])
                finish(out_rows[rows])
    run_split(work, batch, piece=chunk if PIECES else None)
    if finish is not None:
        return out, None
    ctx = Context(x=x, kernel=kernel, geo=geo, out=out, first=first, activation=activation,
                  dtype=dtype, block=block, cols=kept, chunk=chunk)
    return out, ctx


def _forward_block(geo, x, pads, dtype, samples, products, depth):
    """Rows per forward product (OpenBLAS' small-matrix kernels may win on thin products),
    timed once per shape on the first chunk (`samples` samples); None for whole chunks.
    `depth`: the im2col rows' width (with the bias' row of ones)."""
    rows = len(geo.phases) * samples * geo.cells
    block = _small_block(depth, geo.filters)
    if block >= rows:
        return None
    key = ("conv_pool_forward_blocks", x.shape[1:], geo.kernel_size, geo.cin, geo.filters,
           tuple(map(tuple, pads)), geo.dilation, geo.pool_size, dtype.str, samples, depth)
    choice = _PLANS.get(key)
    if choice is None:
        # Blocks are the default (one product per chunk must be clearly faster): inside
        # training steps they won on seed_cnn's three layers (11-17 % less forward CPU), a
        # margin the plan's timing on a loaded machine often missed, leaving whole products.
        choice = _plan_on_one_blas_thread(key, {"small": lambda: products(0, samples, block),
                                                "whole": lambda: products(0, samples, None)})
    return block if choice == "small" else None


def gradients(ctx, g, need_input=True, need_kernel=True, need_bias=False):
    """`(dx, dkernel, dbias)` of `forward` for the pooled output gradient `g`."""
    geo, dtype = ctx.geo, ctx.dtype
    x, kernel = ctx.x, ctx.kernel
    batch, filters, phases = x.shape[0], geo.filters, len(geo.phases)
    g_rows = np.ascontiguousarray(g, dtype=dtype).reshape(-1, filters)
    out_rows, first_rows = ctx.out.reshape(-1, filters), ctx.first.reshape(-1, filters)
    offsets = _grid_offsets(geo.kernel_size, geo.dilation, geo.grid)
    kernel_t = np.ascontiguousarray(
        kernel.reshape(geo.taps, geo.cin, filters).transpose(0, 2, 1)).astype(dtype, copy=False)
    grid_kernel = need_kernel and not geo.tap_major
    on_grid = need_input or grid_kernel
    # The kernel gradient of few-channel layers reads the gradient phase-major; the grid
    # products read it on the grid.
    phase_major = need_kernel and geo.tap_major
    unpadded = not any(lo or hi for lo, hi in geo.pads)
    dx = scratch(x.shape, dtype) if need_input else None
    per_sample = (phases * geo.cells * (geo.depth + filters) +
                  geo.grid_cells * (geo.cin + filters)) * dtype.itemsize

    def spread_gradient(b0, b1):
        """The gradient of samples b0..b1 before the pooling: the pooled gradient (times the
        relu mask) at each window's first maximum. Phase-major `(phases, count, f)` when the
        kernel gradient reads it that way (few channels), else laid straight on the grid
        `(n, *grid, f)` that the grid products read (no phase-major copy)."""
        rows = slice(b0 * geo.cells, b1 * geo.cells)
        count = rows.stop - rows.start
        if ctx.activation == "relu":
            gp = _activation_grad("relu", out_rows[rows], g_rows[rows],
                                  local_buffer("conv_pool_g", (count, filters), dtype))
        else:
            gp = g_rows[rows]
        hit = local_buffer("conv_pool_hit", (count, filters), np.bool_)
        if phase_major:
            spread = local_buffer("conv_pool_spread", (phases, count, filters), dtype)
            targets = list(spread)
        else:
            spread = local_buffer("conv_pool_grid", (b1 - b0,) + geo.grid + (filters,), dtype)
            geo.clear_margin(spread)
            # each phase's values go onto the grid as whole cells (see `cells_of`)
            targets = geo.phase_views(geo.cells_of(spread), b1 - b0)
            routed = local_buffer("conv_pool_routed", (count, filters), dtype)
            routed_cells = geo.cells_of(routed).reshape(targets[0].shape)
        for p, target in enumerate(targets):
            np.equal(first_rows[rows], p, out=hit)
            if phase_major:
                np.copyto(target, hit)
                np.multiply(target, gp, out=target)
            else:
                np.copyto(routed, hit)
                np.multiply(routed, gp, out=routed)
                np.copyto(target, routed_cells)
        return gp, spread

    def products(b0, b1, spread, block, dk):
        n = b1 - b0
        count = n * geo.cells
        if need_kernel and geo.tap_major:
            cols = ctx.cols.made(b0, b1) if ctx.cols is not None else None
            if cols is None:
                cols = geo.phase_cols(_padded_chunk(x[b0:b1], geo.pads, "conv_xp"),
                                      geo.cols_buffer(count, dtype))
            dk += _product_summed(cols[:geo.depth], spread.reshape(phases * count, filters),
                                  block).reshape(dk.shape)
        if not on_grid:
            return
        if phase_major:
            ga = local_buffer("conv_pool_grid", (n,) + geo.grid + (filters,), dtype)
            geo.spread_to_grid(spread, n, ga)
        else:
            ga = spread
        total = n * geo.grid_cells
        span = total - offsets[-1]
        ga_rows = ga.reshape(total, filters)[:span]
        blocks = _Blocks(span, block or span)
        if grid_kernel:
            xp = np.ascontiguousarray(_padded_chunk(x[b0:b1], geo.pads, "conv_xp"))
            geo.kernel_grid_products(xp.reshape(total, geo.cin), ga_rows, blocks, dk)
        if need_input:
            dxp = dx[b0:b1] if unpadded else \
                local_buffer("conv_pool_dxp", (n,) + geo.grid + (geo.cin,), dtype)
            dx_rows = dxp.reshape(total, geo.cin)
            dx_rows[span:] = 0
            # Every row sums its taps in order: tap 0 sets it, the others are added after.
            blocks.product(ga_rows, kernel_t[0], dx_rows[:span])          # offsets[0] == 0
            if geo.taps > 1:
                product = local_buffer("conv_pool_product", (geo.taps - 1, span, geo.cin),
                                       dtype)
                blocks.product(ga_rows, kernel_t[1:], product)
                for t in range(1, geo.taps):
                    dx_rows[offsets[t]:offsets[t] + span] += product[t - 1]
            if not unpadded:
                dx[b0:b1] = dxp[interior(x.shape[1:-1], geo.pads)]

    # With kept im2col rows the chunks are the forward's (each chunk's rows are one matrix).
    chunk = ctx.chunk if ctx.cols is not None else _chunk_samples(per_sample)
    block = None
    if need_input or need_kernel:
        block = _backward_block(ctx, min(chunk, batch), spread_gradient, products)

    def chunk_products(b0, b1, spread, dk):
        products(b0, b1, spread, block, dk)
    dk, db = kernel_and_bias_sums(batch, per_sample, (geo.depth, filters), dtype, kernel,
                                  spread_gradient, chunk_products, need_kernel, need_bias,
                                  chunk if PIECES else None, chunk)
    return dx, dk, db


def _backward_block(ctx, b1, spread_gradient, products):
    """Rows per backward product (whole chunks: None), timed once per shape on the first
    chunk (`b1` samples) like the forward's."""
    geo = ctx.geo
    width = geo.filters * (geo.depth if geo.tap_major else geo.cin)
    block = _small_block(1, width)
    if block >= b1 * max(geo.grid_cells, len(geo.phases) * geo.cells):
        return None
    key = ("conv_pool_backward_blocks", ctx.x.shape[1:], geo.kernel_size, geo.cin,
           geo.filters, tuple(map(tuple, geo.pads)), geo.dilation, geo.pool_size,
           ctx.dtype.str, b1, ctx.activation)
    choice = _PLANS.get(key)
    if choice is None:
        _, spread = spread_gradient(0, b1)
        spread = spread.copy()
        trial_dk = np.zeros((geo.depth, geo.filters), ctx.dtype)
        choice = _plan_on_one_blas_thread(key, {
            "whole": lambda: products(0, b1, spread, None, trial_dk),
            "small": lambda: products(0, b1, spread, block, trial_dk)})
    return block if choice == "small" else None


# ---------------------------------------------------------------------------------------
# the differentiable op
# ---------------------------------------------------------------------------------------
def conv_max_pool(x, kernel, bias, padding, dilation, activation, pool_size, pool_padding):
    """`max_pool(activation(conv(x, kernel) + bias))` for channels_last `x`, a stride-1
    convolution and pooling windows that tile its output (see `applies`), as one op; None
    when `applies` says no (the caller then runs the ops one by one)."""
    xd, kd = as_array(x), as_array(kernel)
    rank = kd.ndim - 2
    ones = (1,) * rank
    pads = conv_pads(xd.shape[1:-1], kd.shape[:-2], ones, padding, dilation)
    activation = None if activation == "linear" else activation
    conv_sizes = output_sizes([n + lo + hi for n, (lo, hi) in zip(xd.shape[1:-1], pads)],
                              kd.shape[:-2], ones, dilation)
    pool_pads = [(0, 0)] * rank if pool_padding == "valid" else \
        [same_padding(n, p, p) for n, p in zip(conv_sizes, pool_size)]
    if not applies(xd.shape, kd.shape, ones, pads, dilation, 1, pool_size, pool_size,
                   pool_pads, activation):
        return None
    recorded = is_recording() and any(is_tracked(t) for t in (x, kernel, bias)
                                      if t is not None)
    out, ctx = forward(xd, kd, None if bias is None else as_array(bias), pads, dilation,
                       pool_size, activation, cached_output=recorded,
                       keep_cols=recorded and is_tracked(kernel))    # frozen: no kernel grad

    def backward(g, needs):
        return gradients(ctx, g, needs[0], needs[1], bias is not None and needs[2])
    return record(out, (x, kernel, bias), backward)

