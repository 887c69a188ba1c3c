"""NumPy convolution kernels, channels_last, any number of spatial axes.

Arrays are `x (batch, *spatial, channels)`, kernels `(*kernel_size, channels // groups, filters)`
(Keras' layout). Padding is given explicitly as one `(lo, hi)` pair per spatial axis.

Two strategies, both GEMMs over a windowed view of the padded input:
- **shifted GEMMs** (stride 1, groups 1): the padded input is flattened over batch and space,
  so every kernel tap is a contiguous offset slice of one `(positions, channels)` matrix; each tap
  is one GEMM accumulated into a "wide" output that also holds the positions wrapping around the
  border, which are dropped at the end. No im2col copy at all.
- **im2col** (strides, groups): a strided view of every window copied into one contiguous
  buffer, then one (batched over groups) GEMM. The input gradient is one GEMM plus a loop over
  kernel taps that adds each tap's slice back (col2im).
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided


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
    out = np.full(shape, value, dtype=x.dtype) if value else np.zeros(shape, dtype=x.dtype)
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


def _flat_offsets(padded, kernel_size, dilation):
    """Offsets (in positions) of every kernel tap in the flattened padded input."""
    position_strides = np.cumprod((1,) + tuple(padded[::-1]))[:-1][::-1]
    return [int(sum(t * d * ps for t, d, ps in zip(tap, dilation, position_strides)))
            for tap in np.ndindex(*kernel_size)]


class Context:
    """What a convolution's backward needs (kept on the tape until backward ran)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


# ---------------------------------------------------------------------------------------
# the two strategies
# ---------------------------------------------------------------------------------------
def _shifted_forward(xp, kernel, dilation, out_sizes):
    """Stride-1 convolution of a padded input as one GEMM per kernel tap (see module doc)."""
    batch, padded, channels = xp.shape[0], xp.shape[1:-1], xp.shape[-1]
    filters = kernel.shape[-1]
    flat = xp.reshape(-1, channels)
    offsets = _flat_offsets(padded, kernel.shape[:-2], dilation)
    rows = flat.shape[0] - offsets[-1]
    taps = kernel.reshape(-1, channels, filters)
    wide = np.empty((flat.shape[0], filters), dtype=np.result_type(xp, kernel))
    np.matmul(flat[offsets[0]:offsets[0] + rows], taps[0], out=wide[:rows])
    scratch = np.empty((rows, filters), dtype=wide.dtype)
    for offset, tap in zip(offsets[1:], taps[1:]):
        np.matmul(flat[offset:offset + rows], tap, out=scratch)
        wide[:rows] += scratch
    wide = wide.reshape((batch,) + tuple(padded) + (filters,))
    return np.ascontiguousarray(wide[(slice(None),) + tuple(slice(0, o) for o in out_sizes)])


def _shifted_grads(xp, kernel, dilation, g, need_input, need_kernel):
    """Gradients of `_shifted_forward`: the output gradient is placed on the wide grid (zeros at
    the wrapped positions), then each tap is one GEMM for the kernel and one for the input."""
    batch, padded, channels = xp.shape[0], xp.shape[1:-1], xp.shape[-1]
    kernel_size, filters = kernel.shape[:-2], kernel.shape[-1]
    wide = np.zeros((batch,) + tuple(padded) + (filters,), dtype=g.dtype)
    wide[(slice(None),) + tuple(slice(0, o) for o in g.shape[1:-1])] = g
    wide = wide.reshape(-1, filters)
    flat = xp.reshape(-1, channels)
    offsets = _flat_offsets(padded, kernel_size, dilation)
    rows = flat.shape[0] - offsets[-1]
    g_rows = wide[:rows]
    taps = kernel.reshape(-1, channels, filters)
    dk = dxp = None
    if need_kernel:
        dk = np.empty_like(taps)
        for i, offset in enumerate(offsets):
            np.matmul(flat[offset:offset + rows].T, g_rows, out=dk[i])
        dk = dk.reshape(kernel.shape)
    if need_input:
        dxp = np.zeros_like(flat)
        scratch = np.empty((rows, channels), dtype=dxp.dtype)
        for offset, tap in zip(offsets, taps):
            np.matmul(g_rows, tap.T, out=scratch)
            dxp[offset:offset + rows] += scratch
        dxp = dxp.reshape(xp.shape)
    return dxp, dk


