"""Fixtures of tests/test_seeded_session_weights.py: the initial weights tf_keras 2.21 gives a
model built after `keras.utils.set_random_seed(seed)` with unseeded initializers (tf.keras
picks each instance's seed from the seed generator at its first call), and the losses of a
short fit without shuffling or dropout. Run with the peer venv:
    /work/peers/bin/python benchmarks/fixture_recipes/seeded_session.py --peer
"""
import json
import os

import numpy as np

import peer

peer.require_peer()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
import tf_keras as keras  # noqa: E402

SEED = 7


def build_models():
    """The models of the test: every random initializer class by name, unseeded."""
    layers = keras.layers
    inputs = keras.Input((8, 6))
    x = layers.Conv1D(4, 3, kernel_initializer="he_normal")(inputs)
    x = layers.LSTM(5, return_sequences=True)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(7, activation="relu", kernel_initializer="lecun_normal",
                     bias_initializer="random_uniform")(x)
    outputs = layers.Dense(3, activation="softmax", kernel_initializer="glorot_normal")(x)
    functional = keras.Model(inputs, outputs)
    sequential = keras.Sequential([
        layers.Embedding(20, 4, input_length=5),
        layers.GRU(3),
        layers.Dense(6, kernel_initializer="he_uniform", bias_initializer="truncated_normal"),
        layers.Dense(2, kernel_initializer="random_normal",
                     bias_initializer=keras.initializers.VarianceScaling(
                         0.5, "fan_out", "untruncated_normal")),
        layers.Dense(2, kernel_initializer="lecun_uniform")])
    sequential.build()
    return functional, sequential


def main():
    keras.utils.set_random_seed(SEED)
    functional, sequential = build_models()
    arrays = {}
    for prefix, model in (("functional", functional), ("sequential", sequential)):
        for index, weight in enumerate(model.get_weights()):
            arrays[f"{prefix}_{index}"] = weight
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8, 6)).astype("float32")
    y = rng.integers(0, 3, 64)
    functional.compile("adam", "sparse_categorical_crossentropy")
    history = functional.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    arrays["x"], arrays["y"] = x, y
    out = peer.fixture_dir("seeded_session")
    os.makedirs(out, exist_ok=True)
    np.savez(os.path.join(out, "weights.npz"), **arrays)
    with open(os.path.join(out, "fit.json"), "w") as handle:
        json.dump({"seed": SEED, "loss": history.history["loss"]}, handle, indent=1)


if __name__ == "__main__":
    main()
