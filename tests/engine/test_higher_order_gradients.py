"""Second-order gradients: a gradient taken while a tape (or a train step) records is made of
recorded ops, so it can be differentiated again (gradient penalties, Hessian-vector products).

Hessian-vector products are checked against central differences of first-order gradients in
float64; the WGAN-GP penalty and training steps against tf_keras 2.21 (fixtures grad2/,
recipe benchmarks/fixture_recipes/grad2.py)."""
import os
import sys
import types

import numpy as np
import pytest

import minikeras as keras
from minikeras import ops
from minikeras.core.tensor import GradientTape, Tensor, Variable, record
from minikeras.ops.conv import avg_pool, conv as kernel_conv, conv_transpose, max_pool
from minikeras.ops import nn as nn_ops
from minikeras.ops.layer_norm import layer_norm

_RECIPES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "benchmarks",
                        "fixture_recipes")
sys.path.insert(0, os.path.normpath(_RECIPES))
import grad2_models as models  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "grad2")

# what keras.io's WGAN-GP penalty calls from tf, spelled with minikeras
TF_LIKE = types.SimpleNamespace(GradientTape=GradientTape, sqrt=ops.sqrt, reduce_sum=ops.sum,
                                square=ops.square, reduce_mean=ops.mean)


# ---------------------------------------------------------------------------------------
# Hessian-vector products against finite differences of gradients (float64)
# ---------------------------------------------------------------------------------------
def _first_order(fn, arrays):
    tensors = [Tensor(a) for a in arrays]
    with GradientTape() as tape:
        tape.watch(tensors)
        y = fn(*tensors)
    return [np.zeros_like(a) if g is None else np.asarray(g, np.float64)
            for g, a in zip(tape.gradient(y, tensors), arrays)]


def _hessian_vector_product(fn, arrays, directions):
    tensors = [Tensor(a) for a in arrays]
    with GradientTape() as outer:
        outer.watch(tensors)
        with GradientTape() as inner:
            inner.watch(tensors)
            y = fn(*tensors)
        grads = inner.gradient(y, tensors)
        assert any(g is not None for g in grads)
        dot = None
        for g, v in zip(grads, directions):
            if g is not None:
                term = ops.sum(ops.multiply(g, Tensor(v)))
                dot = term if dot is None else ops.add(dot, term)
    return [np.zeros_like(a) if h is None else np.asarray(h, np.float64)
            for h, a in zip(outer.gradient(dot, tensors), arrays)]


def check_hessian_vector_product(fn, shapes, seed=0, eps=1e-6, rtol=1e-6, atol=1e-8,
                                 positive=False):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    if positive:
        arrays = [np.abs(a) + 0.5 for a in arrays]
    directions = [rng.standard_normal(shape) for shape in shapes]
    got = _hessian_vector_product(fn, arrays, directions)
    plus = _first_order(fn, [a + eps * v for a, v in zip(arrays, directions)])
    minus = _first_order(fn, [a - eps * v for a, v in zip(arrays, directions)])
    for g, p, m in zip(got, plus, minus):
        np.testing.assert_allclose(g, (p - m) / (2 * eps), rtol=rtol, atol=atol)
    return got


def _total(t):
    return ops.sum(t)


