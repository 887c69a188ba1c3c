"""Differentiable convolution and pooling ops over the GEMM kernels of conv_kernels.py and
pool_kernels.py. The kernels work channels_last; channels_first inputs are moved there and back.
"""
import numpy as np

from ..core.tensor import as_array, is_recording, is_tracked, record
from . import conv_kernels, conv_transpose_kernels, pool_kernels
from .half_precision import HALF, conv_in_float32, pool_in_float32


def _to_channels_last(xd, data_format):
    return np.moveaxis(xd, 1, -1) if data_format == "channels_first" else xd


def _from_channels_last(xd, data_format):
    return np.ascontiguousarray(np.moveaxis(xd, -1, 1)) if data_format == "channels_first" else xd


def _recorded(*inputs):
    """Whether an op on `inputs` will be recorded for backward (its output then stays alive
    until backward, so it may come from the scratch cache)."""
    return is_recording() and any(is_tracked(t) for t in inputs if t is not None)


def conv_pads(spatial, kernel_size, strides, padding, dilation):
    """(lo, hi) zero padding per spatial axis for 'valid', 'same' (TF: extra at the end) or
    'causal' (all on the left)."""
    pads = []
    for size, k, s, d in zip(spatial, kernel_size, strides, dilation):
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "same":
            pads.append(conv_kernels.same_padding(size, k, s, d))
        elif padding == "causal":
            pads.append(((k - 1) * d, 0))
        else:
            raise ValueError(f"Unknown padding: {padding}")
    _check_window_fits(spatial, kernel_size, dilation, pads)
    return pads


def _check_window_fits(spatial, window, dilation, pads):
    """TensorFlow's error for an input smaller than the (dilated) window: the output would
    have no positions along that axis (a shape with None dims lets such input through)."""
    for size, k, d, (lo, hi) in zip(spatial, window, dilation, pads):
        span = (k - 1) * d + 1
        if size + lo + hi < span:
            raise ValueError(f"Negative dimension size caused by subtracting {span} from "
                             f"{size + lo + hi}: input spatial shape {tuple(spatial)}, window "
                             f"{tuple(window)}, dilation {tuple(dilation)}.")


# Activations computed in place on the fresh convolution output, their gradient taken from it.
FUSABLE_ACTIVATIONS = ("relu", "tanh", "linear", None)


def conv(x, kernel, strides, padding, dilation, groups=1, data_format="channels_last", bias=None,
         activation=None):
    """N-D convolution (cross-correlation, as Keras) with a `(*k, in/groups, out)` kernel, then
    optionally `+ bias` and a relu/tanh activation, as one op (no extra copies of the output)."""
    if activation not in FUSABLE_ACTIVATIONS:
        raise ValueError(f"Cannot fuse activation {activation!r}; use one of "
                         f"{FUSABLE_ACTIVATIONS}.")
    if as_array(x).dtype == HALF:
        return conv_in_float32(conv, x, kernel, bias, activation, strides=strides,
                               padding=padding, dilation=dilation, groups=groups,
                               data_format=data_format)
    xd = _to_channels_last(as_array(x), data_format)
    kd = as_array(kernel)
    pads = conv_pads(xd.shape[1:-1], kd.shape[:-2], strides, padding, dilation)
    fused = activation if activation in ("relu", "tanh") else None
    out, ctx = conv_kernels.conv_forward(
        xd, kd, tuple(strides), pads, tuple(dilation), groups,
        bias=None if bias is None else as_array(bias), activation=fused,
        cached_output=_recorded(x, kernel, bias))

    def backward(g, needs):
        dx, dk, db = conv_kernels.conv_gradients(ctx, _to_channels_last(g, data_format),
                                                 needs[0], needs[1],
                                                 bias is not None and needs[2])
        if dx is not None:
            dx = _from_channels_last(dx, data_format)
        return dx, dk, db
    return record(_from_channels_last(out, data_format), (x, kernel, bias), backward)


def depthwise_conv(x, kernel, strides, padding, dilation, data_format="channels_last"):
    """Depthwise convolution with a `(*k, in, depth_multiplier)` kernel."""
    if as_array(x).dtype == HALF:
        return conv_in_float32(depthwise_conv, x, kernel, strides=strides, padding=padding,
                               dilation=dilation, data_format=data_format)
    xd = _to_channels_last(as_array(x), data_format)
    kd = as_array(kernel)
    pads = conv_pads(xd.shape[1:-1], kd.shape[:-2], strides, padding, dilation)
    out, ctx = conv_kernels.depthwise_conv_forward(xd, kd, tuple(strides), pads, tuple(dilation),
                                                   cached_output=_recorded(x, kernel))

    def backward(g, needs):
        dx, dk = conv_kernels.depthwise_conv_backward(ctx, _to_channels_last(g, data_format),
                                                      need_input=needs[0], need_kernel=needs[1])
        if dx is not None:
            dx = _from_channels_last(dx, data_format)
        return dx, dk
    return record(_from_channels_last(out, data_format), (x, kernel), backward)


