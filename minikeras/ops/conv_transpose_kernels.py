"""Transposed convolutions (the input gradient `A` of a convolution from their output's shape
to their input's), channels_last, any number of spatial axes. The forward has three routes,
timed once per shape (`conv_transpose_forward`): scatter (one GEMM gives every tap's
columns, col2im adds them into the padded output), phases and gather (below).

Phases: a transposed convolution with stride s along an axis writes output position `o` from
the input positions `i` and kernel taps `t` with `i * s + t = o + lo` (`lo` the padding
before). All outputs of one phase `r = o mod s` use the taps `t = p (mod s)` with
`p = (r + lo) mod s` only, and for them `o = n * s + r` reads `x[n + c - j] @ k[p + j * s]`
(`c = (r + lo) // s`): a stride-1 convolution of `x` with the flipped sub-kernel `k[p::s]`
(channels swapped). So a stride-s transposed convolution is `s^d` ordinary stride-1
convolutions whose outputs interleave (`conv_kernels.conv_forward`: im2col, Winograd or band
routes as planned per shape), with no work on the zeros between the strided positions.

Gather: the scatter-add route's products tap-major, each output phase summed from its taps'
blocks in a contiguous buffer and copied into its cells (`_StridedInputPhases`, a strided
convolution's input gradient): the GEMMs keep the input channels as their depth, so it also
suits few filters, where the phases' im2col copies of the input cost more than the products.

The gradients are the same whichever route ran forward (`conv_transpose_backward`: a strided
convolution of the output gradient, one im2col of it feeding both GEMMs).
"""
import functools
import itertools

import numpy as np

from . import conv_kernels, parallel
from .cells import copy_cells


# The phase route multiplies, per axis, every output position by its phase's taps; the
# scatter-add route every input position by all taps. Equal for 'same' padding; a small input
# with a large kernel and 'valid' padding (a GAN generator's first 3x3 -> 7x7 layer, k=5,
# stride 1: 5.4x the multiplies, 6x the time) pays for the zeros around it: there it is not a
# candidate.
_MAX_WORK_RATIO = 2.0


def applies(x_shape, kernel_shape, strides, pads, dilation, output_spatial):
    """Whether the phase route can take this transposed convolution: dilation 1, no empty
    axis and at most `_MAX_WORK_RATIO` times the scatter-add route's multiplies."""
    if any(d != 1 for d in dilation) or not all(x_shape) or not all(kernel_shape):
        return False
    ratio = 1.0
    for n_in, n_out, k, s, (lo, _) in zip(x_shape[1:-1], output_spatial, kernel_shape[:-2],
                                          strides, pads):
        phases = [axis for axis in _axis_phases(n_in, n_out, k, s, lo) if axis is not None]
        work = sum((axis[0].stop - axis[0].start + s - 1) // s * len(range(k)[axis[1]])
                   for axis in phases)
        ratio *= work / (n_in * k)
    return ratio <= _MAX_WORK_RATIO


