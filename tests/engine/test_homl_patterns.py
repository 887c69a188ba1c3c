"""Patterns of Aurélien Géron's "Hands-On Machine Learning" (2nd edition) notebooks that
minikeras got wrong (found by the HOML2 differential sweep against tf_keras 2.21)."""
import json
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras import ops
from conftest import fixture_path


def test_sequential_runs_a_repeated_layer_instance_each_time_and_lists_it_once():
    # HOML2 ch12: Sequential([Dense, block1, block1, block1, block1, ResidualBlock, Dense])
    with open(fixture_path("homl", "repeated_sequential.json")) as handle:
        expected = json.load(handle)
    shared = keras.layers.Dense(4, activation="tanh", name="shared")
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,), name="first"),
                              shared, shared, shared, keras.layers.Dense(2, name="last")])
    model.set_weights([np.asarray(w, "float32") for w in expected["weights"]])
    x, y = np.asarray(expected["x"], "float32"), np.asarray(expected["y"], "float32")
    lines = []
    model.summary(print_fn=lambda s, *a, **k: lines.append(s))
    assert "\n".join(lines) == expected["summary"]
    assert [layer.name for layer in model.layers] == expected["layer_names"]
    assert [w.name for w in model.weights] == expected["weight_names"]
    assert [c["class_name"] for c in model.get_config()["layers"]] == expected["config_layers"]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected["predict"], atol=1e-5)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    history = model.fit(x, y, batch_size=5, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(history.history["loss"], expected["loss"], rtol=1e-5)
    for got, want in zip(model.get_weights(), expected["trained"]):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_deferred_sequential_runs_a_repeated_layer_once_as_tf_keras():
    # tf.keras builds a Sequential without an input shape from `model.layers` (each instance
    # once), so HOML2 ch12's block1 x 4 ran once there; numbers must match that
    with open(fixture_path("homl", "repeated_sequential.json")) as handle:
        expected = json.load(handle)
    shared = keras.layers.Dense(4, activation="tanh", name="shared")
    model = keras.Sequential([keras.layers.Dense(4, name="first"), shared, shared, shared,
                              keras.layers.Dense(2, name="last")])
    model.build((None, 3))
    model.set_weights([np.asarray(w, "float32") for w in expected["weights"]])
    assert len(model.layers) == expected["deferred_layers"]
    np.testing.assert_allclose(model.predict(np.asarray(expected["x"], "float32"), verbose=0),
                               expected["predict_deferred"], atol=1e-5)


def test_sequential_pop_of_a_repeated_layer_keeps_its_weights_tracked():
    shared = keras.layers.Dense(2)
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(2,)), shared, shared])
    model.pop()
    assert len(model.weights) == 4 and model.output_shape == (None, 2)


def test_same_name_different_layers_still_rejected():
    with pytest.raises(ValueError, match="unique names"):
        keras.Sequential([keras.layers.Dense(2, input_shape=(2,), name="a"),
                          keras.layers.Dense(2, name="a")])


class Doubling(keras.layers.Layer):
    """A custom layer whose compute_output_shape is written for TensorShape arguments (as
    HOML2 ch12's MyDense) and wrong besides (99 features): tf.keras never calls it for a
    non-dynamic layer, it runs `call` symbolically (output (None, 6) for a (None, 3) input)."""

    def call(self, inputs):
        return ops.concatenate([inputs, inputs], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape.as_list()[:-1] + [99])


def test_custom_layer_output_shape_comes_from_running_call():
    outputs = Doubling()(keras.Input((3,)))
    assert outputs.shape == (None, 6)


def test_dynamic_custom_layer_output_shape_comes_from_compute_output_shape():
    class TupleRule(Doubling):
        def compute_output_shape(self, input_shape):
            return tuple(input_shape[:-1]) + (99,)

    outputs = TupleRule(dynamic=True)(keras.Input((3,)))
    assert outputs.shape == (None, 99)


class ReconstructingRegressor(keras.Model):
    """HOML2 ch12: `build` creates a layer sized by the input; `call` adds a reconstruction
    loss (add_loss) and, in training, a metric (add_metric)."""

    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [keras.layers.Dense(3, activation="tanh") for _ in range(2)]
        self.out = keras.layers.Dense(output_dim)
        self.reconstruction_mean = keras.metrics.Mean(name="reconstruction_error")

    def build(self, batch_input_shape):
        self.reconstruct = keras.layers.Dense(batch_input_shape[-1])
        super().build(batch_input_shape)

    def call(self, inputs, training=None):
        hidden = inputs
        for layer in self.hidden:
            hidden = layer(hidden)
        reconstruction = self.reconstruct(hidden)
        recon_loss = ops.mean(ops.square(reconstruction - inputs))
        self.add_loss(0.05 * recon_loss)
        if training:
            self.add_metric(self.reconstruction_mean(recon_loss))
        return self.out(hidden)