ELEMENTWISE = {
    "arithmetic_broadcast": (lambda x, r: _total(
        (x * r - x / (1.0 + r * r) + r ** 3 - (x - r) ** 2.0) / 3.0), [(3, 4), (4,)]),
    "unary": (lambda x, r: _total(
        ops.exp(0.3 * x) * ops.sin(r) + ops.cos(x * r) + ops.log1p(x * x) + ops.expm1(0.2 * r)
        + ops.sqrt(x * x + 1.0) + ops.log(r * r + 2.0) + ops.abs(x) * r + ops.negative(x * x)
        + ops.square(x * r)), [(3, 4), (4,)]),
    "power_of_tensor_exponent": (lambda x, r: _total(ops.power(x, r)), [(3, 4), (4,)]),
    "keras_ops_elementwise": (lambda x, r: _total(
        ops.rsqrt(x * x + 1.0) * r + ops.reciprocal(x * x + 2.0) + ops.tan(0.3 * x) * r
        + ops.sinh(0.5 * x) * ops.cosh(0.2 * r) + ops.arctan(x * r) + ops.arcsinh(x)
        + ops.arctanh(0.3 * ops.tanh(x)) + ops.log2(x * x + 1.0) * r
        + ops.log10(r * r + 1.0) * x + ops.exp2(0.3 * x) + ops.cbrt(x * x + 1.0) * r),
        [(3, 4), (4,)]),
    "activations": (lambda x, r: _total(
        ops.tanh(x * r) + ops.sigmoid(x) * r + ops.softplus(x * r) + nn_ops.elu(x * r) * x
        + nn_ops.leaky_relu(x * r, 0.3) * x + nn_ops.relu(x) * r + nn_ops.selu(x * r)
        + nn_ops.softsign(x * r) + ops.erf(x * 0.5) + nn_ops.prelu(x * x - 0.5, r) * x)
        + _total(ops.logsumexp(x * r, axis=1) ** 2) + ops.logsumexp(x, axis=(0, 1)) * r[0]
        + _total(ops.logsumexp(x * x, axis=0, keepdims=True) * r), [(3, 4), (4,)]),
    "min_max_clip_where": (lambda x, r: _total(
        ops.maximum(x, r) * x + ops.minimum(x * r, 0.5) ** 2 + ops.clip(x, -0.5, 0.7) * r
        + ops.where(x > 0, x * x, r * x)), [(3, 4), (4,)]),
    "reductions": (lambda x, r: _total(ops.mean(x * x, axis=0) * r)
        + _total(ops.sum(x * r, axis=1, keepdims=True) ** 2) + _total(ops.max(x * r, axis=1) ** 2)
        + _total(ops.min(x, axis=0) * r) + _total(ops.cumsum(x * x, axis=1) * x),
        [(3, 4), (4,)]),
    "shapes": (lambda x, r: _total(ops.reshape(x * x, (2, 6))[:, 1:4] ** 2)
        + _total(ops.concatenate([x * r, x * x], axis=0)[2:5] ** 2)
        + _total(ops.transpose(ops.expand_dims(x, 0), (2, 1, 0))[0:3, :, 0].T ** 3)
        + _total(ops.stack([x, x * r], axis=1) ** 2 * 0.5)
        + _total(ops.split(x * x, 2, axis=1)[1] * x[:, :2])
        + _total(ops.pad(x * x, [(1, 0), (0, 2)]) ** 2 * 0.3)
        + _total(ops.squeeze(ops.broadcast_to(ops.reshape(r, (1, 4)), (3, 4))[:1]) * r)
        + _total(ops.tile(x * r, (2, 1)) ** 2) + _total(ops.repeat(x, 2, axis=1) ** 3 * 0.1)
        + _total(ops.flip(x, 0) * x) + _total(ops.cast(x, "float64") * r)
        + _total(x[[0, 2, 0]] ** 2 * r), [(3, 4), (4,)]),
    "matmul_softmax": (lambda x, w: _total(
        ops.softmax(ops.matmul(x, w), axis=-1) * ops.log_softmax(ops.matmul(x, w) * 0.5))
        + _total(ops.matmul(ops.transpose(x), ops.tanh(ops.matmul(x, w)))[:, :1] ** 2),
        [(3, 4), (4, 5)]),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_hessian_vector_products_of_elementwise_and_shape_ops(name):
    fn, shapes = ELEMENTWISE[name]
    check_hessian_vector_product(fn, shapes, positive=(name == "power_of_tensor_exponent"))


def test_hessian_vector_products_of_crossentropies_from_logits():
    rng = np.random.default_rng(8)
    probabilities = rng.dirichlet(np.ones(4), size=3)
    classes = np.array([2, 0, 3])
    binary = rng.uniform(size=(3, 4))

    def fn(x, w):
        logits = ops.matmul(ops.tanh(x), w)
        return (_total(nn_ops.softmax_cross_entropy(Tensor(probabilities), logits) * x[:, 0])
                + _total(nn_ops.sparse_softmax_cross_entropy(Tensor(classes), logits))
                + _total(nn_ops.sigmoid_cross_entropy(Tensor(binary), logits) * x[:, :1])
                + nn_ops._mean_of_losses(nn_ops.softmax_cross_entropy(
                    Tensor(probabilities), logits * 2.0)))
    check_hessian_vector_product(fn, [(3, 5), (5, 4)])


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy",
                                  "binary_crossentropy"])
def test_hessian_vector_products_of_keras_losses_on_activations(loss):
    # the losses read the logits of a softmax / sigmoid output (tf.keras' from-logits route)
    rng = np.random.default_rng(9)
    sparse = loss.startswith("sparse")
    targets = rng.integers(0, 4, size=(3, 1)) if sparse else \
        (rng.uniform(size=(3, 4)) > 0.5).astype("float64")
    loss_fn = keras.losses.get(loss)
    activation = ops.sigmoid if loss == "binary_crossentropy" else ops.softmax

    def fn(x, w):
        return loss_fn(Tensor(targets), activation(ops.matmul(ops.tanh(x), w))) * 1.0
    check_hessian_vector_product(fn, [(3, 5), (5, 4)], rtol=1e-5)


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
def test_hessian_vector_products_of_dense_and_bias_add(activation):
    def fn(x, w, b):
        hidden = nn_ops.dense(x, w, b, activation)
        return _total(ops.square(nn_ops.bias_add(hidden, b * 0.5)) * ops.reshape(x[:, :1], (3, 1)))
    check_hessian_vector_product(fn, [(3, 4), (4, 4), (4,)])


