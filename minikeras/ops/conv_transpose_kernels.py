"""Transposed convolutions as interleaved stride-1 convolutions (the phase route).

A transposed convolution with stride s along an axis writes output position `o` from the
input positions `i` and kernel taps `t` with `i * s + t = o + lo` (`lo` the padding before).
All outputs of one phase `r = o mod s` use the taps `t = p (mod s)` with `p = (r + lo) mod s`
only, and for them `o = n * s + r` reads `x[n + c - j] @ k[p + j * s]` (`c = (r + lo) // s`):
a stride-1 convolution of `x` with the flipped sub-kernel `k[p::s]` (channels swapped). So a
stride-s transposed convolution is `s^d` ordinary stride-1 convolutions whose outputs
interleave, done by `conv_kernels.conv_forward` (im2col, Winograd, band routes as planned per
shape); its gradients are those convolutions' gradients (`conv_kernels.conv_backward`): the
input gradient sums the phases' stride-1 input gradients, the kernel gradient is laid back
tap by tap. No work on the zeros the scatter-add route (GEMM to columns, then col2im) adds.
"""
import itertools

import numpy as np

from . import conv_kernels
from .cells import copy_cells


# The phase route multiplies, per axis, every output position by its phase's taps; the
# scatter-add route every input position by all taps. Equal for 'same' padding; a small input
# with a large kernel and 'valid' padding (a GAN generator's first 3x3 -> 7x7 layer, k=5,
# stride 1: 5.4x the multiplies) would pay for the zeros around it: there the scatter-add
# route stays. Per layer (fwd + bwd, CPU): 3x3 stride 2, 64 -> 64/32 channels 0.71-0.80 of the
# scatter-add route; k=5 stride 2 192 -> 96 0.91; to 1 filter 0.18 (stride 2), 0.03 (stride
# 1, 'same': the scatter-add route's thin GEMMs).
_MAX_WORK_RATIO = 2.0


def applies(x_shape, kernel_shape, strides, pads, dilation, output_spatial):
    """Whether the phase route takes this transposed convolution: dilation 1, no empty axis
    and at most `_MAX_WORK_RATIO` times the scatter-add route's multiplies."""
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


class PhaseContext:
    """What the phase route's backward needs: every phase's convolution context, and the
    transposed convolution's geometry as the scatter-add route's context gives it
    (`geometry`: x_shape, z_shape, pads, strides, dilation, padded_shape; read by the
    second-order rules)."""

    def __init__(self, kernel, phases, **geometry):
        self.kernel = kernel
        self.phases = phases           # (output index, taps index, input index, conv ctx)
        self.__dict__.update(geometry)


def forward(x, kernel, strides, pads, output_spatial, cached=False, **geometry):
    """Transposed convolution of `x (batch, *in, cin)` with a `(*k, filters, cin)` kernel to
    `(batch, *output_spatial, filters)`; returns `(out, PhaseContext)` (`geometry` is kept
    on the context)."""
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
    phases = []
    for combination in combinations:
        if None in combination:
            continue
        out_index = (slice(None),) + tuple(axis[0] for axis in combination)
        taps_index = tuple(axis[1] for axis in combination)
        in_index = (slice(None),) + tuple(axis[2] for axis in combination)
        phase_pads = [axis[3] for axis in combination]
        phase_out, ctx = conv_kernels.conv_forward(
            x[in_index], _phase_kernel(kernel, taps_index).astype(dtype, copy=False),
            (1,) * rank, phase_pads, (1,) * rank, cached_output=cached)
        copy_cells(out[out_index], phase_out)
        phases.append((out_index, taps_index, in_index, ctx))
    geometry.update(x_shape=x.shape, strides=strides, pads=pads)
    return out, PhaseContext(kernel, phases, **geometry)


def backward(ctx, g, need_input=True, need_kernel=True):
    """`(dx, dkernel)` of `forward` for the output gradient `g` (None where not needed)."""
    rank = len(ctx.x_shape) - 2
    dtype = g.dtype
    dx = np.zeros(ctx.x_shape, dtype) if need_input else None
    dk = np.zeros(ctx.kernel.shape, ctx.kernel.dtype) if need_kernel else None
    for out_index, taps_index, in_index, phase_ctx in ctx.phases:
        g_phase = np.ascontiguousarray(g[out_index])
        dx_phase, dk_phase = conv_kernels.conv_backward(phase_ctx, g_phase, need_input,
                                                        need_kernel)
        if need_input:
            dx[in_index] += dx_phase
        if need_kernel:
            flipped = dk_phase[(slice(None, None, -1),) * rank]
            dk[taps_index] = np.swapaxes(flipped, -1, -2)
    return dx, dk
