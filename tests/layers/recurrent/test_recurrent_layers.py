"""Recurrent layers: finite-difference gradients (float64) through every layer and option,
the stepped path against the fused one, dropout, stateful states, configs, shapes, errors,
and an LSTM learning the digits as sequences of rows."""
import json

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.core.tensor import Tensor
from minikeras.core.nest import flatten
from gradcheck import check_gradients, check_layer_gradients

RNG = np.random.default_rng(11)
MASK = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)


def sequence(batch=3, steps=5, features=3):
    return RNG.standard_normal((batch, steps, features))


class MinimalRNNCell(layers.Layer):
    """The user cell of Keras' RNN documentation: `h = x W + h_prev U`."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform",
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")
        self.built = True

    def call(self, inputs, states):
        output = keras.ops.add(keras.ops.matmul(inputs, self.kernel),
                               keras.ops.matmul(states[0], self.recurrent_kernel))
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class SteppedLSTMCell(layers.LSTMCell):
    """An LSTMCell whose `call` is overridden: the RNN must step it on the tape."""

    def call(self, inputs, states, training=None):
        return super().call(inputs, states, training=training)


LAYERS = {
    "simple_rnn_seq_state": lambda: layers.SimpleRNN(3, return_sequences=True, return_state=True),
    "simple_rnn_relu_backwards": lambda: layers.SimpleRNN(3, activation="relu", go_backwards=True),
    "lstm_seq_state": lambda: layers.LSTM(3, return_sequences=True, return_state=True),
    "lstm_hard_sigmoid_backwards": lambda: layers.LSTM(2, recurrent_activation="hard_sigmoid",
                                                       go_backwards=True, return_sequences=True),
    "lstm_softsign_stepped": lambda: layers.LSTM(2, activation="softsign", return_sequences=True),
    "gru": lambda: layers.GRU(3, return_sequences=True),
    "gru_reset_before_state": lambda: layers.GRU(3, reset_after=False, return_state=True),
    "gru_no_bias_backwards": lambda: layers.GRU(2, use_bias=False, go_backwards=True),
    "rnn_user_cell": lambda: layers.RNN(MinimalRNNCell(3), return_sequences=True),
    "rnn_stacked_state": lambda: layers.RNN([layers.SimpleRNNCell(2), layers.LSTMCell(3)],
                                            return_state=True, return_sequences=True),
    "rnn_stacked_with_user_cell": lambda: layers.RNN([layers.GRUCell(2), MinimalRNNCell(2)],
                                                     go_backwards=True),
    "rnn_stepped_lstm_cell": lambda: layers.RNN(SteppedLSTMCell(3), return_sequences=True),
    "bidirectional_concat": lambda: layers.Bidirectional(layers.LSTM(2, return_sequences=True)),
    "bidirectional_ave_state": lambda: layers.Bidirectional(layers.GRU(2, return_state=True),
                                                            merge_mode="ave"),
    "bidirectional_mul": lambda: layers.Bidirectional(layers.SimpleRNN(2), merge_mode="mul"),
    "bidirectional_none": lambda: layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True),
                                                       merge_mode=None),
    "bidirectional_backward_layer": lambda: layers.Bidirectional(
        layers.LSTM(2, return_sequences=True),
        backward_layer=layers.GRU(2, return_sequences=True, go_backwards=True)),
    "time_distributed_dense": lambda: layers.TimeDistributed(layers.Dense(2, activation="tanh")),
    "time_major_lstm": lambda: layers.LSTM(2, time_major=True, return_sequences=True),
}


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradients_by_finite_differences(name, masked, float64):
    layer = LAYERS[name]()
    x = sequence()
    kwargs = {}
    if masked:
        mask = MASK.T if name.startswith("time_major") else MASK
        kwargs["mask"] = Tensor(mask)
    if name.startswith("time_major"):
        x = x.transpose(1, 0, 2).copy()
    layer(x, **kwargs)
    # outputs flattened: stacked cells return nested states `[out, h1, [h2, c2]]`
    check_gradients(lambda x: flatten(layer(x, **kwargs)), [x], rtol=1e-5, atol=1e-8,
                    extra_variables=layer.trainable_weights)


def test_conv_lstm_gradients(float64):
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, return_state=True)
    check_layer_gradients(layer, RNG.standard_normal((2, 3, 4, 4, 2)), rtol=1e-5, atol=1e-8,
                          mask=Tensor(np.array([[1, 0, 1], [1, 1, 0]], bool)))
    valid = layers.ConvLSTM1D(2, 2, strides=2, go_backwards=True)
    check_layer_gradients(valid, RNG.standard_normal((2, 3, 5, 2)), rtol=1e-5, atol=1e-8)


def test_time_distributed_conv2d_gradients(float64):
    layer = layers.TimeDistributed(layers.Conv2D(2, 2, activation="relu"))
    check_layer_gradients(layer, RNG.standard_normal((2, 3, 4, 4, 1)), rtol=1e-5, atol=1e-8)
    assert layer.compute_output_shape((None, 3, 4, 4, 1)) == (None, 3, 3, 3, 2)
    assert [w.name for w in layer.weights] == ["time_distributed/kernel:0", "time_distributed/bias:0"]


def test_initial_state_gradients(float64):
    layer = layers.LSTM(3, return_sequences=True, go_backwards=True)
    x, h, c = sequence(), RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
    layer(x)
    check_gradients(lambda x, h, c: layer(x, initial_state=[h, c], mask=MASK), [x, h, c],
                    extra_variables=layer.trainable_weights, atol=1e-8)
    bidirectional = layers.Bidirectional(layers.GRU(2))
    states = [RNG.standard_normal((3, 2)) for _ in range(2)]
    bidirectional(x)
    check_gradients(lambda x, a, b: bidirectional(x, initial_state=[a, b]), [x] + states,
                    extra_variables=bidirectional.trainable_weights, atol=1e-8)


def test_stateful_gradients_start_from_the_carried_states(float64):
    layer = layers.GRU(3, stateful=True, return_sequences=True, batch_input_shape=(3, 5, 3))
    first, second = sequence(), sequence()
    layer(first)
    carried = [np.array(s.numpy()) for s in layer.states]
    assert np.abs(carried[0]).sum() > 0

    def from_carried(x):
        layer.reset_states(carried)
        return layer(x)
    check_gradients(from_carried, [second], extra_variables=layer.trainable_weights, atol=1e-8)
    layer.reset_states()
    assert all(np.all(s.numpy() == 0) for s in layer.states)


def test_stepped_cells_match_the_fused_op():
    """A subclass overriding `call` is stepped on the tape: same numbers and gradients as the
    fused LSTM, with masking and go_backwards."""
    x = sequence().astype(np.float32)
    fused = layers.LSTM(3, return_sequences=True, go_backwards=True)
    stepped = layers.RNN(SteppedLSTMCell(3), return_sequences=True, go_backwards=True)
    fused(x)
    stepped(x)
    stepped.set_weights(fused.get_weights())
    results = []
    for layer in (fused, stepped):
        t = Tensor(x.copy())
        with keras.GradientTape() as tape:
            tape.watch(t)
            out = layer(t, mask=Tensor(MASK))
        results.append([out.numpy()] + [g.numpy() for g in tape.gradient(out, [t] + layer.trainable_weights)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_masked_steps_carry_states_and_outputs():
    x = sequence().astype(np.float32)
    layer = layers.GRU(2, return_sequences=True, return_state=True)
    out, state = layer(x, mask=Tensor(MASK))
    # sample 2: only its first step is valid; later outputs repeat it and the state is it
    np.testing.assert_allclose(out.numpy()[2, 1:], np.repeat(out.numpy()[2, :1], 4, axis=0))
    np.testing.assert_allclose(state.numpy()[2], out.numpy()[2, 0])
    # sample 1: its first step is masked, the output there is zero
    np.testing.assert_array_equal(out.numpy()[1, 0], 0)
    # Bidirectional returns zeros at masked steps
    bidirectional = layers.Bidirectional(layers.GRU(2, return_sequences=True))
    out = bidirectional(x, mask=Tensor(MASK)).numpy()
    np.testing.assert_array_equal(out[~MASK], 0)
    assert np.all(np.abs(out[MASK]).sum(axis=-1) > 0)


def test_dropout_masks_are_shared_over_time_and_off_at_inference():
    x = Tensor(np.ones((4, 6, 5), np.float32))
    layer = layers.LSTM(3, dropout=0.5, recurrent_dropout=0.5, return_sequences=True)
    inference = layer(x).numpy()
    np.testing.assert_array_equal(layer(x, training=False).numpy(), inference)
    with keras.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, training=True)
    assert not np.allclose(out.numpy(), inference)
    grad = tape.gradient(out, x).numpy()
    dropped = grad == 0
    assert dropped.any() and not dropped.all()
    assert layer.cell.implementation == 1   # recurrent dropout: tf.keras switches to mode 1
    # implementation 1 (as tf.keras): one input mask per gate, drawn once per sequence; an
    # input feature has no gradient at t >= 1 exactly when all four gates dropped it (at t = 0
    # the forget gate multiplies a zero cell state, so fewer gates count there)
    masks = layer.cell._gate_masks["input"]
    assert len(masks) == 4 and not all(np.array_equal(masks[0], m) for m in masks[1:])
    all_dropped = np.all([m == 0 for m in masks], axis=0)
    expected = np.broadcast_to(all_dropped[:, None], dropped[:, 1:].shape)
    # a sample whose cell-candidate mask (the third gate) drops every feature never leaves the
    # zero state (zero bias, zero initial state): it has no gradient at all
    alive = masks[2].any(axis=-1)
    assert alive.any()
    assert dropped[~alive].all()
    np.testing.assert_array_equal(dropped[alive, 1:], expected[alive])


def test_config_round_trips_for_every_layer():
    with keras.utils.custom_object_scope({"MinimalRNNCell": MinimalRNNCell,
                                          "SteppedLSTMCell": SteppedLSTMCell}):
        for name, make in sorted(LAYERS.items()):
            layer = make()
            x = sequence().astype(np.float32).transpose(1, 0, 2) if "time_major" in name \
                else sequence().astype(np.float32)
            layer(x)
            config = layer.get_config()
            clone = type(layer).from_config(config)
            clone(x)          # built alike: nested layers' build_config match too
            assert json.dumps(clone.get_config(), default=str) == json.dumps(config, default=str)
        conv = layers.ConvLSTM3D(2, (1, 2, 2), data_format="channels_first")
        assert layers.ConvLSTM3D.from_config(conv.get_config()).get_config() == conv.get_config()
    regularized = layers.GRU(2, kernel_regularizer="l2", recurrent_constraint="non_neg",
                             bias_initializer="ones", activity_regularizer="l1")
    regularized(sequence().astype(np.float32))
    assert len(regularized.losses) == 2
    config = regularized.get_config()
    assert config["kernel_regularizer"]["class_name"] == "L2"
    assert config["recurrent_constraint"]["class_name"] == "NonNeg"
    np.testing.assert_array_equal(regularized.cell.bias.numpy(), 1)


def test_lstm_forget_bias_and_orthogonal_recurrent_kernel():
    layer = layers.LSTM(4)
    layer(np.zeros((1, 2, 3), np.float32))
    bias = layer.cell.bias.numpy()
    np.testing.assert_array_equal(bias[4:8], 1)
    np.testing.assert_array_equal(np.delete(bias, range(4, 8)), 0)
    kernel = layer.cell.recurrent_kernel.numpy()     # (4, 16): orthogonal rows
    np.testing.assert_allclose(kernel @ kernel.T, np.eye(4), atol=1e-5)


def test_output_shapes_without_data():
    assert layers.LSTM(4).compute_output_shape((None, 7, 3)) == (None, 4)
    assert layers.GRU(4, return_sequences=True, return_state=True).compute_output_shape(
        (None, 7, 3)) == [(None, 7, 4), (None, 4)]
    assert layers.LSTM(4, time_major=True, return_sequences=True).compute_output_shape(
        (7, None, 3)) == (7, None, 4)
    assert layers.Bidirectional(layers.LSTM(4, return_state=True)).compute_output_shape(
        (None, 7, 3)) == [(None, 8), (None, 4), (None, 4), (None, 4), (None, 4)]
    assert layers.ConvLSTM2D(5, 3, strides=2).compute_output_shape((None, 4, 9, 9, 2)) == \
        (None, 4, 4, 5)
    inputs = keras.Input(shape=(None, 3))
    assert layers.SimpleRNN(2, return_sequences=True)(inputs).shape == (None, None, 2)
    legacy = keras.Sequential([layers.LSTM(3, input_dim=4, input_length=6)])
    assert legacy.input_shape == (None, 6, 4) and legacy.output_shape == (None, 3)
    stacked = layers.RNN([layers.GRUCell(2), layers.LSTMCell(3)])
    zeros = stacked.get_initial_state(np.ones((4, 5, 3), np.float32))
    assert [z.shape for z in zeros] == [(4, 2), (4, 3), (4, 3)]
    assert all(z.dtype == np.float32 and not z.numpy().any() for z in zeros)


def test_bad_arguments_raise_keras_errors():
    with pytest.raises(ValueError, match="should have a `call` method"):
        layers.RNN(object())
    with pytest.raises(ValueError, match="`units`, expected a positive integer"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="Invalid merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="different `go_backwards`"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layers.GRU(2)(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="`dropout`"):
        layers.SimpleRNN(2, dropout=1.5)
    with pytest.raises(ValueError, match="needs to know its batch size"):
        layers.LSTM(2, stateful=True)(keras.Input(shape=(3, 2)))
    with pytest.raises(ValueError, match="expects 2 states"):
        layers.LSTM(2)(np.zeros((1, 3, 2), np.float32), initial_state=[np.zeros((1, 2), np.float32)])
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        layers.TimeDistributed(layers.Dense(2))(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="Cannot unroll a RNN if the time dimension is undefined"):
        layers.LSTM(2, unroll=True)(keras.Input(shape=(None, 3)))
    assert layers.LSTM(2, unroll=True)(keras.Input(shape=(4, 3))).shape == (None, 2)
    with pytest.raises(NotImplementedError, match="constants"):
        layers.RNN(layers.LSTMCell(2), num_constants=1)


def test_float32_end_to_end():
    x = sequence().astype(np.float32)
    for layer in (layers.LSTM(2, return_state=True), layers.GRU(2, return_sequences=True),
                  layers.RNN(MinimalRNNCell(2)), layers.ConvLSTM1D(2, 2)):
        inputs = x if not isinstance(layer, layers.ConvLSTM1D) else x[..., None]
        for out in flatten(layer(inputs)):
            assert out.dtype == np.float32


def test_digits_rows_as_sequences_lstm_reaches_90_percent():
    """The rows of each 8x8 digit are 8 timesteps of 8 features."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    x_train, x_test = x_train.astype("float32") / 16.0, x_test.astype("float32") / 16.0
    model = keras.Sequential([keras.Input(shape=(8, 8)), layers.LSTM(32),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test))
    assert accuracy >= 0.90, accuracy


