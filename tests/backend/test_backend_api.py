"""The whole tf.keras 2.21 `keras.backend` API: every public name exists; the functions added
for issue 15 reproduce tf.keras' values (fixtures), have correct gradients, and the TF-only
ones raise NotImplementedError saying why."""
import json
import os
import sys

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from conftest import fixture_path

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from gradcheck import check_gradients  # noqa: E402

API = json.load(open(fixture_path("functions", "backend_api.json")))
EXTRA = json.load(open(fixture_path("functions", "backend_extra.json")))
EXTRA_ARRAYS = np.load(fixture_path("functions", "backend_extra.npz"))
MORE = json.load(open(fixture_path("functions", "peer", "backend_more.json")))
MORE_ARRAYS = np.load(fixture_path("functions", "peer", "backend_more.npz"))


def test_every_public_name_of_tf_keras_backend_exists():
    missing = [name for name in API["callables"] if not callable(getattr(K, name, None))]
    assert missing == []
    assert all(hasattr(K, name) for name in API["non_callables"])


def resolver(arrays):
    def resolve(value):
        if isinstance(value, str) and value.startswith("@"):
            array = arrays["arg/" + value[1:]]
            return K.constant(array, dtype=array.dtype.name)
        if isinstance(value, list):
            return tuple(value)
        return value
    return resolve


CASES = [(case, EXTRA_ARRAYS) for case in EXTRA["functions"]] + \
        [(case, MORE_ARRAYS) for case in MORE["functions"]]


@pytest.mark.parametrize("case,arrays", CASES, ids=[c["id"] + ("" if a is EXTRA_ARRAYS else "_peer")
                                                    for c, a in CASES])
def test_values_as_tf_keras(case, arrays):
    resolve = resolver(arrays)
    out = getattr(K, case["function"])(*[resolve(a) for a in case["args"]],
                                       **{k: resolve(v) for k, v in case["kwargs"].items()})
    value = np.asarray(K.get_value(out))
    assert list(value.shape) == case["shape"]
    assert value.dtype == np.dtype(case["dtype"])
    want = arrays[case["id"] + "/value"]
    if value.dtype.kind == "f":
        np.testing.assert_allclose(value, want, rtol=1e-5, atol=2e-6)
    else:
        np.testing.assert_array_equal(value, want)


def rnn_steps(arrays):
    W, U = arrays["arg/rnn_W"], arrays["arg/rnn_U"]

    def basic(x, states):
        h = K.tanh(K.dot(x, W) + K.dot(states[0], U))
        return h, [h]

    def constants(x, states):
        h = K.tanh(K.dot(x, W) + K.dot(states[0], U) + states[1])
        return h, [h]
    return {"basic": basic, "constants": constants}


RNN_CASES = [(case, EXTRA_ARRAYS) for case in EXTRA["rnn"]] + \
            [(case, MORE_ARRAYS) for case in MORE["rnn"]]


