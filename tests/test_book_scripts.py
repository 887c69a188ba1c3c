"""Patterns from the companion code of Keras 2 books (Generative Deep Learning 1st ed.,
Deep Learning with Keras, Keras Deep Learning Cookbook, Deep Learning for Computer Vision with
Python, Machine Learning Mastery's LSTM / time-series books) run unchanged: each test pins one
behaviour such a script showed differing from tf.keras 2.21."""
import copy
import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras import layers

FIXTURES = Path(__file__).parent / "fixtures" / "book_scripts"


# --- pickle.dump(self) of an object holding models (GDL_code models/GAN.py, WGAN.py) -----------
def _compiled_critic():
    inputs = keras.Input((3,))
    hidden = layers.BatchNormalization()(layers.Dense(4, name="d1")(inputs))
    hidden = layers.Lambda(lambda t: t * 2.0)(hidden)     # Lambda code travels too
    model = keras.Model(inputs, layers.Dense(1, name="d2")(hidden), name="critic")
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.weights])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse",
                  metrics=["mae"])
    return model


_X = np.linspace(-1, 1, 24, dtype="float32").reshape(8, 3)
_Y = np.ones((8, 1), "float32")


@pytest.mark.parametrize("copier", [lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy,
                                    copy.copy], ids=["pickle", "deepcopy", "copy"])
def test_a_built_model_copies_as_its_keras_archive(copier):
    # tf.keras 2.21 pickles / copies a built model through the bytes of a `.keras` archive: the
    # copy has the config, weights, compile state and optimizer slots, and shares nothing.
    model = _compiled_critic()
    model.train_on_batch(_X, _Y)                       # Adam slots and iterations exist
    twin = copier(model)
    assert twin is not model and twin.name == "critic"
    assert [w.name for w in twin.weights] == [w.name for w in model.weights]
    np.testing.assert_array_equal(twin.predict(_X, verbose=0), model.predict(_X, verbose=0))
    assert int(twin.optimizer.iterations) == 1
    twin_logs = twin.train_on_batch(_X, _Y)            # the same next step as the original's
    before = model.get_weights()[0].copy()
    np.testing.assert_allclose(twin_logs, model.train_on_batch(_X, _Y), rtol=1e-6)
    for mine, theirs in zip(twin.get_weights(), model.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)
    twin.train_on_batch(_X, 5 * _Y)
    assert not np.array_equal(model.get_weights()[0], before) and \
        not np.array_equal(twin.get_weights()[0], model.get_weights()[0])


class GanHolder:
    """GDL's GAN object: plain attributes, two of them models."""


def test_gan_holder_pickles_with_its_models(tmp_path):
    # GDL's GAN.save_model: pickle.dump(self, open("obj.pkl", "wb")) with the generator and
    # the combined model (which calls the generator as a layer) as attributes.
    z = keras.Input((2,))
    generator = keras.Model(z, layers.Dense(3, activation="tanh")(z))
    critic = _compiled_critic()
    critic.trainable = False
    combined_in = keras.Input((2,))
    holder = GanHolder()
    holder.generator = generator
    holder.model = keras.Model(combined_in, critic(generator(combined_in)))
    holder.model.compile(optimizer="adam", loss="binary_crossentropy")
    with open(tmp_path / "obj.pkl", "wb") as handle:
        pickle.dump(holder, handle)
    with open(tmp_path / "obj.pkl", "rb") as handle:
        loaded = pickle.load(handle)
    noise = np.linspace(-1, 1, 6, dtype="float32").reshape(3, 2)
    np.testing.assert_array_equal(loaded.generator.predict(noise, verbose=0),
                                  generator.predict(noise, verbose=0))
    np.testing.assert_array_equal(loaded.model.predict(noise, verbose=0),
                                  holder.model.predict(noise, verbose=0))


# --- a custom layer broadcasting against a fixed batch size (GDL_code models/WGANGP.py) --------
_SHAPES = json.loads((FIXTURES / "custom_layer_shapes.json").read_text())
_BATCH = 4
_ALPHA = np.linspace(0.1, 0.9, _BATCH, dtype="float32").reshape(_BATCH, 1, 1, 1)