def test_hessian_vector_products_of_dense_on_three_dimensional_inputs():
    check_hessian_vector_product(
        lambda x, w: _total(ops.tanh(nn_ops.dense(x, w)) ** 2), [(2, 3, 4), (4, 2)])


def test_hessian_vector_products_of_dropout_with_a_fixed_mask():
    # the same generator state at each call: the same mask
    def fn(x, w):
        dropped = nn_ops.dropout(ops.matmul(x, w), 0.4, np.random.default_rng(3))
        return _total(ops.tanh(dropped) * x[:, :1])
    check_hessian_vector_product(fn, [(5, 4), (4, 3)])


def test_hessian_vector_products_of_layer_normalization():
    def fn(x, gamma, beta):
        out = layer_norm(x * x, gamma, beta, axes=(1, 2), epsilon=1e-3, param_shape=(1, 3, 4))
        return _total(ops.tanh(out) * x)
    check_hessian_vector_product(fn, [(2, 3, 4), (3, 4), (3, 4)], rtol=1e-5)


BATCH_NORMS = [
    dict(shape=(6, 4), axes=(0,), activation=None),
    dict(shape=(4, 3, 3, 5), axes=(0, 1, 2), activation=None),
    dict(shape=(4, 3, 3, 5), axes=(0, 1, 2), activation="tanh"),
    dict(shape=(4, 3, 3, 5), axes=(0, 1, 2), activation="sigmoid"),
    dict(shape=(3, 5, 2, 2), axes=(0, 2, 3), activation="relu"),
]


@pytest.mark.parametrize("case", BATCH_NORMS, ids=lambda c: "-".join(map(str, c.values())))
def test_hessian_vector_products_of_training_batch_normalization(case):
    from minikeras.ops.batch_norm import batch_norm_train
    channels = case["shape"][1 if case["axes"] == (0, 2, 3) else -1]

    def fn(x, scale, offset):
        out, _ = batch_norm_train(x * x, scale, offset, case["axes"], 1e-3,
                                  activation=case["activation"])
        return _total(ops.tanh(out) * x)
    check_hessian_vector_product(fn, [case["shape"], (channels,), (channels,)], rtol=1e-5)


def test_hessian_vector_products_of_inference_batch_normalization():
    from minikeras.ops.batch_norm import batch_norm_inference
    rng = np.random.default_rng(6)
    mean, variance = rng.standard_normal(5), rng.uniform(0.5, 2.0, 5)

    def fn(x, scale, offset):
        out = batch_norm_inference(x * x, mean, variance, scale, offset, (0, 1, 2), 1e-3)
        return _total(ops.tanh(out) * x)
    check_hessian_vector_product(fn, [(2, 3, 3, 5), (5,), (5,)], rtol=1e-5)


CONVOLUTIONS = [
    dict(strides=(1, 1), padding="valid", kernel=(3, 3), activation=None),
    dict(strides=(2, 2), padding="same", kernel=(3, 3), activation="relu"),
    dict(strides=(2, 1), padding="same", kernel=(2, 3), activation="tanh"),
    dict(strides=(1, 1), padding="same", kernel=(3, 3), activation=None,
         data_format="channels_first"),
    dict(strides=(1, 1), padding="valid", kernel=(2, 2), activation="relu", dilation=(2, 1),
         groups=3),
]


