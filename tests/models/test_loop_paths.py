"""The paths of hand-written training loops (`model(x)`, `GradientTape.gradient`,
`train_on_batch`, `test_on_batch`, `predict_on_batch`) run under fit's BLAS thread policy
(`parallel.blas_single_threaded`): one BLAS thread when the machine is oversubscribed, the
previous count restored after, and nothing set again inside a step that already chose."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.core import tensor
from minikeras.ops import parallel
from fake_blas import install_fake_blas


@pytest.fixture
def oversubscribed_blas(monkeypatch):
    return install_fake_blas(monkeypatch, oversubscribed=True)


def small_model():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "categorical_crossentropy", metrics=["accuracy"])
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.random((8, 5), dtype=np.float32), np.eye(2, dtype=np.float32)[[0, 1] * 4]


def test_a_model_called_directly_runs_under_the_policy(oversubscribed_blas):
    model, (x, _) = small_model(), data()
    seen = []
    model.layers[0].call = lambda inputs, **kw: (
        seen.append(oversubscribed_blas.threads),
        keras.layers.Dense.call(model.layers[0], inputs, **kw))[1]
    model(x)
    assert seen == [1] and oversubscribed_blas.history == [1, 2]


def test_a_tape_gradient_runs_under_the_policy(oversubscribed_blas, monkeypatch):
    model, (x, y) = small_model(), data()
    seen = []
    real = parallel.blas_single_threaded.__enter__

    def enter(scope):
        seen.append(scope._kind)
        return real(scope)
    monkeypatch.setattr(parallel.blas_single_threaded, "__enter__", enter)
    with keras.GradientTape() as tape:
        loss = keras.losses.categorical_crossentropy(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_weights)
    assert seen == ["call", "gradient"]
    assert oversubscribed_blas.history == [1, 2, 1, 2]
    assert all(g is not None for g in grads)


def test_calls_inside_a_step_do_not_set_the_threads_again(oversubscribed_blas):
    model, (x, y) = small_model(), data()
    model.train_on_batch(x, y)
    model.test_on_batch(x, y)
    model.predict_on_batch(x)
    assert oversubscribed_blas.history == [1, 2] * 3


def test_tape_gradients_are_those_of_a_tape_without_the_scope(monkeypatch):
    """The scope changes how BLAS threads, never the gradients."""
    model, (x, y) = small_model(), data()

    def gradients():
        with keras.GradientTape() as tape:
            loss = keras.losses.categorical_crossentropy(y, model(x, training=True))
        return [g.numpy() for g in tape.gradient(loss, model.trainable_weights)]
    with_scope = gradients()
    monkeypatch.setattr(tensor, "_backward_scope", None)
    without_scope = gradients()
    for a, b in zip(with_scope, without_scope):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