def _grouped_kernel(kernel, groups):
    """`(*k, cin_g, filters)` -> `(groups, taps * cin_g, filters // groups)` for im2col GEMMs."""
    taps = int(np.prod(kernel.shape[:-2]))
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
    cols = np.ascontiguousarray(split.transpose(order))
    positions = xp.shape[0] * int(np.prod(out_sizes))
    taps = int(np.prod(kernel_size)) if rank else 1
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
    dxp = np.zeros(padded_shape, dtype=dcols.dtype)
    dxp_groups = dxp.reshape(padded_shape[:-1] + (groups, cin_g))
    blocks = dcols.reshape((groups, batch) + tuple(out_sizes) + (-1, cin_g))
    for i, index in enumerate(tap_slices(kernel_size, strides, dilation, out_sizes)):
        block = np.moveaxis(blocks[..., i, :], 0, -2)        # (batch, *out, groups, cin_g)
        dxp_groups[index] += block
    return dxp


# ---------------------------------------------------------------------------------------
# convolution
# ---------------------------------------------------------------------------------------
def conv_forward(x, kernel, strides, pads, dilation, groups=1):
    """Convolution (cross-correlation) of channels_last `x`; returns `(out, ctx)`."""
    kernel_size = kernel.shape[:-2]
    if x.shape[-1] != kernel.shape[-2] * groups:
        raise ValueError(f"Input has {x.shape[-1]} channels but the kernel expects "
                         f"{kernel.shape[-2]} x {groups} groups.")
    xp = pad_input(x, pads)
    out_sizes = output_sizes(xp.shape[1:-1], kernel_size, strides, dilation)
    ctx = Context(x_shape=x.shape, pads=pads, kernel=kernel, strides=strides, dilation=dilation,
                  groups=groups, padded_shape=xp.shape, out_sizes=out_sizes)
    if groups == 1 and all(s == 1 for s in strides):
        ctx.xp, ctx.cols = np.ascontiguousarray(xp), None
        return _shifted_forward(ctx.xp, kernel, dilation, out_sizes), ctx
    cols = _im2col(xp, kernel_size, strides, dilation, out_sizes, groups)
    ctx.cols, ctx.xp = cols, None
    out = np.matmul(cols, _grouped_kernel(kernel, groups))       # (groups, positions, f_g)
    out = out[0] if groups == 1 else out.transpose(1, 0, 2)
    return out.reshape((x.shape[0],) + out_sizes + (kernel.shape[-1],)), ctx


def conv_backward(ctx, g, need_input=True, need_kernel=True):
    """`(dx, dkernel)` of `conv_forward` for the output gradient `g` (None where not needed)."""
    g = np.ascontiguousarray(g)
    kernel, groups = ctx.kernel, ctx.groups
    if ctx.xp is not None:
        dxp, dk = _shifted_grads(ctx.xp, kernel, ctx.dilation, g, need_input, need_kernel)
    else:
        g_groups = _grouped_output_grad(g, groups)
        dk = dxp = None
        if need_kernel:
            dk = _kernel_from_grouped(np.matmul(ctx.cols.transpose(0, 2, 1), g_groups),
                                      kernel.shape, groups)
        if need_input:
            dcols = np.matmul(g_groups, _grouped_kernel(kernel, groups).transpose(0, 2, 1))
            dxp = _col2im(dcols, ctx.padded_shape, kernel.shape[:-2], ctx.strides, ctx.dilation,
                          ctx.out_sizes, groups)
    dx = None
    if dxp is not None:
        dx = dxp[interior(ctx.x_shape[1:-1], ctx.pads)]
        if dx.shape != tuple(ctx.x_shape):     # padded input shorter than the windows reach
            dx = dx[(slice(None),) + tuple(slice(0, n) for n in ctx.x_shape[1:-1])]
    return dx, dk


def _kernel_from_grouped(dk_groups, kernel_shape, groups):
    """`(groups, taps * cin_g, f_g)` -> Keras' kernel layout `(*k, cin_g, filters)`."""
    taps = int(np.prod(kernel_shape[:-2]))
    cin_g = kernel_shape[-2]
    dk = dk_groups.reshape(groups, taps, cin_g, -1).transpose(1, 2, 0, 3)
    return np.ascontiguousarray(dk).reshape(kernel_shape)


