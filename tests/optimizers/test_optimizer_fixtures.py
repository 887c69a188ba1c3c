"""Optimizer steps and default configs against numbers recorded with tf.keras 2.21."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
import fixtures.fixture_models as fixture_models

with open(fixture_path("training", "optimizers.json")) as _handle:
    CASES = json.load(_handle)
with open(fixture_path("training", "optimizer_configs.json")) as _handle:
    CONFIGS = json.load(_handle)


def _set_weights(model, arrays, prefix):
    for layer in model.layers:
        count = len(layer.get_weights())
        if count:
            layer.set_weights([arrays[f"{prefix}/{layer.name}/{i}"] for i in range(count)])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_weights_after_every_step_match_tf_keras(case):
    arrays = np.load(fixture_path("training", "optimizers.npz"))
    model = fixture_models.tiny_dense(keras)
    _set_weights(model, arrays, "w_init")
    model.compile(fixture_models.make_optimizer(keras, case["optimizer"]), case["loss"])
    x, y, batch = arrays["x"], arrays["y"], case["batch"]
    for step in range(case["steps"]):
        loss = model.train_on_batch(x[batch * step: batch * (step + 1)],
                                    y[batch * step: batch * (step + 1)])
        np.testing.assert_allclose(loss, case["train_on_batch_losses"][step], rtol=1e-5)
        for layer in model.layers:
            for i, weight in enumerate(layer.get_weights()):
                expected = arrays[f"{case['name']}/step{step}/{layer.name}/{i}"]
                np.testing.assert_allclose(weight, expected, rtol=1e-5, atol=1e-7,
                                           err_msg=f"step {step} {layer.name}/{i}")
    assert int(model.optimizer.iterations) == case["iterations"]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_default_config_matches_tf_keras(name):
    optimizer = getattr(keras.optimizers, name)()
    assert optimizer.get_config() == CONFIGS[name]
    again = type(optimizer).from_config(optimizer.get_config())
    assert again.get_config() == CONFIGS[name]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_string_name_resolves_to_default_optimizer(name):
    optimizer = keras.optimizers.get(name.lower())
    assert type(optimizer).__name__ == name
    assert optimizer.get_config() == CONFIGS[name]
