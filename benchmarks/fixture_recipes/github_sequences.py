"""Writes tests/fixtures/github_sequences/: what tf_keras 2.21 does with patterns of public
GitHub text / sequence / tabular / RL scripts (fid-gh2 sweep) where minikeras differed.
Run with the peer: TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 \
    /work/peers/bin/python benchmarks/fixture_recipes/github_sequences.py --peer"""
import importlib
import json
import os
import types
import warnings

import sys

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
sys.path.insert(0, fixture_dir("github_sequences"))
from update_cases import running_mean_model  # noqa: E402

# The modules user scripts star-import (`from keras.layers import *`), as tf_keras names them.
STAR_MODULES = ["", "layers", "models", "callbacks", "optimizers", "losses", "metrics",
                "initializers", "regularizers", "constraints", "activations", "backend", "utils",
                "preprocessing", "preprocessing.sequence", "preprocessing.text",
                "preprocessing.image", "applications", "datasets"]


def star_imports():
    """Per module: the names `from tf_keras.X import *` binds, and which of them are modules."""
    found = {}
    for suffix in STAR_MODULES:
        name = "tf_keras" + ("." + suffix if suffix else "")
        importlib.import_module(name)
        namespace = {}
        exec(f"from {name} import *", namespace)
        names = sorted(key for key in namespace if not key.startswith("__"))
        found[suffix] = {"names": names,
                         "modules": [key for key in names
                                     if isinstance(namespace[key], types.ModuleType)]}
    return found


def updates_and_step_functions(keras):
    """add_update with a moving average and a callable, `updates` / `state_updates`, and the
    make_*_function hooks (Flask apps call `model.make_predict_function()` after load_model)."""
    import tensorflow as tf
    K = keras.backend
    x = np.arange(12, dtype="float32").reshape(4, 3)
    y = np.ones((4, 1), "float32")
    found = {}
    for trainable in (True, False):
        model = running_mean_model(keras, counter_trainable=trainable)
        stage = {"after_build": K.get_value(model.get_layer("center").running_mean).tolist()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stage["layer_updates"] = list(model.get_layer("center").updates)
            stage["model_state_updates"] = list(model.state_updates)
        stage["warnings"] = [str(w.message) for w in caught]
        model.compile(keras.optimizers.SGD(0.1), "mse")
        stage["loss"] = model.fit(x, y, batch_size=2, epochs=2, shuffle=False,
                                  verbose=0).history["loss"]
        stage["after_fit"] = K.get_value(model.get_layer("center").running_mean).tolist()
        stage["count_after_fit"] = float(K.get_value(model.get_layer("counter").count))
        stage["predict"] = model.predict(x, batch_size=4, verbose=0).tolist()
        stage["after_predict"] = K.get_value(model.get_layer("center").running_mean).tolist()
        stage["count_after_predict"] = float(K.get_value(model.get_layer("counter").count))
        found[f"counter_trainable_{trainable}"] = stage
    model = running_mean_model(keras)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    hooks = {"before": [model.train_function is None, model.test_function is None,
                        model.predict_function is None]}
    predict = model.make_predict_function()
    hooks["same_when_made_again"] = model.make_predict_function() is predict
    hooks["new_when_forced"] = model.make_predict_function(force=True) is not predict
    batches = iter(tf.data.Dataset.from_tensor_slices(x).batch(2))
    hooks["predict_first_batch"] = np.asarray(model.make_predict_function()(batches)).tolist()
    train_batches = iter(tf.data.Dataset.from_tensor_slices((x, y)).batch(2))
    train = model.make_train_function()
    hooks["train_logs"] = [{k: float(v) for k, v in train(train_batches).items()}
                           for _ in range(2)]
    test_batches = iter(tf.data.Dataset.from_tensor_slices((x, y)).batch(4))
    hooks["test_logs"] = {k: float(v) for k, v in model.make_test_function()(test_batches).items()}
    hooks["weights_after"] = [w.tolist() for w in model.get_layer("out").get_weights()]
    model.compile(keras.optimizers.SGD(0.1), "mse")
    hooks["after_compile"] = [model.train_function is None, model.predict_function is None]
    found["hooks"] = hooks
    return found


def error_classes(keras):
    """The exception classes of two refusals TensorFlow makes inside its graph (stacked
    stateful LSTMs fed another batch size; a 3D tagger's labels outside `class_weight`)."""
    found = {}
    model = keras.Sequential([keras.layers.LSTM(3, stateful=True, batch_input_shape=(4, 2, 2)),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.zeros((6, 2, 2), "float32")
    for label, run in [("stateful_predict", lambda: model.predict(x[:3], batch_size=3, verbose=0)),
                       ("stateful_fit", lambda: model.fit(x[:3], np.zeros((3, 1)), batch_size=3,
                                                          verbose=0))]:
        try:
            run()
            found[label] = None
        except Exception as error:   # noqa: BLE001  (recording which class it is)
            found[label] = [type(error).__name__, isinstance(error, ValueError), str(error)[:300]]
    tagger = keras.Sequential([keras.layers.Embedding(5, 2, input_length=6),
                               keras.layers.Dense(4, activation="softmax")])
    tagger.compile("adam", "sparse_categorical_crossentropy")
    labels = np.array([[0, 0, 0, 0, 3, 1], [1, 0, 0, 0, 0, 2]])   # argmax over time: 4, 5
    try:
        tagger.fit(np.ones((2, 6)), labels, class_weight={0: 1, 1: 2, 2: 1, 3: 1}, verbose=0)
        found["class_weight_2d_labels"] = None
    except Exception as error:   # noqa: BLE001
        found["class_weight_2d_labels"] = [type(error).__name__, isinstance(error, ValueError),
                                           str(error)[:300]]
    return found


def main():
    out = fixture_dir("github_sequences")
    os.makedirs(out, exist_ok=True)
    import tf_keras
    facts = {"star_imports": star_imports(), "updates": updates_and_step_functions(tf_keras),
             "error_classes": error_classes(tf_keras)}
    with open(os.path.join(out, "tf_keras_facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