@pytest.mark.parametrize("case", CONVOLUTIONS, ids=lambda c: "-".join(map(str, c.values())))
def test_hessian_vector_products_of_conv2d(case):
    channels_first = case.get("data_format") == "channels_first"
    x_shape = (2, 3, 6, 5) if channels_first else (2, 6, 5, 3)

    groups = case.get("groups", 1)
    filters = 6 if groups > 1 else 4

    def fn(x, kernel, bias):
        out = kernel_conv(x, kernel, case["strides"], case["padding"],
                          case.get("dilation", (1, 1)), groups,
                          data_format=case.get("data_format", "channels_last"), bias=bias,
                          activation=case["activation"])
        return _total(ops.tanh(out) * ops.sum(x * x) * 0.1 + out ** 2)
    check_hessian_vector_product(
        fn, [x_shape, case["kernel"] + (3 // groups, filters), (filters,)], rtol=1e-5)


POOLINGS = [
    dict(pool=(2, 2), strides=(2, 2), padding="valid"),
    dict(pool=(3, 2), strides=(1, 2), padding="same"),
    dict(pool=(2, 2), strides=(2, 1), padding="same", data_format="channels_first"),
]


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("case", POOLINGS, ids=lambda c: "-".join(map(str, c.values())))
def test_hessian_vector_products_of_pooling(kind, case):
    pool = max_pool if kind == "max" else avg_pool
    data_format = case.get("data_format", "channels_last")

    def fn(x, scale):
        pooled = pool(ops.tanh(x * scale), case["pool"], case["strides"], case["padding"],
                      data_format)
        return _total(ops.square(pooled) * ops.sum(x))
    check_hessian_vector_product(fn, [(2, 5, 6, 3), (3,)], rtol=1e-5)


@pytest.mark.parametrize("activation", ["relu", None])
def test_hessian_vector_products_of_the_fused_conv_max_pool_op(activation):
    from minikeras.ops.conv_pool import conv_max_pool

    def fn(x, kernel, bias):
        out = conv_max_pool(x, kernel, bias, "same", (1, 1), activation, (2, 2), "valid")
        assert out is not None          # the fused op applies to these shapes
        return _total(ops.tanh(out) * ops.sum(x * x) * 0.1 + out ** 2)
    check_hessian_vector_product(fn, [(2, 6, 4, 3), (2, 2, 3, 4), (4,)], rtol=1e-5)


def test_gradient_penalty_through_a_fused_conv_pooling_model_matches_layer_by_layer(
        monkeypatch):
    from minikeras.models import fusion

    def penalty_gradients():
        critic = keras.Sequential([
            keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 2, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(1)])
        critic.set_weights(models.seeded_weights(critic, 70))
        samples = Tensor(models.batch(71, 3, 6, 6, 2))
        with GradientTape() as tape:
            gp = models.gradient_penalty(TF_LIKE, critic, samples, samples * 0.5,
                                         Tensor(np.full((3, 1, 1, 1), 0.3, "float32")))
        # the conv bias reaches the input gradient only through the relu mask and routing:
        # zeros, as tf (ReluGrad and MaxPoolGrad keep their operands); the Dense bias: None
        kernel, bias, dense_kernel, dense_bias = tape.gradient(gp, critic.trainable_weights)
        assert bias is not None and not np.any(bias.numpy()) and dense_bias is None
        return kernel.numpy(), dense_kernel.numpy()

    fused = penalty_gradients()
    monkeypatch.setattr(fusion, "ENABLED", False)
    for got, want in zip(fused, penalty_gradients()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_gradient_penalty_through_batch_norm_activation_pooling_fused_or_not(
        monkeypatch, activation):
    # Conv2D > BatchNormalization > Activation > MaxPooling2D: fit's fused training ops
    # (batch norm with its activation, the pooling after it) against layer by layer
    from minikeras.models import fusion

    def penalty_gradients():
        critic = keras.Sequential([
            keras.Input((6, 6, 2)), keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.BatchNormalization(), keras.layers.Activation(activation),
            keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(1)])
        critic.set_weights(models.seeded_weights(critic, 72))
        samples = Tensor(models.batch(73, 4, 6, 6, 2))
        with GradientTape() as tape:
            gp = models.gradient_penalty(TF_LIKE, critic, samples, samples * 0.5,
                                         Tensor(np.full((4, 1, 1, 1), 0.3, "float32")))
        grads = tape.gradient(gp, critic.trainable_weights)
        return float(gp), [None if g is None else g.numpy() for g in grads]

    fused_gp, fused = penalty_gradients()
    monkeypatch.setattr(fusion, "ENABLED", False)
    monkeypatch.setattr(fusion, "TRAINING_ENABLED", False)
    plain_gp, plain = penalty_gradients()
    np.testing.assert_allclose(fused_gp, plain_gp, rtol=1e-5)
    assert [g is None for g in fused] == [g is None for g in plain]
    for got, want in zip(fused, plain):
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_third_order_through_pooling_primitives():
    rng = np.random.default_rng(5)
    x0, v = rng.standard_normal((1, 4, 4, 2)), rng.standard_normal((1, 4, 4, 2))
    for pool in (max_pool, avg_pool):
        def f(x):
            return _total(pool(x, (2, 2), (1, 1), "valid") ** 3)

        xt = Tensor(x0)
        with GradientTape() as third:
            third.watch(xt)
            with GradientTape() as second:
                second.watch(xt)
                with GradientTape() as first:
                    first.watch(xt)
                    y = f(xt)
                along_v = _total(first.gradient(y, xt) * Tensor(v))
            curvature = _total(second.gradient(along_v, xt) * Tensor(v))
        got = third.gradient(curvature, xt).numpy()
        eps = 1e-5
        plus = _hessian_vector_product(f, [x0 + eps * v], [v])[0]
        minus = _hessian_vector_product(f, [x0 - eps * v], [v])[0]
        np.testing.assert_allclose(got, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-8)


TRANSPOSED = [
    dict(strides=(2, 2), padding="same", kernel=(3, 3), output=(8, 6)),
    dict(strides=(2, 1), padding="valid", kernel=(2, 3), output=(8, 5)),
    dict(strides=(2, 2), padding="valid", kernel=(3, 3), output=(10, 8)),   # output padding
    dict(strides=(1, 1), padding="same", kernel=(3, 2), output=(4, 3),
         data_format="channels_first"),
]


@pytest.mark.parametrize("case", TRANSPOSED, ids=lambda c: "-".join(map(str, c.values())))
def test_hessian_vector_products_of_conv2d_transpose(case):
    channels_first = case.get("data_format") == "channels_first"
    x_shape = (2, 3, 4, 3) if channels_first else (2, 4, 3, 3)

    def fn(x, kernel):
        out = conv_transpose(x, kernel, case["strides"], case["padding"], (1, 1),
                             case["output"], case.get("data_format", "channels_last"))
        return _total(ops.tanh(out) * ops.sum(x * x) * 0.1 + out ** 2)
    check_hessian_vector_product(fn, [x_shape, case["kernel"] + (2, 3)], rtol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "tanh", None])
@pytest.mark.parametrize("case", TRANSPOSED[:1] + TRANSPOSED[3:],
                         ids=lambda c: "-".join(map(str, c.values())))
def test_hessian_vector_products_of_conv2d_transpose_with_bias_and_activation(case, activation):
    """Conv2DTranspose's op with its bias and activation inside (second_order's rule reads
    the activation's gradient from the op's output, as for `conv`)."""
    channels_first = case.get("data_format") == "channels_first"
    x_shape = (2, 3, 4, 3) if channels_first else (2, 4, 3, 3)

    def fn(x, kernel, bias):
        out = conv_transpose(x, kernel, case["strides"], case["padding"], (1, 1),
                             case["output"], case.get("data_format", "channels_last"),
                             bias=bias, activation=activation)
        return _total(ops.tanh(out) * ops.sum(x * x) * 0.1 + out ** 2)
    check_hessian_vector_product(fn, [x_shape, case["kernel"] + (2, 3), (2,)], rtol=1e-5)


def test_third_order_through_convolution_primitives():
    # the gradient ops of a convolution are differentiable again: D3 f[v, v, .] against
    # central differences of Hessian-vector products
    rng = np.random.default_rng(4)
    x0, v = rng.standard_normal((1, 5, 4, 2)), rng.standard_normal((1, 5, 4, 2))
    kernel = Tensor(rng.standard_normal((2, 2, 2, 3)))

    def f(x):
        return _total(kernel_conv(x, kernel, (2, 1), "same", (1, 1)) ** 3)

    xt = Tensor(x0)
    with GradientTape() as third:
        third.watch(xt)
        with GradientTape() as second:
            second.watch(xt)
            with GradientTape() as first:
                first.watch(xt)
                y = f(xt)
            along_v = _total(first.gradient(y, xt) * Tensor(v))
        curvature = _total(second.gradient(along_v, xt) * Tensor(v))
    got = third.gradient(curvature, xt).numpy()
    eps = 1e-5
    plus = _hessian_vector_product(f, [x0 + eps * v], [v])[0]
    minus = _hessian_vector_product(f, [x0 - eps * v], [v])[0]
    np.testing.assert_allclose(got, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------
# closed forms, tf's tape semantics
# ---------------------------------------------------------------------------------------
def test_second_derivatives_in_closed_form():
    x = Variable(np.array([0.7, -1.3, 2.0], np.float32))
    with GradientTape() as outer:
        with GradientTape() as inner:
            cube, hyperbolic = x ** 3, ops.tanh(x)
        first = inner.gradient([cube, hyperbolic], x)
    second = outer.gradient(first, x)
    t = np.tanh(x.data)
    np.testing.assert_allclose(first.numpy(), 3 * x.data ** 2 + 1 - t ** 2, rtol=1e-6)
    np.testing.assert_allclose(second.numpy(), 6 * x.data - 2 * t * (1 - t ** 2), rtol=1e-5)


def test_hessian_of_nested_tapes_as_tf():
    # HOML2 ch12: tf answers [[6, 2], [2, None]]
    w1, w2 = Variable(np.float32(5.0)), Variable(np.float32(3.0))
    with GradientTape(persistent=True) as hessian_tape:
        with GradientTape() as jacobian_tape:
            z = 3 * w1 ** 2 + 2 * w1 * w2
        jacobians = jacobian_tape.gradient(z, [w1, w2])
    hessians = [hessian_tape.gradient(j, [w1, w2]) for j in jacobians]
    assert [float(j) for j in jacobians] == [36.0, 10.0]
    assert [float(h) for h in hessians[0]] == [6.0, 2.0]
    assert float(hessians[1][0]) == 2.0 and hessians[1][1] is None


def test_persistent_tape_records_its_own_gradient_inside_its_block():
    x = Variable(np.array([1.5, -2.0], np.float32))
    with GradientTape(persistent=True) as tape:
        y = ops.sum(x ** 4)
        dy = tape.gradient(y, x)
    np.testing.assert_allclose(tape.gradient(dy, x).numpy(), 12 * x.data ** 2)


def test_gradient_taken_outside_every_tape_is_a_constant():
    x = Variable(np.array([1.5, -2.0], np.float32))
    with GradientTape(persistent=True) as tape:
        y = ops.sum(x ** 4)
    dy = tape.gradient(y, x)             # outside the block: tf records nothing either
    assert tape.gradient(dy, x) is None


def test_non_persistent_tape_stops_recording_when_asked_inside_its_block():
    x = Variable(np.array([1.5, -2.0], np.float32))
    with GradientTape() as tape:
        y = ops.sum(x ** 2)
        grad = tape.gradient(y, x)
        after = x * 3.0
    np.testing.assert_allclose(grad.numpy(), 2 * x.data)
    assert after._parents is None       # not recorded: tf pops the tape in gradient()


def test_output_gradients_that_are_recorded_tensors():
    x = Variable(np.array([0.5, 1.0], np.float32))
    with GradientTape() as outer:
        with GradientTape() as inner:
            y = x ** 2
        g = inner.gradient(y, x, output_gradients=x * 1.0)      # 2 x * x
    np.testing.assert_allclose(outer.gradient(g, x).numpy(), 4 * x.data)


def test_recorded_gradient_without_an_outer_source_is_none_to_the_outer_tape():
    w = Variable(np.array([2.0], np.float32))
    c = Tensor(np.array([3.0], np.float32))
    with GradientTape(persistent=True) as outer:
        with GradientTape() as inner:
            inner.watch(c)
            y = c * w
        g = inner.gradient(y, c)            # = w, a function of w only
    assert outer.gradient(g, c) is None
    np.testing.assert_allclose(outer.gradient(g, w).numpy(), [1.0])


# ---------------------------------------------------------------------------------------
# ops without a differentiable backward
# ---------------------------------------------------------------------------------------
def without_rule_op(x):
    """An op recorded with a NumPy backward and no second-order rule (fid-grad3 gave the
    depthwise convolution, the example here before, a rule)."""
    xd = x.data

    def backward(g, needs):
        return (g * np.cos(xd),)
    return record(np.sin(xd), (x,), backward)



def test_unsupported_op_names_itself_when_differentiated_twice():
    x = Variable(np.random.default_rng(0).standard_normal((1, 4, 4, 2)).astype("float32"))
    with GradientTape() as outer:
        with GradientTape() as inner:
            y = ops.sum(without_rule_op(x * x) ** 2)
        g = inner.gradient(y, x)
        penalty = ops.sum(g * g)
    # the gradient itself is right (the NumPy backward's)
    with GradientTape() as reference:
        y = ops.sum(without_rule_op(x * x) ** 2)
    np.testing.assert_allclose(g.numpy(), reference.gradient(y, x).numpy(), rtol=1e-6)
    with pytest.raises(NotImplementedError,
                       match="second-order gradient of without_rule_op is not supported"):
        outer.gradient(penalty, x)


def test_keras_ops_function_without_a_rule_names_itself():
    from minikeras.ops import numpy_ops
    # every function numpy_ops._unary makes has a rule since fid-grad3 (arcsin was this
    # example): one made here has none
    arcsin = numpy_ops._unary("arcsin_again", np.arcsin, lambda x, y: 1 / np.sqrt(1 - x * x))
    x = Variable(np.array([0.2, -0.4], np.float32))
    with GradientTape() as outer:
        with GradientTape() as inner:
            y = ops.sum(arcsin(x) * x)
        g = inner.gradient(y, x)
        penalty = ops.sum(g * g)
    np.testing.assert_allclose(g.numpy(), np.arcsin(x.data) + x.data / np.sqrt(1 - x.data ** 2),
                               rtol=1e-6)
    with pytest.raises(NotImplementedError, match="second-order gradient of a keras.ops function"):
        outer.gradient(penalty, x)


def test_gradient_inside_another_tape_that_does_not_differentiate_it():
    # a GAN loop asking the generator's tape inside the critic tape's block (tf records the
    # gradient on the other tape and never uses it): an op without a rule must not fail there
    x = Variable(np.random.default_rng(0).standard_normal((1, 4, 4, 2)).astype("float32"))
    w = Variable(np.float32(2.0))
    with GradientTape() as first, GradientTape() as second:
        upsampled = without_rule_op(x * w)
        first_loss, second_loss = ops.sum(upsampled ** 2), ops.sum(upsampled)
        first_grads = first.gradient(first_loss, [x, w])
        second_grads = second.gradient(second_loss, [x, w])
    assert all(g is not None for g in first_grads + second_grads)


def test_unsupported_op_beyond_the_sources_is_not_asked():
    # the op without a rule happens before the watched tensor: never differentiated
    x = Variable(np.random.default_rng(0).standard_normal((1, 4, 4, 2)).astype("float32"))
    with GradientTape() as outer:
        upsampled = without_rule_op(x)
        with GradientTape() as inner:
            inner.watch(upsampled)
            y = ops.sum(upsampled ** 3)
        g = inner.gradient(y, upsampled)
        total = ops.sum(g)
    np.testing.assert_allclose(g.numpy(), 3 * upsampled.data ** 2, rtol=1e-6)
    assert outer.gradient(total, x) is not None


# ---------------------------------------------------------------------------------------
# WGAN-GP against tf_keras 2.21
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,build", [("dense", models.dense_critic),
                                        ("conv", models.conv_critic)])
def test_gradient_penalty_and_its_weight_gradients_match_tf_keras(name, build):
    expected = np.load(os.path.join(FIXTURES, "penalties.npz"))
    critic = build(keras)
    count = len(critic.get_weights())
    critic.set_weights([expected[f"{name}_weight{i}"] for i in range(count)])
    with GradientTape() as tape:
        gp = models.gradient_penalty(TF_LIKE, critic, Tensor(expected[f"{name}_real"]),
                                     Tensor(expected[f"{name}_fake"]),
                                     Tensor(expected[f"{name}_alpha"]))
    grads = tape.gradient(gp, critic.trainable_weights)
    np.testing.assert_allclose(float(gp), float(expected[f"{name}_gp"]), rtol=1e-6)
    for i, grad in enumerate(grads):
        key = f"{name}_grad{i}"
        if key not in expected:
            assert grad is None, f"weight {i}: tf answers None"
        else:
            np.testing.assert_allclose(grad.numpy(), expected[key], rtol=1e-5, atol=1e-6)


def _wgan_models():
    critic, generator = models.dense_critic(keras), models.generator(keras)
    critic.set_weights(models.seeded_weights(critic, 11))
    generator.set_weights(models.seeded_weights(generator, 12))
    return critic, generator


def _wgan_step(critic, generator, d_opt, g_opt, real, noise, alpha):
    """keras.io WGAN-GP's train step, a tape for each network."""
    with GradientTape() as tape:
        fake = generator(noise, training=True)
        d_cost = ops.mean(critic(fake, training=True)) - ops.mean(critic(real, training=True))
        gp = models.gradient_penalty(TF_LIKE, critic, real, fake, alpha)
        d_loss = d_cost + gp * 10.0
    d_opt.apply_gradients(zip(tape.gradient(d_loss, critic.trainable_variables),
                              critic.trainable_variables))
    with GradientTape() as tape:
        g_loss = -ops.mean(critic(generator(noise, training=True), training=True))
    g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables),
                              generator.trainable_variables))
    return d_loss, g_loss