class WeightedAverage(layers.Layer):
    """GDL's RandomWeightedAverage with a fixed alpha (the recipe's)."""

    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size

    def call(self, inputs):
        alpha = K.constant(_ALPHA[: self.batch_size])
        return (alpha * inputs[0]) + ((1 - alpha) * inputs[1])


class RandomWeightedAverage(layers.Layer):
    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size

    def call(self, inputs):
        alpha = K.random_uniform((self.batch_size, 1, 1, 1))
        return (alpha * inputs[0]) + ((1 - alpha) * inputs[1])


class ScaledPair(layers.Layer):
    def call(self, x):
        return [K.constant(np.arange(1, 5, dtype="float32").reshape(4, 1)) * x, x * 2.0]


def test_layer_broadcasting_an_unknown_batch_against_a_fixed_one():
    # tf.keras' static shapes broadcast None against 4 to 4: the layer's output has the fixed
    # batch (summary: "(4, 8, 8, 1)"); we inferred shapes on zeros of batch 2 and 3, which
    # clashed with the (4, 1, 1, 1) weights before any model was built.
    expected = _SHAPES["weighted_average"]
    keras.backend.clear_session()
    real, fake = keras.Input((8, 8, 1)), keras.Input((8, 8, 1))
    mixed = WeightedAverage(_BATCH)([real, fake])
    assert list(mixed.shape) == expected["shape"]
    assert list(RandomWeightedAverage(_BATCH)([real, fake]).shape) == expected["random_shape"]
    model = keras.Model([real, fake], mixed)
    lines = []
    model.summary(print_fn=lines.append)
    assert [line.rstrip() for line in lines] == [line.rstrip() for line in expected["summary"]]
    inputs = [np.asarray(expected["a"], "float32"), np.asarray(expected["b"], "float32")]
    np.testing.assert_allclose(model.predict(inputs, verbose=0), expected["prediction"],
                               rtol=1e-6, atol=1e-7)
    pair = ScaledPair()(keras.Input((3,)))             # the unknown batch stays unknown
    assert [list(t.shape) for t in pair] == _SHAPES["scaled_pair"]["shapes"]


# --- a compiled loss reading the encoder's symbolic outputs (GDL_code models/VAE.py) ----------
_SYMBOLIC_MESSAGE = ("an intermediate TF-Keras symbolic input/output, to a TF API that does not "
                     "allow registering custom dispatchers")


def _vae_like():
    inputs = keras.Input((4,))
    mu = layers.Dense(2, name="mu")(inputs)
    model = keras.Model(inputs, layers.Dense(4)(mu))

    def vae_loss(y_true, y_pred):      # the Keras 2.2 VAE: mu is a KerasTensor of the graph
        return K.mean(K.square(y_true - y_pred), axis=1) + K.sum(K.square(mu), axis=1)
    return model, vae_loss


@pytest.mark.parametrize("run", ["fit", "evaluate", "train_on_batch", "metric"])
def test_loss_capturing_symbolic_tensors_raises_type_error(run):
    # tf.keras 2.21 runs the loss in its traced step, where the captured KerasTensor raises a
    # TypeError (every batch size); we built layers from it and clashed on the batch size.
    model, vae_loss = _vae_like()
    data = np.ones((8, 4), "float32")
    if run == "metric":
        model.compile("adam", "mse", metrics=[vae_loss])
    else:
        model.compile("adam", vae_loss)
    calls = {"fit": lambda: model.fit(data, data, batch_size=8, verbose=0),
             "evaluate": lambda: model.evaluate(data, data, verbose=0),
             "train_on_batch": lambda: model.train_on_batch(data, data),
             "metric": lambda: model.fit(data, data, batch_size=8, verbose=0)}
    with pytest.raises(TypeError, match=_SYMBOLIC_MESSAGE):
        calls[run]()



