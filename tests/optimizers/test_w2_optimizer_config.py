"""Optimizer `get_config()` values as tf.keras 2.21 gives them: the learning rate (and, for the
legacy optimizers once built, their variable-held hyperparameters) as NumPy float32 scalars;
`serialize()` turning them into Python numbers; saved files holding plain JSON numbers.
Expected entries come from the peer (benchmarks/fixture_recipes/optimizer_config.py)."""
import json
import os

import h5py
import numpy as np
import pytest

import minikeras as keras

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "optimizer_config",
                       "optimizer_configs.json")
with open(FIXTURE) as f:
    PEER = json.load(f)


def entries(config):
    return [[key, type(value).__name__, repr(value)] for key, value in config.items()]


def one_step(optimizer):
    variable = keras.Variable(np.ones(2, np.float32))
    optimizer.apply_gradients([(np.ones(2, np.float32), variable)])


@pytest.mark.parametrize("family", ["new", "legacy"])
def test_get_config_before_and_after_a_step_matches_peer(family):
    module = keras.optimizers if family == "new" else keras.optimizers.legacy
    for state, expected in PEER[family].items():
        name, when = state.split()
        if when != "unbuilt":
            continue
        optimizer = getattr(module, name)()
        assert entries(optimizer.get_config()) == expected, state
        one_step(optimizer)
        assert entries(optimizer.get_config()) == PEER[family][name + " stepped"], state


def test_legacy_hyperparameters_stay_as_given_until_learning_rate_is_read():
    expected = PEER["legacy states"]
    optimizer = keras.optimizers.legacy.Adam(learning_rate=0.1)
    optimizer.iterations
    assert entries(optimizer.get_config()) == expected["iterations read"]
    optimizer.lr
    assert entries(optimizer.get_config()) == expected["lr read"]
    optimizer = keras.optimizers.legacy.SGD(0.2)
    optimizer.lr = 0.3
    assert entries(optimizer.get_config()) == expected["lr set"]
    assert entries(keras.optimizers.legacy.Adam(learning_rate=1).get_config()) == \
        expected["int learning_rate"]
    assert entries(keras.optimizers.legacy.SGD(lr=0.2).get_config()) == expected["lr kwarg"]


def test_serialize_forms_match_peer():
    adam = keras.optimizers.Adam()
    legacy = keras.optimizers.legacy.Adam()
    one_step(legacy)
    expected = PEER["serialize"]
    assert repr(keras.optimizers.serialize(adam)) == expected["new"]
    assert repr(keras.optimizers.serialize(adam, use_legacy_format=True)) == \
        expected["new legacy format"]
    assert repr(keras.optimizers.serialize(legacy)) == expected["legacy"]
    assert repr(keras.optimizers.serialize(legacy, use_legacy_format=True)) == \
        expected["legacy legacy format"]
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(legacy))
    assert isinstance(restored, keras.optimizers.legacy.Adam)


def test_reusing_an_optimizer_for_a_second_model_raises_tf_keras_key_error():
    optimizer = keras.optimizers.SGD()
    first = keras.Sequential([keras.layers.Dense(1, input_shape=(2,), name="dense")])
    first.compile(optimizer, "mse")
    first.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    second = keras.Sequential([keras.layers.Dense(1, input_shape=(2,), name="dense")])
    second.compile(optimizer, "mse")
    with pytest.raises(KeyError) as caught:
        second.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    assert caught.value.args[0] == PEER["reuse error"]


# The peer's `training_config` (tf_keras 2.21, Dense(1) fitted with Adam(0.1) then
# `model.save('m.h5')`): plain JSON numbers, float32 values written at full double precision.
PEER_H5_OPTIMIZER = {
    "new": '{"class_name": "Custom>Adam", "config": {"name": "Adam", "weight_decay": null, '
           '"clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false, '
           '"ema_momentum": 0.99, "ema_overwrite_frequency": null, "jit_compile": false, '
           '"is_legacy_optimizer": false, "learning_rate": 0.10000000149011612, "beta_1": 0.9, '
           '"beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}}',
    "legacy": '{"class_name": "Adam", "config": {"name": "Adam", "learning_rate": '
              '0.10000000149011612, "decay": 0.0, "beta_1": 0.8999999761581421, "beta_2": '
              '0.9990000128746033, "epsilon": 1e-07, "amsgrad": false}}'}


@pytest.mark.parametrize("family", ["new", "legacy"])
def test_h5_training_config_holds_peer_json_numbers(family, tmp_path):
    optimizer = keras.optimizers.Adam(0.1) if family == "new" else \
        keras.optimizers.legacy.Adam(0.1)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer, "mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    path = str(tmp_path / "m.h5")
    model.save(path)
    with h5py.File(path) as f:
        training_config = json.loads(f.attrs["training_config"])
    assert json.dumps(training_config["optimizer_config"]) == PEER_H5_OPTIMIZER[family]