# ---------------------------------------------------------------------------------------
# depthwise convolution = grouped convolution with one group per input channel
# ---------------------------------------------------------------------------------------
def depthwise_conv_forward(x, kernel, strides, pads, dilation):
    """Depthwise convolution with a `(*k, channels, depth_multiplier)` kernel; output channel
    `c * depth_multiplier + m` is input channel `c` convolved with `kernel[..., c, m]`."""
    channels = x.shape[-1]
    grouped = kernel.reshape(kernel.shape[:-2] + (1, -1))
    out, ctx = _grouped_im2col_forward(x, grouped, strides, pads, dilation, channels)
    ctx.depthwise_shape = kernel.shape
    return out, ctx


def _grouped_im2col_forward(x, kernel, strides, pads, dilation, groups):
    xp = pad_input(x, pads)
    kernel_size = kernel.shape[:-2]
    out_sizes = output_sizes(xp.shape[1:-1], kernel_size, strides, dilation)
    cols = _im2col(xp, kernel_size, strides, dilation, out_sizes, groups)
    ctx = Context(x_shape=x.shape, pads=pads, kernel=kernel, strides=strides, dilation=dilation,
                  groups=groups, padded_shape=xp.shape, out_sizes=out_sizes, cols=cols, xp=None)
    out = np.matmul(cols, _grouped_kernel(kernel, groups))
    out = out[0] if groups == 1 else out.transpose(1, 0, 2)
    return out.reshape((x.shape[0],) + out_sizes + (kernel.shape[-1],)), ctx


def depthwise_conv_backward(ctx, g, need_input=True, need_kernel=True):
    dx, dk = conv_backward(ctx, g, need_input, need_kernel)
    if dk is not None:
        dk = dk.reshape(ctx.depthwise_shape)
    return dx, dk


# ---------------------------------------------------------------------------------------
# transposed convolution = the input gradient of a convolution
# ---------------------------------------------------------------------------------------
def conv_transpose_forward(x, kernel, strides, pads, dilation, output_spatial):
    """Transposed convolution of `x (batch, *in, cin)` with a `(*k, filters, cin)` kernel:
    the adjoint of `conv_forward` from `(batch, *output_spatial, filters)` to `x`'s shape."""
    kernel_size = kernel.shape[:-2]
    filters = kernel.shape[-2]
    z_shape = (x.shape[0],) + tuple(output_spatial) + (filters,)
    # Padded size: the padded output must hold every window the input positions reach.
    padded = tuple(max(n + lo + hi, (i - 1) * s + (k - 1) * d + 1)
                   for n, (lo, hi), i, k, s, d in zip(output_spatial, pads, x.shape[1:-1],
                                                      kernel_size, strides, dilation))
    padded_shape = (x.shape[0],) + padded + (filters,)
    ctx = Context(x_shape=x.shape, z_shape=z_shape, pads=pads, kernel=kernel, strides=strides,
                  dilation=dilation, padded_shape=padded_shape, x=x)
    g_groups = x.reshape(1, -1, x.shape[-1])
    dcols = np.matmul(g_groups, _grouped_kernel(kernel, 1).transpose(0, 2, 1))
    zp = _col2im(dcols, padded_shape, kernel_size, strides, dilation, x.shape[1:-1], 1)
    out = zp[interior(output_spatial, pads)]
    return np.ascontiguousarray(out), ctx


def conv_transpose_backward(ctx, g, need_input=True, need_kernel=True):
    """Gradients of `conv_transpose_forward`: a plain convolution of `g`."""
    g = np.ascontiguousarray(g)
    kernel = ctx.kernel
    kernel_size = kernel.shape[:-2]
    gp = np.zeros(ctx.padded_shape, dtype=g.dtype)
    gp[interior(ctx.z_shape[1:-1], ctx.pads)] = g
    in_sizes = ctx.x_shape[1:-1]
    cols = _im2col(gp, kernel_size, ctx.strides, ctx.dilation, in_sizes, 1)
    dx = dk = None
    if need_input:
        dx = np.matmul(cols[0], _grouped_kernel(kernel, 1)[0]).reshape(ctx.x_shape)
    if need_kernel:
        x2 = ctx.x.reshape(-1, ctx.x_shape[-1])
        dk = (cols[0].T @ x2).reshape(kernel.shape)
    return dx, dk
