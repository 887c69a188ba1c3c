"""Patterns of public GitHub Keras 2 scripts (text, sequence, time-series, tabular and RL work)
checked where minikeras differed from tf_keras 2.21 when the scripts ran unchanged on both
(fid-gh2 sweep; peer facts in tests/fixtures/github_sequences/, written by
benchmarks/fixture_recipes/github_sequences.py)."""
import importlib
import importlib.util
import json
import types

import numpy as np
import pytest

import minikeras  # noqa: F401  (attaches the Keras 2 module paths to the packages)
from conftest import fixture_path


def peer_facts():
    with open(fixture_path("github_sequences", "tf_keras_facts.json")) as f:
        return json.load(f)


def star_import(module_name):
    namespace = {}
    exec(f"from {module_name} import *", namespace)
    return {name: value for name, value in namespace.items() if not name.startswith("__")}


STAR_CASES = sorted(peer_facts()["star_imports"].items())


@pytest.mark.parametrize("suffix, peer", [case for case in STAR_CASES if case[0]],
                         ids=[case[0] for case in STAR_CASES if case[0]])
def test_star_import_binds_no_internal_modules(suffix, peer):
    # `from keras.layers import *` in tf.keras binds the public API only; ours bound the
    # subpackages (`recurrent`, `core`, `activations`, `preprocessing`, ...) and helpers
    # (`np`, `random`, `json`, `warnings`), which shadow the user's own imports.
    ours = star_import("minikeras." + suffix)
    modules = sorted(name for name, value in ours.items() if isinstance(value, types.ModuleType))
    assert set(modules) <= set(peer["modules"]), (suffix, modules)


@pytest.mark.parametrize("suffix, peer", [case for case in STAR_CASES if case[0]],
                         ids=[case[0] for case in STAR_CASES if case[0]])
def test_star_import_keeps_every_public_name_we_have(suffix, peer):
    module = importlib.import_module("minikeras." + suffix)
    ours = star_import("minikeras." + suffix)
    missing = [name for name in peer["names"] if hasattr(module, name) and name not in ours]
    assert missing == []


def test_star_import_leaves_the_users_earlier_imports_alone():
    # GitHub scripts import `random` or `from keras import activations, preprocessing` first,
    # then star-import layers / backend; tf.keras' star imports never rebind those.
    namespace = {}
    exec("import random\n"
         "from minikeras import activations, preprocessing\n"
         "from minikeras.layers import *\n"
         "from minikeras.backend import *\n"
         "from minikeras.models import *\n"
         "from minikeras.optimizers import *\n"
         "from minikeras.callbacks import *\n", namespace)
    import random
    import minikeras
    assert namespace["random"] is random
    assert namespace["activations"] is minikeras.activations
    assert namespace["preprocessing"] is minikeras.preprocessing
    assert namespace["LSTM"] is minikeras.layers.LSTM and namespace["Adam"] is minikeras.optimizers.Adam
    assert namespace["legacy"] is minikeras.optimizers.legacy   # tf.keras binds it too
    assert namespace["sum"] is minikeras.backend.sum            # and K.sum over builtins.sum


def test_keras1_submodule_after_star_import_is_a_name_error():
    # A Keras 1 char-RNN script: `from keras.layers import *` then `recurrent.GRU(output_dim=80)`.
    # tf.keras 2.21 binds no `recurrent` (NameError); the Keras 2 path stays importable.
    namespace = {}
    exec("from minikeras.layers import *", namespace)
    for keras1_name in ("recurrent", "core", "embeddings", "merge", "wrappers", "convolutional"):
        assert keras1_name not in namespace
    assert "experimental" in namespace
    from minikeras.layers.recurrent import GRU
    assert GRU is minikeras.layers.GRU


def test_top_level_star_import_keeps_the_users_random():
    # `import random` then `from keras import *`: tf.keras binds its public modules only.
    namespace = {}
    exec("import random\nfrom minikeras import *", namespace)
    import random
    assert namespace["random"] is random
    assert "ops" not in namespace and "core" not in namespace and "engine" not in namespace
    peer = peer_facts()["star_imports"][""]
    import minikeras
    for name in ("layers", "models", "backend", "utils", "optimizers", "Sequential", "Model"):
        assert name in peer["names"] and namespace[name] is getattr(minikeras, name)