def test_masks_cross_time_distributed_and_bidirectional():
    """Masking > TimeDistributed(Dense) > Bidirectional(GRU, sequences) > LSTM: the mask
    reaches the last LSTM through both wrappers, so trailing padding changes nothing."""
    model = keras.Sequential([layers.Masking(input_shape=(None, 3)),
                              layers.TimeDistributed(layers.Dense(4)),
                              layers.Bidirectional(layers.GRU(3, return_sequences=True)),
                              layers.LSTM(2)])
    x = RNG.standard_normal((2, 4, 3)).astype(np.float32)
    padded = np.concatenate([x, np.zeros((2, 3, 3), np.float32)], axis=1)
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(padded, verbose=0),
                               atol=1e-6)
    out = model.layers[1](layers.Masking()(padded))
    np.testing.assert_array_equal(out._keras_mask.numpy(), np.arange(7)[None].repeat(2, 0) < 4)


def test_conv_lstm3d_and_channels_first():
    x = RNG.standard_normal((2, 3, 4, 4, 4, 2)).astype(np.float32)
    layer = layers.ConvLSTM3D(2, 3, padding="same", return_sequences=True)
    assert layer(x).shape == (2, 3, 4, 4, 4, 2)
    assert [w.name for w in layer.weights] == ["conv_lstm3d/kernel:0",
                                                "conv_lstm3d/recurrent_kernel:0",
                                                "conv_lstm3d/bias:0"]
    first = layers.ConvLSTM2D(2, 3, data_format="channels_first")
    out = first(RNG.standard_normal((2, 3, 1, 5, 5)).astype(np.float32))
    assert out.shape == (2, 2, 3, 3)
    assert first.compute_output_shape((None, 3, 1, 5, 5)) == (None, 2, 3, 3)


