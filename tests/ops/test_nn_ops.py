"""minikeras.ops.nn: fused primitives against NumPy references and central differences."""
import numpy as np
import pytest

from minikeras import ops
from minikeras.ops import nn as N
from minikeras.core.tensor import Tensor, GradientTape, Variable
from gradcheck import check_gradients

RNG = np.random.default_rng(99)


def r(*shape):
    return RNG.standard_normal(shape)


def _np(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _log_softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


ACT_REF = {None: lambda z: z, "linear": lambda z: z, "relu": lambda z: np.maximum(z, 0),
           "tanh": np.tanh, "sigmoid": _sigmoid}


@pytest.mark.parametrize("activation", [None, "linear", "relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("xshape", [(5, 3), (2, 4, 3), (2, 2, 2, 3), (3,)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense(activation, xshape, use_bias, float64):
    x, w, b = r(*xshape), r(3, 4), r(4)
    bias = b if use_bias else None
    expected = ACT_REF[activation](x @ w + (b if use_bias else 0))
    got = N.dense(Tensor(x), Tensor(w), Tensor(bias) if use_bias else None, activation=activation)
    assert got.shape == expected.shape
    np.testing.assert_allclose(_np(got), expected, rtol=1e-12, atol=1e-12)
    if use_bias:
        check_gradients(lambda x_, w_, b_: N.dense(x_, w_, b_, activation=activation), [x, w, b])
    else:
        check_gradients(lambda x_, w_: N.dense(x_, w_, None, activation=activation), [x, w])


def test_dense_does_not_mutate_inputs_and_float32():
    x = np.ones((2, 3), np.float32)
    w = np.full((3, 2), -1.0, np.float32)
    b = np.zeros(2, np.float32)
    out = N.dense(Tensor(x), Tensor(w), Tensor(b), activation="relu")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(_np(out), 0)
    np.testing.assert_array_equal(b, 0)
    np.testing.assert_array_equal(w, -1)


def test_dense_first_layer_skips_input_gradient():
    x = Tensor(r(4, 3).astype(np.float32))
    w = Variable(r(3, 2).astype(np.float32))
    b = Variable(np.zeros(2, np.float32))
    with GradientTape() as tape:
        y = ops.sum(N.dense(x, w, b, activation="tanh"))
    gx, gw, gb = tape.gradient(y, [x, w, b])
    assert gx is None and gw.dtype == np.float32 and gb.shape == (2,)


@pytest.mark.parametrize("axis,xshape", [(-1, (2, 3, 4)), (1, (2, 3, 4)), (1, (2, 3)),
                                         (0, (3, 2))])
def test_bias_add(axis, xshape, float64):
    x = r(*xshape)
    b = r(xshape[axis])
    shape = [1] * len(xshape)
    shape[axis] = xshape[axis]
    np.testing.assert_allclose(_np(N.bias_add(Tensor(x), Tensor(b), axis=axis)),
                               x + b.reshape(shape))
    check_gradients(lambda x_, b_: N.bias_add(x_, b_, axis=axis), [x, b])


X = np.linspace(-3.1, 3.3, 24).reshape(4, 6) + 0.0123

ELEMENTWISE = {
    "relu": (N.relu, lambda x: np.maximum(x, 0)),
    "relu_slope": (lambda x: N.relu(x, negative_slope=0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "relu_max": (lambda x: N.relu(x, max_value=1.5), lambda x: np.clip(x, 0, 1.5)),
    "relu_threshold": (lambda x: N.relu(x, threshold=0.7), lambda x: np.where(x > 0.7, x, 0)),
    # tf.keras clips x * (x > threshold) to [0, max_value] before the slope part: a negative
    # threshold's (threshold, 0) maps to 0 (peer: K.relu(-0.25, 0.1, 2.0, -0.5) = 0)
    "relu_all": (lambda x: N.relu(x, negative_slope=0.1, max_value=2.0, threshold=-0.5),
                 lambda x: np.where(x >= 2, 2, np.where(x > -0.5, np.maximum(x, 0),
                                                        0.1 * (x + 0.5)))),
    "leaky_relu": (N.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    "leaky_relu_alpha": (lambda x: N.leaky_relu(x, 0.05), lambda x: np.where(x > 0, x, 0.05 * x)),
    "elu": (N.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    "elu_alpha": (lambda x: N.elu(x, 2.0), lambda x: np.where(x > 0, x, 2 * np.expm1(x))),
    "selu": (N.selu, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 *
                                                             np.expm1(x))),
    "softsign": (N.softsign, lambda x: x / (1 + np.abs(x))),
    "keras2_hard_sigmoid": (N.keras2_hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    "softmax": (N.softmax, lambda x: np.exp(_log_softmax(x))),
    "softmax_axis0": (lambda x: N.softmax(x, axis=0), lambda x: np.exp(_log_softmax(x, 0))),
    "log_softmax": (N.log_softmax, _log_softmax),
    "log_softmax_axis0": (lambda x: N.log_softmax(x, axis=0), lambda x: _log_softmax(x, 0)),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_forward_and_float32(name):
    fn, ref = ELEMENTWISE[name]
    np.testing.assert_allclose(_np(fn(Tensor(X))), ref(X), rtol=1e-12, atol=1e-12)
    out32 = _np(fn(Tensor(X.astype(np.float32))))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, ref(X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_gradients(name, float64):
    fn, _ = ELEMENTWISE[name]
    check_gradients(fn, [X])


def test_softmax_3d_gradients(float64):
    x = r(2, 3, 4)
    for axis in (0, 1, 2, -1):
        check_gradients(lambda v: N.softmax(v, axis=axis), [x])
        check_gradients(lambda v: N.log_softmax(v, axis=axis), [x])


def test_softmax_extreme_logits_stay_finite():
    x = np.array([[1e4, 0.0, -1e4]], np.float32)
    assert np.all(np.isfinite(_np(N.softmax(Tensor(x)))))
    assert np.all(np.isfinite(_np(N.log_softmax(Tensor(x)))))
    np.testing.assert_allclose(_np(N.log_softmax(Tensor(x))), [[0.0, -1e4, -2e4]])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_cross_entropy(axis, float64):
    logits = r(3, 5)
    labels = np.abs(r(3, 5))
    labels /= labels.sum(axis=axis, keepdims=True)
    expected = -(labels * _log_softmax(logits, axis)).sum(axis)
    np.testing.assert_allclose(_np(N.softmax_cross_entropy(Tensor(labels), Tensor(logits), axis)),
                               expected, rtol=1e-12)
    check_gradients(lambda y, z: N.softmax_cross_entropy(y, z, axis=axis), [labels, logits])


def _logits_gradient(labels, logits, axis=-1):
    z = Tensor(logits)
    with GradientTape() as tape:
        tape.watch(z)
        loss = N.softmax_cross_entropy(Tensor(labels), z, axis=axis)
    return _np(tape.gradient(loss, z))


@pytest.mark.parametrize("axis", [-1, 1])
def test_softmax_cross_entropy_gradient_is_softmax_minus_labels_as_tensorflow(axis, float64):
    # TensorFlow's kernel (used by tf.keras for softmax outputs and from_logits=True) returns
    # softmax - labels even when a label row does not sum to 1, e.g. the all-zero targets of
    # padded time steps (cnn_seq2seq): such a row still pushes its logits down.
    logits = r(2, 3, 4)
    labels = np.abs(r(2, 3, 4))
    labels[0, 1 if axis == -1 else slice(None), ...] = 0.0
    probs = np.exp(_log_softmax(logits, axis))
    np.testing.assert_allclose(_logits_gradient(labels, logits, axis), probs - labels,
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("lshape,zshape,axis", [((4,), (4, 5), -1), ((4, 1), (4, 5), -1),
                                                 ((2, 3), (2, 3, 5), -1), ((2, 3), (2, 5, 3), 1)])
def test_sparse_softmax_cross_entropy(lshape, zshape, axis, float64):
    logits = r(*zshape)
    n = zshape[axis]
    labels = RNG.integers(0, n, size=lshape)
    moved = np.moveaxis(logits, axis, -1)
    lab = labels.reshape(moved.shape[:-1])
    expected = -np.take_along_axis(_log_softmax(moved), lab[..., None], -1)[..., 0]
    got = N.sparse_softmax_cross_entropy(labels, Tensor(logits), axis=axis)
    np.testing.assert_allclose(_np(got), expected, rtol=1e-12)
    check_gradients(lambda z: N.sparse_softmax_cross_entropy(labels, z, axis=axis), [logits])


def test_sparse_softmax_cross_entropy_float32_and_extremes():
    logits = np.array([[200.0, -200.0, 0.0]], np.float32)
    out = _np(N.sparse_softmax_cross_entropy(np.array([1]), Tensor(logits)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [400.0])


def test_sigmoid_cross_entropy(float64):
    logits, labels = 5 * r(3, 4), RNG.uniform(0, 1, (3, 4))
    expected = -(labels * np.log(_sigmoid(logits)) + (1 - labels) * np.log(1 - _sigmoid(logits)))
    np.testing.assert_allclose(_np(N.sigmoid_cross_entropy(Tensor(labels), Tensor(logits))),
                               expected, rtol=1e-10)
    check_gradients(lambda y, z: N.sigmoid_cross_entropy(y, z), [labels, logits])
    big = np.array([500.0, -500.0], np.float32)
    out = _np(N.sigmoid_cross_entropy(Tensor(np.array([0.0, 1.0], np.float32)), Tensor(big)))
    np.testing.assert_allclose(out, [500.0, 500.0])
    assert out.dtype == np.float32


@pytest.mark.parametrize("noise_shape", [None, (4, 1), (1, 6)])
def test_dropout(noise_shape, float64):
    x = r(4, 6)
    rate = 0.4

    def fn(v):
        return N.dropout(v, rate, np.random.default_rng(7), noise_shape)
    out = _np(fn(Tensor(x)))
    keep = np.random.default_rng(7).random(noise_shape or x.shape, dtype=np.float32) >= rate
    np.testing.assert_allclose(out, x * keep / (1 - rate), rtol=1e-12)
    if noise_shape is not None:   # whole rows / columns dropped together
        zero = out == 0
        assert np.all(zero == np.broadcast_to(~keep, x.shape))
    check_gradients(fn, [x])


def test_dropout_statistics_and_dtype():
    x = np.ones((200, 200), np.float32)
    out = _np(N.dropout(Tensor(x), 0.3, np.random.default_rng(0)))
    assert out.dtype == np.float32
    assert abs(np.mean(out == 0) - 0.3) < 0.01
    assert abs(out.mean() - 1.0) < 0.02


def test_dense_sigmoid_output_remembers_logits():
    x, w, b = r(3, 2), r(2, 4), r(4)
    out = N.dense(Tensor(x), Tensor(w), Tensor(b), activation="sigmoid")
    assert out._keras_logits is not None
    np.testing.assert_allclose(_np(out._keras_logits), x @ w + b, rtol=1e-12)


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 3), (64, 33)])
@pytest.mark.parametrize("rate", [0.0, 1e-9, 0.1, 0.2, 0.5, 0.7, 0.999, 1 - 1e-9])
def test_keep_mask_is_the_float32_uniform_comparison(shape, rate):
    """Raw 32-bit words against an integer threshold give exactly the decisions of
    `random(float32) >= rate`, odd sizes and rates that round to 1 in float32 included."""
    expected = np.random.default_rng(3).random(shape, dtype=np.float32) >= rate
    got = N.keep_mask(np.random.default_rng(3), shape, rate)
    assert got.dtype == bool and got.shape == shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("bit_generator", [np.random.SFC64, np.random.Philox,
                                           np.random.PCG64DXSM, np.random.MT19937])
def test_keep_mask_with_other_bit_generators(bit_generator):
    """64-bit generators hand out their words' halves low first too; MT19937's raw words are
    32-bit, so it draws floats."""
    expected = np.random.Generator(bit_generator(3)).random((9, 7), dtype=np.float32) >= 0.3
    got = N.keep_mask(np.random.Generator(bit_generator(3)), (9, 7), 0.3)
    np.testing.assert_array_equal(got, expected)
    assert abs(N.keep_mask(np.random.Generator(bit_generator(5)), (400, 400), 0.3).mean()
               - 0.7) < 0.005


def test_keep_mask_draws_fresh_words_and_repeats_under_a_seed():
    first, second = np.random.default_rng(11), np.random.default_rng(11)
    masks = [N.keep_mask(first, (5, 7), 0.5) for _ in range(3)]
    np.testing.assert_array_equal(masks[0], N.keep_mask(second, (5, 7), 0.5))
    np.testing.assert_array_equal(masks[1], N.keep_mask(second, (5, 7), 0.5))
    assert not np.array_equal(masks[0], masks[1])


def test_dropout_float32_scale_and_gradient_is_the_mask():
    x = RNG.standard_normal((33, 17)).astype(np.float32)
    rate = 0.3
    t = Tensor(x)
    with GradientTape() as tape:
        tape.watch(t)
        out = N.dropout(t, rate, np.random.default_rng(5))
    keep = np.random.default_rng(5).random(x.shape, dtype=np.float32) >= rate
    scale = np.float32(1 / (1 - rate))
    assert out.data.dtype == np.float32
    np.testing.assert_array_equal(out.data, x * (keep * scale))
    np.testing.assert_array_equal(tape.gradient(out, t).numpy(), keep * scale)


@pytest.mark.parametrize("alpha", [0.2, 0.05, 0.0, 1.0, 1.5, -0.3])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_leaky_relu_is_np_where_bit_for_bit(alpha, dtype):
    """The max/min forward and the bit-select backward give np.where's very bits (zeros of
    both signs, infinities, both branches, every slope)."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(997), [0.0, -0.0, np.inf, -np.inf, 1e-30, -1e-30]])
    x = x.astype(dtype).reshape(-1, 1)
    g = rng.standard_normal(x.shape).astype(dtype)
    xt = Variable(x)
    with GradientTape() as tape:
        out = N.leaky_relu(xt, alpha)
    (grad,) = tape.gradient(out, [xt], output_gradients=Tensor(g))
    expected = np.where(x > 0, x, x * alpha).astype(dtype)
    assert out.numpy().dtype == np.dtype(dtype) and grad.numpy().dtype == np.dtype(dtype)
    assert out.numpy().tobytes() == expected.tobytes()
    assert grad.numpy().tobytes() == np.where(x > 0, g, g * alpha).astype(dtype).tobytes()


def test_leaky_relu_of_a_scalar_and_of_a_numpy_float64_slope():
    assert float(N.leaky_relu(Tensor(np.float32(-2.0)), 0.5).numpy()) == -1.0
    x = np.array([-1.0, 2.0], np.float32)
    out = N.leaky_relu(Tensor(x), np.float64(0.1)).numpy()
    np.testing.assert_array_equal(out, np.where(x > 0, x, x * np.float64(0.1)).astype(np.float32))
