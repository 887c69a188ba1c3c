"""Optimizer state before the first training step, as tf.keras 2.21 reports it: a current
optimizer lists only `iteration:0` (value 0) after compile; a legacy (OptimizerV2) one lists
nothing in `variables()` / `weights` / `get_weights()` until it is built or `iterations` is
read. Facts: tests/fixtures/optimizer_state (peer_recipes/fid2/optimizer_unbuilt.py,
legacy_optimizer_state.py)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "optimizer_state")


def load(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def compiled(optimizer):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer, "mse")
    return model


def fit_once(model):
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0,
              batch_size=4)


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop"])
def test_current_optimizer_after_compile_and_after_fit(name):
    facts = load("optimizer_unbuilt_tf_keras.json")
    optimizer = keras.optimizers.SGD(0.01, momentum=0.9) if name == "SGD" else \
        getattr(keras.optimizers, name)(learning_rate=0.01)
    model = compiled(optimizer)
    assert [v.name for v in optimizer.variables] == facts[f"{name}_after_compile"]["variables"]
    assert int(optimizer.iterations.numpy()) == facts[f"{name}_after_compile"]["iterations"][2]
    fit_once(model)
    assert [v.name for v in optimizer.variables] == facts[f"{name}_after_fit"]["variables"]
    assert int(optimizer.iterations.numpy()) == facts[f"{name}_after_fit"]["iterations"][2]


@pytest.mark.parametrize("name", ["Adam", "SGD"])
def test_legacy_optimizer_lists_nothing_until_built(name):
    facts = load("legacy_optimizer_state.json")
    optimizer = getattr(keras.optimizers.legacy, name)(0.01)
    assert list(optimizer.variables()) == facts[f"{name}_fresh_variables"] == []
    assert optimizer.weights == facts[f"{name}_fresh_weights"]
    assert optimizer.get_weights() == facts[f"{name}_fresh_get_weights"]
    model = compiled(optimizer)
    assert optimizer.weights == optimizer.get_weights() == facts[f"{name}_compiled_weights"]
    fit_once(model)
    names = [v.name for v in optimizer.weights]
    # the recipe read `iterations` before fit, so tf.keras made it outside the optimizer's
    # name scope (`iter:0`); made by fit it is `Adam/iter:0`
    assert names[0] == f"{name}/iter:0" and names[1:] == facts[f"{name}_fit_weights"][1:]
    assert len(optimizer.get_weights()) == facts[f"{name}_fit_get_weights_len"]


def test_reading_iterations_lists_it():
    optimizer = keras.optimizers.legacy.Adam(0.01)
    assert int(optimizer.iterations.numpy()) == 0
    assert [v.name for v in optimizer.variables()] == ["Adam/iter:0"]
    assert len(optimizer.get_weights()) == 1
