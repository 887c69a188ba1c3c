"""Fused inference kernels: a convolution, depthwise convolution or dense product together with
the elementwise layers after it (bias, batch-norm affine, activations, a residual add) and a
pooling layer, done a chunk of samples at a time (no tape: inference only).

Unfused, each layer makes a pass over whole-batch arrays: seed_cnn's first convolution writes a
102 MB output that the bias/relu pass reads and writes and the max-pool reads again. Here each
chunk's output rows get every elementwise step while they are in cache, and a pooling step
reads the chunk's convolution output from a per-thread buffer, so the full-size output never
exists.

Two exact rewrites make the chain cheaper:
- An inference batch normalization right after the product is an affine map per output
  channel, folded into the kernel and bias (`fold_affine`); the results differ from the
  unfused path by float32 round-off only.
- Max pooling commutes with per-channel nondecreasing maps (bias, a nonnegative scale,
  relu/relu6/sigmoid/tanh): `max(f(a), f(b)) = f(max(a, b))`, also in floating point (rounding
  is monotone). Those steps after the last residual add are applied to the pooled output
  (a quarter of the values for 2x2 windows).

`Epilogue` holds the steps; `conv_forward` (conv_kernels.py) calls it per chunk.
"""
import numpy as np

from . import conv_kernels, conv_pool, winograd
from .activation_kernels import _sigmoid_into
from .conv_kernels import _PLANS, _as_shape, _padded_chunk, _plan_on_one_blas_thread, \
    _sample_chunks, _wide_blocks, depthwise_taps_into, output_sizes, relu_in_place
from .parallel import local_buffer, run_split
from .pool_kernels import _separable_reduce, _window_counts

# Activations applied in place; all are nondecreasing (they commute with max pooling).
ACTIVATIONS = ("linear", "relu", "relu6", "sigmoid", "tanh")


def bias_step(vector):
    return ("bias", vector)


def affine_step(gain, shift):
    return ("affine", gain, shift)


def activation_step(name, cap=None):
    """`name` one of ACTIVATIONS; "relu6" is any capped relu (`cap`, default 6)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"Cannot fuse activation {name!r}; use one of {ACTIVATIONS}.")
    return ("activation", name, 6.0 if name == "relu6" and cap is None else cap)


def residual_step(array):
    """Adds `array`, shaped like the rows' whole-batch output, to the rows."""
    return ("residual", array)


def inference_affine(mean, variance, scale, offset, epsilon, dtype):
    """`(gain, shift)` of an inference batch normalization, computed as
    `batch_norm.batch_norm_inference` does: `x * gain + shift`."""
    dtype = np.dtype(dtype)
    inv = (1 / np.sqrt(np.asarray(variance, dtype) + np.asarray(epsilon, dtype))).astype(
        dtype, copy=False)
    gain = inv if scale is None else inv * np.asarray(scale, dtype)
    mean = np.asarray(mean, dtype)
    shift = -mean * gain if offset is None else np.asarray(offset, dtype) - mean * gain
    return gain.astype(dtype, copy=False), shift.astype(dtype, copy=False)


def fold_affine(kernel, bias, gain, shift):
    """`(kernel', bias')` with `product(x, kernel') + bias' = (product(x, kernel) + bias) *
    gain + shift`, for a per-output-channel `gain` (kernel's last axis: its output channels)."""
    folded_kernel = kernel * gain
    folded_bias = shift if bias is None else bias * gain + shift
    return folded_kernel.astype(kernel.dtype, copy=False), \
        folded_bias.astype(kernel.dtype, copy=False)


def _nondecreasing(step):
    if step[0] == "bias" or step[0] == "activation":
        return True
    if step[0] == "affine":
        return bool(np.all(step[1].vector >= 0))
    return False


class _Wide:
    """A per-channel vector and its copies laid side by side for `_wide_blocks` rows."""

    def __init__(self, vector):
        self.vector = vector
        self._tiled = {1: vector}

    def tiled(self, fold):
        tiled = self._tiled.get(fold)
        if tiled is None:
            tiled = self._tiled[fold] = np.tile(self.vector, fold)
        return tiled


