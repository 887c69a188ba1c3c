"""The Keras 3 `keras.ops.numpy` names, with Keras 3's signatures and dtype rules.

Differentiable ops are built from the ops of `math.py` (or carry a hand-derived backward);
the rest are NumPy pass-throughs. Dtype rules follow Keras 3: Python floats and float lists
become floatx, Python ints and int lists int32, indices and counts come back as int32, and a
float tensor meeting an integer one keeps the float's dtype.
"""
import builtins

import numpy as np

from ..core import config
from ..core.tensor import Tensor, is_recording, is_tracked, record, unbroadcast, unwrap
from . import math as _m
from .einsum import einsum as _einsum


# ---------------------------------------------------------------------------------------
# conversion and dtype rules
# ---------------------------------------------------------------------------------------
def data_of(x):
    """The NumPy array of `x`, converted as Keras 3's `convert_to_tensor` does."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    array = np.asarray(x)
    if array.dtype == np.float64:
        return array.astype(config.floatx())
    if array.dtype == np.int64:
        return array.astype(np.int32)
    return array


def tensor_of(x):
    """`x` as a Tensor (a Tensor is kept as it is, so gradients still flow through it)."""
    return x if isinstance(x, Tensor) else Tensor(data_of(x))


def _float_dtype(*arrays):
    """The float dtype an op on `arrays` computes in: the widest float among them, else
    floatx (Keras 3 turns integer inputs of a float op into floatx)."""
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return np.result_type(*floats) if floats else np.dtype(config.floatx())


def as_float(x):
    """`x` as a float Tensor: floats unchanged (gradients flow), integers and bools cast to
    floatx."""
    t = tensor_of(x)
    return t if t.dtype.kind == "f" else Tensor(t.data.astype(config.floatx()))


def _promoted_pair(x1, x2):
    """Both operands as Tensors of one dtype, by Keras 3's promotion of a pair: a float meets
    an integer or bool as that float; two of a kind take NumPy's wider type. Python numbers
    are weak: they take the other operand's type."""
    fast = _same_float_pair(x1, x2)
    if fast is not None:
        return fast
    weak1 = isinstance(x1, (int, float, bool)) and not isinstance(x1, Tensor)
    weak2 = isinstance(x2, (int, float, bool)) and not isinstance(x2, Tensor)
    t1, t2 = tensor_of(x1), tensor_of(x2)
    a, b = t1.data, t2.data
    if weak1 and not weak2:
        target = b.dtype if not (isinstance(x1, float) and b.dtype.kind != "f") else \
            np.dtype(config.floatx())
    elif weak2 and not weak1:
        target = a.dtype if not (isinstance(x2, float) and a.dtype.kind != "f") else \
            np.dtype(config.floatx())
    elif a.dtype.kind == "f" and b.dtype.kind != "f":
        target = a.dtype
    elif b.dtype.kind == "f" and a.dtype.kind != "f":
        target = b.dtype
    else:
        target = np.result_type(a.dtype, b.dtype)
    return _m.cast(t1, target) if a.dtype != target else t1, \
        _m.cast(t2, target) if b.dtype != target else t2


def _on_promoted_pair(fn):
    """The non-differentiable NumPy binary function `fn` as an op: its operands promoted as a
    pair (`_promoted_pair`), its result a Tensor (comparisons, fmod, kron...)."""
    def op(x1, x2):
        a, b = _promoted_pair(x1, x2)
        return Tensor(np.asarray(fn(a.data, b.data)))
    op.__name__ = fn.__name__
    return op


def _same_float_pair(x1, x2):
    """The common cases in one step: two Tensors of one dtype, or a float Tensor and a Python
    number (which takes the Tensor's dtype)."""
    if isinstance(x1, Tensor):
        if isinstance(x2, Tensor):
            return (x1, x2) if x1.data.dtype == x2.data.dtype else None
        if type(x2) in (int, float) and x1.data.dtype.kind == "f":
            return x1, Tensor(np.asarray(x2, x1.data.dtype))
    elif isinstance(x2, Tensor) and type(x1) in (int, float) and x2.data.dtype.kind == "f":
        return Tensor(np.asarray(x1, x2.data.dtype)), x2
    return None


def _result_dtype(x, dtype):
    return np.dtype(config.floatx()) if dtype is None else np.dtype(dtype)


def _int_result(array):
    """Indices and counts as int32 (Keras 3's default integer type)."""
    return Tensor(np.asarray(array).astype(np.int32))


def _axis_tuple(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (list, tuple)) else (axis,)
    return tuple(sorted(a % ndim for a in axes)) if ndim else ()


# ---------------------------------------------------------------------------------------
# creation
# ---------------------------------------------------------------------------------------
def arange(start, stop=None, step=None, dtype=None):
    if dtype is None:
        values = [v for v in (start, stop, step) if v is not None]
        is_float = builtins.any(np.asarray(unwrap(v)).dtype.kind == "f" for v in values)
        dtype = config.floatx() if is_float else "int32"
    step = 1 if step is None else unwrap(step)
    if stop is None:
        start, stop = 0, start
    return Tensor(np.arange(unwrap(start), unwrap(stop), step, dtype=np.float64
                            if np.dtype(dtype).kind == "f" else None).astype(dtype))


def zeros(shape, dtype=None):
    return Tensor(np.zeros(_shape_tuple(shape), _result_dtype(None, dtype)))


def ones(shape, dtype=None):
    return Tensor(np.ones(_shape_tuple(shape), _result_dtype(None, dtype)))