@pytest.mark.parametrize("case,arrays", RNN_CASES, ids=[c["name"] for c, _ in RNN_CASES])
def test_rnn_as_tf_keras(case, arrays):
    resolve = resolver(arrays)
    kwargs = {k: ([resolve(i) for i in v] if isinstance(v, list) else resolve(v))
              for k, v in case["kwargs"].items()}
    x = arrays["arg/rnn_x"]
    if case["kwargs"].get("time_major"):
        x = x.transpose(1, 0, 2)
    last, outputs, states = K.rnn(rnn_steps(arrays)[case["step"]], K.constant(x),
                                  [K.constant(arrays["arg/rnn_h0"])], **kwargs)
    assert list(outputs.shape) == case["outputs_shape"]
    for value, key in ((last, "last_output"), (outputs, "outputs"), (states[0], "state0")):
        np.testing.assert_allclose(K.get_value(value), arrays[f"{case['name']}/{key}"],
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axes,key", [([0, 1, 2], "normalize"), ([0, 2], "normalize02")])
def test_normalize_batch_in_training(axes, key):
    x = K.constant(MORE_ARRAYS["arg/x4"])
    gamma, beta = (K.constant(MORE_ARRAYS["arg/gamma3"]), K.constant(MORE_ARRAYS["arg/beta3"])) \
        if key == "normalize" else (None, None)
    results = K.normalize_batch_in_training(x, gamma, beta, axes)
    for value, name in zip(results, ("normed", "mean", "variance")):
        np.testing.assert_allclose(K.get_value(value), MORE_ARRAYS[f"{key}/{name}"],
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("label", sorted(MORE["ctc_decode"]))
def test_ctc_decode(label):
    spec = MORE["ctc_decode"][label]
    decoded, log_prob = K.ctc_decode(MORE_ARRAYS["arg/ctc_pred"],
                                     MORE_ARRAYS["arg/ctc_input_length"].reshape(-1),
                                     **spec["kwargs"])
    assert len(decoded) == spec["paths"]
    for k, path in enumerate(decoded):
        np.testing.assert_array_equal(K.get_value(path),
                                      MORE_ARRAYS[f"ctc_decode_{label}/decoded{k}"])
    np.testing.assert_allclose(K.get_value(log_prob), MORE_ARRAYS[f"ctc_decode_{label}/log_prob"],
                               rtol=1e-5)


def test_ctc_batch_cost_gradient(float64):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 6, 4))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = np.array([[0, 1, 1], [2, 0, 0]])
    check_gradients(lambda p: K.ctc_batch_cost(labels, p, np.array([[6], [5]]),
                                               np.array([[3], [1]])), [probs], rtol=1e-4)


def test_ctc_loss_is_minus_log_of_the_path_probabilities():
    """One label, two steps, classes {a, blank}: paths a-a, a-blank, blank-a."""
    probs = np.array([[[0.6, 0.4], [0.3, 0.7]]], np.float32)
    eps = K.epsilon()
    p = (probs + eps) / (probs + eps).sum(-1, keepdims=True)
    expected = -np.log(p[0, 0, 0] * p[0, 1, 0] + p[0, 0, 0] * p[0, 1, 1] + p[0, 0, 1] * p[0, 1, 0])
    loss = K.ctc_batch_cost(np.array([[0]]), probs, np.array([[2]]), np.array([[1]]))
    np.testing.assert_allclose(K.get_value(loss), [[expected]], rtol=1e-5)


@pytest.mark.parametrize("fn", [
    lambda x: K.cumprod(x, axis=1),
    lambda x: K.local_conv1d(x, K.constant(np.linspace(-1, 1, 3 * 6 * 2).reshape(3, 6, 2)),
                             [2], [2]),
    lambda x: K.conv1d(x, K.constant(np.linspace(-1, 1, 12).reshape(2, 3, 2)), padding="causal"),
    lambda x: K.temporal_padding(x, (1, 2)),
    lambda x: K.categorical_focal_crossentropy(
        K.constant(np.eye(3)[np.arange(12) % 3].reshape(2, 6, 3)), K.softmax(x)),
    lambda x: K.binary_focal_crossentropy(K.constant((np.arange(36) % 2).reshape(2, 6, 3)),
                                          K.sigmoid(x), apply_class_balancing=True),
], ids=["cumprod", "local_conv1d", "conv1d_causal", "temporal_padding", "cat_focal",
        "bin_focal"])
def test_gradients(fn, float64):
    rng = np.random.default_rng(1)
    check_gradients(fn, [rng.uniform(0.5, 1.5, size=(2, 6, 3))], rtol=1e-4)


def test_rnn_gradient_through_masked_steps(float64):
    rng = np.random.default_rng(2)
    W = rng.normal(size=(3, 4))
    mask = np.array([[1, 1, 0, 1], [1, 0, 0, 1]], bool)

    def run(x, h0):
        def step(inputs, states):
            h = K.tanh(K.dot(inputs, W) + states[0])
            return h, [h]
        return K.rnn(step, x, [h0], mask=mask)[1]
    check_gradients(run, [rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4))], rtol=1e-4)


