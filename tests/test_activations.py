"""Activations: tf.keras 2.21 fixture values, NumPy references, lookup/serialization, gradients."""
import json
import math

import numpy as np
import pytest

import minikeras as keras
from minikeras import activations
from minikeras.core.tensor import Tensor
from conftest import fixture_path
from gradcheck import check_gradients

RTOL, ATOL = 1e-5, 1e-6

with open(fixture_path("functions", "activations.json")) as _handle:
    CASES = json.load(_handle)
ARRAYS = np.load(fixture_path("functions", "arrays.npz"))


def _np(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _id(case):
    return case["name"] + ("-" + "-".join(f"{k}={v}" for k, v in case["kwargs"].items())
                           if case["kwargs"] else "")


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_fixture_values(case):
    x = ARRAYS[case["arg"][1:]]
    fn = getattr(activations, case["name"])
    out = _np(fn(Tensor(x), **case["kwargs"]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, case["value"], rtol=RTOL, atol=ATOL)
    by_name = _np(activations.get(case["name"])(x))
    assert by_name.dtype == np.float32
    np.testing.assert_allclose(by_name, case["get_value_default_kwargs"], rtol=RTOL, atol=ATOL)


X = np.linspace(-4.5, 4.5, 24).reshape(3, 8)


def _erf(v):
    return np.vectorize(math.erf)(v)


REFERENCES = {
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "linear": lambda x: x,
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "exponential": np.exp,
    "swish": lambda x: x / (1 + np.exp(-x)),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_reference_values_and_dtype(name):
    x = X.astype(np.float32)
    fn = activations.get(name)
    out = _np(fn(Tensor(x)))
    assert out.dtype == np.float32, name
    np.testing.assert_allclose(out, REFERENCES[name](X), rtol=RTOL, atol=ATOL)
    # plain NumPy input works too
    np.testing.assert_allclose(_np(fn(x)), REFERENCES[name](X), rtol=RTOL, atol=ATOL)


def test_relu_options():
    x = X.astype(np.float32)
    got = _np(activations.relu(x, alpha=0.1, max_value=2.0, threshold=0.5))
    expected = np.where(X >= 2.0, 2.0, np.where(X > 0.5, X, 0.1 * (X - 0.5)))
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(_np(activations.relu(x, max_value=1.0)), np.clip(X, 0, 1),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(_np(activations.relu(x, threshold=1.0)), np.where(X > 1, X, 0),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(_np(activations.relu(x, alpha=0.3)), np.where(X > 0, X, 0.3 * X),
                               rtol=RTOL, atol=ATOL)


def test_elu_alpha_and_gelu_approximate():
    x = X.astype(np.float32)
    np.testing.assert_allclose(_np(activations.elu(x, alpha=0.5)),
                               np.where(X > 0, X, 0.5 * np.expm1(X)), rtol=RTOL, atol=ATOL)
    approx = 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X ** 3)))
    np.testing.assert_allclose(_np(activations.gelu(x, approximate=True)), approx,
                               rtol=RTOL, atol=ATOL)


def test_softmax_axis_and_extremes():
    x = ARRAYS["act_x3"]
    for axis in (0, 1, -1):
        e = np.exp(x.astype(float) - x.max(axis=axis, keepdims=True))
        np.testing.assert_allclose(_np(activations.softmax(x, axis=axis)),
                                   e / e.sum(axis=axis, keepdims=True), rtol=RTOL, atol=ATOL)
    big = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    out = _np(activations.softmax(big))
    assert np.all(np.isfinite(out)) and out[0, 0] == 1.0
    out = _np(activations.sigmoid(np.array([-1000.0, 1000.0], np.float32)))
    assert np.all(np.isfinite(out)) and out[1] == 1.0 and out[0] == 0.0
    out = _np(activations.softplus(np.array([-1000.0, 1000.0], np.float32)))
    np.testing.assert_allclose(out, [0.0, 1000.0])


def test_softmax_and_sigmoid_remember_logits():
    z = Tensor(ARRAYS["act_x"])
    assert activations.softmax(z)._keras_logits is z
    assert activations.sigmoid(z)._keras_logits is z


def test_get_serialize_deserialize():
    for name in ("relu", "softmax", "tanh", "sigmoid", "hard_sigmoid", "linear", "elu", "selu",
                 "softplus", "softsign", "exponential", "swish", "gelu"):
        fn = activations.get(name)
        assert activations.serialize(fn) == name
        assert activations.deserialize(name) is fn
    assert activations.get(None) is activations.linear
    assert activations.get(np.tanh) is np.tanh
    with pytest.raises(ValueError, match="Unknown activation function"):
        activations.get("nope")
    with pytest.raises(TypeError, match="Could not interpret activation"):
        activations.get(42)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_activation_gradients(name, float64):
    x = X + 0.0137  # keep away from the kinks at 0 (relu) and +-2.5 (hard_sigmoid)
    fn = activations.get(name)
    check_gradients(lambda v: fn(v), [x], rtol=1e-5, atol=1e-7)


def test_parameterised_activation_gradients(float64):
    x = X + 0.0137
    check_gradients(lambda v: activations.relu(v, alpha=0.1, max_value=2.0, threshold=0.5), [x])
    check_gradients(lambda v: activations.elu(v, alpha=0.5), [x])
    check_gradients(lambda v: activations.gelu(v, approximate=True), [x])
    check_gradients(lambda v: activations.softmax(v, axis=0), [x])
    check_gradients(lambda v: activations.leaky_relu(v, negative_slope=0.3), [x])


def test_activation_layer_uses_activation():
    layer = keras.layers.Activation("hard_sigmoid")
    out = _np(layer(X.astype(np.float32)))
    np.testing.assert_allclose(out, np.clip(0.2 * X + 0.5, 0, 1), rtol=RTOL, atol=ATOL)
    assert out.dtype == np.float32


@pytest.mark.parametrize("make_layer,shape", [
    (lambda activation: keras.layers.Dense(3, activation=activation), (4, 5)),
    (lambda activation: keras.layers.Conv1D(3, 2, activation=activation), (2, 6, 4)),
])
@pytest.mark.parametrize("new_activation", ["tanh", "sigmoid", "linear", "softplus"])
def test_reassigned_layer_activation_is_used(make_layer, shape, new_activation):
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    layer, without_activation = make_layer("relu"), make_layer(None)
    layer(x)
    without_activation(x)
    without_activation.set_weights(layer.get_weights())
    layer.activation = activations.get(new_activation)
    out = _np(layer(x))
    expected = _np(activations.get(new_activation)(without_activation(x)))
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("softmax", [keras.activations.softmax, keras.backend.softmax])
def test_softmax_rejects_rank_0_and_1_like_tf_keras(softmax):
    # tf.keras 2 raises here (keras-ordered-neurons' cumax test relies on it)
    for value in (np.ones(3, "float32"), np.float32(1.0)):
        with pytest.raises(ValueError, match="Cannot apply softmax to a tensor that is 1D"):
            softmax(keras.backend.constant(value))
    np.testing.assert_allclose(softmax(keras.backend.constant(np.zeros((1, 4), "float32"))).numpy(),
                               np.full((1, 4), 0.25, "float32"))
