"""Nadam as tf.keras trains with it: inside train_on_batch / fit the shared u_product is
multiplied once per variable per step (its cache check is frozen at trace time); eagerly it is
the textbook product (fixture files2/nadam_steps)."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

CASE = json.load(open(fixture_path("files2", "files2.json")))["nadam_steps"][0]
ARRAYS = np.load(fixture_path("files2", "files2.npz"))
PREFIX = "nadam_dense3"


def dense3():
    """The fixture's model: Dense(5, tanh) > Dense(4, relu) > Dense(2) on 4 features."""
    keras.backend.clear_session()
    model = keras.Sequential([keras.layers.Dense(5, activation="tanh", input_shape=(4,)),
                              keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    for layer in model.layers:
        layer.set_weights([ARRAYS[f"{PREFIX}/w_init/{layer.name}/{i}"] for i in range(2)])
    return model


def train(run_eagerly):
    model = dense3()
    model.compile(keras.optimizers.Nadam(**CASE["optimizer"]["kwargs"]), CASE["loss"],
                  run_eagerly=run_eagerly)
    x, y, batch = ARRAYS[f"{PREFIX}/x"], ARRAYS[f"{PREFIX}/y"], CASE["batch"]
    losses, weights = [], []
    for step in range(CASE["steps"]):
        losses.append(model.train_on_batch(x[step * batch:(step + 1) * batch],
                                           y[step * batch:(step + 1) * batch]))
        weights.append([layer.get_weights() for layer in model.layers])
    return model, losses, weights


def test_train_on_batch_reproduces_tf_keras_traced_nadam():
    model, losses, weights = train(run_eagerly=False)
    np.testing.assert_allclose(losses, CASE["train_on_batch_losses"], rtol=1e-5)
    for step, per_layer in enumerate(weights):
        for layer, values in zip(model.layers, per_layer):
            for i, value in enumerate(values):
                np.testing.assert_allclose(
                    value, ARRAYS[f"{PREFIX}/step{step}/{layer.name}/{i}"], rtol=1e-5, atol=1e-6)


def test_run_eagerly_is_textbook_nadam_and_differs():
    _, eager, _ = train(run_eagerly=True)
    np.testing.assert_allclose(eager, CASE["eager_train_on_batch_losses"], rtol=1e-5)
    assert abs(eager[1] - CASE["train_on_batch_losses"][1]) > 1e-3


def textbook_nadam(w, grads, lr=0.01, beta_1=0.9, beta_2=0.999, eps=1e-7):
    m, v, product = np.zeros_like(w), np.zeros_like(w), 1.0
    for t, g in enumerate(grads, start=1):
        u_t = beta_1 * (1 - 0.5 * 0.96 ** t)
        u_next = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
        product *= u_t
        m = m + (g - m) * (1 - beta_1)
        v = v + (g * g - v) * (1 - beta_2)
        m_hat = u_next * m / (1 - product * u_next) + (1 - u_t) * g / (1 - product)
        w = w - lr * m_hat / (np.sqrt(v / (1 - beta_2 ** t)) + eps)
    return w


@pytest.mark.parametrize("count", [1, 3])
def test_apply_gradients_called_directly_is_textbook(count):
    rng = np.random.default_rng(0)
    starts = [rng.normal(size=(3,)) for _ in range(count)]
    grads = [[rng.normal(size=(3,)) for _ in range(count)] for _ in range(4)]
    variables = [keras.Variable(s.astype("float32")) for s in starts]
    opt = keras.optimizers.Nadam(0.01)
    for step in grads:
        opt.apply_gradients(zip([g.astype("float32") for g in step], variables))
    for i, variable in enumerate(variables):
        np.testing.assert_allclose(variable.data, textbook_nadam(starts[i],
                                                                 [step[i] for step in grads]),
                                   rtol=1e-5, atol=1e-6)