def _apply_steps(steps, rows, start, stop):
    """Every step in place on `rows (n, channels)`, rows start:stop of the batch's output."""
    for step in steps:
        kind = step[0]
        if kind == "bias":
            for block, fold in _wide_blocks(rows):
                block += step[1].tiled(fold)
        elif kind == "affine":
            for block, fold in _wide_blocks(rows):
                block *= step[1].tiled(fold)
                block += step[2].tiled(fold)
        elif kind == "residual":
            rows += step[1][start:stop]
        else:
            _activation_in_place(step[1], step[2], rows)


def _activation_in_place(name, cap, rows):
    """The same NumPy calls as the activation ops (ops/nn.py, ops/math.py), in place."""
    if name == "relu":
        relu_in_place(rows)
    elif name == "relu6":
        np.clip(rows, 0, np.asarray(cap, rows.dtype), out=rows)
    elif name == "sigmoid":
        _sigmoid_into(rows, rows)
    elif name == "tanh":
        np.tanh(rows, out=rows)


class Pooling:
    """A max or average pooling step: `kind` "max" or "avg", channels_last, explicit pads."""

    def __init__(self, kind, pool_size, strides, pads):
        self.kind, self.pool_size, self.strides = kind, tuple(pool_size), tuple(strides)
        self.pads = [tuple(p) for p in pads]

    def output_spatial(self, spatial):
        padded = [n + lo + hi for n, (lo, hi) in zip(spatial, self.pads)]
        return output_sizes(padded, self.pool_size, self.strides, (1,) * len(spatial))

    def into(self, samples, out):
        """Pool `samples (count, *spatial, c)` into `out (count, *pooled, c)`."""
        fill = -np.inf if self.kind == "max" else 0
        xp = _padded_chunk(samples, self.pads, "fused_pool_xp", fill)
        out_sizes = out.shape[1:-1]
        combine = np.maximum if self.kind == "max" else np.add
        _separable_reduce(xp, self.pool_size, self.strides, out_sizes, combine, out)
        if self.kind == "avg":
            out /= _window_counts(samples.shape[1:-1], self.pool_size, self.strides, self.pads,
                                  out_sizes, out.dtype)


class Epilogue:
    """The steps after a product, in order, an optional pooling, and steps on the pooled
    output (`pooled_steps`, no residual add).

    Steps are built with `bias_step`, `affine_step`, `activation_step` and `residual_step`;
    a residual's array must be C-contiguous with the product's whole-batch output shape."""

    def __init__(self, steps, pooling=None, pooled_steps=()):
        steps = [_prepared(step) for step in steps]
        pooled_steps = [_prepared(step) for step in pooled_steps]
        if pooled_steps and pooling is None:
            raise ValueError("Steps after a pooling need the pooling.")
        if any(step[0] == "residual" for step in pooled_steps):
            raise ValueError("A residual add cannot follow the pooling.")
        self.pooling = pooling
        self.before, self.after = steps, pooled_steps
        if pooling is not None and pooling.kind == "max":
            # The nondecreasing steps after the last residual add move past the max pooling.
            split = len(steps)
            while split > 0 and _nondecreasing(steps[split - 1]):
                split -= 1
            self.before, self.after = steps[:split], steps[split:] + pooled_steps

    @property
    def pools(self):
        return self.pooling is not None

    def output_shape(self, product_shape):
        if self.pooling is None:
            return tuple(product_shape)
        spatial = self.pooling.output_spatial(product_shape[1:-1])
        return (product_shape[0],) + tuple(spatial) + (product_shape[-1],)

    def rows(self, rows, start, stop):
        """The steps on output rows start:stop of the batch (no pooling)."""
        _apply_steps(self.before, rows, start, stop)

    def leading_bias(self):
        """The vector of the first step when it is a bias (a product may add it itself, then
        calling `rows_after_bias`), else None."""
        if self.before and self.before[0][0] == "bias":
            return self.before[0][1].vector
        return None

    def rows_after_bias(self, rows, start, stop):
        """`rows` without the leading bias step (see `leading_bias`)."""
        _apply_steps(self.before[1:], rows, start, stop)

    def pool_into(self, samples, out, start):
        """Steps before the pooling on a chunk's `samples (count, *spatial, c)` (its first row
        is row `start` of the batch's output), the pooling into `out`, the steps after it."""
        rows = _as_shape(samples, (-1, samples.shape[-1]))
        _apply_steps(self.before, rows, start, start + len(rows))
        self.pooling.into(samples, out)
        _apply_steps(self.after, _as_shape(out, (-1, out.shape[-1])), None, None)