def test_abstract_rnn_cell_subclass():
    class Accumulate(layers.AbstractRNNCell):
        @property
        def state_size(self):
            return 2

        @property
        def output_size(self):
            return 2

        def call(self, inputs, states):
            total = keras.ops.add(inputs, states[0])
            return total, [total]
    x = RNG.standard_normal((2, 4, 2)).astype(np.float32)
    out = layers.RNN(Accumulate(), return_sequences=True)(x, mask=Tensor(MASK[:2, :4]))
    expected = np.cumsum(x * MASK[:2, :4, None], axis=1)
    np.testing.assert_allclose(out.numpy()[MASK[:2, :4]], expected[MASK[:2, :4]], atol=1e-6)
    with pytest.raises(NotImplementedError):
        layers.AbstractRNNCell().state_size


def test_dropout_of_one_drops_everything():
    layer = layers.SimpleRNN(2, dropout=1.0, use_bias=False, return_sequences=True)
    out = layer(RNG.standard_normal((2, 3, 2)).astype(np.float32), training=True)
    np.testing.assert_array_equal(out.numpy(), 0)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("make", [
    lambda: layers.LSTMCell(3, dropout=0.4, recurrent_dropout=0.4),
    lambda: layers.GRUCell(3, dropout=0.4, recurrent_dropout=0.4),
    lambda: layers.GRUCell(3, dropout=0.4, recurrent_dropout=0.4, reset_after=False)])
