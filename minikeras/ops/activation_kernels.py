"""Array kernels of the elementwise activations and their gradients (no tape): vectorised,
few temporaries, large arrays split over two threads (see parallel.py)."""
import numpy as np

from ..core import config
from .parallel import split_rows


def tanh_grad(g, out):
    """`g * (1 - out**2)` with one temporary (an array even for a 0-d `out`: np.tanh of a 0-d
    array gives a NumPy scalar, which cannot be written in place)."""
    grad = np.multiply(out, out, out=np.empty(np.shape(out), np.result_type(out)))
    np.subtract(1, grad, out=grad)
    grad *= g
    return grad


def sigmoid_array(xd):
    """Logistic of an array, vectorised: `1 / (1 + exp(-x))` in four in-place passes. It is
    accurate to float32 round-off over the whole range: below x = -88.7, exp(-x) overflows to
    inf and the result is 0 (the true value is under float32's smallest normal); above, both
    exp(-x) and the reciprocal keep their relative precision. (The form `exp(min(x, 0)) /
    (1 + exp(-|x|))` took seven passes; NumPy's masked `where=` divides were ten times slower.)
    Large arrays are split over two threads."""
    xd = np.asarray(xd)
    if xd.dtype.kind != "f":
        xd = xd.astype(config.floatx())
    if xd.itemsize < 4:
        # float16's exp overflows from x = -11.1, where the logistic is still a subnormal.
        return sigmoid_array(xd.astype(np.float32)).astype(xd.dtype)
    out = np.empty_like(xd)
    split_rows(lambda rows: _sigmoid_into(xd[rows], out[rows]), out)
    return out


def _sigmoid_into(xd, z):
    np.negative(xd, out=z)
    with np.errstate(over="ignore"):       # per thread: NumPy's error state is thread-local
        np.exp(z, out=z)
    np.add(z, 1, out=z)
    np.divide(1, z, out=z)


def sigmoid_grad(g, out):
    """`g * out * (1 - out)`, one pass per factor (split over two threads when large)."""
    g = np.broadcast_to(g, out.shape) if np.shape(g) != out.shape else g
    grad = np.empty(out.shape, np.result_type(g, out))

    def work(rows):
        part = grad[rows]
        np.subtract(1, out[rows], out=part)
        part *= out[rows]
        part *= g[rows]
    split_rows(work, grad)
    return grad


def relu_grad(g, out):
    """`g * (out > 0)` (split over two threads when large)."""
    g = np.broadcast_to(g, out.shape) if np.shape(g) != out.shape else g
    grad = np.empty(out.shape, np.result_type(g, out))
    split_rows(lambda rows: np.multiply(g[rows], out[rows] > 0, out=grad[rows]), grad)
    return grad


def capped_relu_grad_into(out, g, cap, dest):
    """`g * (0 < out < cap)` into `dest`, from the output of `clip(x, 0, cap)`: the two masks
    in byte arrays, then copied into floats and one float product (a float-by-bool product
    casts through NumPy's small buffers: 1.2x slower)."""
    inside = np.greater(out, 0)
    np.logical_and(inside, np.less(out, np.asarray(cap, out.dtype)), out=inside)
    np.copyto(dest, inside)
    dest *= g
    return dest


# ---------------------------------------------------------------------------------------
# in-place forms for fused chains (batch normalization + activation in training)
# ---------------------------------------------------------------------------------------
FUSABLE_ACTIVATIONS = ("sigmoid", "tanh", "relu", "relu6")
RELU6_CAP = 6.0

_zero_rows = {}


def _zeros_like_row(rows):
    """A cached row of zeros as wide as `rows`' last axis (relu against an array: NumPy runs a
    maximum with a scalar operand in a scalar loop)."""
    key = (rows.shape[-1], rows.dtype)
    zeros = _zero_rows.get(key)
    if zeros is None:
        zeros = _zero_rows[key] = np.zeros(rows.shape[-1], rows.dtype)
    return zeros


def activation_in_place(name, rows):
    """One of FUSABLE_ACTIVATIONS on `rows` in place, with the NumPy calls of its op (so the
    same numbers); "negated_sigmoid" is the logistic of `-rows` (rows already negated)."""
    if name == "negated_sigmoid":
        with np.errstate(over="ignore"):
            np.exp(rows, out=rows)
        np.add(rows, 1, out=rows)
        np.divide(1, rows, out=rows)
    elif name == "sigmoid":
        _sigmoid_into(rows, rows)
    elif name == "tanh":
        np.tanh(rows, out=rows)
    elif name == "relu":
        np.maximum(rows, _zeros_like_row(rows), out=rows)
    elif name == "relu6":
        np.clip(rows, 0, np.asarray(RELU6_CAP, rows.dtype), out=rows)
    else:
        raise ValueError(f"No in-place kernel for activation {name!r}; expected one of "
                         f"{FUSABLE_ACTIVATIONS}.")
    return rows


def activation_grad_into(name, out, g, dest):
    """The gradient through one of FUSABLE_ACTIVATIONS, from its output `out` and the output
    gradient `g`, written into `dest` (same order of operations as sigmoid_grad, tanh_grad,
    relu_grad, so the same numbers)."""
    if name == "sigmoid":
        np.subtract(1, out, out=dest)
        dest *= out
        dest *= g
    elif name == "tanh":
        np.multiply(out, out, out=dest)
        np.subtract(1, dest, out=dest)
        dest *= g
    elif name == "relu":
        # The mask copied into floats, then one float product (a float-by-bool product casts
        # through NumPy's small buffers).
        np.copyto(dest, np.greater(out, 0))
        dest *= g
    elif name == "relu6":
        capped_relu_grad_into(out, g, RELU6_CAP, dest)
    else:
        raise ValueError(f"No gradient kernel for activation {name!r}; expected one of "
                         f"{FUSABLE_ACTIVATIONS}.")
    return dest