def _prepared(step):
    if step[0] == "bias":
        return ("bias", _Wide(np.ascontiguousarray(step[1])))
    if step[0] == "affine":
        return ("affine", _Wide(np.ascontiguousarray(step[1])),
                _Wide(np.ascontiguousarray(step[2])))
    if step[0] == "residual":
        array = step[1]
        return ("residual", _as_shape(np.ascontiguousarray(array), (-1, array.shape[-1])))
    return step


# ---------------------------------------------------------------------------------------
# the fused chains
# ---------------------------------------------------------------------------------------
def conv_chain(x, kernel, strides, pads, dilation, groups, epilogue, memo=None):
    """Convolution of channels_last `x` followed by `epilogue` (no bias: put it in a step).
    `memo`, a dict the caller keeps while `kernel` is unchanged, keeps the kernel's Winograd
    transform (`conv_kernels.winograd_inference`)."""
    if _phase_route(x, kernel, strides, pads, dilation, groups, epilogue):
        return _phase_chain(x, kernel, pads, dilation, epilogue)
    if memo is not None and winograd.applies(kernel.shape, strides, pads, dilation, groups) \
            and x.dtype == kernel.dtype:
        transformed = memo.get("winograd_kernel")
        if transformed is None:
            transformed = memo["winograd_kernel"] = winograd.transform_kernel(kernel)
        out = conv_kernels.winograd_inference(x, kernel.shape, transformed, pads, epilogue)
        if out is not None:
            return out
    out, _ = conv_kernels.conv_forward(x, kernel, tuple(strides), pads, tuple(dilation),
                                       groups, epilogue=epilogue)
    return out


def _phase_chain(x, kernel, pads, dilation, epilogue):
    """The chain by conv_pool.py's phase-major route: every step runs after the pooling."""
    steps = epilogue.after
    out, _ = conv_pool.forward(x, kernel, None, pads, tuple(dilation),
                               epilogue.pooling.pool_size, None,
                               finish=lambda rows: _apply_steps(steps, rows, None, None))
    return out


def _phase_route(x, kernel, strides, pads, dilation, groups, epilogue):
    """Whether a convolution followed by a max pooling (all steps after it) runs by the phase-
    major route of conv_pool.py rather than conv_forward with the pooling epilogue: where it
    applies (few taps, stride 1, tiling windows), timed once per shape on a few samples
    (about 15 % less CPU on seed_cnn's first and last layers, 4 % more on its second)."""
    pooling = epilogue.pooling
    if pooling is None or pooling.kind != "max" or epilogue.before or \
            not conv_pool.applies(x.shape, kernel.shape, strides, pads, dilation, groups,
                                  pooling.pool_size, pooling.strides, pooling.pads, None):
        return False
    count = min(x.shape[0], 2)
    sample = x[:count]
    key = ("pooled_conv_route", x.shape[1:], kernel.shape, tuple(map(tuple, pads)),
           tuple(dilation), pooling.pool_size, np.result_type(x, kernel).str, count)
    choice = _PLANS.get(key)
    if choice is None:
        choice = _plan_on_one_blas_thread(key, {
            "conv_forward": lambda: conv_kernels.conv_forward(
                sample, kernel, tuple(strides), pads, tuple(dilation), groups,
                epilogue=epilogue),
            "phases": lambda: _phase_chain(sample, kernel, pads, dilation, epilogue)})
    return choice == "phases"


