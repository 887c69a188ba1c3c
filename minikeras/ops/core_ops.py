"""The Keras 3 `keras.ops` core names: control flow, slicing and scattering, segment
reductions, top-k, tensor facts (shape, dtype) and conversion.

Control flow runs eagerly in Python (there is no graph to trace), so `cond`, `while_loop`,
`fori_loop`, `scan` and `map` are differentiable through whatever their functions compute.
"""
import builtins

import numpy as np

from ..core import config, dispatch, nest
from ..core.tensor import Tensor, Variable, record, stop_recording, unwrap
from . import math as _m
from .erf_kernels import erf_array
from .numpy_ops import as_float, data_of, stack, tensor_of


# ---------------------------------------------------------------------------------------
# tensor facts and conversion
# ---------------------------------------------------------------------------------------
def shape(x):
    """The static shape as a tuple of Python ints (Keras 3 gives a tuple too; a symbolic
    tensor's unknown dimensions are None)."""
    if dispatch.is_symbolic(x):
        return tuple(x.shape)
    return tuple(int(n) for n in np.shape(data_of(x)))


def dtype(x):
    """The Keras dtype name of `x` ("float32", "int32", ...)."""
    if dispatch.is_symbolic(x):
        return config.dtype_name(np.dtype(x.dtype))
    return config.dtype_name(data_of(x).dtype)


def is_tensor(x):
    return isinstance(x, Tensor)


def convert_to_numpy(x):
    return np.array(data_of(x))


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if sparse:
        raise ValueError("`sparse=True` is not supported: minikeras has no sparse tensors.")
    if ragged:
        raise ValueError("`ragged=True` is not supported: minikeras has no ragged tensors.")
    t = tensor_of(x)
    if dtype is not None and t.dtype != np.dtype(dtype):
        return _m.cast(t, dtype)
    return t


def cast(x, dtype):
    return _m.cast(tensor_of(x), dtype)


def saturate_cast(x, dtype):
    """Cast after clipping to the target type's range (no wrap-around)."""
    target = np.dtype(dtype)
    t = tensor_of(x)
    if target.kind in "iu":
        info = np.iinfo(target)
        lo, hi = info.min, info.max
    elif target.kind == "f":
        info = np.finfo(target)
        lo, hi = info.min, info.max
    else:
        return _m.cast(t, target)
    if t.dtype.kind == "f":
        lo = max(float(lo), float(np.finfo(t.dtype).min))
        hi = min(float(hi), float(np.finfo(t.dtype).max))
        t = _m.clip(t, np.asarray(lo, t.dtype), np.asarray(hi, t.dtype))
    else:
        t = Tensor(np.clip(t.data, lo, hi))
    return _m.cast(t, target)


def stop_gradient(variable):
    return _m.stop_gradient(variable)


# ---------------------------------------------------------------------------------------
# control flow (eager)
# ---------------------------------------------------------------------------------------
def cond(pred, true_fn, false_fn):
    return true_fn() if bool(np.asarray(data_of(pred))) else false_fn()