def empty(shape, dtype=None):
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None):
    return Tensor(np.full(_shape_tuple(shape), data_of(fill_value), _result_dtype(None, dtype)))


def zeros_like(x, dtype=None):
    d = data_of(x)
    return Tensor(np.zeros(d.shape, d.dtype if dtype is None else dtype))


def ones_like(x, dtype=None):
    d = data_of(x)
    return Tensor(np.ones(d.shape, d.dtype if dtype is None else dtype))


def empty_like(x, dtype=None):
    return zeros_like(x, dtype)


def full_like(x, fill_value, dtype=None):
    d = data_of(x)
    return Tensor(np.full(d.shape, data_of(fill_value), d.dtype if dtype is None else dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras' argument names
    return Tensor(np.eye(N, M, k, dtype=_result_dtype(None, dtype)))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    return Tensor(np.tri(N, M, k, dtype=_result_dtype(None, dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    dtype = _result_dtype(None, dtype)
    values, step = np.linspace(unwrap(start), unwrap(stop), num, endpoint=endpoint,
                               retstep=True, axis=axis)
    out = Tensor(np.asarray(values).astype(dtype))
    return (out, Tensor(np.asarray(step).astype(dtype))) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    values = np.logspace(unwrap(start), unwrap(stop), num, endpoint=endpoint, base=base,
                         axis=axis)
    return Tensor(values.astype(_result_dtype(None, dtype)))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    values = np.geomspace(unwrap(start), unwrap(stop), num, endpoint=endpoint, axis=axis)
    return Tensor(values.astype(_result_dtype(None, dtype)))


def array(x, dtype=None):
    return Tensor(data_of(x) if dtype is None else np.asarray(data_of(x), dtype))


def copy(x):
    return _m.multiply(tensor_of(x), 1) if isinstance(x, Tensor) else Tensor(data_of(x).copy())


def _shape_tuple(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(unwrap(s)) for s in shape)


# ---------------------------------------------------------------------------------------
# elementwise math (differentiable)
# ---------------------------------------------------------------------------------------
def _unary(name, fn, derivative, zero_without_gradient=False):
    """A float elementwise op `fn` with gradient `g * derivative(x, out)`;
    `zero_without_gradient`: 0 where g is 0 even if the derivative is infinite (tf's
    RsqrtGrad / ReciprocalGrad at 0)."""
    def op(x):
        t = as_float(x)
        xd = t.data
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.asarray(fn(xd)).astype(xd.dtype, copy=False)

        def backward(g, needs):
            with np.errstate(divide="ignore", invalid="ignore"):
                grad = g * derivative(xd, out).astype(g.dtype, copy=False)
            if zero_without_gradient and not np.all(np.isfinite(out)):
                grad = np.where(np.equal(g, 0), np.zeros((), grad.dtype), grad)
            return (grad,)
        return record(out, (t,), backward)
    op.__name__ = op.__qualname__ = name
    return op


_LN2, _LN10 = np.log(2.0), np.log(10.0)
log2 = _unary("log2", np.log2, lambda x, y: 1 / (x * np.asarray(_LN2, x.dtype)))
log10 = _unary("log10", np.log10, lambda x, y: 1 / (x * np.asarray(_LN10, x.dtype)))
exp2 = _unary("exp2", np.exp2, lambda x, y: y * np.asarray(_LN2, x.dtype))
rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda x, y: -0.5 * y / x, True)
reciprocal = _unary("reciprocal", np.reciprocal, lambda x, y: -y * y, True)
cbrt = _unary("cbrt", np.cbrt, lambda x, y: 1 / (3 * y * y))
tan = _unary("tan", np.tan, lambda x, y: 1 + y * y)
sinh = _unary("sinh", np.sinh, lambda x, y: np.cosh(x))
cosh = _unary("cosh", np.cosh, lambda x, y: np.sinh(x))
arcsin = _unary("arcsin", np.arcsin, lambda x, y: 1 / np.sqrt(1 - x * x))
arccos = _unary("arccos", np.arccos, lambda x, y: -1 / np.sqrt(1 - x * x))
arctan = _unary("arctan", np.arctan, lambda x, y: 1 / (1 + x * x))
arcsinh = _unary("arcsinh", np.arcsinh, lambda x, y: 1 / np.sqrt(x * x + 1))
arccosh = _unary("arccosh", np.arccosh, lambda x, y: 1 / np.sqrt(x * x - 1))
arctanh = _unary("arctanh", np.arctanh, lambda x, y: 1 / (1 - x * x))
sinc = _unary("sinc", np.sinc, lambda x, y: np.where(
    x == 0, 0, (np.cos(np.pi * x) - y) / np.where(x == 0, 1, x)))


def _float_unary(op):
    """An op of math.py applied after integer inputs become floatx (Keras 3's rule)."""
    def apply(x):
        return op(as_float(x))
    apply.__name__ = op.__name__
    return apply


sqrt = _float_unary(_m.sqrt)
exp = _float_unary(_m.exp)
log = _float_unary(_m.log)
log1p = _float_unary(_m.log1p)
expm1 = _float_unary(_m.expm1)
sin = _float_unary(_m.sin)
cos = _float_unary(_m.cos)
tanh = _float_unary(_m.tanh)


def absolute(x):
    return _m.abs(tensor_of(x))


fabs = absolute


def square(x):
    return _m.square(tensor_of(x))


def negative(x):
    return _m.negative(tensor_of(x))


def sign(x):
    return _m.sign(tensor_of(x))


def ceil(x):
    d = data_of(x)
    return Tensor(np.ceil(d).astype(_float_dtype(d)))


def floor(x):
    d = data_of(x)
    return Tensor(np.floor(d).astype(_float_dtype(d)))


def trunc(x):
    d = data_of(x)
    return Tensor(np.trunc(d))


def round(x, decimals=0):  # noqa: A001
    d = data_of(x)
    return Tensor(np.round(d, decimals))


def signbit(x):
    return Tensor(np.signbit(data_of(x)))


def deg2rad(x):
    t = as_float(x)
    return _m.multiply(t, np.asarray(np.pi / 180, t.dtype))


def rad2deg(x):
    t = as_float(x)
    return _m.multiply(t, np.asarray(180 / np.pi, t.dtype))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    d = data_of(x)
    return Tensor(np.nan_to_num(d, nan=nan, posinf=posinf, neginf=neginf))


def clip(x, x_min, x_max):
    t = tensor_of(x)
    if t.dtype == bool:
        t = Tensor(t.data.astype(np.int32))
    return _m.clip(t, x_min, x_max)


# ---------------------------------------------------------------------------------------
# binary arithmetic (differentiable, Keras 3 promotion)
# ---------------------------------------------------------------------------------------
def add(x1, x2):
    return _m.add(*_promoted_pair(x1, x2))


def subtract(x1, x2):
    return _m.subtract(*_promoted_pair(x1, x2))


def multiply(x1, x2):
    return _m.multiply(*_promoted_pair(x1, x2))


def divide(x1, x2):
    a, b = _promoted_pair(x1, x2)
    if a.dtype.kind != "f":
        a, b = as_float(a), as_float(b)
    return _m.divide(a, b)


true_divide = divide


def divide_no_nan(x1, x2):
    a, b = _promoted_pair(x1, x2)
    if a.dtype.kind != "f":
        a, b = as_float(a), as_float(b)
    return _m.divide_no_nan(a, b)


def power(x1, x2):
    return _m.power(*_promoted_pair(x1, x2))


def maximum(x1, x2):
    return _m.maximum(*_promoted_pair(x1, x2))


def minimum(x1, x2):
    return _m.minimum(*_promoted_pair(x1, x2))


fmax = _on_promoted_pair(np.fmax)
fmin = _on_promoted_pair(np.fmin)
floor_divide = _on_promoted_pair(np.floor_divide)


def mod(x1, x2):
    """`x1 mod x2` (the divisor's sign, as np.mod); for floats differentiable as tf's FloorMod
    (Keras 3's TF backend): the gradient to x1, times -floor(x1 / x2) to x2."""
    a, b = _promoted_pair(x1, x2)
    ad, bd = a.data, b.data
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(np.mod(ad, bd))
    if out.dtype.kind != "f":
        return Tensor(out)

    def backward(g, needs):
        with np.errstate(divide="ignore", invalid="ignore"):
            quotient = np.floor_divide(ad, bd)
        return (unbroadcast(g, np.shape(ad)) if needs[0] else None,
                unbroadcast(-g * quotient, np.shape(bd)) if needs[1] else None)
    return record(out, (a, b), backward)


fmod = _on_promoted_pair(np.fmod)


def logaddexp(x1, x2):
    """`log(exp(x1) + exp(x2))`, stably, with gradients `softmax` of the pair."""
    a, b = _promoted_pair(as_float(x1), as_float(x2))
    ad, bd = a.data, b.data
    out = np.logaddexp(ad, bd)

    def backward(g, needs):
        wa = np.exp(ad - out)
        wb = np.exp(bd - out)
        return (unbroadcast(g * wa, ad.shape) if needs[0] else None,
                unbroadcast(g * wb, bd.shape) if needs[1] else None)
    return record(out, (a, b), backward)


def logaddexp2(x1, x2):
    a, b = _promoted_pair(as_float(x1), as_float(x2))
    ln2 = np.asarray(_LN2, a.dtype)
    return _m.divide(logaddexp(_m.multiply(a, ln2), _m.multiply(b, ln2)), ln2)


def hypot(x1, x2):
    a, b = _promoted_pair(as_float(x1), as_float(x2))
    return _m.sqrt(_m.add(_m.square(a), _m.square(b)))


def arctan2(x1, x2):
    a, b = _promoted_pair(as_float(x1), as_float(x2))
    ad, bd = a.data, b.data
    out = np.arctan2(ad, bd)

    def backward(g, needs):
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = ad * ad + bd * bd
            return (unbroadcast(g * bd / denom, ad.shape) if needs[0] else None,
                    unbroadcast(-g * ad / denom, bd.shape) if needs[1] else None)
    return record(out, (a, b), backward)


def heaviside(x1, x2):
    a, b = _promoted_pair(x1, x2)
    return Tensor(np.heaviside(a.data, b.data).astype(a.dtype))


def ldexp(x1, x2):
    d = data_of(x1)
    return Tensor(np.ldexp(d, data_of(x2)).astype(_float_dtype(d)))


def nextafter(x1, x2):
    a, b = _promoted_pair(as_float(x1), as_float(x2))
    return Tensor(np.nextafter(a.data, b.data))


def gcd(x1, x2):
    return Tensor(np.gcd(data_of(x1), data_of(x2)))


def lcm(x1, x2):
    return Tensor(np.lcm(data_of(x1), data_of(x2)))


# ---------------------------------------------------------------------------------------
# comparisons and logic (not differentiable, boolean results)
# ---------------------------------------------------------------------------------------
equal = _on_promoted_pair(np.equal)
not_equal = _on_promoted_pair(np.not_equal)
greater = _on_promoted_pair(np.greater)
greater_equal = _on_promoted_pair(np.greater_equal)
less = _on_promoted_pair(np.less)
less_equal = _on_promoted_pair(np.less_equal)


def logical_and(x1, x2):
    return Tensor(np.logical_and(data_of(x1), data_of(x2)))


def logical_or(x1, x2):
    return Tensor(np.logical_or(data_of(x1), data_of(x2)))


def logical_xor(x1, x2):
    return Tensor(np.logical_xor(data_of(x1), data_of(x2)))


def logical_not(x):
    return Tensor(np.logical_not(data_of(x)))


def isnan(x):
    return Tensor(np.isnan(data_of(x)))


def isinf(x):
    return Tensor(np.isinf(data_of(x)))


def isfinite(x):
    return Tensor(np.isfinite(data_of(x)))


def isneginf(x):
    return Tensor(np.isneginf(data_of(x)))


def isposinf(x):
    return Tensor(np.isposinf(data_of(x)))


def isreal(x):
    return Tensor(np.isreal(data_of(x)))


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _promoted_pair(x1, x2)
    return Tensor(np.isclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _promoted_pair(x1, x2)
    return Tensor(np.asarray(np.allclose(a.data, b.data, rtol=rtol, atol=atol,
                                         equal_nan=equal_nan)))


def isin(x1, x2, assume_unique=False, invert=False):
    return Tensor(np.isin(data_of(x1), data_of(x2), assume_unique=assume_unique, invert=invert))


def _bitwise(fn):
    def op(x, y):
        return Tensor(np.asarray(fn(data_of(x), data_of(y))))
    op.__name__ = fn.__name__
    return op


bitwise_and = _bitwise(np.bitwise_and)
bitwise_or = _bitwise(np.bitwise_or)
bitwise_xor = _bitwise(np.bitwise_xor)
bitwise_left_shift = left_shift = _bitwise(np.left_shift)
bitwise_right_shift = right_shift = _bitwise(np.right_shift)


def bitwise_invert(x):
    return Tensor(np.invert(data_of(x)))


bitwise_not = bitwise_invert


# ---------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------
def _reduction_input(x):
    t = tensor_of(x)
    return Tensor(t.data.astype(np.int32)) if t.dtype == bool else t


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return _m.sum(_reduction_input(x), axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return _m.mean(as_float(x), axis=axis, keepdims=keepdims)


def _with_initial(out, initial, pick):
    return out if initial is None else pick(out, initial)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    out = _m.max(_reduction_input(x), axis=axis, keepdims=keepdims)
    return _with_initial(out, initial, maximum)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    out = _m.min(_reduction_input(x), axis=axis, keepdims=keepdims)
    return _with_initial(out, initial, minimum)


def amax(x, axis=None, keepdims=False):
    return max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    return min(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    t = _reduction_input(x)
    if dtype is not None:
        t = _m.cast(t, dtype)
    return _m.prod(t, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return _m.var(as_float(x), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return _m.std(as_float(x), axis=axis, keepdims=keepdims)


def ptp(x, axis=None, keepdims=False):
    return subtract(max(x, axis, keepdims), min(x, axis, keepdims))


def any(x, axis=None, keepdims=False):  # noqa: A001
    return Tensor(np.asarray(np.any(data_of(x), axis=_axis_arg(axis), keepdims=keepdims)))


def all(x, axis=None, keepdims=False):  # noqa: A001
    return Tensor(np.asarray(np.all(data_of(x), axis=_axis_arg(axis), keepdims=keepdims)))


def _axis_arg(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def count_nonzero(x, axis=None):
    return _int_result(np.count_nonzero(data_of(x), axis=_axis_arg(axis)))


def average(x, axis=None, weights=None):
    t = as_float(x)
    if weights is None:
        return mean(t, axis=axis)
    w = as_float(weights)
    if w.ndim == 1 and t.ndim > 1 and axis is not None:
        shape = [1] * t.ndim
        shape[axis % t.ndim] = -1
        w = _m.reshape(w, shape)
    t, w = _promoted_pair(t, w)
    return _m.divide(_m.sum(_m.multiply(t, w), axis=axis), _m.sum(_m.broadcast_to(
        w, np.broadcast_shapes(t.shape, w.shape)), axis=axis))


def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def quantile(x, q, axis=None, method="linear", keepdims=False):
    d = data_of(x)
    dtype = _float_dtype(d)
    out = np.quantile(d.astype(np.float64), np.asarray(unwrap(q), np.float64),
                      axis=_axis_arg(axis), method=method, keepdims=keepdims)
    return Tensor(np.asarray(out).astype(dtype))


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return quantile(x, np.asarray(unwrap(q), np.float64) / 100, axis=axis, method=method,
                    keepdims=keepdims)


def _nan_reduction(fn, keep_int=False):
    def op(x, axis=None, keepdims=False):
        d = data_of(x)
        out = np.asarray(fn(d, axis=_axis_arg(axis), keepdims=keepdims))
        return Tensor(out.astype(d.dtype if keep_int or d.dtype.kind == "f" else _float_dtype(d)))
    op.__name__ = fn.__name__
    return op


nansum = _nan_reduction(np.nansum, keep_int=True)
nanprod = _nan_reduction(np.nanprod, keep_int=True)
nanmax = _nan_reduction(np.nanmax, keep_int=True)
nanmin = _nan_reduction(np.nanmin, keep_int=True)
nanmean = _nan_reduction(np.nanmean)
nanvar = _nan_reduction(np.nanvar)
nanstd = _nan_reduction(np.nanstd)
nanmedian = _nan_reduction(np.nanmedian)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    d = data_of(x)
    out = np.nanquantile(d.astype(np.float64), np.asarray(unwrap(q), np.float64),
                         axis=_axis_arg(axis), method=method, keepdims=keepdims)
    return Tensor(np.asarray(out).astype(_float_dtype(d)))


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return nanquantile(x, np.asarray(unwrap(q), np.float64) / 100, axis=axis, method=method,
                       keepdims=keepdims)


def nanargmax(x, axis=None, keepdims=False):
    return _int_result(np.nanargmax(data_of(x), axis=axis, keepdims=keepdims))


def nanargmin(x, axis=None, keepdims=False):
    return _int_result(np.nanargmin(data_of(x), axis=axis, keepdims=keepdims))


def nancumsum(x, axis=None, dtype=None):
    return cumsum(Tensor(np.nan_to_num(data_of(x), nan=0)), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    d = data_of(x)
    return cumprod(Tensor(np.where(np.isnan(d), 1, d).astype(d.dtype)), axis=axis, dtype=dtype)


def argmax(x, axis=None, keepdims=False):
    return _int_result(np.argmax(data_of(x), axis=axis, keepdims=keepdims))


def argmin(x, axis=None, keepdims=False):
    return _int_result(np.argmin(data_of(x), axis=axis, keepdims=keepdims))


def argsort(x, axis=-1):
    return _int_result(np.argsort(data_of(x), axis=axis, kind="stable"))


def argpartition(x, kth, axis=-1):
    return _int_result(np.argpartition(data_of(x), kth, axis=axis))


def sort(x, axis=-1):
    t = tensor_of(x)
    if axis is None:
        t, axis = ravel(t), -1
    order = np.argsort(t.data, axis=axis, kind="stable")
    return take_along_axis(t, order, axis=axis)


def _cumulative_input(x, axis, dtype):
    t = _reduction_input(x)
    if dtype is not None:
        t = _m.cast(t, dtype)
    if axis is None:
        return ravel(t), 0
    return t, axis


def cumsum(x, axis=None, dtype=None):
    t, axis = _cumulative_input(x, axis, dtype)
    return _m.cumsum(t, axis=axis)


def cumprod(x, axis=None, dtype=None):
    """Cumulative product; the gradient `sum_{j >= i} g_j out_j / x_i` is computed without
    dividing by x (exclusive products), so zeros in x are handled."""
    t, axis = _cumulative_input(x, axis, dtype)
    xd = t.data
    out = np.cumprod(xd, axis=axis)

    def backward(g, needs):
        moved = np.moveaxis(xd, axis, -1)
        gm = np.moveaxis(g, axis, -1)
        n = moved.shape[-1]
        # grad_i = (prod_{k < i} x_k) * S_i with S_i = sum_{j >= i} g_j prod_{i < k <= j} x_k,
        # and S_i = g_i + x_{i+1} S_{i+1}: one backward sweep, no division.
        before = np.ones_like(moved)
        if n > 1:
            np.cumprod(moved[..., :-1], axis=-1, out=before[..., 1:])
        tail = np.empty_like(moved)
        if n:
            tail[..., n - 1] = gm[..., n - 1]
        for i in range(n - 2, -1, -1):
            np.multiply(moved[..., i + 1], tail[..., i + 1], out=tail[..., i])
            tail[..., i] += gm[..., i]
        grad = before * tail
        return (np.moveaxis(grad, -1, axis),)
    return record(out, (t,), backward)


def logsumexp(x, axis=None, keepdims=False):
    return _m.logsumexp(as_float(x), axis=axis, keepdims=keepdims)


def bincount(x, weights=None, minlength=0, sparse=False):
    if sparse:
        raise ValueError("Unsupported value `sparse=True`: minikeras has no sparse tensors.")
    d = data_of(x)
    w = None if weights is None else data_of(weights)
    if d.ndim == 2:
        length = builtins.max(int(d.max()) + 1 if d.size else 0, minlength)
        rows = [np.bincount(r, None if w is None else w[i], minlength=length)
                for i, r in enumerate(d)]
        out = np.stack(rows)
    else:
        out = np.bincount(d, w, minlength=minlength)
    return Tensor(out.astype(np.int32 if w is None else w.dtype))


def histogram(x, bins=10, range=None):  # noqa: A002
    d = data_of(x)
    if d.ndim != 1:
        raise ValueError(f"Input tensor must be 1-dimensional. Received: input.shape={d.shape}")
    counts, edges = np.histogram(d, bins=bins, range=range)
    return Tensor(counts.astype(_float_dtype(d))), Tensor(edges.astype(_float_dtype(d)))


def digitize(x, bins):
    return _int_result(np.digitize(data_of(x), data_of(bins)))


def searchsorted(sorted_sequence, values, side="left"):
    if np.ndim(data_of(sorted_sequence)) != 1:
        raise ValueError("`searchsorted` only supports 1-D sorted sequences. "
                         f"Received: sorted_sequence.shape={np.shape(data_of(sorted_sequence))}")
    return _int_result(np.searchsorted(data_of(sorted_sequence), data_of(values), side=side))


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    if not sorted:
        raise NotImplementedError("`unique(sorted=False)` is not supported: NumPy sorts.")
    results = np.unique(data_of(x), return_index=return_index, return_inverse=return_inverse,
                        return_counts=return_counts, axis=axis)
    if not isinstance(results, tuple):
        results = (results,)
    values = results[0]
    if size is not None:
        pad = size - len(values)
        fill = values[-1] if fill_value is None and len(values) else (fill_value or 0)
        values = np.concatenate([values[:size], np.full(builtins.max(pad, 0), fill,
                                                         values.dtype)])
    outs = [Tensor(values)] + [_int_result(r) for r in results[1:]]
    return outs[0] if len(outs) == 1 else tuple(outs)


def nonzero(x):
    return tuple(_int_result(i) for i in np.nonzero(data_of(x)))


def unravel_index(indices, shape):
    return tuple(_int_result(i) for i in np.unravel_index(data_of(indices), shape))


# ---------------------------------------------------------------------------------------
# products
# ---------------------------------------------------------------------------------------
def matmul(x1, x2):
    a, b = _promoted_pair(x1, x2)
    return _m.matmul(a, b)


def dot(x1, x2):
    a, b = _promoted_pair(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return _m.multiply(a, b)
    if b.ndim <= 2:
        return _m.matmul(a, b)
    return _m.tensordot(a, b, ([a.ndim - 1], [b.ndim - 2]))


def tensordot(x1, x2, axes=2):
    a, b = _promoted_pair(x1, x2)
    return _m.tensordot(a, b, axes)


def inner(x1, x2):
    a, b = _promoted_pair(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return _m.multiply(a, b)
    return _m.tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def outer(x1, x2):
    a, b = _promoted_pair(x1, x2)
    return _m.multiply(_m.reshape(a, (-1, 1)), _m.reshape(b, (1, -1)))


def vdot(x1, x2):
    a, b = _promoted_pair(x1, x2)
    return _m.sum(_m.multiply(ravel(a), ravel(b)))


kron = _on_promoted_pair(np.kron)


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b = _promoted_pair(x1, x2)
    return Tensor(np.cross(a.data, b.data, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis))


def trace(x, offset=0, axis1=0, axis2=1):
    return _m.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def correlate(x1, x2, mode="valid"):
    a, b = _promoted_pair(as_float(x1), as_float(x2))
    return Tensor(np.correlate(a.data, b.data, mode=mode))


# ---------------------------------------------------------------------------------------
# shape and indexing
# ---------------------------------------------------------------------------------------
def reshape(x, newshape):
    shape = (newshape,) if isinstance(newshape, (int, np.integer)) else newshape
    return _m.reshape(tensor_of(x), shape)


def ravel(x):
    return _m.reshape(tensor_of(x), (-1,))


def transpose(x, axes=None):
    return _m.transpose(tensor_of(x), axes)


def swapaxes(x, axis1, axis2):
    t = tensor_of(x)
    order = list(range(t.ndim))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return _m.transpose(t, order)


def moveaxis(x, source, destination):
    t = tensor_of(x)
    sources = [s % t.ndim for s in (source if isinstance(source, (list, tuple)) else [source])]
    targets = [d % t.ndim for d in (destination if isinstance(destination, (list, tuple))
                                    else [destination])]
    order = [i for i in range(t.ndim) if i not in sources]
    for target, source_axis in sorted(zip(targets, sources)):
        order.insert(target, source_axis)
    return _m.transpose(t, order)


def expand_dims(x, axis):
    t = tensor_of(x)
    return _m.reshape(t, np.expand_dims(t.data, axis).shape)


def squeeze(x, axis=None):
    t = tensor_of(x)
    if axis is not None:
        for a in (axis if isinstance(axis, (list, tuple)) else (axis,)):
            if t.shape[a] != 1:
                raise ValueError(f"Cannot squeeze axis {a}, because the dimension is not 1. "
                                 f"Received: x.shape={t.shape}")
    return _m.squeeze(t, axis=_axis_arg(axis))


def broadcast_to(x, shape):
    return _m.broadcast_to(tensor_of(x), tuple(shape))


def concatenate(xs, axis=0):
    tensors = [tensor_of(x) for x in xs]
    if axis is None:
        tensors, axis = [ravel(t) for t in tensors], 0
    return _m.concatenate(_common_dtype(tensors), axis=axis)


def _common_dtype(tensors):
    target = np.result_type(*[t.dtype for t in tensors])
    if builtins.any(t.dtype.kind == "f" for t in tensors):
        target = np.result_type(*[t.dtype for t in tensors if t.dtype.kind == "f"])
    return [t if t.dtype == target else _m.cast(t, target) for t in tensors]


def append(x1, x2, axis=None):
    return concatenate([x1, x2], axis=axis)


def stack(x, axis=0):
    return _m.stack(_common_dtype([tensor_of(t) for t in x]), axis=axis)


def hstack(xs):
    tensors = [tensor_of(x) for x in xs]
    return concatenate(tensors, axis=0 if tensors[0].ndim == 1 else 1)


def vstack(xs):
    """Concatenation along axis 0 (Keras 3 does not lift 1-D inputs to rows, unlike NumPy)."""
    return concatenate(xs, axis=0)


def dstack(xs):
    tensors = []
    for x in xs:
        t = _at_least_2d(tensor_of(x))
        tensors.append(_m.reshape(t, t.shape + (1,)) if t.ndim == 2 else t)
    return concatenate(tensors, axis=2)


def _at_least_2d(t):
    return _m.reshape(t, (1, -1)) if t.ndim < 2 else t


def split(x, indices_or_sections, axis=0):
    t = tensor_of(x)
    if not isinstance(indices_or_sections, int) and not np.isscalar(indices_or_sections):
        indices_or_sections = [int(i) for i in indices_or_sections]
    elif t.shape[axis] % int(indices_or_sections):
        raise ValueError("Number of ways to split should evenly divide the split dimension, "
                         f"but got split_dim {axis % t.ndim} (size = {t.shape[axis]}) and "
                         f"num_split {indices_or_sections}")
    return _m.split(t, indices_or_sections, axis=axis)


def array_split(x, indices_or_sections, axis=0):
    t = tensor_of(x)
    if isinstance(indices_or_sections, int):
        size, extra = divmod(t.shape[axis], indices_or_sections)
        sizes = [size + 1] * extra + [size] * (indices_or_sections - extra)
        indices_or_sections = list(np.cumsum(sizes)[:-1])
    return _m.split(t, indices_or_sections, axis=axis)


def hsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0 if tensor_of(x).ndim == 1 else 1)


def vsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=2)


def tile(x, repeats):
    t = tensor_of(x)
    reps = (repeats,) if isinstance(repeats, int) else tuple(repeats)
    if len(reps) < t.ndim:
        reps = (1,) * (t.ndim - len(reps)) + reps
    elif len(reps) > t.ndim:
        t = _m.reshape(t, (1,) * (len(reps) - t.ndim) + t.shape)
    return _m.tile(t, reps)


def repeat(x, repeats, axis=None):
    t = tensor_of(x)
    if axis is None:
        t, axis = ravel(t), 0
    if not isinstance(repeats, (int, np.integer)):
        counts = np.asarray(unwrap(repeats))
        if counts.ndim == 0:
            repeats = int(counts)
        else:
            index = np.repeat(np.arange(t.shape[axis]), counts)
            return _m.gather(t, index, axis=axis % t.ndim)
    return _m.repeat(t, int(repeats), axis % t.ndim)


def flip(x, axis=None):
    t = tensor_of(x)
    return _m.flip(t, tuple(range(t.ndim)) if axis is None else axis)


def fliplr(x):
    return flip(x, 1)


def flipud(x):
    return flip(x, 0)


def rot90(array, k=1, axes=(0, 1)):
    t = tensor_of(array)
    k %= 4
    a0, a1 = axes
    for _ in range(k):
        t = swapaxes(flip(t, a1), a0, a1)
    return t


def roll(x, shift, axis=None):
    t = tensor_of(x)
    xd = t.data
    out = np.roll(xd, shift, axis=axis)
    negated = tuple(-s for s in shift) if isinstance(shift, (list, tuple)) else -shift
    return record(out, (t,), lambda g, needs: (np.roll(g, negated, axis=axis),))


def pad(x, pad_width, mode="constant", constant_values=None):
    t = tensor_of(x)
    if mode not in ("constant", "edge", "linear_ramp", "maximum", "mean", "median",
                    "minimum", "reflect", "symmetric", "wrap", "empty"):
        raise ValueError(f"Unsupported `mode` value: {mode}")
    if constant_values is not None and mode != "constant":
        raise ValueError("Argument `constant_values` can only be provided when "
                         f"`mode == 'constant'`. Received: mode={mode}")
    widths = np.broadcast_to(np.asarray(pad_width, np.int64), (t.ndim, 2))
    if mode == "constant":
        return _m.pad(t, widths, constant_values=0 if constant_values is None else
                      constant_values)
    if mode not in ("reflect", "symmetric", "edge", "wrap"):
        return Tensor(np.pad(t.data, widths, mode=mode))
    # Gather the source positions along each axis: differentiable (gradients add up).
    for axis, (lo, hi) in enumerate(widths):
        n = t.shape[axis]
        positions = np.pad(np.arange(n), (int(lo), int(hi)), mode=mode)
        t = _m.gather(t, positions, axis=axis)
    return t


def take(x, indices, axis=None):
    t = tensor_of(x)
    idx = np.asarray(data_of(indices))
    if idx.dtype.kind not in "iu":
        idx = idx.astype(np.int64)
    if axis is None:
        t, axis = ravel(t), 0
    size = t.shape[axis]
    return _m.gather(t, np.where(idx < 0, idx + size, idx), axis=axis % t.ndim)


def take_along_axis(x, indices, axis=None):
    t = tensor_of(x)
    idx = np.asarray(data_of(indices)).astype(np.intp)
    if axis is None:
        t, axis = ravel(t), 0
    axis %= t.ndim
    shape = list(np.broadcast_shapes(tuple(n if i != axis else 1 for i, n in enumerate(t.shape)),
                                     tuple(n if i != axis else 1 for i, n in enumerate(idx.shape))))
    full_x = shape.copy()
    full_x[axis] = t.shape[axis]
    full_i = shape.copy()
    full_i[axis] = idx.shape[axis]
    if tuple(full_x) != t.shape:
        t = _m.broadcast_to(t, tuple(full_x))
    idx = np.broadcast_to(np.where(idx < 0, idx + t.shape[axis], idx), full_i)
    xd = t.data
    out = np.take_along_axis(xd, idx, axis=axis)

    def backward(g, needs):
        grad = np.zeros_like(xd)
        positions = list(np.indices(idx.shape, sparse=True))
        positions[axis] = idx
        np.add.at(grad, tuple(positions), g)
        return (grad,)
    return record(out, (t,), backward)


def diagonal(x, offset=0, axis1=0, axis2=1):
    t = tensor_of(x)
    xd = t.data
    out = np.diagonal(xd, offset, axis1, axis2).copy()

    def backward(g, needs):
        grad = np.zeros_like(xd)
        view = np.diagonal(grad, offset, axis1, axis2)
        view.setflags(write=True)  # NumPy's diagonal is a read-only view of grad
        view[...] = g
        return (grad,)
    return record(out, (t,), backward)


def diag(x, k=0):
    t = tensor_of(x)
    if t.ndim == 2:
        return diagonal(t, k)
    if t.ndim != 1:
        raise ValueError(f"`x` must be 1d or 2d. Received: x.shape={t.shape}")
    n = t.shape[0] + builtins.abs(k)
    rows = np.arange(t.shape[0]) + builtins.max(-k, 0)
    cols = np.arange(t.shape[0]) + builtins.max(k, 0)
    xd = t.data
    out = np.zeros((n, n), xd.dtype)
    out[rows, cols] = xd
    return record(out, (t,), lambda g, needs: (g[rows, cols],))


def diagflat(x, k=0):
    return diag(ravel(x), k)


def tril(x, k=0):
    t = tensor_of(x)
    keep = np.tri(t.shape[-2], t.shape[-1], k, dtype=bool)
    return _m.where(keep, t, np.zeros((), t.dtype))


def triu(x, k=0):
    t = tensor_of(x)
    keep = ~np.tri(t.shape[-2], t.shape[-1], k - 1, dtype=bool)
    return _m.where(keep, t, np.zeros((), t.dtype))


def where(condition, x1=None, x2=None):
    cond = data_of(condition)
    if x1 is None and x2 is None:
        return nonzero(cond)
    if x1 is None or x2 is None:
        raise ValueError("`x1` and `x2` either both should be `None` or both should have "
                         "non-None value.")
    a, b = _promoted_pair(x1, x2)
    return _m.where(cond.astype(bool), a, b)


def select(condlist, choicelist, default=0):
    out = tensor_of(default)
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = where(data_of(cond), choice, out)
    return out


def meshgrid(*x, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'. "
                         f"Received: indexing={indexing}")
    return [Tensor(g) for g in np.meshgrid(*[data_of(v) for v in x], indexing=indexing)]


def vander(x, N=None, increasing=False):  # noqa: N803
    d = data_of(x)
    return Tensor(np.vander(d, N, increasing=increasing).astype(d.dtype))


def diff(a, n=1, axis=-1):
    t = tensor_of(a)
    for _ in range(n):
        length = t.shape[axis]
        t = subtract(take(t, np.arange(1, length), axis=axis),
                     take(t, np.arange(0, length - 1), axis=axis))
    return t


def trapezoid(y, x=None, dx=1.0, axis=-1):
    d = data_of(y)
    out = np.trapezoid(d, None if x is None else data_of(x), dx=dx, axis=axis)
    return Tensor(np.asarray(out).astype(_float_dtype(d)))


def corrcoef(x):
    d = data_of(x)
    return Tensor(np.corrcoef(d).astype(_float_dtype(d)))


def size(x):
    return Tensor(np.asarray(np.size(data_of(x)), np.int32))


def ndim(x):
    return int(np.ndim(data_of(x)))


def get_item(x, key):
    return _m.getitem(tensor_of(x), key)


def real(x):
    return Tensor(np.real(data_of(x)))


def imag(x):
    return Tensor(np.imag(data_of(x)))


def conj(x):
    return Tensor(np.conj(data_of(x)))


conjugate = conj


def angle(x):
    d = data_of(x)
    return Tensor(np.angle(d).astype(_float_dtype(d)))


def view(x, dtype=None):
    d = data_of(x)
    return Tensor(d if dtype is None else d.view(dtype))


def vectorize(pyfunc, *, excluded=None, signature=None):
    vectorized = np.vectorize(lambda *args: unwrap(pyfunc(*args)), excluded=excluded,
                              signature=signature)
    return lambda *args, **kwargs: Tensor(np.asarray(
        vectorized(*[data_of(a) for a in args], **kwargs)))


def _window(fn):
    def window(x):
        return Tensor(fn(int(unwrap(x))).astype(config.floatx()))
    window.__name__ = fn.__name__
    return window


bartlett = _window(np.bartlett)
blackman = _window(np.blackman)
hamming = _window(np.hamming)
hanning = _window(np.hanning)


def kaiser(x, beta):
    return Tensor(np.kaiser(int(unwrap(x)), beta).astype(config.floatx()))


def i0(x):
    d = data_of(x)
    return Tensor(np.i0(d).astype(_float_dtype(d)))


abs = absolute  # noqa: A001 - Keras' name


def einsum(subscripts, *operands, **kwargs):
    if kwargs:
        raise ValueError(f"Unsupported keyword arguments for `einsum`: {sorted(kwargs)}")
    tensors = _common_dtype([tensor_of(o) for o in operands])
    try:
        if len(tensors) != 2:
            raise NotImplementedError("einsum: the differentiable form takes two operands")
        return _einsum(subscripts, *tensors)
    except NotImplementedError:
        # Other equations (one or three operands, '...', implicit outputs) run in NumPy,
        # without a gradient: refuse them where a gradient is wanted.
        if is_recording() and builtins.any(is_tracked(t) for t in tensors):
            raise
        return Tensor(np.einsum(subscripts, *[t.data for t in tensors]))
