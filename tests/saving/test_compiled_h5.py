"""Compiled legacy `.h5` files written by tf.keras 2.21 (`Custom>Adam` optimizer names, the
optimizer state in tf.keras' order) load, evaluate and resume training as tf.keras does; the
files minikeras writes carry the same `training_config` and optimizer weight names."""
import json
import warnings

import h5py
import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

SHARED = json.load(open(fixture_path("files2", "files2.json")))["compiled"]
PEER = json.load(open(fixture_path("files2", "peer", "compiled9.json")))
ARRAYS = np.load(fixture_path("files2", "files2.npz"))
PEER_ARRAYS = np.load(fixture_path("files2", "peer", "compiled9.npz"))
# (case, directory, optimizer class, its kwargs, predictions after the resumed epochs)
CASES = [(c, ("files2",), c["optimizer"]["class"], c["optimizer"]["kwargs"],
          ARRAYS[c["name"] + "/pred_after"]) for c in SHARED] + \
        [(c, ("files2", "peer"), c["optimizer"], c["kwargs"], PEER_ARRAYS[c["name"] + "/pred_after"])
         for c in PEER]
IDS = [case[0]["name"] + ("" if len(case[1]) == 1 else "_peer") for case in CASES]


def weight_names(group):
    return [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]


def fresh_model():
    keras.backend.clear_session()
    model = keras.Sequential([keras.layers.Dense(8, activation="tanh", input_shape=(6,)),
                              keras.layers.Dense(3, activation="softmax")])
    for layer in model.layers:
        layer.set_weights([ARRAYS[f"w_init/{layer.name}/{i}"] for i in range(2)])
    return model


def test_all_nine_optimizers_are_covered():
    assert sorted({case[2] for case in CASES}) == sorted(
        ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax", "Nadam", "AdamW", "Ftrl"])


@pytest.mark.parametrize("case,where,cls,kwargs,pred_after", CASES, ids=IDS)
def test_load_evaluate_and_resume_like_tf_keras(case, where, cls, kwargs, pred_after):
    keras.backend.clear_session()
    x, y = ARRAYS["x"], ARRAYS["y"]
    path = fixture_path(*where, case["file"])
    assert case["training_config"]["optimizer_config"]["class_name"] == "Custom>" + cls
    model = keras.models.load_model(path)
    assert type(model.optimizer).__name__ == case["loaded_optimizer_class"]
    assert model.optimizer.get_config() == case["loaded_optimizer_config"]
    assert int(model.optimizer.iterations) == 8
    # The optimizer state was restored in the file's order: the saved slots are ours, in order.
    with h5py.File(path) as f:
        saved = [np.asarray(f["optimizer_weights"][name])
                 for name in weight_names(f["optimizer_weights"])]
    assert len(saved) == len(model.optimizer.variables)
    for variable, value in zip(model.optimizer.variables, saved):
        np.testing.assert_array_equal(variable.data, value)
    if "loaded_variable_names" in case:
        assert [v.name for v in model.optimizer.variables] == case["loaded_variable_names"]
    evaluated = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(evaluated["loss"], case["evaluate_after_load"]["loss"], rtol=1e-6)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], case["history_after_reload"]["loss"], rtol=1e-6)
    assert history["accuracy"] == case["history_after_reload"]["accuracy"]
    np.testing.assert_allclose(model.predict(x[:8], verbose=0), pred_after, atol=3e-7)


@pytest.mark.parametrize("case,where,cls,kwargs,pred_after", CASES, ids=IDS)
def test_written_file_has_tf_keras_training_config_and_optimizer_weights(
        case, where, cls, kwargs, pred_after, tmp_path):
    model = fresh_model()
    model.compile(getattr(keras.optimizers, cls)(**kwargs), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(ARRAYS["x"], ARRAYS["y"], batch_size=8, epochs=2, shuffle=False,
                        verbose=0).history
    # Training from the same start gives tf.keras' losses (Nadam: its traced u_product).
    np.testing.assert_allclose(history["loss"], case["history_before_save"]["loss"], rtol=1e-6)
    path = str(tmp_path / "m.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
    with h5py.File(path) as f:
        assert sorted(f.attrs) == ["backend", "keras_version", "model_config", "training_config"]
        assert json.loads(f.attrs["training_config"]) == case["training_config"]
        group = f["optimizer_weights"]
        assert weight_names(group) == case["optimizer_weight_names"]
        assert int(np.asarray(group["iteration:0"])) == 8
    # And it reads back into the same optimizer state.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = keras.models.load_model(path)
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.data, b.data)


def test_custom_prefix_only_strips_builtin_names():
    assert keras.optimizers.deserialize(
        {"class_name": "Custom>RMSprop", "config": {"learning_rate": 0.5}}).__class__.__name__ \
        == "RMSprop"
    with pytest.raises(ValueError, match="Unknown optimizer: 'Custom>Mystery'"):
        keras.optimizers.deserialize({"class_name": "Custom>Mystery", "config": {}})