def test_per_gate_dropout_masks_gradients(float64, make):
    """Implementation 1 (forced by recurrent dropout): each gate its own masks, fixed for the
    sequence; gradients through them match finite differences."""
    cell = make()
    x, h = np.random.default_rng(1).standard_normal((2, 4)), np.random.default_rng(2).standard_normal((2, 3))
    states = lambda h_: [h_, Tensor(np.zeros((2, 3)))] if isinstance(cell, layers.LSTMCell) else [h_]
    cell(Tensor(x), states(Tensor(h)), training=True)            # builds and draws the masks
    assert len(cell._gate_masks["input"]) == cell.n_gates
    check_gradients(lambda x_, h_: cell(x_, states(h_), training=True)[0], [x, h],
                    extra_variables=cell.trainable_weights)


def test_per_gate_lstm_masks_match_the_formula():
    cell = layers.LSTMCell(2, dropout=0.5, recurrent_dropout=0.5)
    x = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    h = np.random.default_rng(4).standard_normal((3, 2)).astype(np.float32)
    c = np.random.default_rng(5).standard_normal((3, 2)).astype(np.float32)
    out, (h_new, c_new) = cell(x, [h, c], training=True)
    xm, hm = cell._gate_masks["input"], cell._gate_masks["recurrent"]
    w, u, b = (v.numpy() for v in (cell.kernel, cell.recurrent_kernel, cell.bias))
    z = [(x * xm[g]) @ w[:, 2 * g:2 * g + 2] + (h * hm[g]) @ u[:, 2 * g:2 * g + 2] + b[2 * g:2 * g + 2]
         for g in range(4)]
    c_expected = _sigmoid(z[1]) * c + _sigmoid(z[0]) * np.tanh(z[2])
    np.testing.assert_allclose(c_new.numpy(), c_expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), _sigmoid(z[3]) * np.tanh(c_expected), rtol=1e-5,
                               atol=1e-6)


