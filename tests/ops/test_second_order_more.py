"""Second-order rules added by fid-grad3 (ops/second_order.py), checked as Hessian-vector
products against central differences of first-order gradients (float64): depthwise and
separable convolutions, the fused recurrent kernels (SimpleRNN/LSTM/GRU, ConvLSTM's gate
update) and prod (recomputed in recorded ops), batch normalization under a mask, embedding
lookups and gather, tensordot, arcsin/arccos/arccosh/sinc. Against tf_keras 2.21
(tests/fixtures/grad3/, benchmarks/fixture_recipes/grad3.py): WGAN-GP penalties of critics
with an Embedding of labels, separable/depthwise convolutions and LSTM/GRU/SimpleRNN layers,
and `evaluate` of keras-contrib improved_wgan's critic model (its loss takes K.gradients)."""
import os
import sys
import types

import numpy as np
import pytest

from minikeras import ops
from minikeras.core.tensor import GradientTape, Tensor, Variable
from minikeras.ops import math as M, recurrent
from minikeras.ops.batch_norm import batch_norm_train
from minikeras.ops.conv import conv, depthwise_conv
from minikeras.ops.embedding import embedding_lookup

import minikeras as keras

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "engine"))
from test_higher_order_gradients import check_hessian_vector_product  # noqa: E402

_RECIPES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "benchmarks",
                        "fixture_recipes")
sys.path.insert(0, os.path.normpath(_RECIPES))
import grad2_models  # noqa: E402
import grad3_cases as cases  # noqa: E402

_FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "grad3")

# what keras.io's WGAN-GP penalty calls from tf, spelled with minikeras
_TF_LIKE = types.SimpleNamespace(GradientTape=GradientTape, sqrt=ops.sqrt, reduce_sum=ops.sum,
                                 square=ops.square, reduce_mean=ops.mean,
                                 convert_to_tensor=ops.convert_to_tensor)


def _total(t):
    return ops.sum(t)


@pytest.mark.parametrize("strides,padding,dilation,data_format", [
    ((1, 1), "same", (1, 1), "channels_last"),
    ((2, 1), "valid", (1, 1), "channels_last"),
    ((1, 1), "same", (2, 2), "channels_last"),
    ((2, 2), "same", (1, 1), "channels_first"),
])
def test_depthwise_convolution(strides, padding, dilation, data_format):
    def fn(x, k):
        y = depthwise_conv(ops.tanh(x), k, strides, padding, dilation, data_format)
        return _total(ops.tanh(y) ** 2)
    x_shape = (2, 3, 5, 4) if data_format == "channels_first" else (2, 5, 4, 3)
    check_hessian_vector_product(fn, [x_shape, (2, 3, 3, 2)])


def test_separable_convolution_one_dimensional():
    def fn(x, depthwise, pointwise):
        y = depthwise_conv(x * x, depthwise, (1,), "causal", (1,))
        y = conv(y, pointwise, (1,), "valid", (1,), activation="tanh")
        return _total(y ** 2)
    check_hessian_vector_product(fn, [(2, 6, 2), (3, 2, 2), (1, 4, 3)])


def _sequence(cell, **settings):
    def fn(x, kernel, recurrent_kernel, bias, h0, *c0):
        out, states = recurrent.fused_sequence(cell, x, kernel, recurrent_kernel, bias,
                                               [h0] + list(c0), **settings)
        return _total(ops.tanh(out) ** 2) + _total(states[-1] * states[0])
    return fn


_MASK = np.array([[1, 0, 1], [0, 1, 1]], bool)
_RNG = np.random.default_rng(5)
_SETTINGS = {
    "plain": {},
    "backwards_sequences": dict(return_sequences=True, go_backwards=True),
    "mask": dict(mask=_MASK, return_sequences=True),
    "mask_zero_output": dict(mask=_MASK, return_sequences=True, zero_output_for_mask=True),
    "hard_sigmoid": dict(recurrent_activation="hard_sigmoid"),
    "recurrent_dropout": dict(recurrent_mask=(_RNG.uniform(size=(2, 2)) > 0.3) * 1.5),
}
_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


@pytest.mark.parametrize("cell", sorted(_GATES))
@pytest.mark.parametrize("setting", sorted(_SETTINGS))
def test_fused_recurrent_sequence(cell, setting):
    gates, units, features = _GATES[cell], 2, 3
    settings = dict(_SETTINGS[setting])
    if cell == "simple_rnn" and setting == "hard_sigmoid":
        settings = dict(activation="relu")
    shapes = [(2, 3, features), (features, gates * units), (units, gates * units),
              (2, gates * units) if cell == "gru" else (gates * units,), (2, units)]
    if cell == "lstm":
        shapes.append((2, units))
    check_hessian_vector_product(_sequence(cell, **settings), shapes, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("per_gate", [False, True])
def test_gru_without_reset_after_and_dropout_masks(per_gate):
    rng = np.random.default_rng(6)
    settings = dict(reset_after=False, return_sequences=True)
    if per_gate:
        settings.update(recurrent_mask=(rng.uniform(size=(3, 2, 2)) > 0.3) * 1.4,
                        input_gate_masks=(rng.uniform(size=(3, 2, 3)) > 0.3) * 1.2)
    shapes = [(2, 3, 3), (3, 6), (2, 6), (6,), (2, 2)]
    check_hessian_vector_product(_sequence("gru", **settings), shapes, rtol=1e-5, atol=1e-7)


def test_lstm_gate_update():
    def fn(z, c):
        h, c_new = recurrent.lstm_gate_update(z, c, activation="tanh",
                                              recurrent_activation="sigmoid", axis=1)
        return _total(h ** 2 * c_new)
    check_hessian_vector_product(fn, [(2, 8, 3), (2, 2, 3)])


def test_prod_with_and_without_zeros():
    def fn(x, r):
        x = x * ops.cast(ops.abs(r) > 0.3, "float64")     # some exact zeros
        return _total(M.prod(x, axis=1) * r[:, 0]) + _total(M.prod(x, axis=(0, 2)) ** 2) \
            + M.prod(x[:1, :2, 1] + 1.0)
    check_hessian_vector_product(fn, [(3, 4, 2), (3, 4, 2)])


def test_prod_gradient_at_zeros_is_the_product_of_the_others():
    # tf's _ProdGrad: exclusive cumulative products (the quotient form gave nan at zeros)
    x = Variable(np.array([[2, 0, 3], [0, 0, 4], [1, 2, 3]], np.float32))
    with GradientTape() as tape:
        y = ops.sum(M.prod(x, axis=1) * 2.0)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(),
                                  [[0, 12, 0], [0, 0, 0], [12, 6, 4]])


