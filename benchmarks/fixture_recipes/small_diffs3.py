"""Writes tests/fixtures/small_diffs3/ (fid-small3 sweep) with the peer venv:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python small_diffs3.py --peer

tf_keras 2.21 runs the cases of tests/fixtures/small_diffs3/cases.py (the tests run them with
minikeras) and writes:
- `second_order.npz`: for each op of `cases.second_order_functions`, the gradient of
  sum(g * g) w.r.t. x, g = the op's gradient by an inner GradientTape (of sum(y) and of
  sum(y * y / 2 + y)); the names tf answers None for are listed in `none`.
- `conv_pool_fit.npz`: the convolution kernel after one SGD step of Conv > MaxPooling >
  Flatten > Dense on integer images (tied maxima), ranks 1-3, kernel sizes 1 and 2.
- `extremes.npz`: activations' values and gradients at +-0, +-1, +-20, +-100, +-1e19, +-1e30,
  +-1e38, +-3.4e38, +-inf, NaN (`act|<name>|y`, `act|<name>|g`; K.elu with alpha 1 and 0.5),
  and a Dense(1) model's loss and weights after one train_on_batch with mse / msle on inputs
  of 1e19..1e38 (`fit|<loss>|<activation>|<scale>`).
- `tf_keras_facts.json`: `operators`: `==`, `!=`, `//`, `%`, `**` between tensors of two
  dtypes, with NumPy operands and reflected (the error type and message, or value and dtype);
  `deferred_sequential`: the input shape of Sequential models built by their first data
  (fit / evaluate / predict / *_on_batch / calls / build) and a summary.
- `tf_keras_facts.json` `logits_warnings`: the warnings and loss of evaluate for a softmax /
  sigmoid output with a crossentropy given `from_logits=True`.
- `keras3_training.keras` and `keras3_training.npz` (part `keras3_training`, Keras 3.15.1 in
  the same venv): a functional model whose BatchNormalization was called with
  `training=True`, saved untrained; Keras 3's own reload called as `model(x)` (the recorded
  training applies: batch statistics), then `model(x, training=False)` and `predict(x)` (the
  model's training overrides it), and the moving mean after those.
"""
import json
import os
import sys

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
FOLDER = fixture_dir("small_diffs3")
sys.path.insert(0, FOLDER)

import tensorflow as tf   # noqa: E402
import tf_keras as keras  # noqa: E402

import cases  # noqa: E402


def second_order():
    arrays, none = {}, []
    for name in cases.second_order_functions(keras):
        for square in (False, True):
            key = f"{name}|{int(square)}"
            got = cases.second_order(keras, tf.GradientTape, tf.Variable, name, square)
            if got is None or isinstance(got, str):
                none.append(key)
            else:
                arrays[key] = got
    np.savez(os.path.join(FOLDER, "second_order.npz"), none=np.array(none), **arrays)


def conv_pool_fit():
    arrays = {f"{rank}d k{kernel} {activation}": cases.conv_pool_fit(keras, rank, kernel,
                                                                      activation)
              for rank in (1, 2, 3) for kernel in (1, 2) for activation in ("relu", "linear")}
    np.savez(os.path.join(FOLDER, "conv_pool_fit.npz"), **arrays)


def extremes():
    arrays = {}
    for name in cases.EXTREME_ACTIVATIONS:
        arrays[f"act|{name}|y"], arrays[f"act|{name}|g"] = cases.extreme_activation(
            keras, tf.GradientTape, tf.Variable, name)
    for alpha in (1.0, 0.5):
        arrays[f"act|elu{alpha}|y"], arrays[f"act|elu{alpha}|g"] = cases.extreme_elu(
            keras, tf.GradientTape, tf.Variable, alpha)
    for loss, activation, scale in cases.EXTREME_FITS:
        arrays[f"fit|{loss}|{activation}|{scale:g}"] = cases.extreme_fit(keras, loss,
                                                                          activation, scale)
    np.savez(os.path.join(FOLDER, "extremes.npz"), **arrays)


def _write_facts(section, facts):
    """Add `section` to tf_keras_facts.json (other parts' sections are kept)."""
    path = os.path.join(FOLDER, "tf_keras_facts.json")
    written = {}
    if os.path.exists(path):
        with open(path) as f:
            written = json.load(f)
    written[section] = facts
    with open(path, "w") as f:
        json.dump(written, f, indent=1, sort_keys=True)


def operators():
    _write_facts("operators", cases.operator_outcomes(keras))


def deferred_sequential():
    _write_facts("deferred_sequential", cases.deferred_sequential_shapes(keras))


def logits_warnings():
    _write_facts("logits_warnings", cases.logits_warnings(keras))


def keras3_training():
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras as keras3
    x = np.random.RandomState(0).rand(6, 3).astype("float32") * 4
    inputs = keras3.Input((3,))
    hidden = keras3.layers.Dense(3, kernel_initializer="identity", name="d")(inputs)
    normed = keras3.layers.BatchNormalization(name="bn")(hidden, training=True)
    outputs = keras3.layers.Dense(2, kernel_initializer="ones", name="out")(normed)
    path = os.path.join(FOLDER, "keras3_training.keras")
    keras3.Model(inputs, outputs).save(path)
    loaded = keras3.models.load_model(path)
    called = np.asarray(loaded(x))
    inference = np.asarray(loaded(x, training=False))
    predicted = loaded.predict(x, verbose=0)
    np.savez(os.path.join(FOLDER, "keras3_training.npz"), x=x, called=called,
             inference=inference, predicted=predicted,
             moving_mean=loaded.get_layer("bn").moving_mean.numpy())


if __name__ == "__main__":
    parts = sys.argv[1:] or ["second_order", "conv_pool_fit", "extremes", "operators",
                              "deferred_sequential", "keras3_training",
                              "logits_warnings"]
    for part in parts:
        globals()[part]()