# --- Keras 2 custom layers keeping state with add_update; make_predict_function -------------
def _load_update_cases():
    spec = importlib.util.spec_from_file_location(
        "github_sequences_update_cases", fixture_path("github_sequences", "update_cases.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


UPDATE_X = np.arange(12, dtype="float32").reshape(4, 3)
UPDATE_Y = np.ones((4, 1), "float32")


@pytest.mark.parametrize("trainable", [True, False])
def test_add_update_moving_average_and_callable_updates(trainable):
    # A GitHub "running mean" layer: `self.add_update([K.moving_average_update(...)])` in call.
    # We had no add_update (AttributeError), and a functional build's placeholder runs of
    # `call` moved the running mean; tf.keras updates it at each train and predict step only.
    import warnings
    import minikeras as keras
    peer = peer_facts()["updates"][f"counter_trainable_{trainable}"]
    model = _load_update_cases().running_mean_model(keras, counter_trainable=trainable)
    K = keras.backend
    center, counter = model.get_layer("center"), model.get_layer("counter")
    np.testing.assert_array_equal(K.get_value(center.running_mean), peer["after_build"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert center.updates == peer["layer_updates"] == []
        assert model.state_updates == peer["model_state_updates"] == []
    assert [str(w.message) for w in caught] == peer["warnings"]
    model.compile(keras.optimizers.SGD(0.1), "mse")
    history = model.fit(UPDATE_X, UPDATE_Y, batch_size=2, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], peer["loss"], rtol=1e-5)
    np.testing.assert_allclose(K.get_value(center.running_mean), peer["after_fit"], rtol=1e-6)
    assert float(K.get_value(counter.count)) == peer["count_after_fit"]
    np.testing.assert_allclose(model.predict(UPDATE_X, batch_size=4, verbose=0), peer["predict"],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(K.get_value(center.running_mean), peer["after_predict"], rtol=1e-6)
    assert float(K.get_value(counter.count)) == peer["count_after_predict"]


def test_make_step_functions_as_tf_keras():
    # Flask apps: `model = load_model(...); model.make_predict_function()` (AttributeError here
    # before). The functions take a batch iterator, as tf.keras' do; compile forgets them.
    import minikeras as keras
    peer = peer_facts()["updates"]["hooks"]
    model = _load_update_cases().running_mean_model(keras)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    assert [model.train_function is None, model.test_function is None,
            model.predict_function is None] == peer["before"]
    predict = model.make_predict_function()
    assert (model.make_predict_function() is predict) == peer["same_when_made_again"]
    assert (model.make_predict_function(force=True) is not predict) == peer["new_when_forced"]
    batches = iter([UPDATE_X[:2], UPDATE_X[2:]])
    np.testing.assert_allclose(model.make_predict_function()(batches), peer["predict_first_batch"],
                               rtol=1e-6)
    train_batches = iter([(UPDATE_X[:2], UPDATE_Y[:2]), (UPDATE_X[2:], UPDATE_Y[2:])])
    train = model.make_train_function()
    logs = [train(train_batches) for _ in range(2)]
    for ours, theirs in zip(logs, peer["train_logs"]):
        assert ours.keys() == theirs.keys()
        np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5)
    test_logs = model.make_test_function()(iter([(UPDATE_X, UPDATE_Y)]))
    np.testing.assert_allclose(test_logs["loss"], peer["test_logs"]["loss"], rtol=1e-5)
    for ours, theirs in zip(model.get_layer("out").get_weights(), peer["weights_after"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    assert [model.train_function is None, model.predict_function is None] == peer["after_compile"]


# --- refusals TensorFlow makes inside its graph -----------------------------------------------
def test_class_weight_outside_the_labels_is_tf_invalid_argument_error():
    # A BiLSTM tagger fitted with 2D sparse labels and `class_weight`: tf.keras takes the argmax
    # over time as the class and its gather of the weights refuses it (InvalidArgumentError;
    # ours subclasses ValueError).
    import minikeras as keras
    peer = peer_facts()["error_classes"]["class_weight_2d_labels"]
    tagger = keras.Sequential([keras.layers.Embedding(5, 2, input_length=6),
                               keras.layers.Dense(4, activation="softmax")])
    tagger.compile("adam", "sparse_categorical_crossentropy")
    labels = np.array([[0, 0, 0, 0, 3, 1], [1, 0, 0, 0, 0, 2]])
    with pytest.raises(ValueError) as caught:
        tagger.fit(np.ones((2, 6)), labels, class_weight={0: 1, 1: 2, 2: 1, 3: 1}, verbose=0)
    assert type(caught.value).__name__ == peer[0] == "InvalidArgumentError"
    assert "[0, 4)" in str(caught.value) and "[0, 4)" in peer[2]


@pytest.mark.parametrize("case", ["stateful_predict", "stateful_fit"])
def test_stateful_lstm_fed_another_batch_size_is_a_value_error(case):
    import minikeras as keras
    peer = peer_facts()["error_classes"][case]
    model = keras.Sequential([keras.layers.LSTM(3, stateful=True, batch_input_shape=(4, 2, 2)),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.zeros((3, 2, 2), "float32")
    with pytest.raises(ValueError) as caught:
        if case == "stateful_predict":
            model.predict(x, batch_size=3, verbose=0)
        else:
            model.fit(x, np.zeros((3, 1)), batch_size=3, verbose=0)
    assert type(caught.value).__name__ == peer[0]


def test_star_import_sees_names_added_to_a_module_later():
    # The shared `__init__` files grow by appending: `__all__` is computed at each star import.
    import minikeras
    minikeras.layers.AppendedLaterForTest = object()
    try:
        assert "AppendedLaterForTest" in star_import("minikeras.layers")
    finally:
        del minikeras.layers.AppendedLaterForTest
    assert "AppendedLaterForTest" not in star_import("minikeras.layers")
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchLayer'"):
        minikeras.layers.NoSuchLayer
    with pytest.raises(ImportError):
        exec("from minikeras.layers import NoSuchLayer", {})
