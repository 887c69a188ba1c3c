"""Patterns of popular Kaggle kernels (Keras 2), checked where minikeras differed from
tf_keras 2.21 when the kernels ran unchanged on both (fid-kaggle sweep; peer facts in
tests/fixtures/kaggle_scripts/, written by benchmarks/fixture_recipes/kaggle_scripts.py)."""
import json
import random

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from minikeras import backend as K
from minikeras import layers


# --- U-Net kernels: Lambda(lambda x: x / 255) saved by ModelCheckpoint, then load_model -------
def dice_coef(y_true, y_pred):
    y_true_f, y_pred_f = K.flatten(y_true), K.flatten(y_pred)
    intersection = K.sum(y_true_f * y_pred_f)
    return (2. * intersection + 1.) / (K.sum(y_true_f) + K.sum(y_pred_f) + 1.)


def small_unet():
    inputs = layers.Input((8, 8, 3))
    scaled = layers.Lambda(lambda x: x / 255)(inputs)
    c1 = layers.Conv2D(2, 3, activation="elu", padding="same")(scaled)
    down = layers.MaxPooling2D()(c1)
    up = layers.Conv2DTranspose(2, 2, strides=2, padding="same")(down)
    merged = layers.concatenate([up, c1])
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(merged)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "binary_crossentropy", metrics=[dice_coef])
    return model


def test_model_checkpoint_h5_with_a_lambda_loads_back_in_the_same_script(tmp_path):
    # tf_keras 2.21 reads a legacy .h5 file's Lambda bytecode without safe mode; we let
    # through the bytecode this process wrote (the kernels' save-then-load), nothing else.
    rng = np.random.RandomState(0)
    x = rng.rand(6, 8, 8, 3).astype("float32") * 255
    y = (x[..., :1] > 127).astype("float32")
    model = small_unet()
    path = str(tmp_path / "model-dsbowl2018-1.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_best_only=True, verbose=0)
    model.fit(x, y, validation_split=0.5, epochs=1, batch_size=3, callbacks=[checkpoint],
              verbose=0)
    loaded = keras.models.load_model(path, custom_objects={"dice_coef": dice_coef})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)
    assert loaded.metrics_names == ["loss", "dice_coef"]


def test_clone_model_keeps_a_lambda():
    model = keras.Sequential([layers.Lambda(lambda x: x / 255, input_shape=(3,)),
                              layers.Dense(2)])
    clone = keras.models.clone_model(model)
    assert type(clone.layers[0]).__name__ == "Lambda"
    x = np.full((1, 3), 255.0, "float32")
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    # a user's clone_function calling from_config itself (model-surgery kernels)
    again = keras.models.clone_model(
        model, clone_function=lambda layer: layer.__class__.from_config(layer.get_config()))
    assert [type(layer).__name__ for layer in again.layers] == ["Lambda", "Dense"]


def test_bytecode_not_written_here_loads_from_h5_only(tmp_path):
    # a legacy .h5 file runs its Lambda bytecode whoever wrote it, as tf_keras 2.21 does
    # (tests/saving/test_files3_vs_peers.py); a JSON config still refuses it
    model = keras.Sequential([layers.Lambda(lambda x: x * 2, input_shape=(3,))])
    path = str(tmp_path / "m.h5")
    model.save(path)
    import h5py
    import json
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        code, defaults, closure = config["config"]["layers"][-1]["config"]["function"]
        # the same code with another default: not a function this process wrote
        config["config"]["layers"][-1]["config"]["function"] = [code, [3], closure]
        f.attrs["model_config"] = json.dumps(config)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), 2 * x)
    # a JSON config (tf_keras refuses there too, its own lambdas included)
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.model_from_json(model.to_json())


# --- data-generator kernels: fit(keras.utils.Sequence) with the default shuffle=True ----------
FACTS = json.load(open(fixture_path("kaggle_scripts", "kaggle_facts.json")))


class LoggingSequence(keras.utils.Sequence):
    def __init__(self):
        rng = np.random.RandomState(0)
        self.x = rng.rand(6, 4, 3).astype("float32")
        self.y = rng.rand(6, 4, 1).astype("float32")
        self.asked = []

    def __len__(self):
        return 6

    def __getitem__(self, index):
        self.asked.append(int(index))
        return self.x[index], self.y[index]


def test_sequence_batch_order_follows_python_random_as_tf_keras():
    # tf_keras shuffles the batch order with random.shuffle: a kernel's random.seed(s) gives
    # its order, so the same weights train to the same numbers
    want = FACTS["sequence_batch_order"]
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.set_weights([np.array(w, "float32") for w in want["initial_weights"]])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    sequence = LoggingSequence()
    random.seed(want["seed"])
    history = model.fit(sequence, epochs=want["epochs"], verbose=0)
    assert sequence.asked == want["asked"]
    np.testing.assert_allclose(history.history["loss"], want["loss"], rtol=1e-5)
    for got, expected in zip(model.get_weights(), want["final_weights"]):
        np.testing.assert_allclose(got, np.array(expected, "float32"), rtol=1e-5, atol=1e-6)