def test_wgan_gp_training_loop_matches_tf_keras():
    expected = np.load(os.path.join(FIXTURES, "wgan_steps.npz"))
    critic, generator = _wgan_models()
    d_opt, g_opt = keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.02)
    losses = [[float(v) for v in _wgan_step(critic, generator, d_opt, g_opt,
                                            Tensor(expected["real"]),
                                            Tensor(expected["noise"][s]),
                                            Tensor(expected["alphas"][s]))]
              for s in range(3)]
    np.testing.assert_allclose(losses, expected["loop_losses"], rtol=1e-5, atol=1e-6)
    for i, weight in enumerate(critic.get_weights()):
        np.testing.assert_allclose(weight, expected[f"loop_critic{i}"], rtol=1e-5, atol=1e-6)
    for i, weight in enumerate(generator.get_weights()):
        np.testing.assert_allclose(weight, expected[f"loop_generator{i}"], rtol=1e-5,
                                   atol=1e-6)


class _WGAN(keras.Model):
    def __init__(self, critic, generator):
        super().__init__()
        self.critic, self.generator = critic, generator

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def train_step(self, data):
        real, noise, alpha = data[0]
        d_loss, g_loss = _wgan_step(self.critic, self.generator, self.d_optimizer,
                                    self.g_optimizer, real, noise, alpha)
        return {"d_loss": d_loss, "g_loss": g_loss}