@pytest.mark.parametrize("weighted", [False, True])
def test_batch_norm_under_a_mask(weighted):
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 0, 0]], np.float64)[..., None]

    def fn(x, scale, offset):
        moments = None
        if weighted:
            from minikeras.ops.batch_norm import batch_moments
            moments = batch_moments(x.data, (0, 1), mask)
        out, _ = batch_norm_train(x, scale, offset, (0, 1), 1e-3, moments)
        return _total(ops.tanh(out) ** 2 * x)
    check_hessian_vector_product(fn, [(3, 4, 2), (2,), (2,)], rtol=1e-5)


def test_embedding_lookup_and_gather():
    ids = np.array([[0, 2, 2], [3, 0, 1]])

    def fn(table, x):
        rows = embedding_lookup(table, ids)
        picked = M.gather(x * x, np.array([2, 0, 2]), axis=1)
        return _total(ops.tanh(rows) ** 2 * table[0]) + _total(picked ** 3) \
            + _total(M.gather(table, np.array([[1, 1], [3, 0]])) * x[0, 0, 0])
    check_hessian_vector_product(fn, [(4, 3), (2, 3, 2)])


def test_tensordot():
    def fn(a, b):
        return _total(ops.tanh(M.tensordot(a * a, b, ([0, 2], [1, 0]))) ** 2) \
            + _total(M.tensordot(a, b * b, 1) ** 2)
    check_hessian_vector_product(fn, [(2, 3, 4), (4, 2, 5)])


def test_inverse_trigonometric_and_sinc():
    def fn(x, r):
        s = ops.tanh(x) * 0.9
        return _total(ops.arcsin(s) * r + ops.arccos(s * r * 0.5) + ops.arccosh(x * x + 1.5)
                      + ops.sinc(x * r) * x)
    check_hessian_vector_product(fn, [(3, 4), (4,)])
    # sinc's first derivative is 0 at 0, its rule too
    x = Tensor(np.float64([0.0, 0.5]))
    with GradientTape() as outer:
        outer.watch(x)
        with GradientTape() as inner:
            inner.watch(x)
            y = _total(ops.sinc(x))
        g = inner.gradient(y, x)
        total = _total(g)
    assert g.numpy()[0] == 0 and outer.gradient(total, x) is not None


@pytest.mark.parametrize("name", sorted(cases.CRITICS))
def test_gradient_penalty_of_critics_matches_tf_keras(name):
    with np.load(os.path.join(_FIXTURES, "penalties.npz")) as data:
        expected = {k.split("/")[1]: v for k, v in data.items() if k.startswith(name + "/")}
    critic = cases.CRITICS[name][0](keras)
    with GradientTape() as tape:
        gp = cases.critic_penalty(_TF_LIKE, critic, name, 40 + sorted(cases.CRITICS).index(name))
    np.testing.assert_allclose(gp.numpy(), expected["gp"], rtol=2e-5)
    grads = tape.gradient(gp, critic.trainable_weights)
    for i, g in enumerate(grads):
        theirs = expected.get(f"grad{i}")
        if g is None:
            # a weight reaching the penalty only through a relu-like mask: tf's ReluGrad /
            # LeakyReluGrad answer zeros for it, our rules (constant masks) None
            assert theirs is None or not np.any(theirs), f"{name} grad{i}"
            continue
        assert theirs is not None, f"{name} grad{i}: tf answers None"
        np.testing.assert_allclose(g.numpy(), theirs, rtol=1e-4, atol=2e-5,
                                   err_msg=f"{name} grad{i}")


def test_evaluate_of_a_loss_taking_k_gradients_matches_tf_keras():
    # keras-contrib improved_wgan: evaluate / test_on_batch record the forward pass as the
    # train step does (nothing recorded there before: K.gradients raised tf's RuntimeError)
    expected = np.load(os.path.join(_FIXTURES, "improved_wgan_evaluate.npz"))
    critic = grad2_models.dense_critic(keras)
    critic.set_weights(grad2_models.seeded_weights(critic, 11))
    model = grad2_models.improved_wgan_critic_model(keras, critic)
    x, y = cases.improved_wgan_batch()
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0, batch_size=3), expected["before"],
                               rtol=1e-5)
    np.testing.assert_allclose(model.test_on_batch(x, y), expected["test_on_batch"], rtol=1e-5)
    model.train_on_batch(x, y)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0, batch_size=3), expected["after"],
                               rtol=1e-5)
