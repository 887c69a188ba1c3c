"""Writes tests/fixtures/kaggle_scripts/: what tf_keras 2.21 does with patterns of popular
Kaggle kernels (fid-kaggle sweep) where minikeras differed.
Run with the peer: TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 \
    /work/peers/bin/python benchmarks/fixture_recipes/kaggle_scripts.py --peer"""
import json
import os
import random

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
import tf_keras as keras  # noqa: E402


class LoggingSequence(keras.utils.Sequence):
    """Six batches of a data-generator kernel; remembers which batch was asked for."""

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


def sequence_batch_order():
    """fit(Sequence) shuffles the batch order by default, with Python's `random`."""
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    weights = [np.array([[0.5], [-0.25], [0.125]], "float32"), np.array([0.1], "float32")]
    model.set_weights(weights)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    sequence = LoggingSequence()
    random.seed(5)
    history = model.fit(sequence, epochs=3, verbose=0)
    return {"seed": 5, "epochs": 3, "initial_weights": [w.tolist() for w in weights],
            "asked": sequence.asked, "loss": history.history["loss"],
            "final_weights": [w.tolist() for w in model.get_weights()]}


def focal_loss(gamma=2., alpha=.25):
    K = keras.backend

    def focal_loss_fixed(y_true, y_pred):
        y_pred = K.clip(y_pred, K.epsilon(), 1. - K.epsilon())
        return -K.mean(alpha * y_true * K.pow(1. - y_pred, gamma) * K.log(y_pred)
                       + (1 - alpha) * (1 - y_true) * K.pow(y_pred, gamma) * K.log(1. - y_pred))
    return focal_loss_fixed


def f1(y_true, y_pred):
    K = keras.backend
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    precision = true_positives / (K.sum(K.round(K.clip(y_pred, 0, 1))) + K.epsilon())
    recall = true_positives / (K.sum(K.round(K.clip(y_true, 0, 1))) + K.epsilon())
    return 2 * precision * recall / (precision + recall + K.epsilon())


def custom_loss_files(out):
    """A kernel's model compiled with a focal-loss closure and an f1 function, saved after
    one epoch as .keras and .h5; evaluate and one more epoch of the reloaded model."""
    rng = np.random.RandomState(1)
    x = rng.rand(16, 3).astype("float32")
    y = (x[:, :1] > 0.5).astype("float32")
    model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights([rng.uniform(-1, 1, w.shape).astype("float32")
                       for w in model.get_weights()])
    model.compile(keras.optimizers.Adam(0.01), loss=focal_loss(),
                  metrics=[f1, keras.metrics.AUC(name="auc")])
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    facts = {"x": x.tolist(), "y": y.tolist()}
    custom = {"focal_loss_fixed": focal_loss(), "f1": f1}
    for name in ("focal.keras", "focal.h5"):
        model.save(os.path.join(out, name))
        loaded = keras.models.load_model(os.path.join(out, name), custom_objects=custom)
        facts[name] = {"evaluate": loaded.evaluate(x, y, verbose=0),
                       "metrics_names": loaded.metrics_names,
                       "resumed_loss": loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False,
                                                  verbose=0).history["loss"]}
    return facts


def error_message(action):
    try:
        action()
    except Exception as error:        # noqa: BLE001 - the message is what we record
        return [type(error).__name__, str(error)]
    return None


def unknown_name_errors(out):
    """What a kernel sees when a custom piece is missing from custom_objects, or misspelt."""
    return {
        "load_model focal.h5": error_message(
            lambda: keras.models.load_model(os.path.join(out, "focal.h5"))),
        "losses.get": error_message(lambda: keras.losses.get("foo_bar")),
        "optimizers.get": error_message(lambda: keras.optimizers.get("foo_bar")),
        "initializers.get": error_message(lambda: keras.initializers.get("foo_bar")),
        "constraints.get": error_message(lambda: keras.constraints.get("foo_bar")),
        "activations.get": error_message(lambda: keras.activations.get("foo_bar")),
        "Dense activation": error_message(lambda: keras.layers.Dense(2, activation="foo_bar")),
    }


SYMBOLIC_MASK_CASES = {
    "GlobalMaxPooling1D": lambda L, e: L.GlobalMaxPooling1D()(L.LSTM(3, return_sequences=True)(e)),
    "GlobalAveragePooling1D": lambda L, e: L.GlobalAveragePooling1D()(e),
    "Lambda": lambda L, e: L.Lambda(lambda t: t * 2)(e),
    "Lambda with mask": lambda L, e: L.Lambda(lambda t: t, mask=lambda i, m: m)(e),
    "LSTM sequences": lambda L, e: L.LSTM(3, return_sequences=True)(e),
    "Bidirectional": lambda L, e: L.Bidirectional(L.GRU(2, return_sequences=True))(e),
    "Dense": lambda L, e: L.Dense(3)(e),
    "Conv1D": lambda L, e: L.Conv1D(3, 2, padding="same")(e),
    "Flatten": lambda L, e: L.Flatten()(e),
    "concatenate": lambda L, e: L.concatenate([e, L.Dense(2)(e)]),
    "SpatialDropout1D": lambda L, e: L.SpatialDropout1D(0.2)(e),
    "Embedding without mask_zero": lambda L, e: L.Embedding(15, 4)(L.Input(shape=(6,))),
}


def symbolic_masks():
    """Whether a custom layer's call(x, mask=None) gets a mask while a kernel builds its
    functional model, after each layer fed by Embedding(mask_zero=True)."""
    seen = {}

    class Probe(keras.layers.Layer):
        def __init__(self, case, **kwargs):
            super().__init__(**kwargs)
            self.case = case
            self.supports_masking = True

        def call(self, x, mask=None):
            seen[self.case] = mask is not None
            return x

    for case, make in SYMBOLIC_MASK_CASES.items():
        embedded = keras.layers.Embedding(15, 4, mask_zero=True)(keras.layers.Input(shape=(6,)))
        Probe(case)(make(keras.layers, embedded))
    return seen


if __name__ == "__main__":
    out = fixture_dir("kaggle_scripts")
    os.makedirs(out, exist_ok=True)
    facts = {"sequence_batch_order": sequence_batch_order(),
             "custom_loss_files": custom_loss_files(out)}
    facts["unknown_name_errors"] = unknown_name_errors(out)
    facts["symbolic_masks"] = symbolic_masks()
    # Keras 2's CuDNNLSTM / CuDNNGRU are gone from tf_keras 2.21's keras.layers (ImportError for
    # `from keras.layers import CuDNNGRU`); tf.compat.v1's run only on a GPU
    facts["cudnn_layers"] = {name: hasattr(keras.layers, name)
                             for name in ("CuDNNLSTM", "CuDNNGRU")}
    with open(os.path.join(out, "kaggle_facts.json"), "w") as f:
        json.dump(facts, f, indent=1)
