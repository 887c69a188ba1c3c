"""Writes tests/fixtures/book_scripts/*.json with tf_keras 2.21 (the peer): run with the peer's
Python, TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 python book_scripts.py --peer.
Patterns of Keras 2 books' companion code (Generative Deep Learning 1st ed., GDL_code)."""
import json
import os
import warnings

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
import tf_keras as keras  # noqa: E402
from tf_keras import backend as K  # noqa: E402

BATCH = 4
ALPHA = np.linspace(0.1, 0.9, BATCH, dtype="float32").reshape(BATCH, 1, 1, 1)


# GDL_code models/WGANGP.py: a Layer mixing real and fake images with one weight per sample of a
# fixed batch size (there from K.random_uniform; a fixed one here, to compare predictions)
class WeightedAverage(keras.layers.Layer):
    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size

    def call(self, inputs):
        alpha = K.constant(ALPHA[: self.batch_size])
        return (alpha * inputs[0]) + ((1 - alpha) * inputs[1])


class RandomWeightedAverage(keras.layers.Layer):
    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size

    def call(self, inputs):
        alpha = K.random_uniform((self.batch_size, 1, 1, 1))
        return (alpha * inputs[0]) + ((1 - alpha) * inputs[1])


# two outputs: one broadcast against the fixed batch, one that keeps the unknown batch
class ScaledPair(keras.layers.Layer):
    def call(self, x):
        return [K.constant(np.arange(1, 5, dtype="float32").reshape(4, 1)) * x, x * 2.0]


def shapes(tensors):
    return [list(t.shape) for t in tensors]


out = {}
real, fake = keras.Input((8, 8, 1)), keras.Input((8, 8, 1))
mixed = WeightedAverage(BATCH)([real, fake])
random_mixed = RandomWeightedAverage(BATCH)([real, fake])
model = keras.Model([real, fake], mixed)
rng = np.random.default_rng(0)
a, b = (rng.normal(size=(BATCH, 8, 8, 1)).astype("float32") for _ in range(2))
lines = []
model.summary(print_fn=lines.append)
out["weighted_average"] = {"shape": list(mixed.shape), "random_shape": list(random_mixed.shape),
                           "summary": lines, "a": a.tolist(), "b": b.tolist(),
                           "prediction": model.predict([a, b], verbose=0).tolist()}
x = keras.Input((3,))
out["scaled_pair"] = {"shapes": shapes(ScaledPair()(x))}
with open(os.path.join(fixture_dir("book_scripts"), "custom_layer_shapes.json"), "w") as f:
    json.dump(out, f)


# GDL_code's GANs: one unseeded `RandomNormal(mean=0., stddev=0.02)` instance for every layer
def reuse_facts(make):
    initializer = make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = np.asarray(initializer((3, 3)))
        second = np.asarray(initializer((3, 3)))
        smaller = np.asarray(initializer((2, 3)))
    return {"same_values": bool(np.array_equal(first, second)),
            "smaller_is_prefix": bool(np.array_equal(first[:2], smaller)),
            "warnings": [str(w.message) for w in caught]}


reuse = {name: reuse_facts(make) for name, make in [
    ("RandomNormal", lambda: keras.initializers.RandomNormal(mean=0.0, stddev=0.02)),
    ("RandomUniform", keras.initializers.RandomUniform),
    ("TruncatedNormal", keras.initializers.TruncatedNormal),
    ("GlorotUniform", keras.initializers.GlorotUniform),
    ("HeNormal", keras.initializers.HeNormal),
    ("Orthogonal", keras.initializers.Orthogonal),
    ("RandomNormal_seeded", lambda: keras.initializers.RandomNormal(seed=3))]}
shared = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)
inputs = keras.Input((4,))
first_dense, second_dense = (keras.layers.Dense(3, kernel_initializer=shared) for _ in range(2))
third_dense = keras.layers.Dense(3, kernel_initializer="random_normal")
fourth_dense = keras.layers.Dense(3, kernel_initializer="random_normal")
keras.Model(inputs, [layer(inputs) for layer in (first_dense, second_dense, third_dense,
                                                 fourth_dense)])
lstm = keras.layers.LSTM(3, kernel_initializer=shared, recurrent_initializer=shared)
lstm(keras.Input((2, 3)))
reuse["layers"] = {
    "shared_instance_dense_equal": bool(np.array_equal(first_dense.get_weights()[0],
                                                       second_dense.get_weights()[0])),
    "string_dense_equal": bool(np.array_equal(third_dense.get_weights()[0],
                                              fourth_dense.get_weights()[0])),
    "lstm_kernel_equals_recurrent": bool(np.array_equal(lstm.get_weights()[0],
                                                        lstm.get_weights()[1]))}
with open(os.path.join(fixture_dir("book_scripts"), "initializer_reuse.json"), "w") as f:
    json.dump(reuse, f, indent=1)


# GDL_code's MuseGAN renames its chords network (`.name = ...`, refused by tf.keras 2.21);
# the tf.keras 2 idiom is `model._name = ...`
inputs = keras.Input((3,))
inner = keras.Model(inputs, keras.layers.Dense(2)(inputs))
renamed = {}
try:
    inner.name = "temporal_network"
except AttributeError as error:
    renamed["name_setter_error"] = str(error)
inner._name = "temporal_network"
dense = keras.layers.Dense(2)
dense._name = "renamed_dense"
outer_input = keras.Input((3,))
outer = keras.Model(outer_input, dense(inner(outer_input)))
lines = []
outer.summary(print_fn=lines.append)
renamed.update({"inner_name": inner.name, "dense_name": dense.name,
                "outer_layers": [layer.name for layer in outer.layers],
                "weights": [w.name for w in outer.weights], "summary": lines})
with open(os.path.join(fixture_dir("book_scripts"), "renamed_layers.json"), "w") as f:
    json.dump(renamed, f, indent=1)
