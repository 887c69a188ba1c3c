"""Writes tests/fixtures/book_scripts/*.json with tf_keras 2.21 (the peer): run with the peer's
Python, TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 python book_scripts.py --peer.
Patterns of Keras 2 books' companion code (Generative Deep Learning 1st ed., GDL_code)."""
import json
import os

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