def depthwise_chain(x, kernel, strides, pads, dilation, epilogue):
    """Depthwise convolution (`(*k, channels, multiplier)` kernel, the tap loop of
    `conv_kernels.depthwise_conv_forward`) followed by `epilogue`, a chunk at a time."""
    kernel_size = kernel.shape[:-2]
    channels, multiplier = kernel.shape[-2:]
    if x.shape[-1] != channels:
        raise ValueError(f"Input has {x.shape[-1]} channels but the depthwise kernel expects "
                         f"{channels}.")
    batch = x.shape[0]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[1:-1], pads))
    out_sizes = output_sizes(padded, kernel_size, strides, dilation)
    dtype = np.result_type(x, kernel)
    taps = conv_kernels.tap_slices(kernel_size, strides, dilation, out_sizes)
    kernel_taps = kernel.reshape(len(taps), channels, multiplier).astype(dtype, copy=False)
    product_shape = (batch,) + tuple(out_sizes) + (channels * multiplier,)
    out = np.empty(epilogue.output_shape(product_shape), dtype)
    positions = int(np.prod(out_sizes))
    per_sample = (positions * channels * multiplier + int(np.prod(x.shape[1:]))) * \
        dtype.itemsize * 2

    def chunk(b0, b1):
        xp = _padded_chunk(x[b0:b1], pads, "depthwise_xp")
        shape = (b1 - b0,) + tuple(out_sizes) + (channels, multiplier)
        if epilogue.pools:
            acc = local_buffer("fused_depthwise", shape, dtype)
        else:
            acc = _as_shape(out[b0:b1], shape)
        depthwise_taps_into(xp, taps, kernel_taps, acc)
        samples = _as_shape(acc, shape[:-2] + (channels * multiplier,))
        if epilogue.pools:
            epilogue.pool_into(samples, out[b0:b1], b0 * positions)
        else:
            epilogue.rows(_as_shape(samples, (-1, channels * multiplier)), b0 * positions,
                          b1 * positions)

    def work(lo, hi):
        for b0, b1 in _sample_chunks(lo, hi, per_sample):
            chunk(b0, b1)
    run_split(work, batch, uses_blas=False)
    return out


def elementwise_chain(x, epilogue):
    """`epilogue` applied to `x` itself (channels last; a chain without a product, e.g.
    BatchNormalization -> ReLU): each chunk of samples is copied once into the output (or a
    per-thread buffer it is pooled from) and every step runs on it in cache."""
    batch = x.shape[0]
    out = np.empty(epilogue.output_shape(x.shape), x.dtype)
    positions = int(np.prod(x.shape[1:-1]))
    channels = x.shape[-1]

    def chunk(b0, b1):
        if epilogue.pools:
            samples = local_buffer("fused_elementwise", x[b0:b1].shape, x.dtype)
            np.copyto(samples, x[b0:b1])
            epilogue.pool_into(samples, out[b0:b1], b0 * positions)
        else:
            rows = _as_shape(out[b0:b1], (-1, channels))
            np.copyto(rows, x[b0:b1].reshape(rows.shape))
            epilogue.rows(rows, b0 * positions, b1 * positions)

    def work(lo, hi):
        for b0, b1 in _sample_chunks(lo, hi, 2 * x[:1].nbytes):
            chunk(b0, b1)
    if x.size < _DENSE_SPLIT_ELEMENTS:
        work(0, batch)
    else:
        run_split(work, batch, uses_blas=False)
    return out


# Dense outputs and elementwise chains are split over two threads from this many elements.
_DENSE_SPLIT_ELEMENTS = 1 << 16


def dense_chain(x, kernel, epilogue):
    """`x @ kernel` over the last axis of `x`, then `epilogue` (no pooling), row blocks of the
    batch on two threads."""
    rows = int(np.prod(x.shape[:-1]))
    x2 = x.reshape(rows, x.shape[-1])
    units = kernel.shape[-1]
    out = np.empty((rows, units), np.result_type(x, kernel))

    def work(lo, hi):
        np.matmul(x2[lo:hi], kernel, out=out[lo:hi])
        epilogue.rows(out[lo:hi], lo, hi)
    if rows * units < _DENSE_SPLIT_ELEMENTS:
        work(0, rows)
    else:
        run_split(work, rows)
    return out.reshape(x.shape[:-1] + (units,))


__all__ = ["Epilogue", "Pooling", "ACTIVATIONS", "bias_step", "affine_step", "activation_step",
           "residual_step", "inference_affine", "fold_affine", "conv_chain", "depthwise_chain",
           "dense_chain", "elementwise_chain"]