def test_wgan_gp_fit_with_train_step_matches_tf_keras():
    expected = np.load(os.path.join(FIXTURES, "wgan_steps.npz"))
    critic, generator = _wgan_models()
    wgan = _WGAN(critic, generator)
    wgan.compile(keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.02))
    losses = []
    for s in range(3):
        history = wgan.fit([expected["real"], expected["noise"][s], expected["alphas"][s]],
                           batch_size=3, epochs=1, shuffle=False, verbose=0)
        losses.append([history.history["d_loss"][0], history.history["g_loss"][0]])
    np.testing.assert_allclose(losses, expected["fit_losses"], rtol=1e-5, atol=1e-6)
    for i, weight in enumerate(critic.get_weights()):
        np.testing.assert_allclose(weight, expected[f"fit_critic{i}"], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------
# K.gradients inside a compiled loss (keras-contrib improved_wgan, a Keras 2 graph)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,build", [("dense", models.dense_critic),
                                        ("conv", models.conv_critic)])
def test_improved_wgan_gradient_penalty_loss_trains_as_tf_keras_graph(name, build):
    expected = np.load(os.path.join(FIXTURES, "improved_wgan.npz"))
    critic = build(keras)
    model = models.improved_wgan_critic_model(keras, critic)
    # the recipe's seeded weights (the fixture holds the final ones)
    critic.set_weights(models.seeded_weights(critic, {"dense": 40, "conv": 50}[name]))
    inputs = [expected[f"{name}_real"], expected[f"{name}_fake"], expected[f"{name}_alpha"]]
    ones = np.ones((4, 1), "float32")
    results = [model.train_on_batch(inputs, [ones, -ones, 0 * ones]) for _ in range(3)]
    np.testing.assert_allclose(results, expected[f"{name}_results"], rtol=2e-5, atol=2e-6)
    for i, weight in enumerate(critic.get_weights()):
        np.testing.assert_allclose(weight, expected[f"{name}_weight{i}"], rtol=1e-4, atol=1e-5)


