"""The Keras 3 `keras.ops.linalg` names over `numpy.linalg` (batched over leading axes).

`inv`, `det`, `slogdet`/`logdet`, `solve`, `solve_triangular`, `cholesky` and `norm` have
gradients; the factorizations (`qr`, `svd`, `eig`, `eigh`, `lu_factor`), `lstsq`, `pinv`
and `matrix_rank` are NumPy pass-throughs.
"""
import numpy as np

from ..core.tensor import Tensor, record, unbroadcast
from . import math as _m
from .numpy_ops import as_float


def _matrices(x, name="x"):
    t = as_float(x)
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise ValueError(f"Input `{name}` must be a square matrix (or a batch of them): its "
                         f"last two axes must be equal. Received: {name}.shape={t.shape}")
    return t


def _mT(a):
    return np.swapaxes(a, -1, -2)


def inv(x):
    t = _matrices(x)
    out = np.linalg.inv(t.data).astype(t.dtype)
    return record(out, (t,), lambda g, needs: (-_mT(out) @ g @ _mT(out),))


def det(x):
    t = _matrices(x)
    out = np.asarray(np.linalg.det(t.data)).astype(t.dtype)

    def backward(g, needs):
        return ((g * out)[..., None, None] * _mT(np.linalg.inv(t.data)),)
    return record(out, (t,), backward)


def slogdet(x):
    t = _matrices(x)
    sign, logabs = np.linalg.slogdet(t.data)
    logabs = record(np.asarray(logabs).astype(t.dtype), (t,),
                    lambda g, needs: (g[..., None, None] * _mT(np.linalg.inv(t.data)),))
    return Tensor(np.asarray(sign).astype(t.dtype)), logabs


def logdet(x):
    """`log(det(x))` of a positive-definite matrix (NaN when the determinant is negative)."""
    sign, logabs = slogdet(x)
    return _m.where(sign.data > 0, logabs, np.asarray(np.nan, logabs.dtype))


def solve(a, b):
    ta, tb = _matrices(a, "a"), as_float(b)
    vector = tb.ndim == ta.ndim - 1
    bd = tb.data[..., None] if vector else tb.data
    out = np.linalg.solve(ta.data, bd).astype(ta.dtype)

    def backward(g, needs):
        g = g[..., None] if vector else g
        gb = np.linalg.solve(_mT(ta.data), g)
        ga = unbroadcast(-gb @ _mT(out), ta.shape) if needs[0] else None
        gb = unbroadcast(gb[..., 0] if vector else gb, tb.shape) if needs[1] else None
        return ga, gb
    return record(out[..., 0] if vector else out, (ta, tb), backward)


def solve_triangular(a, b, lower=False):
    """`solve` reading only the lower (or upper) triangle of `a`."""
    ta = _matrices(a, "a")
    keep = np.tri(ta.shape[-1], dtype=bool)
    keep = keep if lower else _mT(keep)
    return solve(_m.where(keep, ta, np.zeros((), ta.dtype)), b)


def cholesky(x, upper=False):
    """Lower-triangular `L` with `x = L L^T` (or `L^T` when `upper`); the gradient is the
    symmetric one (as TensorFlow's): `L^-T Phi(L^T dL) L^-1`, symmetrized."""
    t = _matrices(x)
    try:
        lower = np.linalg.cholesky(t.data).astype(t.dtype)
    except np.linalg.LinAlgError as error:
        raise ValueError(f"Cholesky decomposition failed: the input is not positive "
                         f"definite ({error}).") from None

    def backward(g, needs):
        g = _mT(g) if upper else g
        inner = _mT(lower) @ g
        phi = np.tril(inner)
        phi[..., np.arange(phi.shape[-1]), np.arange(phi.shape[-1])] *= 0.5
        inv_lower = np.linalg.inv(lower)
        grad = _mT(inv_lower) @ phi @ inv_lower
        return (0.5 * (grad + _mT(grad)),)
    return record(_mT(lower).copy() if upper else lower, (t,), backward)


def cholesky_inverse(x, upper=False):
    """The inverse of `A = L L^T` (or `U^T U`) from its Cholesky factor."""
    t = _matrices(x)
    factor = _m.transpose(t, tuple(range(t.ndim - 2)) + (t.ndim - 1, t.ndim - 2)) \
        if upper else t
    product = _m.matmul(factor, _m.transpose(factor, tuple(range(t.ndim - 2)) +
                                             (t.ndim - 1, t.ndim - 2)))
    return inv(product)


def eig(x):
    t = _matrices(x)
    values, vectors = np.linalg.eig(t.data)
    return Tensor(values), Tensor(vectors)


def eigh(x):
    t = _matrices(x)
    values, vectors = np.linalg.eigh(t.data)
    return Tensor(values.astype(t.dtype)), Tensor(vectors.astype(t.dtype))


def qr(x, mode="reduced"):
    if mode not in ("reduced", "complete"):
        raise ValueError("`mode` argument value not supported. Expected one of "
                         f"{{'reduced', 'complete'}}. Received: mode={mode}")
    t = as_float(x)
    if t.ndim < 2:
        raise ValueError("Input should have rank >= 2. Received: "
                         f"input.shape = {t.shape}")
    q, r = np.linalg.qr(t.data, mode=mode)
    return Tensor(q.astype(t.dtype)), Tensor(r.astype(t.dtype))