def _dropped_inputs(layer):
    x = Tensor(np.ones((8, 6, 5), np.float32))
    with keras.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, training=True)
    return tape.gradient(out, x).numpy() == 0


@pytest.mark.parametrize("make", [lambda: layers.LSTM(3, dropout=0.5, return_sequences=True),
                                  lambda: layers.GRU(3, dropout=0.5, return_sequences=True)])
def test_cudnn_route_input_dropout_is_fresh_at_every_timestep(make):
    """tf.keras' LSTM/GRU on the cuDNN-compatible route multiply the whole input sequence by
    one dropout mask: a feature dropped at one timestep is kept at others."""
    dropped = _dropped_inputs(make())
    assert dropped.any() and not dropped.all()
    assert not np.array_equal(dropped, np.broadcast_to(dropped[:, :1], dropped.shape))


def test_other_routes_keep_one_input_mask_per_sequence():
    """Off that route (here a relu activation, implementation 2) the cell's one mask per
    sequence is shared by the gates and the timesteps."""
    dropped = _dropped_inputs(layers.LSTM(3, activation="relu", dropout=0.5,
                                          return_sequences=True))
    assert dropped.any() and not dropped.all()
    np.testing.assert_array_equal(dropped, np.broadcast_to(dropped[:, :1], dropped.shape))