def test_k_gradients_of_a_concrete_loss_outside_a_step_still_raises():
    x = Tensor(np.ones((2, 3), "float32"))
    with pytest.raises(RuntimeError, match="tf.gradients is not supported"):
        keras.backend.gradients(ops.sum(x), [x])


def test_k_gradients_with_numpy_arange_axes_in_the_penalty():
    # the scripts sum with `axis=np.arange(1, ndim)`; tf graph mode chokes on int64 there,
    # the value is the same as a list of axes
    critic = models.dense_critic(keras)
    critic.set_weights(models.seeded_weights(critic, 40))
    K = keras.backend
    with GradientTape() as tape:
        x = Tensor(models.batch(41, 4, 4))
        y = critic(x, training=True)
        grads = K.gradients(y, [x])[0]
        by_arange = K.sum(K.square(grads), axis=np.arange(1, len(grads.shape)))
        by_list = K.sum(K.square(grads), axis=[1])
        penalty = K.mean(by_arange)
    np.testing.assert_array_equal(by_arange.numpy(), by_list.numpy())
    assert all(g is not None for g in tape.gradient(penalty, critic.trainable_weights[:-1]))


def test_symbolic_k_gradients_penalty_in_add_loss_is_differentiated_by_the_step():
    # a Keras 2 graph-mode script: the penalty built from Keras tensors at construction,
    # `add_loss`ed; a step must differentiate through the gradient (nested tapes' numbers)
    K = keras.backend
    critic = models.dense_critic(keras)
    critic.set_weights(models.seeded_weights(critic, 40))
    x = keras.Input((4,))
    y = critic(x)
    grads = K.gradients(y, [x])[0]
    model = keras.Model(x, y)
    model.add_loss(K.mean(K.square(K.sqrt(K.sum(K.square(grads), axis=1)) - 1)))
    model.compile(keras.optimizers.SGD(0.1))
    data = models.batch(41, 4, 4)

    before = [w.copy() for w in critic.get_weights()]
    samples = Tensor(data)
    with GradientTape() as tape:
        with GradientTape() as inner:
            inner.watch(samples)
            out = critic(samples)
        norm = ops.sqrt(ops.sum(ops.square(inner.gradient(out, samples)), axis=1))
        penalty = ops.mean((norm - 1.0) ** 2)
    expected = [w if g is None else w - 0.1 * g.numpy()
                for w, g in zip(before, tape.gradient(penalty, critic.trainable_weights))]

    with pytest.warns(UserWarning, match="Gradients do not exist"):   # the last bias, as tf
        loss = model.train_on_batch(data)
    np.testing.assert_allclose(loss, float(penalty), rtol=1e-6)
    for got, want in zip(critic.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


class _InputGradientPenalty(keras.Model):
    """A model whose call adds the squared norm of d output / d input as a loss (an input-
    gradient regularizer): inside fit's train step the inner tape's gradient is recorded."""

    def __init__(self):
        super().__init__()
        self.hidden, self.head = keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1)

    def call(self, x, training=None):
        with GradientTape() as tape:
            tape.watch(x)
            y = self.head(self.hidden(x))
        input_gradient = tape.gradient(y, x)
        self.add_loss(0.5 * ops.mean(ops.sum(ops.square(input_gradient), axis=1)))
        return y


def test_input_gradient_regularizer_inside_fit_is_differentiated_by_the_step():
    x, y = models.batch(60, 6, 3), models.batch(61, 6, 1)
    model = _InputGradientPenalty()
    model(Tensor(x))
    model.set_weights(models.seeded_weights(model, 62))
    before = model.get_weights()

    inputs = Tensor(x)
    with GradientTape() as tape:
        with GradientTape() as inner:
            inner.watch(inputs)
            out = model.head(model.hidden(inputs))
        penalty = 0.5 * ops.mean(ops.sum(ops.square(inner.gradient(out, inputs)), axis=1))
        loss = ops.mean(ops.square(out - Tensor(y))) + penalty
    grads = tape.gradient(loss, model.trainable_weights)
    expected = [w - 0.1 * g.numpy() for w, g in zip(before, grads)]

    model.compile(keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, batch_size=6, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], float(loss), rtol=1e-6)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
