"""Metrics held as attributes of a subclassed Model are children of the model: tf.keras 2.21
lists their variables among `weights` / `non_trainable_weights` (in assignment order among the
layers), saves them in `.weights.h5` but not in legacy `.h5`. Fixtures: tests/fixtures/vae_metrics/
(tf.keras 2.21 and Keras 3.15 files of the keras.io VAE pattern, the tf.keras weights lists)."""
import json

import h5py
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from conftest import fixture_path

CASES = json.load(open(fixture_path("vae_metrics", "metric_weight_cases.json")))


def short(weights):
    return [w.name.rsplit("/", 1)[-1] for w in weights]


def record(model):
    return {"weights": short(model.weights), "trainable": short(model.trainable_weights),
            "non_trainable": short(model.non_trainable_weights),
            "metrics": [m.name for m in model.metrics], "n_get_weights": len(model.get_weights())}


class Interleaved(keras.Model):
    def __init__(self):
        super().__init__()
        self.tracker = keras.metrics.Mean(name="t")
        self.first = layers.Dense(3)
        self.acc = keras.metrics.SparseCategoricalAccuracy()
        self.second = layers.Dense(2)

    def call(self, x):
        return self.second(self.first(x))


class Containers(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(2)
        self.trackers = [keras.metrics.Mean(name="a"), keras.metrics.Mean(name="b")]
        self.by_key = {"x": keras.metrics.Sum(name="s")}

    def call(self, x):
        return self.dense(x)


class Inner(keras.Model):
    def __init__(self):
        super().__init__()
        self.tracker = keras.metrics.Sum(name="inner_sum")
        self.dense = layers.Dense(1)

    def call(self, x):
        return self.dense(x)


class Outer(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(2)
        self.inner = Inner()

    def call(self, x):
        y = self.dense(x)
        self.add_metric(keras.ops.mean(y), name="added")
        return self.inner(y)


class LayerWithMetric(layers.Layer):
    def __init__(self):
        super().__init__()
        self.tracker = keras.metrics.Sum(name="layer_sum")

    def build(self, shape):
        self.w = self.add_weight(name="w", shape=(shape[-1],))

    def call(self, x):
        return x * self.w


class WithLayerMetric(keras.Model):
    def __init__(self):
        super().__init__()
        self.scale = LayerWithMetric()
        self.dense = layers.Dense(1)

    def call(self, x):
        return self.dense(self.scale(x))


X3, Y2, Y1 = np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), np.ones((4, 1), "float32")


def test_interleaved_metrics_follow_assignment_order_and_freezing():
    model = Interleaved()
    model.compile("sgd", "mse", metrics=["mae"])
    model.fit(X3, Y2, verbose=0)
    assert record(model) == CASES["interleaved_compiled_fit"]
    model.trainable = False
    assert record(model) == CASES["interleaved_frozen"]


def test_metrics_in_list_and_dict_attributes():
    model = Containers()
    model(X3)
    assert record(model) == CASES["containers_called"]
    model.compile("sgd", "mse")
    model.fit(X3, Y2, verbose=0)
    assert record(model) == CASES["containers_fit"]


def test_add_metric_is_no_weight_but_a_nested_models_tracker_is():
    model = Outer()
    model.compile("sgd", "mse", metrics=["mae"])
    model.fit(X3, Y1, verbose=0)
    assert record(model) == CASES["outer_add_metric_nested"]


def test_graph_models_list_no_compiled_metric_but_a_nested_models_tracker():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, Inner()(inputs))
    model.compile("sgd", "mse", metrics=["mae"])
    model.fit(X3, Y1, verbose=0)
    assert record(model) == CASES["functional_with_inner_model"]
    sequential = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    sequential.compile("sgd", "mse", metrics=["mae"])
    sequential.fit(X3, Y2, verbose=0)
    assert record(sequential) == CASES["sequential_compiled"]


def test_a_plain_layers_metric_is_no_weight():
    model = WithLayerMetric()
    model(X3)
    assert record(model) == CASES["plain_layer_metric"]


# --- the keras.io VAE pattern and its files -------------------------------------------------------
class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        return z_mean + 0.0 * z_log_var