def switch(index, branches, *operands):
    position = int(np.clip(int(np.asarray(data_of(index))), 0, len(branches) - 1))
    return branches[position](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    is_sequence = isinstance(loop_vars, (list, tuple))
    state = tuple(loop_vars) if is_sequence else (loop_vars,)
    state = tuple(nest.map_structure(tensor_of, s) for s in state)  # 0 -> int32, as Keras
    steps = 0
    while maximum_iterations is None or steps < maximum_iterations:
        if not bool(np.asarray(data_of(cond(*state)))):
            break
        state = body(*state)
        if not is_sequence:
            state = (state,)
        elif not isinstance(state, (list, tuple)):
            state = (state,)
        steps += 1
    if is_sequence:
        return type(loop_vars)(state) if isinstance(loop_vars, list) else tuple(state)
    return state[0]


def fori_loop(lower, upper, body_fun, init_val):
    value = init_val
    for i in range(int(unwrap(lower)), int(unwrap(upper))):
        value = body_fun(i, value)
    return value


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """`carry, y = f(carry, x)` over the leading axis of `xs` (or `length` steps);
    returns the last carry and the stacked `y`s."""
    if xs is None and length is None:
        raise ValueError("Got no `xs` to scan over and `length` not provided.")
    flat_xs = nest.flatten(xs) if xs is not None else []
    steps = len(data_of(flat_xs[0])) if flat_xs else int(length)
    if length is not None and int(length) != steps:
        raise ValueError(f"The `length` ({length}) does not match the leading dimension of "
                         f"`xs` ({steps}).")
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    carry, outputs = init, []
    for i in order:
        x = None if xs is None else nest.pack_sequence_as(
            xs, [_m.getitem(tensor_of(v), i) for v in flat_xs])
        carry, y = f(carry, x)
        outputs.append(y)
    if reverse:
        outputs.reverse()
    return carry, _stack_structures(outputs)


def _stack_structures(outputs):
    if not outputs or outputs[0] is None:
        return None
    flats = [nest.flatten(o) for o in outputs]
    stacked = [stack([f[i] for f in flats]) for i in range(len(flats[0]))]
    return nest.pack_sequence_as(outputs[0], stacked)


def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive scan of the associative `f` along `axis` (sequentially: same result)."""
    flat = [tensor_of(e) for e in nest.flatten(elems)]
    steps = flat[0].shape[axis]
    order = list(range(steps - 1, -1, -1)) if reverse else list(range(steps))
    results, running = [None] * steps, None

    def element(i):
        index = [builtins.slice(None)] * flat[0].ndim
        index[axis] = builtins.slice(i, i + 1)
        return nest.pack_sequence_as(elems, [_m.getitem(t, tuple(index)) for t in flat])
    for i in order:
        running = element(i) if running is None else f(running, element(i))
        results[i] = running
    flats = [nest.flatten(r) for r in results]
    joined = [_m.concatenate([fl[j] for fl in flats], axis=axis) for j in range(len(flat))]
    return nest.pack_sequence_as(elems, joined)


def map(f, xs):  # noqa: A001 - Keras' name
    flat = nest.flatten(xs)
    steps = len(data_of(flat[0]))
    outputs = [f(nest.pack_sequence_as(xs, [_m.getitem(tensor_of(v), i) for v in flat]))
               for i in range(steps)]
    return _stack_structures(outputs)


def vectorized_map(function, elements):
    return map(function, elements)


# ---------------------------------------------------------------------------------------
# slicing, scattering, segments
# ---------------------------------------------------------------------------------------
def _index_tuple(start_indices, sizes):
    starts = [int(s) for s in np.asarray(data_of(start_indices)).reshape(-1)]
    return tuple(builtins.slice(s, s + n) for s, n in zip(starts, sizes))


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras' name
    t = tensor_of(inputs)
    sizes = [t.shape[i] - int(np.asarray(data_of(start_indices)).reshape(-1)[i]) if n == -1
             else int(n) for i, n in enumerate(shape)]
    return _m.getitem(t, _index_tuple(start_indices, sizes))


def slice_update(inputs, start_indices, updates):
    t, u = tensor_of(inputs), tensor_of(updates)
    region = _index_tuple(start_indices, u.shape)
    out = t.data.copy()
    out[region] = u.data

    def backward(g, needs):
        g_inputs = None
        if needs[0]:
            g_inputs = g.copy()
            g_inputs[region] = 0
        return g_inputs, (g[region] if needs[1] else None)
    return record(out, (t, u), backward)


def _scatter_positions(indices):
    idx = np.asarray(data_of(indices)).astype(np.intp)
    return tuple(np.moveaxis(idx, -1, 0))


def scatter(indices, values, shape):
    """Zeros of `shape` with `values` added at `indices` (repeated indices add up)."""
    v = tensor_of(values)
    positions = _scatter_positions(indices)
    out = np.zeros(tuple(int(n) for n in shape), v.dtype)
    np.add.at(out, positions, v.data)
    return record(out, (v,), lambda g, needs: (g[positions],))


def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with the entries at `indices` replaced by `updates` (or combined with them
    by `reduction`: "add", "max", "min", "mul")."""
    reducers = {"add": np.add, "max": np.maximum, "min": np.minimum, "mul": np.multiply}
    if reduction is not None and reduction not in reducers:
        raise ValueError("Unsupported `reduction`: "
                         f"{reduction}. Expected one of None, 'add', 'max', 'min', 'mul'.")
    t, u = tensor_of(inputs), tensor_of(updates)
    positions = _scatter_positions(indices)
    out = t.data.copy()
    if reduction is None:
        out[positions] = u.data
    else:
        reducers[reduction].at(out, positions, u.data.astype(out.dtype))
    if reduction not in (None, "add"):
        return Tensor(out)

    def backward(g, needs):
        g_inputs = g_updates = None
        if needs[0]:
            g_inputs = g.copy()
            if reduction is None:
                g_inputs[positions] = 0
        if needs[1]:
            g_updates = g[positions]
        return g_inputs, g_updates
    return record(out, (t, u), backward)


def _segment_ids(segment_ids, num_segments):
    ids = np.asarray(data_of(segment_ids)).astype(np.intp)
    count = int(ids.max()) + 1 if num_segments is None and ids.size else int(num_segments or 0)
    return ids, count


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    t = tensor_of(data)
    ids, count = _segment_ids(segment_ids, num_segments)
    valid = (ids >= 0) & (ids < count)
    out = np.zeros((count,) + t.shape[1:], t.dtype)
    np.add.at(out, ids[valid], t.data[valid])

    def backward(g, needs):
        grad = np.zeros_like(t.data)
        grad[valid] = g[ids[valid]]
        return (grad,)
    return record(out, (t,), backward)


def _segment_extreme(data, segment_ids, num_segments, reducer, empty):
    t = tensor_of(data)
    ids, count = _segment_ids(segment_ids, num_segments)
    valid = (ids >= 0) & (ids < count)
    out = np.full((count,) + t.shape[1:], empty(t.dtype), t.dtype)
    reducer.at(out, ids[valid], t.data[valid])

    def backward(g, needs):
        # Every element equal to its segment's extreme shares that segment's gradient.
        hits = np.zeros_like(t.data)
        hits[valid] = (t.data[valid] == out[ids[valid]])
        counts = np.zeros_like(out)
        np.add.at(counts, ids[valid], hits[valid])
        grad = np.zeros_like(t.data)
        grad[valid] = hits[valid] * g[ids[valid]] / np.maximum(counts[ids[valid]], 1)
        return (grad,)
    return record(out, (t,), backward)


def _lowest(dtype):
    return np.finfo(dtype).min if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min


def _highest(dtype):
    return np.finfo(dtype).max if np.dtype(dtype).kind == "f" else np.iinfo(dtype).max


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    return _segment_extreme(data, segment_ids, num_segments, np.maximum, _lowest)


def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    return _segment_extreme(data, segment_ids, num_segments, np.minimum, _highest)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    t = tensor_of(data)
    ids, count = _segment_ids(segment_ids, num_segments)
    valid = (ids >= 0) & (ids < count)
    out = np.ones((count,) + t.shape[1:], t.dtype)
    np.multiply.at(out, ids[valid], t.data[valid])
    return Tensor(out)


def top_k(x, k, sorted=True):  # noqa: A002
    """The `k` largest entries along the last axis and their int32 indices (ties: lower
    index first, as `tf.math.top_k`)."""
    t = tensor_of(x)
    if k > t.shape[-1]:
        raise ValueError(f"`k` ({k}) must be at most the size of the last axis "
                         f"({t.shape[-1]}). Received: x.shape={t.shape}")
    order = np.argsort(-t.data if t.dtype.kind != "b" else ~t.data, axis=-1, kind="stable")
    picked = order[..., :k]
    values = _m.getitem(t, tuple(np.indices(picked.shape, sparse=True)[:-1]) + (picked,))
    return values, Tensor(picked.astype(np.int32))


def in_top_k(targets, predictions, k):
    """Whether each target's prediction is among the `k` largest of its row (ties count as
    in, as `tf.math.in_top_k`)."""
    scores = data_of(predictions)
    labels = np.asarray(data_of(targets)).astype(np.intp)
    target_scores = np.take_along_axis(scores, labels[:, None], axis=-1)
    larger = np.sum(scores > target_scores, axis=-1)
    return Tensor((larger < k) & np.isfinite(target_scores[:, 0]))


def unstack(x, num=None, axis=0):
    t = tensor_of(x)
    count = t.shape[axis]
    if num is not None and num != count:
        raise ValueError(f"Cannot unstack {count} items into {num}: `num` must match "
                         f"x.shape[{axis}] (x.shape={t.shape})")
    pieces = _m.split(t, count, axis=axis)
    return [_m.squeeze(p, axis=axis) for p in pieces]


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` along the last axis, every `sequence_stride` samples."""
    t = tensor_of(x)
    frames = 1 + (t.shape[-1] - sequence_length) // sequence_stride
    index = (np.arange(frames)[:, None] * sequence_stride + np.arange(sequence_length)[None])
    return _m.gather(t, index, axis=t.ndim - 1)


def custom_gradient(f):
    """Decorator: `f(*args)` returns `(output, grad_fn)`; the tape uses `grad_fn(upstream)`
    (one gradient per argument) instead of differentiating `f`."""
    def wrapper(*args):
        tensors = tuple(tensor_of(a) for a in args)
        with stop_recording():
            output, grad_fn = f(*tensors)

        def backward(g, needs):
            grads = grad_fn(Tensor(g))
            grads = grads if isinstance(grads, (list, tuple)) else (grads,)
            return tuple(None if gr is None else np.asarray(data_of(gr)) for gr in grads)
        return record(data_of(output), tensors, backward)
    wrapper.__name__ = getattr(f, "__name__", "custom_gradient")
    return wrapper


def is_variable(x):
    return isinstance(x, Variable)


# ---------------------------------------------------------------------------------------
# special functions and Fourier transforms (`keras.ops.math`)
# ---------------------------------------------------------------------------------------
def erf(x):
    return _m.erf(as_float(x))


def erfc(x):
    return _m.erfc(as_float(x))


def erfinv(x):
    """Inverse error function: Giles' single-precision approximation refined by two Newton
    steps in float64; gradient `sqrt(pi) / 2 * exp(y^2)`."""
    t = as_float(x)
    xd = t.data.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1 - xd) * (1 + xd))
        central = w < 5
        wc, wt = w - 2.5, np.sqrt(w) - 3
        p_c = np.polyval([2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                          0.00021858087, -0.00125372503, -0.00417768164, 0.246640727,
                          1.50140941], wc)
        p_t = np.polyval([-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                          0.00573950773, -0.0076224613, 0.00943887047, 1.00167406,
                          2.83297682], wt)
        y = np.where(central, p_c, p_t) * xd
        for _ in range(2):
            finite = np.isfinite(y)
            error = np.where(finite, erf_array(np.where(finite, y, 0)) - xd, 0)
            y = y - error / (2 / np.sqrt(np.pi) * np.exp(-y * y))
    out = y.astype(t.dtype)
    return record(out, (t,), lambda g, needs: (g * (np.sqrt(np.pi) / 2 *
                                                    np.exp(np.square(out))).astype(g.dtype),))


def _complex_input(x, name):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"Input `x` should be a tuple of two tensors - real and imaginary. "
                         f"Received: x={x}")
    real, imag = data_of(x[0]), data_of(x[1])
    if real.shape != imag.shape:
        raise ValueError("Input `x` should be a tuple of two tensors - real and imaginary. Both "
                         f"the real and imaginary parts should have the same shape. Received: "
                         f"x[0].shape = {real.shape}, x[1].shape = {imag.shape}")
    if real.dtype.kind != "f":
        raise ValueError(f"At least one tensor in input `x` is not of type float. "
                         f"Received: x={x}.")
    return real + 1j * imag.astype(real.dtype), real.dtype


def _split_complex(values, dtype):
    return Tensor(np.real(values).astype(dtype)), Tensor(np.imag(values).astype(dtype))


def fft(x):
    values, dtype = _complex_input(x, "x")
    return _split_complex(np.fft.fft(values, axis=-1), dtype)


def fft2(x):
    values, dtype = _complex_input(x, "x")
    return _split_complex(np.fft.fft2(values, axes=(-2, -1)), dtype)


def ifft2(x):
    values, dtype = _complex_input(x, "x")
    return _split_complex(np.fft.ifft2(values, axes=(-2, -1)), dtype)


def rfft(x, fft_length=None):
    d = data_of(as_float(x))
    return _split_complex(np.fft.rfft(d, n=fft_length, axis=-1), d.dtype)


def irfft(x, fft_length=None):
    values, dtype = _complex_input(x, "x")
    return Tensor(np.fft.irfft(values, n=fft_length, axis=-1).astype(dtype))


def view_as_complex(x):
    d = data_of(x)
    if d.shape[-1] != 2:
        raise ValueError(f"Last dimension of input must be size 2 (real, imag). "
                         f"Received shape: {d.shape}")
    return Tensor(d[..., 0] + 1j * d[..., 1])


def view_as_real(x):
    d = data_of(x)
    return Tensor(np.stack([np.real(d), np.imag(d)], axis=-1))


def polar(abs_, angle):
    magnitude, phase = data_of(abs_), data_of(angle)
    return Tensor(magnitude * np.cos(phase) + 1j * magnitude * np.sin(phase))


def cdist(x, y):
    """Euclidean distances between the rows of `x` and `y` (batched over leading axes)."""
    a, b = as_float(x), as_float(y)
    difference = _m.subtract(_m.expand_dims(a, -2), _m.expand_dims(b, -3))
    return _m.sqrt(_m.sum(_m.square(difference), axis=-1))


def _periodic_window(name, length, dtype):
    """TensorFlow's periodic raised-cosine window: the period is `length` for even lengths,
    `length - 1` (the symmetric window) for odd ones."""
    period = length if length % 2 == 0 else length - 1
    phase = 2 * np.pi * np.arange(length) / max(period, 1)
    if name == "hann":
        return (0.5 - 0.5 * np.cos(phase)).astype(dtype)
    return (0.54 - 0.46 * np.cos(phase)).astype(dtype)


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform along the last axis: `(real, imag)`, each
    `(..., frames, fft_length // 2 + 1)`, as Keras 3 on TensorFlow (periodic windows centred
    in `fft_length`, reflect padding of `fft_length // 2` when `center`)."""
    d = data_of(x)
    if d.dtype not in (np.float32, np.float64):
        raise TypeError("Invalid input type. Expected `float32` or `float64`. "
                        f"Received: input type={d.dtype}")
    if fft_length < sequence_length:
        raise ValueError("`fft_length` must equal or larger than `sequence_length`. "
                         f"Received: sequence_length={sequence_length}, "
                         f"fft_length={fft_length}")
    if isinstance(window, str) and window not in ("hann", "hamming"):
        raise ValueError("If a string is passed to `window`, it must be one of `\"hann\"`, "
                         f"`\"hamming\"`. Received: window={window}")
    if center:
        pads = [(0, 0)] * (d.ndim - 1) + [(fft_length // 2, fft_length // 2)]
        d = np.pad(d, pads, mode="reflect")
    left = (fft_length - sequence_length) // 2
    weights = np.ones(fft_length, d.dtype)
    if window is not None:
        weights = _periodic_window(window, sequence_length, d.dtype) if isinstance(window, str) \
            else np.asarray(data_of(window), d.dtype)
        if weights.shape != (sequence_length,):
            raise ValueError("The shape of `window` must be equal to [sequence_length]."
                             f"Received: window shape={weights.shape}")
        weights = np.pad(weights, (left, fft_length - sequence_length - left))
    frames = 1 + (d.shape[-1] - fft_length) // sequence_stride
    index = np.arange(frames)[:, None] * sequence_stride + np.arange(fft_length)[None]
    spectrum = np.fft.rfft(d[..., index] * weights, n=fft_length, axis=-1)
    return _split_complex(spectrum, d.dtype)


def _axis_groups(side):
    """'b (h p) w' -> [['b'], ['h', 'p'], ['w']]."""
    groups, current = [], None
    for token in side.replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            if current is not None:
                raise ValueError(f"Nested parentheses in rearrange pattern side: {side!r}")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"Unbalanced parentheses in rearrange pattern side: {side!r}")
            groups.append(current)
            current = None
        elif current is not None:
            current.append(token)
        else:
            groups.append([token])
    if current is not None:
        raise ValueError(f"Unbalanced parentheses in rearrange pattern side: {side!r}")
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """einops-style `rearrange`: split grouped input axes, permute, merge groups
    (`"b (h p1) (w p2) c -> b h w (p1 p2 c)"`, sizes of split axes in `axes_lengths`)."""
    t = tensor_of(tensor)
    if "->" not in pattern:
        raise ValueError(f"The rearrange pattern needs '->'. Received: pattern={pattern!r}")
    left, right = pattern.split("->")
    inputs, outputs = _axis_groups(left), _axis_groups(right)
    if len(inputs) != t.ndim:
        raise ValueError(f"The pattern's input side has {len(inputs)} axes but the tensor has "
                         f"{t.ndim}: pattern={pattern!r}, tensor.shape={t.shape}")
    sizes = dict(axes_lengths)
    for group, dim in zip(inputs, t.shape):
        unknown = [a for a in group if a not in sizes]
        known = int(np.prod([sizes[a] for a in group if a in sizes]))
        if len(unknown) > 1:
            raise ValueError(f"Could not infer the sizes of {unknown} in {pattern!r}: pass "
                             "them as keyword arguments.")
        if unknown:
            sizes[unknown[0]] = dim // known
    elementary = [a for group in inputs for a in group]
    targets = [a for group in outputs for a in group]
    if sorted(elementary) != sorted(targets):
        raise ValueError(f"Both sides of {pattern!r} must name the same axes.")
    split = _m.reshape(t, [sizes[a] for a in elementary])
    moved = _m.transpose(split, [elementary.index(a) for a in targets])
    return _m.reshape(moved, [int(np.prod([sizes[a] for a in group])) for group in outputs])


def _inverse_window(weights, step):
    """The forward window divided by the sum of the squared windows overlapping each sample
    (TensorFlow's `inverse_stft_window_fn`)."""
    length = len(weights)
    overlaps = -(-length // step)
    squares = np.pad(np.square(weights), (0, overlaps * step - length)).reshape(overlaps, step)
    denominator = np.tile(squares.sum(axis=0), overlaps)[:length]
    return weights / denominator


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """Inverse of `stft`: inverse FFT of each frame, the inverse window, overlap-add."""
    spectrum, dtype = _complex_input(x, "x")
    frames = np.fft.irfft(spectrum, n=fft_length, axis=-1).astype(dtype)
    left = (fft_length - sequence_length) // 2
    if window is not None:
        weights = _periodic_window(window, sequence_length, dtype) if isinstance(window, str) \
            else np.asarray(data_of(window), dtype)
        if weights.shape != (sequence_length,):
            raise ValueError("The shape of `window` must be equal to [sequence_length]."
                             f"Received: window shape={weights.shape}")
        weights = np.pad(weights, (left, fft_length - sequence_length - left))
        frames = frames * _inverse_window(weights, sequence_stride).astype(dtype)
    count = frames.shape[-2]
    total = fft_length + sequence_stride * (count - 1)
    signal = np.zeros(frames.shape[:-2] + (total,), dtype)
    for i in range(count):
        signal[..., i * sequence_stride:i * sequence_stride + fft_length] += frames[..., i, :]
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = total - fft_length // 2 if center else total
    return Tensor(signal[..., start:end])