def test_eager_gradients_say_to_use_a_tape_and_placeholder_is_an_input():
    with pytest.raises(RuntimeError, match="not supported when eager execution.*GradientTape"):
        K.gradients(K.constant(1.0), [K.variable(1.0)])
    assert K.placeholder(shape=(None, 3)).shape == (None, 3)
    assert K.placeholder(ndim=2).shape == (None, None)


def test_function_runs_a_functional_graph():
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(2)(inputs)
    fn = K.function([inputs], [hidden])
    x = np.ones((4, 3), np.float32)
    (out,) = fn([x])
    layer = hidden._keras_history[0]
    np.testing.assert_allclose(out, x @ layer.get_weights()[0] + layer.get_weights()[1],
                               rtol=1e-6)
    with pytest.raises(ValueError, match="`updates` argument is not supported"):
        K.function([inputs], [hidden], updates=[1])


def test_state_helpers():
    variable = K.variable(np.array([1.0, 2.0]))
    K.update_add(variable, np.array([1.0, 1.0]))
    K.update_sub(variable, np.array([0.5, 0.5]))
    np.testing.assert_allclose(K.get_value(variable), [1.5, 2.5])
    K.update(variable, np.array([4.0, 0.0]))
    K.moving_average_update(variable, np.array([0.0, 10.0]), 0.75)
    np.testing.assert_allclose(K.get_value(variable), [3.0, 2.5])
    with K.learning_phase_scope(1):
        assert K.learning_phase() == 1
    assert K.learning_phase() == 0
    with pytest.raises(ValueError, match="Expected learning phase to be 0 or 1"):
        with K.learning_phase_scope(3):
            pass
    assert K.backend() == "tensorflow"   # the branch Keras 2 scripts take for tf.keras
    sparse = K.ctc_label_dense_to_sparse(np.array([[1, 2, 0], [3, 0, 0]]), np.array([2, 1]))
    assert K.is_sparse(sparse) and not K.is_sparse(K.constant(1.0))
    np.testing.assert_array_equal(K.get_value(K.to_dense(sparse)), [[1, 2, 0], [3, 0, 0]])
    assert sparse.indices.tolist() == [[0, 0], [0, 1], [1, 0]]


def test_random_functions_shapes_and_ranges():
    bern = K.get_value(K.random_bernoulli((1000,), p=0.3, seed=1))
    assert set(np.unique(bern)) <= {0.0, 1.0} and 0.25 < bern.mean() < 0.35
    with pytest.warns(UserWarning, match="random_binomial` is deprecated"):
        K.random_binomial((3,), p=0.5)
    truncated = K.get_value(K.truncated_normal((2000,), mean=1.0, stddev=2.0, seed=3))
    assert truncated.dtype == np.float32 and np.all(np.abs(truncated - 1.0) <= 4.0)
    normal_var = K.random_normal_variable((3, 2), 0.0, 1.0, seed=1)
    uniform_var = K.random_uniform_variable((3, 2), 2.0, 3.0, seed=1)
    assert normal_var.shape == (3, 2) and np.all((K.get_value(uniform_var) >= 2) &
                                                  (K.get_value(uniform_var) < 3))


def test_map_and_folds():
    x = K.constant(np.arange(1.0, 5.0).reshape(4, 1))
    np.testing.assert_allclose(K.get_value(K.map_fn(lambda r: r * 2, x)).ravel(), [2, 4, 6, 8])
    np.testing.assert_allclose(K.get_value(K.foldl(lambda a, r: a - r, x)), [1 - 2 - 3 - 4])
    np.testing.assert_allclose(K.get_value(K.foldr(lambda a, r: a - r, x)), [4 - 3 - 2 - 1])
    np.testing.assert_allclose(K.get_value(K.foldl(lambda a, r: a + r, x, K.constant([10.0]))),
                               [20.0])
