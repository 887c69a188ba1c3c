"""Writes tests/fixtures/keras_io_2/ (fid-kio2 sweep of the keras.io examples) with the peer venv:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python keras_io_2.py --peer

`endpoint.keras`, `endpoint.npz`: the keras.io recipe "endpoint_layer_pattern" (a
`LogisticEndpoint` layer called with three positional tensors, logits, targets and sample
weights, which adds its loss and accuracy) on 16 features, fitted one epoch with Adam(1e-3),
saved by tf_keras 2.21 in its native `.keras` format (the call is recorded as
`{"args": [logits, targets, sample_weight]}`); the npz holds the data, the predictions and
`evaluate(return_dict=True)` of the saved model.

`embeddings.npz`: the keras.io example "memory_efficient_embeddings" on string ids: the
baseline model (a Sequential StringLookup + Embedding per string Input, Dot, `sigmoid(x) * 5`)
and the quotient-remainder model (a custom `QREmbedding` layer holding a StringLookup and two
Embeddings); weights `sin(position)` per weight tensor, the string ids, each model's
predictions and parameter count.
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


USERS = ["user_%d" % i for i in range(30)]
MOVIES = ["movie_%d" % i for i in range(50)]


def embedding_encoder(vocabulary, embedding_dim, name):
    return keras.Sequential([
        keras.layers.StringLookup(vocabulary=vocabulary, mask_token=None, num_oov_indices=0),
        keras.layers.Embedding(input_dim=len(vocabulary), output_dim=embedding_dim),
    ], name=f"{name}_embedding")


class QREmbedding(keras.layers.Layer):
    def __init__(self, vocabulary, embedding_dim, num_buckets, name=None):
        super().__init__(name=name)
        self.num_buckets = num_buckets
        self.index_lookup = keras.layers.StringLookup(vocabulary=vocabulary, mask_token=None,
                                                      num_oov_indices=0)
        self.q_embeddings = keras.layers.Embedding(num_buckets, embedding_dim)
        self.r_embeddings = keras.layers.Embedding(num_buckets, embedding_dim)

    def call(self, inputs):
        embedding_index = self.index_lookup(inputs)
        quotient = self.q_embeddings(embedding_index // self.num_buckets)
        return quotient * self.r_embeddings(embedding_index % self.num_buckets)


def recommender(encode_users, encode_movies):
    user_input = keras.layers.Input(name="user_id", shape=(), dtype="string")
    movie_input = keras.layers.Input(name="movie_id", shape=(), dtype="string")
    logits = keras.layers.Dot(axes=1)([encode_users(user_input), encode_movies(movie_input)])
    return keras.Model([user_input, movie_input], keras.activations.sigmoid(logits) * 5)


def fill_sines(model):
    model.set_weights([np.sin(np.arange(w.size) + 1.0 + i).reshape(w.shape).astype("float32")
                       for i, w in enumerate(model.get_weights())])


def embeddings():
    rs = np.random.RandomState(0)
    ids = {"user_id": np.array(rs.choice(USERS, 12)), "movie_id": np.array(rs.choice(MOVIES, 12))}
    baseline = recommender(embedding_encoder(USERS, 4, "user"), embedding_encoder(MOVIES, 4, "movie"))
    quotient_remainder = recommender(QREmbedding(USERS, 4, 7, name="user_embedding"),
                                     QREmbedding(MOVIES, 4, 9, name="movie_embedding"))
    results = {}
    for name, model in (("baseline", baseline), ("qr", quotient_remainder)):
        fill_sines(model)
        results[f"{name}_predictions"] = model.predict(ids, verbose=0)
        results[f"{name}_params"] = model.count_params()
    np.savez(os.path.join(FOLDER, "embeddings.npz"), **ids, **results)


if __name__ == "__main__":
    os.makedirs(FOLDER, exist_ok=True)
    endpoint()
    embeddings()