def test_subclassed_model_build_override_runs_before_the_first_call():
    rng = np.random.RandomState(0)
    x, y = rng.normal(size=(8, 5)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    model = ReconstructingRegressor(1)
    model(x[:1])
    assert model.reconstruct.get_weights()[0].shape == (3, 5)
    (k1, b1), (k2, b2), (kr, br), (ko, bo) = [
        layer.get_weights() for layer in model.hidden + [model.reconstruct, model.out]]
    hidden = np.tanh(np.tanh(x @ k1 + b1) @ k2 + b2)
    recon = np.mean((hidden @ kr + br - x) ** 2)
    mse = np.mean((hidden @ ko + bo - y) ** 2)
    model.compile("sgd", "mse")
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert sorted(history.history) == ["loss", "reconstruction_error"]
    # tf.keras: a metric set as a model attribute is one of the model's children, its
    # variables non-trainable weights where it was set (after `out`, before `reconstruct`)
    assert [w.name.split("/")[-1] for w in model.weights] == \
        ["kernel:0", "bias:0"] * 3 + ["total:0", "count:0"] + ["kernel:0", "bias:0"]
    assert [w.name for w in model.non_trainable_weights] == ["total:0", "count:0"]
    lines = []
    model.summary(print_fn=lambda s, *a, **k: lines.append(s))
    assert "Non-trainable params: 2 (8.00 Byte)" in lines
    np.testing.assert_allclose(history.history["reconstruction_error"], [recon], rtol=1e-5)
    np.testing.assert_allclose(history.history["loss"], [mse + 0.05 * recon], rtol=1e-5)


class ResidualUnit(keras.layers.Layer):
    """HOML2 ch14: the activation *function* sits in the list with the layers."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.activation = keras.activations.get("relu")
        self.main_layers = [
            keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            self.activation,
            keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
            keras.layers.BatchNormalization()]
        self.by_name = {"skip": keras.layers.Dense(filters)}

    def call(self, inputs):
        z = inputs
        for layer in self.main_layers:
            z = layer(z)
        return self.activation(z + self.by_name["skip"](inputs))


def test_layers_in_mixed_lists_and_dicts_are_tracked():
    model = keras.Sequential([ResidualUnit(4, input_shape=(5, 5, 4))])
    unit = model.layers[0]
    # 2 convs 3x3x4x4, 2 batch norms (4 x 4 variables, half non-trainable), Dense(4) on 4
    assert unit.count_params() == 2 * 144 + 2 * 16 + 20
    assert len(unit.trainable_weights) == 2 + 4 + 2
    assert len(unit.non_trainable_weights) == 4
    lines = []
    model.summary(print_fn=lambda s, *a, **k: lines.append(s))
    assert "Non-trainable params: 16 (64.00 Byte)" in lines
    model.compile("sgd", "mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(np.ones((2, 5, 5, 4), "float32"), np.zeros((2, 5, 5, 4), "float32"), verbose=0)
    changed = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]
    assert all(changed)   # every variable moves: kernels, BN gammas/betas and moving stats


def test_activation_functions_on_keras_tensors_record_tf_keras_layers():
    # HOML2 ch15's WaveNet: z = keras.activations.relu(keras.layers.Add()(skip_to_last))
    with open(fixture_path("homl", "symbolic_activations.json")) as handle:
        expected = json.load(handle)
    A = keras.activations
    inputs = keras.Input((3,))
    out = A.swish(A.tanh(A.elu(A.softplus(A.selu(A.softmax(
        A.relu(A.sigmoid(A.relu(inputs)), alpha=0.1)))))))
    model = keras.Model(inputs, out)
    layers = [[l["class_name"], l["config"].get("function"), l["inbound_nodes"]]
              for l in model.get_config()["layers"]]
    assert layers == expected["layers"]
    lines = []
    model.summary(print_fn=lambda s, *a, **k: lines.append(s))
    assert "\n".join(lines) == expected["summary"]
    x = np.asarray(expected["x"], "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), expected["predict"], atol=1e-6)
    rebuilt = keras.Model.from_config(model.get_config())
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), expected["predict"], atol=1e-6)
    # eager calls are unchanged
    assert A.relu(np.float32(-2.0)) == 0.0


class LNSimpleRNNCell(keras.layers.Layer):
    """HOML2 ch15: a cell calling a SimpleRNNCell and a LayerNormalization of its own."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.state_size = units
        self.output_size = units
        self.simple_rnn_cell = keras.layers.SimpleRNNCell(units, activation=None)
        self.layer_norm = keras.layers.LayerNormalization()

    def call(self, inputs, states):
        outputs, _ = self.simple_rnn_cell(inputs, states)
        normalized = ops.tanh(self.layer_norm(outputs))
        return normalized, [normalized]


def test_user_cell_layers_have_weights_once_the_rnn_is_built():
    # tf.keras 2.21 (HOML2 ch15 run): the weights exist right after Sequential(...), named
    # inside the RNN's and the cell's scopes
    model = keras.Sequential([keras.layers.RNN(LNSimpleRNNCell(3), return_sequences=True,
                                               input_shape=[None, 1], name="rnn")])
    cell = model.layers[0].cell
    assert [w.name for w in model.weights] == [
        f"rnn/{cell.name}/{cell.simple_rnn_cell.name}/kernel:0",
        f"rnn/{cell.name}/{cell.simple_rnn_cell.name}/recurrent_kernel:0",
        f"rnn/{cell.name}/{cell.simple_rnn_cell.name}/bias:0",
        f"rnn/{cell.name}/{cell.layer_norm.name}/gamma:0",
        f"rnn/{cell.name}/{cell.layer_norm.name}/beta:0"]
    assert model.count_params() == 3 + 9 + 3 + 3 + 3
    kernel, recurrent, bias, gamma, beta = [np.asarray(w, "float32") for w in (
        [[0.5, -1.0, 2.0]], np.eye(3) * 0.5, [0.1, 0.0, -0.1], [1.0, 2.0, 0.5], [0.0, 0.1, 0.0])]
    model.set_weights([kernel, recurrent, bias, gamma, beta])
    x = np.array([[[1.0], [-2.0]]], "float32")
    state, expected = np.zeros((1, 3), "float32"), []
    for t in range(2):
        pre = x[:, t] @ kernel + state @ recurrent + bias
        normed = (pre - pre.mean(-1, keepdims=True)) / np.sqrt(pre.var(-1, keepdims=True) + 1e-3)
        state = np.tanh(normed * gamma + beta)
        expected.append(state)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.stack(expected, 1), atol=1e-5)


