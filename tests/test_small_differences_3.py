"""Small differences from tf.keras 2.21 / Keras 3.15 found by the fid-small3 sweep.

Fixtures in tests/fixtures/small_diffs3/ were written by the peer with
benchmarks/fixture_recipes/small_diffs3.py; the cases they ran are in
tests/fixtures/small_diffs3/cases.py, run here with minikeras."""
import importlib.util
import json
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras.backend import GradientTape

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "small_diffs3")


def _load_cases():
    spec = importlib.util.spec_from_file_location("small_diffs3_cases",
                                                  os.path.join(FIXTURES, "cases.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load_cases()


def _fixture(name):
    with np.load(os.path.join(FIXTURES, name)) as data:
        return {key: data[key] for key in data.files}


# --- 1. second-order gradients through relu masks, abs and max pooling -------------------
SECOND_ORDER = _fixture("second_order.npz")
SECOND_ORDER_NONE = set(SECOND_ORDER.pop("none").tolist())


@pytest.mark.parametrize("square", [False, True])
@pytest.mark.parametrize("name", list(cases.second_order_functions(keras)))
def test_second_order_gradient_is_none_or_zeros_as_tf(name, square):
    # tf's ReluGrad / Relu6Grad / LeakyReluGrad / MaxPoolGrad / Sign keep the op's input or
    # output as an operand with a zero gradient: differentiating a gradient taken through
    # them gives zeros, not None (comparisons, as in clip or reduce max, give None)
    key = f"{name}|{int(square)}"
    got = cases.second_order(keras, GradientTape, keras.backend.variable, name, square)
    if key in SECOND_ORDER_NONE:
        assert got is None or got == "inner None"
    else:
        assert got is not None and not isinstance(got, str), key
        np.testing.assert_allclose(got, SECOND_ORDER[key], rtol=1e-5, atol=1e-5)


# --- 2. the fused Conv3D + MaxPooling3D training route and pooling ties ------------------
CONV_POOL = _fixture("conv_pool_fit.npz")


@pytest.mark.parametrize("key", sorted(CONV_POOL))
def test_conv_then_max_pooling_fit_routes_ties_as_tf(key):
    # MaxPooling3D gives every tied maximum the gradient (tf's MaxPool3DGrad), 1-D/2-D the
    # first: the fused training op (few-tap convolutions) must not run for 3-D
    rank, kernel, activation = key.split()
    got = cases.conv_pool_fit(keras, int(rank[0]), int(kernel[1:]), activation)
    np.testing.assert_allclose(got, CONV_POOL[key], rtol=1e-5, atol=1e-6)


# --- 3. activations and losses at extreme inputs ------------------------------------------
EXTREMES = _fixture("extremes.npz")


def _assert_same_extremes(got, want):
    # TF's CPU kernels flush subnormal results to zero; minikeras keeps them
    got = np.where(np.abs(got) < np.finfo(np.float32).tiny, np.float32(0), got)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=0, equal_nan=True)


@pytest.mark.parametrize("name", cases.EXTREME_ACTIVATIONS)
def test_activation_values_and_gradients_at_extremes(name):
    y, g = cases.extreme_activation(keras, GradientTape, keras.backend.variable, name)
    _assert_same_extremes(y, EXTREMES[f"act|{name}|y"])
    _assert_same_extremes(g, EXTREMES[f"act|{name}|g"])


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu_gradient_at_nan_is_alpha_as_tf(alpha):
    # tf's EluGrad passes the gradient where the output is not negative: NaN included
    y, g = cases.extreme_elu(keras, GradientTape, keras.backend.variable, alpha)
    _assert_same_extremes(y, EXTREMES[f"act|elu{alpha}|y"])
    _assert_same_extremes(g, EXTREMES[f"act|elu{alpha}|g"])
    assert g[-1] == np.float32(alpha)


@pytest.mark.parametrize("case", cases.EXTREME_FITS, ids=str)
def test_train_on_batch_near_float32_max(case):
    # mse / msle use tf.math.squared_difference's gradient, (2 g) * (a - b), and swish
    # tf.nn.silu's, g * s * (1 + x (1 - s)): finite where 2 (a - b) or g * x overflows
    loss, activation, scale = case
    got = cases.extreme_fit(keras, loss, activation, scale)
    _assert_same_extremes(got, EXTREMES[f"fit|{loss}|{activation}|{scale:g}"])


def test_swish_gradient_with_a_huge_upstream_gradient_is_finite():
    x = keras.backend.variable(np.array([2e19, -2e19, 0.5], "float32"))
    with GradientTape() as tape:
        y = keras.activations.swish(x) * 1e20       # the product rule's g * x: inf * 0
    g = tape.gradient(y, x).numpy()
    s = 1 / (1 + np.exp(-0.5))
    np.testing.assert_allclose(g, [1e20, 0, 1e20 * s * (1 + 0.5 * (1 - s))], rtol=1e-6)


def test_squared_difference_second_order():
    # the loss's Hessian of sum((a - b)^2) w.r.t. a is 2 I: through the op's recorded rule
    a = keras.backend.variable(np.array([1.0, -3.0], "float32"))
    b = keras.backend.constant([0.5, 2.0])
    with GradientTape() as outer:
        with GradientTape() as inner:
            total = keras.backend.sum(keras.losses.mean_squared_error(b[None], a[None]))
        g = inner.gradient(total, a)
        penalty = keras.backend.sum(g * g)
    np.testing.assert_allclose(g.numpy(), [0.5, -5.0], rtol=1e-6)     # 2 (a - b) / 2
    np.testing.assert_allclose(outer.gradient(penalty, a).numpy(), [1.0, -10.0], rtol=1e-6)


# --- 4. ==, !=, //, %, ** between tensors of two dtypes -----------------------------------
def _facts(section):
    with open(os.path.join(FIXTURES, "tf_keras_facts.json")) as f:
        return json.load(f)[section]


OPERATORS = _facts("operators")


@pytest.mark.parametrize("case", sorted(OPERATORS))
def test_operators_between_dtypes_as_tf(case):
    # two tensors of different dtypes raise TF's InvalidArgumentError (Equal, NotEqual,
    # FloorDiv, FloorMod, Pow); a NumPy operand takes the tensor's dtype; float // is
    # floor(a / b) of the rounded quotient
    want = OPERATORS[case]
    got = cases.operator_outcomes(keras)[case]
    if "error" in want:
        assert got.get("error") == want["error"]
        assert got["message"] == want["message"]
    else:
        assert got.get("dtype") == want["dtype"], got
        np.testing.assert_array_equal(got["value"], want["value"])


# --- 5. a Sequential built by its first data keeps that data's batch size -------------------
DEFERRED = _facts("deferred_sequential")


@pytest.fixture(scope="module")
def deferred_shapes():
    return cases.deferred_sequential_shapes(keras)


@pytest.mark.parametrize("case", sorted(DEFERRED))
def test_deferred_sequential_input_shape_as_tf(deferred_shapes, case):
    # tf.keras builds the graph with the traced data's shape: its batch size when every batch
    # of fit / evaluate / predict is full (or the one batch of *_on_batch, a direct call),
    # None once batches differ
    assert deferred_shapes[case] == DEFERRED[case]


# --- 7. a Keras 3 file's recorded training=True on a call node ------------------------------
def test_keras3_recorded_training_applies_when_the_model_is_called_without_one():
    # Keras 3 uses a node's recorded `training` when the model gets none (`model(x)`); the
    # model's own (predict: False, an explicit training=False) overrides it
    want = _fixture("keras3_training.npz")
    model = keras.models.load_model(os.path.join(FIXTURES, "keras3_training.keras"))
    x = want["x"]
    np.testing.assert_allclose(np.asarray(model(x)), want["called"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), want["inference"],
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), want["predicted"], rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(model.get_layer("bn").moving_mean.numpy(), want["moving_mean"],
                               rtol=1e-5, atol=1e-6)
    # not a call kwarg of the reloaded model's config (tf.keras would always apply it)
    assert "training" not in json.dumps(model.get_config()["layers"][2]["inbound_nodes"])


# --- warnings for common mistakes ----------------------------------------------------------
@pytest.mark.parametrize("name", sorted(_facts("logits_warnings")))
def test_from_logits_on_an_activation_output_warns_as_tf(name):
    # the loss still reads the activation's logits (the same value), with tf's UserWarning
    want = _facts("logits_warnings")[name]
    got = cases.logits_warnings(keras)[name]
    assert got["warnings"] == want["warnings"]
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-6)