def test_loss_on_model_outputs_and_symbolic_add_loss_still_train():
    # the guard is for captured graph tensors only: the VAE written with add_loss (Keras 2.2.4's
    # variational_autoencoder example) keeps its symbolic KL term, and a plain function loss runs
    inputs = keras.Input((4,))
    mu = layers.Dense(2, name="mu")(inputs)
    outputs = layers.Dense(4)(mu)
    model = keras.Model(inputs, outputs)
    model.add_loss(K.mean(K.sum(K.square(mu), axis=1)))
    model.compile("sgd", lambda y_true, y_pred: K.mean(K.square(y_true - y_pred), axis=1))
    data = np.linspace(-1, 1, 32, dtype="float32").reshape(8, 4)
    prediction, code = model.predict(data, verbose=0), keras.Model(inputs, mu)(data)
    expected = np.mean((data - prediction) ** 2) + np.mean(np.sum(np.square(code), axis=1))
    np.testing.assert_allclose(model.evaluate(data, data, verbose=0), expected, rtol=1e-5)


# --- one unseeded initializer instance for every layer (GDL_code's GAN / WGAN / CycleGAN) ------
_REUSE = json.loads((FIXTURES / "initializer_reuse.json").read_text())
_INITIALIZERS = {
    "RandomNormal": lambda: keras.initializers.RandomNormal(mean=0.0, stddev=0.02),
    "RandomUniform": keras.initializers.RandomUniform,
    "TruncatedNormal": keras.initializers.TruncatedNormal,
    "GlorotUniform": keras.initializers.GlorotUniform,
    "HeNormal": keras.initializers.HeNormal,
    "Orthogonal": keras.initializers.Orthogonal,
    "RandomNormal_seeded": lambda: keras.initializers.RandomNormal(seed=3)}


@pytest.mark.parametrize("name", sorted(_INITIALIZERS))
def test_an_unseeded_initializer_instance_repeats_its_values(name):
    # tf.keras 2.21 draws an unseeded instance's values from one seed it picked: each call
    # returns the same values (a smaller shape, the same stream's start), with a warning
    expected = _REUSE[name]
    initializer = _INITIALIZERS[name]()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = initializer((3, 3)), initializer((3, 3))
        smaller = initializer((2, 3))
    assert np.array_equal(first, second) == expected["same_values"]
    if name != "TruncatedNormal":    # TF's stateless sampler redraws in place; we redraw after
        assert np.array_equal(first[:2], smaller) == expected["smaller_is_prefix"]
    assert [str(w.message) for w in caught] == expected["warnings"]


def test_layers_sharing_an_unseeded_initializer_start_equal():
    expected = _REUSE["layers"]
    shared = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)
    inputs = keras.Input((4,))
    dense = [layers.Dense(3, kernel_initializer=shared) for _ in range(2)] + \
        [layers.Dense(3, kernel_initializer="random_normal") for _ in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.Model(inputs, [layer(inputs) for layer in dense])
        lstm = layers.LSTM(3, kernel_initializer=shared, recurrent_initializer=shared)
        lstm(keras.Input((2, 3)))
    kernels = [layer.get_weights()[0] for layer in dense]
    assert np.array_equal(kernels[0], kernels[1]) == expected["shared_instance_dense_equal"]
    assert np.array_equal(kernels[2], kernels[3]) == expected["string_dense_equal"]
    assert np.array_equal(*lstm.get_weights()[:2]) == expected["lstm_kernel_equals_recurrent"]


# --- `model._name = ...`, the tf.keras 2 way to rename (GDL_code MuseGAN's temporal network) ----
def test_renaming_a_layer_or_model_through_its_private_name():
    expected = json.loads((FIXTURES / "renamed_layers.json").read_text())
    inputs = keras.Input((3,))
    inner = keras.Model(inputs, layers.Dense(2)(inputs))
    inner._name = "temporal_network"
    dense = layers.Dense(2)
    dense._name = "renamed_dense"
    outer_input = keras.Input((3,))
    outer = keras.Model(outer_input, dense(inner(outer_input)))
    assert (inner.name, dense.name) == (expected["inner_name"], expected["dense_name"])
    assert [layer.name for layer in outer.layers][1:] == expected["outer_layers"][1:]
    assert [w.name for w in outer.weights][2:] == expected["weights"][2:]
    lines = []
    outer.summary(print_fn=lines.append)
    assert [line.rstrip() for line in lines[6:]] == \
        [line.rstrip() for line in expected["summary"][6:]]