def _axis_phases(size_in, size_out, k, s, lo):
    """Per output phase r along one axis: (output slice, taps slice of the kernel, input
    slice, (pad before, pad after), whether the slice holds all the phase's outputs), or None
    where no input reaches that phase."""
    phases = []
    for r in range(s):
        count = -(-(size_out - r) // s) if r < size_out else 0
        p, c = (r + lo) % s, (r + lo) // s
        taps = -(-(k - p) // s) if p < k else 0
        start = c - taps + 1                   # first input index of the first window
        # Outputs whose windows lie past the input are zeros (not computed: the stride-1
        # kernels assume pads smaller than the kernel).
        reached = max(0, min(count, size_in - start))
        if not reached or not taps:
            phases.append(None)
            continue
        stop = start + reached + taps - 1      # one past the last index the windows read
        lo_in, hi_in = max(start, 0), min(stop, size_in)
        phases.append((slice(r, r + (reached - 1) * s + 1, s), slice(p, None, s),
                       slice(lo_in, hi_in), (lo_in - start, stop - hi_in), reached == count))
    return phases


def _phase_kernel(kernel, taps):
    """The stride-1 convolution kernel `(*j, cin, filters)` of a phase: the sub-kernel
    `kernel[taps]` of a `(*k, filters, cin)` transposed kernel, flipped, channels swapped."""
    rank = kernel.ndim - 2
    sub = kernel[taps][(slice(None, None, -1),) * rank]
    return np.ascontiguousarray(np.swapaxes(sub, -1, -2))


def phase_forward(x, kernel, strides, pads, output_spatial):
    """Transposed convolution of `x (batch, *in, cin)` with a `(*k, filters, cin)` kernel to
    `(batch, *output_spatial, filters)` by phases (dilation 1)."""
    rank = x.ndim - 2
    per_axis = [_axis_phases(n_in, n_out, k, s, lo)
                for n_in, n_out, k, s, (lo, _) in zip(x.shape[1:-1], output_spatial,
                                                      kernel.shape[:-2], strides, pads)]
    dtype = np.result_type(x, kernel)
    out_shape = (x.shape[0],) + tuple(output_spatial) + (kernel.shape[-2],)
    combinations = list(itertools.product(*per_axis))
    # Positions of a phase no input reaches stay zero.
    covered = all(None not in combination and all(axis[4] for axis in combination)
                  for combination in combinations)
    out = np.empty(out_shape, dtype) if covered else np.zeros(out_shape, dtype)
    for combination in combinations:
        if None in combination:
            continue
        out_index = (slice(None),) + tuple(axis[0] for axis in combination)
        taps_index = tuple(axis[1] for axis in combination)
        in_index = (slice(None),) + tuple(axis[2] for axis in combination)
        # Phase outputs are only copied into `out`: cached buffers (no page faults).
        phase_out, _ = conv_kernels.conv_forward(
            x[in_index], _phase_kernel(kernel, taps_index).astype(dtype, copy=False),
            (1,) * rank, [axis[3] for axis in combination], (1,) * rank, cached_output=True)
        copy_cells(out[out_index], phase_out)
    return out


@functools.lru_cache(maxsize=64)
def _gather_phases(kernel_size, strides, dilation, pads, output_spatial, padded_spatial,
                   in_spatial):
    """The phases' geometry, made once per shape (0.3-0.9 ms of Python for 3x3 and 5x5
    kernels); read-only afterwards, so threads share it."""
    return conv_kernels._StridedInputPhases(kernel_size, strides, dilation, pads,
                                            output_spatial, padded_spatial, in_spatial)


def gather_forward(x, kernel, strides, pads, dilation, output_spatial, padded_shape,
                   bias=None, activation=None):
    """Transposed convolution by tap-major products gathered phase by phase (any dilation),
    then `+ bias` and `activation` on each chunk's output while it is in cache."""
    kernel_size = kernel.shape[:-2]
    taps = int(np.prod(kernel_size))
    filters, channels = kernel.shape[-2:]
    dtype = np.result_type(x, kernel)
    kernel_taps = np.ascontiguousarray(
        np.swapaxes(kernel.reshape(taps, filters, channels), 1, 2)).astype(dtype, copy=False)
    phases = _gather_phases(kernel_size, tuple(strides), tuple(dilation),
                            tuple(map(tuple, pads)), tuple(output_spatial),
                            tuple(padded_shape[1:-1]), x.shape[1:-1])
    batch = x.shape[0]
    out = np.empty((batch,) + tuple(output_spatial) + (filters,), dtype)
    positions = int(np.prod(x.shape[1:-1]))
    per_sample = positions * (taps * filters + channels) * dtype.itemsize

    def work(lo, hi):
        for b0, b1 in conv_kernels._sample_chunks(lo, hi, per_sample):
            rows = x[b0:b1].reshape(-1, channels)
            blocks = conv_kernels.local_buffer("transpose_blocks", (taps, len(rows), filters),
                                               dtype)
            np.matmul(rows, kernel_taps, out=blocks)
            phases.into(blocks, out[b0:b1])
            if bias is not None or activation is not None:
                conv_kernels._epilogue(out[b0:b1].reshape(-1, filters), bias, activation)
    conv_kernels.run_split(work, batch)
    return out


# ---------------------------------------------------------------------------------------
# the op's entry points (ops/conv.py)
# ---------------------------------------------------------------------------------------
def conv_transpose_forward(x, kernel, strides, pads, dilation, output_spatial, route=None,
                           bias=None, activation=None):
    """Transposed convolution of `x (batch, *in, cin)` with a `(*k, filters, cin)` kernel:
    the adjoint of `conv_kernels.conv_forward` from `(batch, *output_spatial, filters)` to
    `x`'s shape, then `+ bias` and a relu/tanh `activation` if given, in place on the fresh
    output (the separate ops made two more output-sized arrays and two more passes over them
    backward); returns `(out, ctx)`. The route ("gather", "phases", "scatter") is timed
    once per shape unless `route` names one."""
    if activation not in (None, "relu", "tanh"):
        raise ValueError(f"Cannot fuse activation {activation!r} into a transposed "
                         "convolution; use 'relu', 'tanh' or None.")
    kernel_size = kernel.shape[:-2]
    filters = kernel.shape[-2]
    z_shape = (x.shape[0],) + tuple(output_spatial) + (filters,)
    # Padded size: the padded output must hold every window the input positions reach.
    padded = tuple(max(n + lo + hi, (i - 1) * s + (k - 1) * d + 1)
                   for n, (lo, hi), i, k, s, d in zip(output_spatial, pads, x.shape[1:-1],
                                                      kernel_size, strides, dilation))
    padded_shape = (x.shape[0],) + padded + (filters,)
    ctx = conv_kernels.Context(x_shape=x.shape, z_shape=z_shape, pads=pads, kernel=kernel,
                               strides=strides, dilation=dilation, padded_shape=padded_shape,
                               x=x, activation=activation, out=None)

    def run(name, samples, epilogue=False):
        """The route's output; with `epilogue`, the bias and activation applied too."""
        sample_padded = (len(samples),) + padded_shape[1:]
        if name == "gather":
            return gather_forward(samples, kernel, strides, pads, dilation, output_spatial,
                                  sample_padded, *((bias, activation) if epilogue else ()))
        if name == "phases":
            out = phase_forward(samples, kernel, strides, pads, output_spatial)
        else:
            out = scatter_forward(samples, kernel, strides, pads, dilation, output_spatial,
                                  sample_padded)
        if epilogue and (bias is not None or activation is not None):
            _bias_activation(out, bias, activation)
        return out
    if route is None:
        route = _transpose_route(x, kernel, strides, pads, dilation, output_spatial, run)
    out = run(route, x, epilogue=True)
    if activation is not None:
        ctx.out = out            # the activation's gradient is read from its output
    return out, ctx


def _bias_activation(out, bias, activation):
    """`out = activation(out + bias)` in place (the bias_add and activation ops' arithmetic:
    the same bits), a chunk of samples at a time on each thread (in cache for both passes)."""
    rows = out.reshape(-1, out.shape[-1])
    per_sample = len(rows) // max(len(out), 1)
    sample_bytes = max(per_sample * out.shape[-1] * out.itemsize, 1)

    def work(lo, hi):
        for b0, b1 in conv_kernels._sample_chunks(lo, hi, sample_bytes):
            conv_kernels._epilogue(rows[b0 * per_sample:b1 * per_sample], bias, activation)
    parallel.run_split(work, len(out), uses_blas=False)


def _transpose_route(x, kernel, strides, pads, dilation, output_spatial, run):
    """The cheapest forward route for this shape, timed once on the first chunk of samples
    (thread CPU, one BLAS thread: the routes' splits run inline); gather is the default."""
    if not x.size or not kernel.size:
        return "scatter"
    names = ["gather", "scatter"]
    if applies(x.shape, kernel.shape, strides, pads, dilation, output_spatial):
        names.insert(1, "phases")
    taps, filters = int(np.prod(kernel.shape[:-2])), kernel.shape[-2]
    per_sample = int(np.prod(x.shape[1:-1])) * (taps * filters + x.shape[-1]) * x.itemsize
    b1 = conv_kernels._sample_chunks(0, x.shape[0], per_sample)[0][1]
    key = ("conv_transpose", x.shape[1:], kernel.shape, strides, tuple(map(tuple, pads)),
           dilation, tuple(output_spatial), np.result_type(x, kernel).str, b1)
    return conv_kernels._plan_on_one_blas_thread(
        key, {name: (lambda name=name: run(name, x[:b1])) for name in names})


def scatter_forward(x, kernel, strides, pads, dilation, output_spatial, padded_shape):
    """The scatter-add route: one GEMM gives every tap's columns, col2im adds them up."""
    # parallel.matmul: on two threads in a one-BLAS-thread step
    dcols = parallel.matmul(x.reshape(-1, x.shape[-1]),
                            conv_kernels._grouped_kernel(kernel, 1)[0].T)[None]
    zp = conv_kernels._col2im(dcols, padded_shape, kernel.shape[:-2], strides, dilation,
                              x.shape[1:-1], 1)
    return np.ascontiguousarray(zp[conv_kernels.interior(output_spatial, pads)])


def conv_transpose_backward(ctx, g, need_input=True, need_kernel=True, need_bias=False):
    """Gradients of `conv_transpose_forward` (any route): a plain convolution of `g`, after
    the fused activation's gradient. Returns `(dx, dkernel)`, and the bias gradient third
    with `need_bias`."""
    g = np.ascontiguousarray(g)
    kernel = ctx.kernel
    # The padded output gradient: a per-thread buffer (only im2col reads it) with zero borders.
    gp = parallel.local_buffer("conv_transpose_gp", ctx.padded_shape, g.dtype)
    interior = conv_kernels.interior(ctx.z_shape[1:-1], ctx.pads)
    conv_kernels.fill_border(gp, [(s.start, n - s.stop) for s, n in
                                  zip(interior[1:-1], ctx.padded_shape[1:-1])], 0)
    # The activation's gradient in a contiguous buffer, then copied in: written straight into
    # the strided interior it took longer (128x28x28x32: 4.1 vs 3.4 ms with the bias sum).
    ga = g if ctx.activation is None else conv_kernels._activation_grad(
        ctx.activation, ctx.out, g, parallel.local_buffer("conv_transpose_ga", g.shape, g.dtype))
    db = conv_kernels._channel_sums(ga.reshape(-1, ga.shape[-1])) if need_bias else None
    gp[interior] = ga
    cols = conv_kernels._im2col(gp, kernel.shape[:-2], ctx.strides, ctx.dilation,
                                ctx.x_shape[1:-1], 1)
    # The two products take the same multiply-adds: in a one-BLAS-thread step they run at
    # once, each on one thread (one hand-off instead of two split products).
    dx, dk = parallel.matmul_pair(
        (cols[0], conv_kernels._grouped_kernel(kernel, 1)[0]) if need_input else None,
        (cols[0].T, ctx.x.reshape(-1, ctx.x_shape[-1])) if need_kernel else None)
    grads = (None if dx is None else dx.reshape(ctx.x_shape),
             None if dk is None else dk.reshape(kernel.shape))
    return grads + (db,) if need_bias else grads
