"""Writes tests/fixtures/keras_io_2/ (fid-kio2 sweep of the keras.io examples) with the peer venv:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python keras_io_2.py --peer

`endpoint.keras`, `endpoint.npz`: the keras.io recipe "endpoint_layer_pattern" (a
`LogisticEndpoint` layer called with three positional tensors, logits, targets and sample
weights, which adds its loss and accuracy) on 16 features, fitted one epoch with Adam(1e-3),
saved by tf_keras 2.21 in its native `.keras` format (the call is recorded as
`{"args": [logits, targets, sample_weight]}`); the npz holds the data, the predictions and
`evaluate(return_dict=True)` of the saved model.
"""
import os

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
import tf_keras as keras  # noqa: E402
import tensorflow as tf  # noqa: E402

FOLDER = fixture_dir("keras_io_2")


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_fn = keras.metrics.BinaryAccuracy(name="accuracy")

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            self.add_loss(self.loss_fn(targets, logits, sample_weight))
            self.add_metric(self.accuracy_fn(targets, logits, sample_weight), name="accuracy")
        return tf.nn.softmax(logits)


def endpoint():
    tf.random.set_seed(0)
    inputs = keras.Input((16,), name="inputs")
    logits = keras.layers.Dense(1)(inputs)
    targets = keras.Input((1,), name="targets")
    sample_weight = keras.Input((1,), name="sample_weight")
    preds = LogisticEndpoint()(logits, targets, sample_weight)
    model = keras.Model([inputs, targets, sample_weight], preds)
    rs = np.random.RandomState(0)
    data = {"inputs": rs.random_sample((32, 16)).astype("float32"),
            "targets": rs.randint(0, 2, (32, 1)).astype("float32"),
            "sample_weight": rs.random_sample((32, 1)).astype("float32")}
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(data, epochs=1, batch_size=8, verbose=0, shuffle=False)
    model.save(os.path.join(FOLDER, "endpoint.keras"))
    result = model.evaluate(data, verbose=0, return_dict=True)
    np.savez(os.path.join(FOLDER, "endpoint.npz"), predictions=model.predict(data, verbose=0),
             loss=result["loss"], accuracy=result["accuracy"], **data)


if __name__ == "__main__":
    os.makedirs(FOLDER, exist_ok=True)
    endpoint()
