"""minikeras.ops.math: forward values against NumPy and gradients against central differences."""
import numpy as np
import pytest

from minikeras import ops
from minikeras.ops import math as M
from minikeras.core.tensor import Tensor, GradientTape, Variable
from gradcheck import check_gradients

RNG = np.random.default_rng(1234)


def r(*shape):
    return RNG.standard_normal(shape)


def pos(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def _np(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


# name -> (fn, inputs, numpy reference)
BINARY = {
    "add_same": (M.add, [r(3, 4), r(3, 4)], np.add),
    "add_broadcast_row": (M.add, [r(3, 4), r(4)], np.add),
    "add_broadcast_col": (M.add, [r(3, 1), r(1, 4)], np.add),
    "add_broadcast_3d": (M.add, [r(2, 1, 4), r(3, 1)], np.add),
    "add_scalar_tensor": (M.add, [r(3, 4), r()], np.add),
    "subtract_broadcast": (M.subtract, [r(4), r(2, 3, 4)], np.subtract),
    "multiply_broadcast": (M.multiply, [r(2, 3, 1), r(1, 3, 4)], np.multiply),
    "divide_broadcast": (M.divide, [r(3, 4), pos(3, 1)], np.divide),
    "divide_broadcast_lhs": (M.divide, [r(1, 4), pos(3, 4)], np.divide),
    "power_both": (M.power, [pos(3, 4), r(3, 4)], np.power),
    "power_broadcast": (M.power, [pos(2, 3), r(3)], np.power),
    "maximum": (M.maximum, [r(3, 4), r(3, 4)], np.maximum),
    "maximum_broadcast": (M.maximum, [r(3, 4), r(4)], np.maximum),
    "minimum": (M.minimum, [r(3, 4), r(1, 4)], np.minimum),
    "matmul_2d": (M.matmul, [r(3, 4), r(4, 5)], np.matmul),
    "matmul_batched": (M.matmul, [r(2, 3, 4), r(2, 4, 5)], np.matmul),
    "matmul_broadcast_batch": (M.matmul, [r(2, 3, 4), r(4, 5)], np.matmul),
    "matmul_broadcast_batch_rhs": (M.matmul, [r(3, 4), r(2, 4, 5)], np.matmul),
    "matmul_4d": (M.matmul, [r(2, 1, 3, 4), r(1, 3, 4, 2)], np.matmul),
    "matmul_vec_rhs": (M.matmul, [r(3, 4), r(4)], np.matmul),
    "matmul_vec_lhs": (M.matmul, [r(4), r(4, 3)], np.matmul),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_forward(name):
    fn, inputs, ref = BINARY[name]
    np.testing.assert_allclose(_np(fn(*[Tensor(a) for a in inputs])), ref(*inputs), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradients(name, float64):
    fn, inputs, _ = BINARY[name]
    check_gradients(fn, inputs)


@pytest.mark.parametrize("fn", [M.add, M.subtract, M.multiply, M.divide, M.power, M.maximum,
                                M.minimum])
def test_binary_with_python_scalar_operand(fn, float64):
    x = pos(3, 4)
    check_gradients(lambda a: fn(a, 1.7), [x])
    check_gradients(lambda a: fn(1.3, a), [x])


def test_maximum_minimum_ties_split_like_tf():
    """TF gives the whole gradient to x where x >= y (maximum) / x <= y (minimum)."""
    x = Variable(np.array([1.0, 2.0], np.float32))
    y = Variable(np.array([1.0, 3.0], np.float32))
    with GradientTape() as tape:
        out = ops.sum(M.maximum(x, y))
    gx, gy = tape.gradient(out, [x, y])
    np.testing.assert_array_equal(_np(gx), [1.0, 0.0])
    np.testing.assert_array_equal(_np(gy), [0.0, 1.0])


TENSORDOT = [
    ((3, 4), (4, 5), 1),
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])),
    ((3, 4, 2), (5, 3), ([0], [1])),
    ((3, 4), (5, 6), 0),
    ((2, 3, 4), (4, 2), ([-1, 0], [0, -1])),
]


@pytest.mark.parametrize("sa,sb,axes", TENSORDOT)
def test_tensordot(sa, sb, axes, float64):
    a, b = r(*sa), r(*sb)
    np.testing.assert_allclose(_np(M.tensordot(Tensor(a), Tensor(b), axes)),
                               np.tensordot(a, b, axes), rtol=1e-12, atol=1e-12)
    check_gradients(lambda x, y: M.tensordot(x, y, axes), [a, b])


UNARY = {
    "negative": (M.negative, r(3, 4), np.negative),
    "abs": (M.abs, r(3, 4) + 0.01, np.abs),
    "square": (M.square, r(3, 4), np.square),
    "sqrt": (M.sqrt, pos(3, 4), np.sqrt),
    "exp": (M.exp, r(3, 4), np.exp),
    "log": (M.log, pos(3, 4), np.log),
    "log1p": (M.log1p, pos(3, 4) - 0.4, np.log1p),
    "expm1": (M.expm1, r(3, 4), np.expm1),
    "sin": (M.sin, r(3, 4), np.sin),
    "cos": (M.cos, r(3, 4), np.cos),
    "tanh": (M.tanh, r(3, 4), np.tanh),
    "sigmoid": (M.sigmoid, 4 * r(3, 4), lambda x: 1 / (1 + np.exp(-x))),
    "softplus": (M.softplus, 4 * r(3, 4), lambda x: np.log1p(np.exp(x))),
    "erf": (M.erf, r(3, 4), np.vectorize(__import__("math").erf)),
    "clip": (lambda x: M.clip(x, -0.5, 0.7), r(3, 4) + 0.003, lambda x: np.clip(x, -0.5, 0.7)),
    "cast_same": (lambda x: M.cast(x, "float64"), r(3, 4), lambda x: x),
    "reshape": (lambda x: M.reshape(x, (4, -1)), r(2, 3, 4), lambda x: x.reshape(4, -1)),
    "reshape_none": (lambda x: M.reshape(x, (None, 12)), r(2, 3, 4), lambda x: x.reshape(-1, 12)),
    "transpose_default": (M.transpose, r(2, 3, 4), np.transpose),
    "transpose_axes": (lambda x: M.transpose(x, (1, 2, 0)), r(2, 3, 4),
                       lambda x: np.transpose(x, (1, 2, 0))),
    "expand_dims": (lambda x: M.expand_dims(x, -1), r(3, 4), lambda x: x[..., None]),
    "squeeze": (lambda x: M.squeeze(x, 1), r(3, 1, 4), lambda x: x[:, 0]),
    "squeeze_all": (M.squeeze, r(1, 3, 1), lambda x: x.reshape(3)),
    "broadcast_to": (lambda x: M.broadcast_to(x, (2, 3, 4)), r(3, 1),
                     lambda x: np.broadcast_to(x, (2, 3, 4))),
    "flip": (lambda x: M.flip(x, 1), r(3, 4), lambda x: np.flip(x, 1)),
    "cumsum0": (lambda x: M.cumsum(x, 0), r(3, 4), lambda x: np.cumsum(x, 0)),
    "cumsum1": (lambda x: M.cumsum(x, axis=1), r(3, 4), lambda x: np.cumsum(x, 1)),
    "getitem_int": (lambda x: x[1], r(3, 4), lambda x: x[1]),
    "getitem_slice": (lambda x: x[:, 1:3], r(3, 4), lambda x: x[:, 1:3]),
    "getitem_step": (lambda x: x[::-2, ::2], r(5, 4), lambda x: x[::-2, ::2]),
    "getitem_ellipsis": (lambda x: x[..., 0], r(2, 3, 4), lambda x: x[..., 0]),
    "getitem_newaxis": (lambda x: x[:, None, 1], r(3, 4), lambda x: x[:, None, 1]),
    "getitem_fancy_repeat": (lambda x: x[np.array([0, 2, 0, 0])], r(3, 4),
                             lambda x: x[[0, 2, 0, 0]]),
    "getitem_bool": (lambda x: x[np.array([[True, False, True, False]] * 3)], r(3, 4),
                     lambda x: x[np.array([[True, False, True, False]] * 3)]),
    "getitem_tuple_fancy": (lambda x: x[np.array([0, 1, 1]), np.array([2, 3, 2])], r(3, 4),
                            lambda x: x[[0, 1, 1], [2, 3, 2]]),
    "getitem_tensor_index": (lambda x: x[Tensor(np.array([2, 2]))], r(3, 4), lambda x: x[[2, 2]]),
    "gather0": (lambda x: M.gather(x, np.array([2, 0, 2])), r(3, 4), lambda x: x[[2, 0, 2]]),
    "gather1": (lambda x: M.gather(x, np.array([[3, 0], [3, 3]]), axis=1), r(3, 4),
                lambda x: np.take(x, [[3, 0], [3, 3]], axis=1)),
    "gather_neg_axis": (lambda x: M.gather(x, np.array([1, 1]), axis=-1), r(2, 3, 4),
                        lambda x: np.take(x, [1, 1], axis=-1)),
    "gather_mid_2d_idx": (lambda x: M.gather(x, np.array([[0, 2], [1, 1]]), axis=1), r(2, 3, 4),
                          lambda x: np.take(x, [[0, 2], [1, 1]], axis=1)),
    "pad": (lambda x: M.pad(x, [[1, 2], [0, 3]]), r(3, 4), lambda x: np.pad(x, [(1, 2), (0, 3)])),
    "pad_constant": (lambda x: M.pad(x, [(0, 1), (2, 0), (1, 1)], constant_values=5.0), r(2, 3, 4),
                     lambda x: np.pad(x, [(0, 1), (2, 0), (1, 1)], constant_values=5.0)),
    "tile": (lambda x: M.tile(x, (2, 3)), r(3, 4), lambda x: np.tile(x, (2, 3))),
    "tile_3d": (lambda x: M.tile(x, (1, 2, 2)), r(2, 3, 4), lambda x: np.tile(x, (1, 2, 2))),
    "repeat0": (lambda x: M.repeat(x, 2, axis=0), r(3, 4), lambda x: np.repeat(x, 2, 0)),
    "repeat_neg": (lambda x: M.repeat(x, 3, axis=-1), r(2, 3, 4), lambda x: np.repeat(x, 3, -1)),
    "sum_all": (M.sum, r(3, 4), np.sum),
    "sum_axis": (lambda x: M.sum(x, axis=1), r(3, 4), lambda x: x.sum(1)),
    "sum_axes_keep": (lambda x: M.sum(x, axis=(0, 2), keepdims=True), r(2, 3, 4),
                      lambda x: x.sum((0, 2), keepdims=True)),
    "sum_neg_axis": (lambda x: M.sum(x, axis=[-1, 0]), r(2, 3, 4), lambda x: x.sum((0, 2))),
    "mean_all": (M.mean, r(3, 4), np.mean),
    "mean_axis_keep": (lambda x: M.mean(x, axis=-1, keepdims=True), r(2, 3, 4),
                       lambda x: x.mean(-1, keepdims=True)),
    "mean_axes": (lambda x: M.mean(x, axis=(0, 1)), r(2, 3, 4), lambda x: x.mean((0, 1))),
    "max_all": (M.max, r(3, 4), np.max),
    "max_axis": (lambda x: M.max(x, axis=0), r(3, 4), lambda x: x.max(0)),
    "max_keep": (lambda x: M.max(x, axis=(1, 2), keepdims=True), r(2, 3, 4),
                 lambda x: x.max((1, 2), keepdims=True)),
    "min_axis": (lambda x: M.min(x, axis=-1), r(3, 4), lambda x: x.min(-1)),
    "prod_all": (M.prod, pos(2, 3), np.prod),
    "prod_axis": (lambda x: M.prod(x, axis=1, keepdims=True), r(3, 4),
                  lambda x: x.prod(1, keepdims=True)),
    "var": (lambda x: M.var(x, axis=0), r(3, 4), lambda x: x.var(0)),
    "var_all": (M.var, r(3, 4), np.var),
    "std": (lambda x: M.std(x, axis=-1, keepdims=True), r(3, 4),
            lambda x: x.std(-1, keepdims=True)),
    "logsumexp": (lambda x: M.logsumexp(x, axis=-1), r(3, 4),
                  lambda x: np.log(np.exp(x).sum(-1))),
    "logsumexp_all_keep": (lambda x: M.logsumexp(x, keepdims=True), r(3, 4),
                           lambda x: np.log(np.exp(x).sum(keepdims=True))),
    "where": (lambda x: M.where(np.array([[True, False, True, False]]), x, -2 * x), r(3, 4),
              lambda x: np.where([[True, False, True, False]], x, -2 * x)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward(name):
    fn, x, ref = UNARY[name]
    np.testing.assert_allclose(_np(fn(Tensor(x))), ref(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients(name, float64):
    fn, x, _ = UNARY[name]
    check_gradients(fn, [x])


def test_where_gradients_both_branches_broadcast(float64):
    cond = np.array([[True, False, False, True]])
    check_gradients(lambda a, b: M.where(cond, a, b), [r(3, 4), r(4)])
    check_gradients(lambda a, b: M.where(cond, a, b), [r(1, 4), r(3, 1)])


def test_max_ties_share_gradient():
    x = Variable(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], np.float32))
    with GradientTape() as tape:
        y = ops.sum(M.max(x, axis=1))
    np.testing.assert_allclose(_np(tape.gradient(y, x)), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]],
                               rtol=1e-6)


CONCAT_CASES = [([(3, 4), (3, 2)], -1), ([(2, 3), (1, 3), (4, 3)], 0), ([(2, 2, 3), (2, 1, 3)], 1)]


@pytest.mark.parametrize("shapes,axis", CONCAT_CASES)
def test_concatenate(shapes, axis, float64):
    arrays = [r(*s) for s in shapes]
    np.testing.assert_array_equal(_np(M.concatenate([Tensor(a) for a in arrays], axis)),
                                  np.concatenate(arrays, axis))
    check_gradients(lambda *xs: M.concatenate(list(xs), axis=axis), arrays)


def test_concatenate_with_constant_operand(float64):
    a = r(3, 4)
    const = np.ones((3, 2))
    check_gradients(lambda x: M.concatenate([x, const], axis=-1), [a])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack(axis, float64):
    arrays = [r(3, 4) for _ in range(3)]
    np.testing.assert_array_equal(_np(M.stack([Tensor(a) for a in arrays], axis)),
                                  np.stack(arrays, axis))
    check_gradients(lambda *xs: M.stack(list(xs), axis=axis), arrays)


@pytest.mark.parametrize("spec,axis", [(2, -1), (3, 0), ([1, 3], 1), ([2], -1)])
def test_split(spec, axis, float64):
    x = r(6, 4)
    pieces = M.split(Tensor(x), spec, axis=axis)
    for got, expected in zip(pieces, np.split(x, spec, axis=axis)):
        np.testing.assert_array_equal(_np(got), expected)
    check_gradients(lambda t: M.split(t, spec, axis=axis), [x])
    # only some of the pieces used
    check_gradients(lambda t: M.split(t, spec, axis=axis)[-1], [x])


def test_split_negative_axis_3d(float64):
    x = r(2, 3, 4)
    check_gradients(lambda t: M.split(t, 2, axis=-1), [x])
    check_gradients(lambda t: M.split(t, [1], axis=-2), [x])


def test_non_differentiable_ops_return_plain_tensors():
    x = Variable(np.array([[0.4, -1.6], [2.5, 0.0]], np.float32))
    with GradientTape() as tape:
        outs = [M.round(x), M.floor(x), M.round(x), M.argmax(x), M.argmin(x, axis=0),
                M.equal(x, 0.0), M.not_equal(x, 0.0), M.greater(x, 0.0),
                M.greater_equal(x, 0.0), M.less(x, 0.0), M.less_equal(x, 0.0),
                M.stop_gradient(x), M.cast(x, "int32")]
        y = ops.sum(outs[0] * x)
    for o in outs:
        assert isinstance(o, Tensor) and o._parents is None
    np.testing.assert_array_equal(_np(outs[1]), np.floor(x.data))
    np.testing.assert_array_equal(_np(outs[2]), np.round(x.data))
    np.testing.assert_array_equal(_np(outs[3]), [0, 0])
    np.testing.assert_array_equal(_np(tape.gradient(y, x)), np.round(x.data))


def test_sqrt_log_at_zero_do_not_warn():
    with np.errstate(all="raise"):
        x = Variable(np.array([0.0, 1.0], np.float32))
        with GradientTape() as tape:
            y = ops.sum(M.log(x))
        assert np.isneginf(_np(y))
        with GradientTape() as tape:
            y = ops.sum(M.sqrt(x))
        tape.gradient(y, x)


def test_cast_gradient_returns_source_dtype():
    x = Variable(np.array([1.0, 2.0], np.float32))
    with GradientTape() as tape:
        y = ops.sum(M.cast(x, "float64") * 3.0)
    g = tape.gradient(y, x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(_np(g), [3.0, 3.0])


def test_mean_of_integers_is_floatx():
    out = _np(M.mean(np.array([1, 2, 4])))
    assert out.dtype == np.float32
    assert out == pytest.approx(7 / 3)


def test_logsumexp_handles_large_and_infinite_values():
    x = np.array([[1000.0, 1000.0], [-np.inf, 0.0]], np.float32)
    out = _np(M.logsumexp(x, axis=-1))
    np.testing.assert_allclose(out, [1000 + np.log(2), 0.0], rtol=1e-6)


def test_gradients_with_python_scalar_exponent_and_operators(float64):
    check_gradients(lambda x: x ** 3 - 2 / x + (1 - x) * 0.5, [pos(3, 4)])
    check_gradients(lambda x, y: x @ y.T, [r(3, 4), r(5, 4)])
    check_gradients(lambda x: abs(-x) + (+x), [r(3, 4) + 0.01])


def test_divide_no_nan_is_zero_where_the_divisor_is_zero(float64):
    x = np.array([[1.0, -2.0, 3.0], [0.0, 5.0, -6.0]])
    y = np.array([[2.0, 0.0, -4.0], [0.0, 0.5, 0.0]])
    expected = np.where(y == 0, 0.0, x / np.where(y == 0, 1.0, y))
    np.testing.assert_allclose(_np(ops.divide_no_nan(Tensor(x), Tensor(y))), expected)
    xt, yt = Tensor(x), Tensor(y)
    with GradientTape() as tape:
        tape.watch(xt)
        tape.watch(yt)
        out = ops.divide_no_nan(xt, yt)
    gx, gy = tape.gradient(out, [xt, yt])
    safe_y = np.where(y == 0, 1.0, y)
    np.testing.assert_allclose(_np(gx), np.where(y == 0, 0.0, 1 / safe_y))
    np.testing.assert_allclose(_np(gy), np.where(y == 0, 0.0, -x / safe_y ** 2))
    # away from zero divisors it is `divide`, gradients included
    check_gradients(ops.divide_no_nan, [r(3, 4), pos(3, 1)])


def test_divide_no_nan_keeps_float32_with_scalar_divisors():
    x = Tensor(np.array([1.0, 2.0], np.float32))
    for divisor in (0, 0.0, 2.0, np.float32(0)):
        out = ops.divide_no_nan(x, divisor)
        assert out.dtype == np.float32
        expected = np.zeros(2) if divisor == 0 else np.array([0.5, 1.0])
        np.testing.assert_allclose(_np(out), expected)