def build_encoder_decoder():
    encoder_inputs = keras.Input(shape=(8,))
    h = layers.Dense(6, activation="relu")(encoder_inputs)
    z_mean = layers.Dense(2, name="z_mean")(h)
    z_log_var = layers.Dense(2, name="z_log_var")(h)
    z = Sampling()([z_mean, z_log_var])
    encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")
    latent_inputs = keras.Input(shape=(2,))
    x = layers.Dense(6, activation="relu")(latent_inputs)
    x = layers.BatchNormalization()(x)
    outputs = layers.Dense(8, activation="sigmoid")(x)
    return encoder, keras.Model(latent_inputs, outputs, name="decoder")


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, x):
        return self.decoder(self.encoder(x)[2])


def peer(name):
    return json.load(open(fixture_path("vae_metrics", f"{name}_vae.json")))


def built_vae():
    vae = VAE(*build_encoder_decoder())
    vae(np.array(peer("tf_keras")["x"], "float32"))
    vae.compile(optimizer="adam")
    return vae


def assert_loaded(vae, info, metric_results):
    x = np.array(info["x"], "float32")
    layer_weights = vae.encoder.weights + vae.decoder.weights
    for weight, expected in zip(layer_weights, info["layer_weights"]):
        np.testing.assert_array_equal(weight.numpy(), np.array(expected, "float32"))
    np.testing.assert_allclose(vae.predict(x, verbose=0), np.array(info["prediction"]),
                               atol=1e-6)
    np.testing.assert_allclose([float(m.result()) for m in vae.metrics], metric_results,
                               rtol=1e-6)


def test_vae_weights_lists_match_tf_keras():
    vae = built_vae()
    info = peer("tf_keras")
    assert [w.name for w in vae.weights] == info["weights"]
    assert [w.name for w in vae.non_trainable_weights] == info["non_trainable"]
    assert len(vae.get_weights()) == info["n_weights"] == 20


@pytest.mark.parametrize("filename, metric_states_saved", [
    ("tf_keras_vae.h5", False),            # legacy .h5: model.layers only, no metric
    ("tf_keras_vae.weights.h5", True),     # tf.keras' saving_lib layout, metric trackers included
    ("keras3_vae.weights.h5", False),      # Keras 3 saves no metric
])
def test_vae_loads_peer_weight_files(filename, metric_states_saved):
    vae = built_vae()
    vae.load_weights(fixture_path("vae_metrics", filename))
    info = peer("tf_keras")
    expected = info["metric_results"] if metric_states_saved else [0.0, 0.0, 0.0]
    assert_loaded(vae, info, expected)


@pytest.mark.parametrize("suffix", [".h5", ".weights.h5"])
def test_vae_weights_round_trip_keeps_layer_weights(tmp_path, suffix):
    source = built_vae()
    source.load_weights(fixture_path("vae_metrics", "tf_keras_vae.weights.h5"))
    path = str(tmp_path / f"vae{suffix}")
    source.save_weights(path)
    target = built_vae()
    target.load_weights(path)
    assert_loaded(target, peer("tf_keras"), [0.0, 0.0, 0.0])



def _datasets(path):
    """Dataset name -> shape (h5py visits a hard-linked object under one of its names)."""
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.__setitem__(name, obj.shape)
                     if isinstance(obj, h5py.Dataset) else None)
    return found


@pytest.mark.parametrize("peer_file", ["tf_keras_vae.weights.h5", "keras3_vae.weights.h5"])
def test_vae_weights_file_holds_each_librarys_layout(tmp_path, peer_file):
    """tf.keras 2.21 and Keras 3 each find their groups in our `.weights.h5` (tf.keras' are
    hard links to Keras 3's, plus the metric trackers), the optimizer's aside (both skip an
    optimizer whose variable count differs)."""
    vae = built_vae()
    vae.load_weights(fixture_path("vae_metrics", "tf_keras_vae.weights.h5"))
    path = str(tmp_path / "vae.weights.h5")
    vae.save_weights(path)
    expected = {name: shape for name, shape in
                _datasets(fixture_path("vae_metrics", peer_file)).items()
                if not name.startswith("optimizer/")}
    with h5py.File(path, "r") as ours, \
            h5py.File(fixture_path("vae_metrics", peer_file), "r") as theirs:
        assert {name: ours[name].shape if name in ours else None for name in expected} \
            == expected
        if peer_file.startswith("tf_keras"):      # same values, metric states included
            for name in expected:
                np.testing.assert_array_equal(ours[name][()], theirs[name][()])
