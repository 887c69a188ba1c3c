"""`model.losses` before and after the first call, as tf.keras 2.21 lists them: the losses a
symbolic call adds are graph tensors (KerasTensors here) until an eager call replaces them with
values; callable losses stay and are evaluated at each read. Facts:
tests/fixtures/losses_before_call (peer_recipes/fid2/losses_before_call.py)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.engine.keras_tensor import KerasTensor

with open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "losses_before_call",
                       "losses_before_call.json")) as f:
    FACTS = json.load(f)
X = np.asarray(FACTS["x"], np.float32)


def check(losses, expected):
    """Values where tf.keras had eager tensors, KerasTensors where it had graph tensors."""
    assert len(losses) == len(expected)
    for loss, fact in zip(losses, expected):
        if isinstance(fact, str):
            assert isinstance(loss, KerasTensor) and loss.shape == ()
        else:
            assert float(loss) == pytest.approx(fact, rel=1e-5)


def regularized_model():
    inputs = keras.Input((3,))
    h = layers.Dense(2, kernel_initializer="ones", kernel_regularizer=keras.regularizers.l2(0.1),
                     activity_regularizer=keras.regularizers.l1(0.01), name="d1")(inputs)
    model = keras.Model(inputs, h)
    model.add_loss(keras.backend.mean(h) * 0.5)
    model.add_loss(lambda: 0.3 * keras.backend.sum(model.layers[1].kernel))
    return model


def test_functional_model_losses_before_and_after_the_first_call():
    model = regularized_model()
    check(model.losses, FACTS["before_call"])
    check(model.layers[1].losses, FACTS["layer_losses_before"])
    model(X)
    check(model.losses, FACTS["after_call"])
    check(model.layers[1].losses, FACTS["layer_losses_after"])
    model.predict(X, verbose=0)
    check(model.losses, FACTS["after_call"])


def test_activity_regularizer_and_layer_add_loss_are_symbolic_until_called():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(2, kernel_initializer="ones",
                                             activity_regularizer="l2")(inputs))
    check(model.losses, FACTS["activity_only_before"])
    model(X)
    check(model.losses, FACTS["activity_only_after"])

    class AddsLoss(layers.Layer):
        def call(self, x):
            self.add_loss(keras.backend.sum(x) * 0.1)
            return x
    inputs = keras.Input((3,))
    model = keras.Model(inputs, AddsLoss()(inputs))
    check(model.losses, FACTS["layer_add_loss_before"])
    model(X)
    check(model.losses, FACTS["layer_add_loss_after"])


def test_a_callable_model_loss_stays_after_calls_and_counts_in_evaluate():
    inputs = keras.Input((3,))
    dense = layers.Dense(2, kernel_initializer="ones")
    model = keras.Model(inputs, dense(inputs))
    model.add_loss(lambda: 0.3 * keras.backend.sum(dense.kernel))
    model.compile("sgd", "mse")
    model(X)
    assert len(model.losses) == 1
    loss = model.evaluate(X, np.zeros((4, 2), np.float32), verbose=0)
    assert loss == pytest.approx(FACTS["callable_loss_evaluate"], rel=1e-5)
    assert loss == pytest.approx(FACTS["callable_loss_mse"] + 0.3 * 6, rel=1e-5)
