"""Patterns of the TensorFlow guides and tutorials written for tf.keras 2.x (tensorflow/docs:
guide/keras/custom_layers_and_models, tutorials/keras/regression, ...), against numbers the
peer tf_keras 2.21 wrote (benchmarks/fixture_recipes/tfdocs.py)."""
import json
import os

import numpy as np
import minikeras as keras
from minikeras import ops

with open(os.path.join(os.path.dirname(__file__), "fixtures", "tfdocs", "tfdocs.json")) as f:
    PEER = json.load(f)


def names(weights):
    return [w.name for w in weights]


class VariableLayer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.ws = [keras.Variable(np.ones((2,), "float32"), name="a"),
                   keras.Variable(np.zeros((), "float32"), trainable=False)]
        self.k = self.add_weight(shape=(1,), name="k")
        self.d = {"x": keras.Variable(np.float32(1.0))}

    def call(self, x):
        return x


def test_variable_attributes_are_weights():
    layer = VariableLayer()
    assert names(layer.weights) == PEER["variable_layer"]["weights"]
    assert names(layer.trainable_weights) == PEER["variable_layer"]["trainable"]


class Linear(keras.layers.Layer):
    """The guide's first layer: its weights are `tf.Variable`s set in the constructor."""

    def __init__(self, units=4, input_dim=3):
        super().__init__()
        self.w = keras.Variable(keras.initializers.RandomNormal(0.0, 1.0)((input_dim, units)),
                                trainable=True)
        self.b = keras.Variable(np.zeros((units,), "float32"), trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class VariableModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.scale = keras.Variable(np.float32(2.0))
        self.linear = Linear()

    def call(self, x):
        return self.linear(x) * self.scale


def test_variable_attributes_train_in_fit():
    expected = PEER["variable_model"]
    model = VariableModel()
    x = np.arange(6, dtype="float32").reshape(2, 3) / 6
    model(x)
    assert names(model.weights) == expected["weights"]
    assert len(model.trainable_weights) == expected["trainable_count"]
    model.set_weights([np.linspace(-1, 1, 12).reshape(3, 4), np.array([0.1, 0.2, 0.3, 0.4]),
                       np.array(1.5)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, np.ones((2, 4)), epochs=3, batch_size=2, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected["loss"], rtol=1e-5)
    for ours, theirs in zip(model.get_weights(), expected["final"]):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-5, atol=1e-6)


class Weighted(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.a = self.add_weight(shape=(2,), initializer="ones")
        self.b = self.add_weight(name="b", shape=(2,), initializer="ones")

    def build(self, input_shape):
        self.c = self.add_weight(shape=(2,))
        self.d = self.add_weight(name="d", shape=(2,))

    def call(self, x):
        return x


def test_add_weight_names_follow_the_name_scope():
    expected = PEER["add_weight_names"]
    assert names(Weighted(name="fresh").weights) == expected["init"]
    called = Weighted(name="called")
    called(np.ones((1, 2), "float32"))
    assert names(called.weights) == expected["called"]


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_fn = keras.metrics.BinaryAccuracy()

    def call(self, targets, logits, sample_weights=None):
        self.add_loss(self.loss_fn(targets, logits, sample_weights))
        acc = self.accuracy_fn(targets, logits, sample_weights)
        self.add_metric(acc, name="accuracy")
        return ops.softmax(logits)


def test_layer_metrics():
    endpoint = LogisticEndpoint()
    endpoint(np.ones((2, 2), "float32"), np.ones((2, 2), "float32"))
    assert [m.name for m in endpoint.metrics] == PEER["layer_metrics"]["names"]
    assert float(endpoint.metrics[0].result()) == PEER["layer_metrics"]["result"]


def test_normalization_statistics_and_sequential_shape():
    expected = PEER["normalization"]
    features = np.random.RandomState(0).uniform(0, 10, (20, 3)).astype("float32")
    normalizer = keras.layers.Normalization(axis=-1)
    normalizer.adapt(features)
    np.testing.assert_allclose(normalizer.mean.numpy(), expected["mean"], rtol=1e-6)
    np.testing.assert_allclose(normalizer.variance.numpy(), expected["variance"], rtol=1e-5)
    linear_model = keras.Sequential([normalizer, keras.layers.Dense(units=1)])
    lines = []
    linear_model.summary(print_fn=lambda s, **kw: lines.append(s))
    assert "\n".join(lines) == expected["summary"]


class _FakeSeries:
    """Stands for a pandas Series (pandas is not a test dependency): tf.keras splits those."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    def __len__(self):
        return len(self.values)


_FakeSeries.__module__ = "pandas.core.series"
_FakeSeries.__name__ = "Series"


def test_validation_split_takes_pandas_series():
    rng = np.random.RandomState(0)
    x, y = rng.rand(20).astype("float32"), rng.rand(20).astype("float32")

    def fit(x, y):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.layers.Dense(1, input_shape=(1,))])
        model.compile(optimizer="sgd", loss="mae")
        return model.fit(x, y, epochs=2, validation_split=0.2, shuffle=False, verbose=0).history

    from_series = fit(_FakeSeries(x), _FakeSeries(y))
    from_arrays = fit(x, y)
    assert from_series == from_arrays


def test_two_tapes_in_one_with_statement_differentiate_the_same_graph():
    """tutorials/generative/dcgan: `with tf.GradientTape() as gen_tape, tf.GradientTape() as
    disc_tape:`, then each tape's gradient, after both closed (closed form: z = 2ab + b)."""
    a = keras.Variable(np.float32(2.0))
    b = keras.Variable(np.float32(3.0))
    with keras.GradientTape() as gen_tape, keras.GradientTape() as disc_tape:
        z = a * b * 2.0 + b
    assert float(gen_tape.gradient(z, a)) == 6.0
    assert float(disc_tape.gradient(z, b)) == 5.0


def test_two_tapes_train_a_generator_and_a_discriminator():
    """The discriminator's gradient keeps the part through the generated samples: equal to
    the one a tape of its own gives."""
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.layers.Dense(4, input_shape=(3,))])
    discriminator = keras.Sequential([keras.layers.Dense(1, input_shape=(4,))])
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    noise = np.random.RandomState(0).normal(size=(5, 3)).astype("float32")
    real = np.random.RandomState(1).normal(size=(5, 4)).astype("float32")

    def discriminator_loss(fake_output):
        real_output = discriminator(real)
        return (cross_entropy(ops.ones_like(real_output), real_output)
                + cross_entropy(ops.zeros_like(fake_output), fake_output))

    with keras.GradientTape() as alone:
        loss = discriminator_loss(discriminator(generator(noise)))
    expected = alone.gradient(loss, discriminator.trainable_variables)
    with keras.GradientTape() as gen_tape, keras.GradientTape() as disc_tape:
        fake_output = discriminator(generator(noise))
        gen_loss = cross_entropy(ops.ones_like(fake_output), fake_output)
        disc_loss = discriminator_loss(fake_output)
    gen_tape.gradient(gen_loss, generator.trainable_variables)
    got = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
    for ours, reference in zip(got, expected):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(reference), rtol=1e-6)


def test_unbuilt_sequential_weights_raise_until_called():
    """guide/keras/sequential_model: `model.weights` before the model knows its input shape."""
    expected = PEER["unbuilt_sequential"]
    unbuilt = keras.Sequential([keras.layers.Dense(2), keras.layers.Dense(3)], name="unbuilt")
    errors = {}
    for attribute in ("weights", "trainable_weights", "non_trainable_weights", "variables"):
        try:
            getattr(unbuilt, attribute)
        except ValueError as error:
            errors[attribute] = str(error)
    try:
        unbuilt.get_weights()
    except ValueError as error:
        errors["get_weights()"] = str(error)
    assert errors == expected["errors"]
    unbuilt(np.ones((1, 4), "float32"))
    assert len(unbuilt.weights) == expected["weights_after_call"]