def svd(x, full_matrices=True, compute_uv=True):
    t = as_float(x)
    if not compute_uv:
        return Tensor(np.linalg.svd(t.data, compute_uv=False).astype(t.dtype))
    u, s, vh = np.linalg.svd(t.data, full_matrices=full_matrices)
    return Tensor(u.astype(t.dtype)), Tensor(s.astype(t.dtype)), Tensor(vh.astype(t.dtype))


def lu_factor(x):
    """(LU, permutation): `L` (unit diagonal, below) and `U` packed in one matrix, and the
    row permutation `p` (int32) with `x[p] = L U`, as Keras 3 on TensorFlow (`tf.linalg.lu`)."""
    t = _matrices(x)
    lu = np.array(t.data, dtype=np.float64 if t.dtype == np.float64 else np.float32)
    batch_shape = lu.shape[:-2]
    n = lu.shape[-1]
    flat = lu.reshape((-1, n, n))
    pivots = np.tile(np.arange(n, dtype=np.int32), (flat.shape[0], 1))
    for b, m in enumerate(flat):         # partial pivoting, one column at a time
        for k in range(n):
            p = k + int(np.argmax(np.abs(m[k:, k])))
            if p != k:
                m[[k, p]] = m[[p, k]]
                pivots[b, [k, p]] = pivots[b, [p, k]]
            if m[k, k] != 0:
                m[k + 1:, k] /= m[k, k]
                m[k + 1:, k + 1:] -= np.outer(m[k + 1:, k], m[k, k + 1:])
    return Tensor(flat.reshape(lu.shape).astype(t.dtype)), \
        Tensor(pivots.reshape(batch_shape + (n,)))


def lstsq(a, b, rcond=None):
    ta, tb = as_float(a), as_float(b)
    if ta.ndim != 2:
        raise TypeError(f"{ta.ndim}-dimensional array given. Array must be two-dimensional")
    solution = np.linalg.lstsq(ta.data, tb.data, rcond=rcond)[0]
    return Tensor(solution.astype(ta.dtype))


def pinv(x, rcond=None):
    t = as_float(x)
    rcond = 1e-15 if rcond is None else rcond
    return Tensor(np.linalg.pinv(t.data, rcond=rcond).astype(t.dtype))


def matrix_rank(x, tol=None):
    t = as_float(x)
    return Tensor(np.asarray(np.linalg.matrix_rank(t.data, tol=tol)).astype(np.int32))


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras' name
    """Vector norms over one axis, matrix norms over two (Frobenius, nuclear, 1, 2, inf and
    their negatives); differentiable except the nuclear and spectral norms."""
    t = as_float(x)
    if axis is None:
        axes = tuple(range(t.ndim))
    elif isinstance(axis, int):
        axes = (axis % t.ndim,)
    else:
        axes = tuple(a % t.ndim for a in axis)
    if len(axes) == 1:
        return _vector_norm(t, ord, axes[0], keepdims)
    if len(axes) == 2 and (axis is not None or ord is not None):
        return _matrix_norm(t, ord, axes, keepdims)
    if ord is not None and ord != "fro":
        raise ValueError(f"Invalid `ord` argument for vector norm. Received: ord={ord}")
    return _m.sqrt(_m.sum(_m.square(t), axis=axes, keepdims=keepdims))


def _vector_norm(t, ord, axis, keepdims):
    if ord is None or ord == 2:
        return _m.sqrt(_m.sum(_m.square(t), axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"Invalid `ord` argument for vector norm. Received: ord={ord}")
    if ord == np.inf:
        return _m.max(_m.abs(t), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return _m.min(_m.abs(t), axis=axis, keepdims=keepdims)
    if ord == 0:
        return Tensor(np.sum(t.data != 0, axis=axis, keepdims=keepdims).astype(t.dtype))
    if ord == 1:
        return _m.sum(_m.abs(t), axis=axis, keepdims=keepdims)
    p = np.asarray(ord, t.dtype)
    return _m.power(_m.sum(_m.power(_m.abs(t), p), axis=axis, keepdims=keepdims),
                    np.asarray(1 / ord, t.dtype))


def _matrix_norm(t, ord, axes, keepdims):
    row_axis, col_axis = axes
    if ord is None or ord == "fro":
        return _m.sqrt(_m.sum(_m.square(t), axis=axes, keepdims=keepdims))
    if ord in (1, -1, np.inf, -np.inf):
        summed_axis, picked_axis = (row_axis, col_axis) if ord in (1, -1) else \
            (col_axis, row_axis)
        sums = _m.sum(_m.abs(t), axis=summed_axis, keepdims=True)
        pick = _m.max if ord > 0 else _m.min
        out = pick(sums, axis=picked_axis, keepdims=True)
        return out if keepdims else _m.squeeze(out, axis=axes)
    if ord in ("nuc", 2, -2):
        moved = np.moveaxis(t.data, axes, (-2, -1))
        values = np.linalg.svd(moved, compute_uv=False)
        out = {"nuc": np.sum, 2: np.max, -2: np.min}[ord](values, axis=-1)
        if keepdims:
            out = np.expand_dims(out, axes)
        return Tensor(np.asarray(out).astype(t.dtype))
    raise ValueError(f"Invalid `ord` argument for matrix norm. Received: ord={ord}")


def jvp(fun, primals, tangents, has_aux=False):
    raise NotImplementedError("`jvp` (forward-mode differentiation) is not supported by "
                              "minikeras, which differentiates in reverse mode only.")
