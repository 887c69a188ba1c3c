"""keras.io examples of the tf.keras 2.x era (text, sequences, recipes), run against what
tf_keras 2.21 wrote (tests/fixtures/keras_io_2/, recipe benchmarks/fixture_recipes/keras_io_2.py)."""
import os

import numpy as np
import pytest

import minikeras as keras

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "keras_io_2")


class LogisticEndpoint(keras.layers.Layer):
    """keras.io recipe "endpoint_layer_pattern": a layer called on logits, targets and sample
    weights that adds its loss and accuracy."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_fn = keras.metrics.BinaryAccuracy(name="accuracy")

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            self.add_loss(self.loss_fn(targets, logits, sample_weight))
            self.add_metric(self.accuracy_fn(targets, logits, sample_weight), name="accuracy")
        return keras.activations.softmax(logits)


def _endpoint_data():
    expected = np.load(os.path.join(FIXTURES, "endpoint.npz"))
    data = {name: expected[name] for name in ("inputs", "targets", "sample_weight")}
    return data, expected


def _check_endpoint_model(model, data, expected):
    np.testing.assert_allclose(model.predict(data, verbose=0), expected["predictions"], atol=1e-6)
    result = model.evaluate(data, verbose=0, return_dict=True)
    assert set(result) == {"loss", "accuracy"}
    np.testing.assert_allclose(result["loss"], expected["loss"], atol=1e-5)
    np.testing.assert_allclose(result["accuracy"], expected["accuracy"], atol=1e-6)


def test_endpoint_layer_with_three_positional_inputs_loads_from_tf_keras_file():
    # tf_keras records the call as {"args": [logits, targets, sample_weight]}: the custom
    # layer's parameter names come from custom_objects
    data, expected = _endpoint_data()
    model = keras.models.load_model(os.path.join(FIXTURES, "endpoint.keras"),
                                    custom_objects={"LogisticEndpoint": LogisticEndpoint})
    _check_endpoint_model(model, data, expected)


def _endpoint_model():
    inputs = keras.Input((16,), name="inputs")
    logits = keras.layers.Dense(1)(inputs)
    targets = keras.Input((1,), name="targets")
    sample_weight = keras.Input((1,), name="sample_weight")
    preds = LogisticEndpoint()(logits, targets, sample_weight)
    return keras.Model([inputs, targets, sample_weight], preds)


def test_endpoint_layer_called_positionally_survives_our_own_keras_round_trip(tmp_path):
    # our .keras files record the call as Keras 3 does: three positional arguments
    data, expected = _endpoint_data()
    peer_model = keras.models.load_model(os.path.join(FIXTURES, "endpoint.keras"),
                                         custom_objects={"LogisticEndpoint": LogisticEndpoint})
    model = _endpoint_model()
    model.set_weights(peer_model.get_weights())
    model.compile(keras.optimizers.Adam(1e-3))
    path = str(tmp_path / "endpoint_again.keras")
    model.save(path)
    again = keras.models.load_model(path, custom_objects={"LogisticEndpoint": LogisticEndpoint})
    _check_endpoint_model(again, data, expected)


def test_endpoint_layer_unknown_without_custom_objects_still_raises():
    with pytest.raises((ValueError, TypeError)):
        keras.models.load_model(os.path.join(FIXTURES, "endpoint.keras"))


# --- memory_efficient_embeddings: string ids through lookups inside nested layers --------------
USERS = ["user_%d" % i for i in range(30)]
MOVIES = ["movie_%d" % i for i in range(50)]


def _embedding_encoder(vocabulary, embedding_dim, name):
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


def _recommender(encode_users, encode_movies):
    user_input = keras.layers.Input(name="user_id", shape=(), dtype="string")
    movie_input = keras.layers.Input(name="movie_id", shape=(), dtype="string")
    logits = keras.layers.Dot(axes=1)([encode_users(user_input), encode_movies(movie_input)])
    return keras.Model([user_input, movie_input], keras.activations.sigmoid(logits) * 5)


def _fill_sines(model):
    model.set_weights([np.sin(np.arange(w.size) + 1.0 + i).reshape(w.shape).astype("float32")
                       for i, w in enumerate(model.get_weights())])


@pytest.mark.parametrize("name", ["baseline", "qr"])
def test_string_id_recommenders_match_tf_keras(name):
    # baseline: a deferred Sequential (StringLookup first) called on a string Input gets a
    # string input; qr: a custom layer's StringLookup(num_oov_indices=0) runs during shape
    # inference
    expected = np.load(os.path.join(FIXTURES, "embeddings.npz"))
    if name == "baseline":
        model = _recommender(_embedding_encoder(USERS, 4, "user"),
                             _embedding_encoder(MOVIES, 4, "movie"))
    else:
        model = _recommender(QREmbedding(USERS, 4, 7, name="user_embedding"),
                             QREmbedding(MOVIES, 4, 9, name="movie_embedding"))
    assert model.count_params() == int(expected[f"{name}_params"])
    _fill_sines(model)
    ids = {"user_id": expected["user_id"], "movie_id": expected["movie_id"]}
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected[f"{name}_predictions"],
                               atol=1e-5)


def test_lookup_without_oov_indices_still_refuses_unknown_strings_outside_inference():
    layer = keras.layers.StringLookup(vocabulary=["a", "b"], mask_token=None, num_oov_indices=0)
    with pytest.raises(ValueError, match="OOV token is not allowed"):
        layer(np.array(["a", "zz"]))