# --- load_model(custom_objects=...) of tf_keras files compiled with a focal-loss closure -----
def focal_loss(gamma=2., alpha=.25):
    def focal_loss_fixed(y_true, y_pred):
        y_pred = K.clip(y_pred, K.epsilon(), 1. - K.epsilon())
        return -K.mean(alpha * y_true * K.pow(1. - y_pred, gamma) * K.log(y_pred)
                       + (1 - alpha) * (1 - y_true) * K.pow(y_pred, gamma) * K.log(1. - y_pred))
    return focal_loss_fixed


def f1(y_true, y_pred):
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    precision = true_positives / (K.sum(K.round(K.clip(y_pred, 0, 1))) + K.epsilon())
    recall = true_positives / (K.sum(K.round(K.clip(y_true, 0, 1))) + K.epsilon())
    return 2 * precision * recall / (precision + recall + K.epsilon())


@pytest.mark.parametrize("filename", ["focal.keras", "focal.h5"])
def test_tf_keras_file_with_custom_loss_and_metric_functions(filename):
    # tf_keras 2.21 writes a plain function in a .keras compile_config as
    # {"module": "builtins", "class_name": "function", "config": "focal_loss_fixed"}
    want = FACTS["custom_loss_files"]
    x, y = np.array(want["x"], "float32"), np.array(want["y"], "float32")
    model = keras.models.load_model(fixture_path("kaggle_scripts", filename),
                                    custom_objects={"focal_loss_fixed": focal_loss(), "f1": f1})
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), want[filename]["evaluate"],
                               rtol=1e-5)
    assert model.metrics_names == want[filename]["metrics_names"]
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], want[filename]["resumed_loss"], rtol=1e-5)


UNKNOWN_NAME_ACTIONS = {
    "load_model focal.h5": lambda: keras.models.load_model(
        fixture_path("kaggle_scripts", "focal.h5")),
    "losses.get": lambda: keras.losses.get("foo_bar"),
    "optimizers.get": lambda: keras.optimizers.get("foo_bar"),
    "initializers.get": lambda: keras.initializers.get("foo_bar"),
    "constraints.get": lambda: keras.constraints.get("foo_bar"),
    "activations.get": lambda: keras.activations.get("foo_bar"),
    "Dense activation": lambda: layers.Dense(2, activation="foo_bar"),
}


@pytest.mark.parametrize("case", sorted(UNKNOWN_NAME_ACTIONS))
def test_unknown_names_raise_tf_keras_words(case):
    # the most common kernel error: load_model without the custom loss in custom_objects
    error_type, message = FACTS["unknown_name_errors"][case]
    with pytest.raises(Exception) as caught:
        UNKNOWN_NAME_ACTIONS[case]()
    assert type(caught.value).__name__ == error_type
    assert str(caught.value) == message


# --- custom attention layers after masked embeddings: the mask `call` sees while building ----
SYMBOLIC_MASK_CASES = {
    "GlobalMaxPooling1D": lambda e: layers.GlobalMaxPooling1D()(
        layers.LSTM(3, return_sequences=True)(e)),
    "GlobalAveragePooling1D": lambda e: layers.GlobalAveragePooling1D()(e),
    "Lambda": lambda e: layers.Lambda(lambda t: t * 2)(e),
    "Lambda with mask": lambda e: layers.Lambda(lambda t: t, mask=lambda i, m: m)(e),
    "LSTM sequences": lambda e: layers.LSTM(3, return_sequences=True)(e),
    "Bidirectional": lambda e: layers.Bidirectional(layers.GRU(2, return_sequences=True))(e),
    "Dense": lambda e: layers.Dense(3)(e),
    "Conv1D": lambda e: layers.Conv1D(3, 2, padding="same")(e),
    "Flatten": lambda e: layers.Flatten()(e),
    "concatenate": lambda e: layers.concatenate([e, layers.Dense(2)(e)]),
    "SpatialDropout1D": lambda e: layers.SpatialDropout1D(0.2)(e),
    "Embedding without mask_zero": lambda e: layers.Embedding(15, 4)(layers.Input(shape=(6,))),
}


@pytest.mark.parametrize("case", sorted(SYMBOLIC_MASK_CASES))
def test_call_gets_a_mask_while_building_only_where_tf_keras_passes_one(case):
    # tf_keras hands call() no mask after a layer whose compute_mask gives None (pooling, a
    # Lambda without mask=): a kernel's Attention there must not multiply by a stale mask
    seen = {}

    class Probe(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, x, mask=None):
            seen.setdefault("mask given", mask is not None)
            return x

    embedded = layers.Embedding(15, 4, mask_zero=True)(layers.Input(shape=(6,)))
    Probe()(SYMBOLIC_MASK_CASES[case](embedded))
    assert seen["mask given"] == FACTS["symbolic_masks"][case]


def test_cudnn_layers_are_absent_as_in_tf_keras():
    # `from keras.layers import CuDNNGRU` (toxic-comment kernels) fails on tf_keras 2.21 as on a
    # CPU-only Keras 2; the kernels' CPU fallback is GRU/LSTM with the default activations
    for name, present in FACTS["cudnn_layers"].items():
        assert hasattr(layers, name) == present
        if not present:
            with pytest.raises(ImportError):
                exec(f"from minikeras.layers import {name}", {})