def conv_transpose(x, kernel, strides, padding, dilation, output_spatial,
                   data_format="channels_last", bias=None, activation=None):
    """Transposed convolution (the adjoint of `conv`) with a `(*k, out, in)` kernel, producing
    `output_spatial` positions per axis, then optionally `+ bias` and a relu/tanh activation,
    as one op (as `conv`)."""
    if activation not in FUSABLE_ACTIVATIONS:
        raise ValueError(f"Cannot fuse activation {activation!r}; use one of "
                         f"{FUSABLE_ACTIVATIONS}.")
    if as_array(x).dtype == HALF:
        return conv_in_float32(conv_transpose, x, kernel, bias, activation, strides=strides,
                               padding=padding, dilation=dilation,
                               output_spatial=output_spatial, data_format=data_format)
    xd = _to_channels_last(as_array(x), data_format)
    kd = as_array(kernel)
    pads = []
    for size_in, size_out, k, s, d in zip(xd.shape[1:-1], output_spatial, kd.shape[:-2], strides,
                                          dilation):
        if padding == "same":
            effective = (k - 1) * d + 1
            total = max((size_in - 1) * s + effective - size_out, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((0, 0))
    fused = activation if activation in ("relu", "tanh") else None
    out, ctx = conv_transpose_kernels.conv_transpose_forward(
        xd, kd, tuple(strides), pads, tuple(dilation), tuple(output_spatial),
        bias=None if bias is None else as_array(bias), activation=fused)

    def backward(g, needs):
        need_bias = bias is not None and needs[2]
        grads = conv_transpose_kernels.conv_transpose_backward(
            ctx, _to_channels_last(g, data_format), need_input=needs[0], need_kernel=needs[1],
            need_bias=need_bias)
        dx, dk = grads[:2]
        if dx is not None:
            dx = _from_channels_last(dx, data_format)
        return dx, dk, grads[2] if need_bias else None
    return record(_from_channels_last(out, data_format), (x, kernel, bias), backward)


def _pool_pads(spatial, pool_size, strides, padding):
    if padding == "valid":
        pads = [(0, 0)] * len(spatial)
    else:
        pads = [conv_kernels.same_padding(n, p, s, 1)
                for n, p, s in zip(spatial, pool_size, strides)]
    _check_window_fits(spatial, pool_size, (1,) * len(spatial), pads)
    return pads


def max_pool(x, pool_size, strides, padding, data_format="channels_last"):
    """Max pooling; the gradient goes to the first maximum of each window."""
    if as_array(x).dtype == HALF:
        return pool_in_float32(max_pool, x, pool_size, strides, padding, data_format)
    xd = _to_channels_last(as_array(x), data_format)
    pads = _pool_pads(xd.shape[1:-1], pool_size, strides, padding)
    out, ctx = pool_kernels.max_pool_forward(xd, tuple(pool_size), tuple(strides), pads,
                                             cached_output=_recorded(x))

    def backward(g, needs):
        dx = pool_kernels.max_pool_backward(ctx, _to_channels_last(g, data_format))
        return (_from_channels_last(dx, data_format),)
    return record(_from_channels_last(out, data_format), (x,), backward)


def avg_pool(x, pool_size, strides, padding, data_format="channels_last"):
    """Average pooling; 'same' windows divide by their count of real (unpadded) inputs."""
    if as_array(x).dtype == HALF:
        return pool_in_float32(avg_pool, x, pool_size, strides, padding, data_format)
    xd = _to_channels_last(as_array(x), data_format)
    pads = _pool_pads(xd.shape[1:-1], pool_size, strides, padding)
    out, ctx = pool_kernels.avg_pool_forward(xd, tuple(pool_size), tuple(strides), pads,
                                             cached_output=_recorded(x))

    def backward(g, needs):
        dx = pool_kernels.avg_pool_backward(ctx, _to_channels_last(g, data_format))
        return (_from_channels_last(dx, data_format),)
    return record(_from_channels_last(out, data_format), (x,), backward)