class DenseTranspose(keras.layers.Layer):
    """HOML2 ch17 (tied weights): the Dense is set *before* `super().__init__()`."""

    def __init__(self, dense, activation=None, **kwargs):
        self.dense = dense
        self.activation = keras.activations.get(activation)
        super().__init__(**kwargs)

    def build(self, batch_input_shape):
        self.biases = self.add_weight(name="bias", shape=[self.dense.input_shape[-1]],
                                      initializer="zeros")
        super().build(batch_input_shape)

    def call(self, inputs):
        return self.activation(ops.matmul(inputs, ops.transpose(self.dense.weights[0]))
                               + self.biases)


def test_layer_set_before_super_init_is_tracked():
    # tf.keras 2.21 (HOML2 ch17 run): the decoder lists the tied Dense's weights (6, not 2)
    # and its summary counts them (82414 for the notebook's sizes)
    dense = keras.layers.Dense(3)
    encoder = keras.Sequential([dense], name="encoder")
    encoder.build((None, 5))
    decoder = keras.Sequential([DenseTranspose(dense, input_shape=[3])], name="decoder")
    # a layer's own weights first, then its children's (tf.keras 2.21 gives the same list)
    assert [w.name for w in decoder.weights] == [
        f"{decoder.layers[0].name}/bias:0", f"{dense.name}/kernel:0", f"{dense.name}/bias:0"]
    assert decoder.count_params() == 5 + 15 + 3
    assert decoder.layers[0].activation is keras.activations.linear


def test_custom_layer_run_on_placeholders_warns_of_nothing():
    """A custom layer's `call` runs on zero placeholders to find its output shape: 1 / 0 there
    is no user error and must not print NumPy's RuntimeWarning (tf.keras runs it symbolically)."""
    class Reciprocal(keras.layers.Layer):
        def call(self, x):
            return 1.0 / x

        def compute_output_shape(self, input_shape):
            return input_shape

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Reciprocal()(keras.Input((3,)))
    assert out.shape == (None, 3)
