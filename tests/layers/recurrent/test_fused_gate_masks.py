"""Recurrent dropout (tf.keras' implementation 1: a dropout mask per gate for the inputs and
for the state) runs in the fused whole-sequence op: the same numbers and gradients as the
cells stepped on the tape with the same masks, and finite-difference gradients."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.core.nest import flatten
from minikeras.core.random import make_rng
from minikeras.core.tensor import Tensor
from minikeras.ops import recurrent as recurrent_ops
from gradcheck import check_gradients

RNG = np.random.default_rng(23)
MASK = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
SEED = 7


def _stepped(cell_class):
    """A subclass overriding `call`: the RNN steps it on the tape instead of the fused op."""
    class Stepped(cell_class):
        def call(self, inputs, states, training=None):
            return super().call(inputs, states, training=training)
    return Stepped


CELLS = {
    "lstm": (layers.LSTMCell, {}),
    "lstm_hard_sigmoid": (layers.LSTMCell, {"recurrent_activation": "hard_sigmoid"}),
    "gru": (layers.GRUCell, {}),
    "gru_reset_before": (layers.GRUCell, {"reset_after": False}),
    "gru_no_bias": (layers.GRUCell, {"use_bias": False}),
}
DROPOUTS = {"both": (0.4, 0.3), "recurrent_only": (0.0, 0.5),
            "input_only_implementation_1": (0.4, 0.0)}
OPTIONS = {"plain": {}, "masked_backwards_state": {"go_backwards": True, "return_state": True}}


def _layer(cell_class, cell_kwargs, dropout, recurrent_dropout, options):
    cell = cell_class(3, dropout=dropout, recurrent_dropout=recurrent_dropout,
                      implementation=1, seed=SEED, **cell_kwargs)
    return layers.RNN(cell, return_sequences=True, **options)


def _reseed(layer):
    """The same masks at every call (fresh masks are drawn per sequence)."""
    layer.cell._dropout_rng = make_rng(SEED)


@pytest.mark.parametrize("options", sorted(OPTIONS))
@pytest.mark.parametrize("dropouts", sorted(DROPOUTS))
@pytest.mark.parametrize("name", sorted(CELLS))
def test_fused_gate_masks_match_the_stepped_cells(name, dropouts, options, monkeypatch):
    cell_class, cell_kwargs = CELLS[name]
    dropout, recurrent_dropout = DROPOUTS[dropouts]
    kwargs = OPTIONS[options]
    fused = _layer(cell_class, cell_kwargs, dropout, recurrent_dropout, kwargs)
    stepped = _layer(_stepped(cell_class), cell_kwargs, dropout, recurrent_dropout, kwargs)
    x = RNG.standard_normal((3, 5, 4)).astype(np.float32)
    fused(x)
    stepped(x)
    stepped.set_weights(fused.get_weights())
    calls = []
    original = recurrent_ops.fused_sequence
    monkeypatch.setattr("minikeras.layers.recurrent.base_rnn.fused_sequence",
                        lambda *a, **k: calls.append(k) or original(*a, **k))
    results = []
    call_kwargs = {"mask": Tensor(MASK)} if kwargs else {}
    for layer in (fused, stepped):
        _reseed(layer)
        t = Tensor(x.copy())
        with keras.GradientTape() as tape:
            tape.watch(t)
            out = flatten(layer(t, training=True, **call_kwargs))
            total = keras.ops.sum(out[0])
            for k, state in enumerate(out[1:]):      # states weighted apart from the output
                total = keras.ops.add(total, keras.ops.sum(keras.ops.multiply(state, 2 + k)))
        grads = tape.gradient(total, [t] + layer.trainable_weights)
        results.append([o.numpy() for o in out] + [g.numpy() for g in grads])
    assert len(calls) == 1     # the fused layer ran as one op, with a mask per gate
    assert (calls[0]["input_gate_masks"] is not None) == (dropout > 0)
    recurrent_mask = calls[0]["recurrent_mask"]
    assert (recurrent_mask is not None) == (recurrent_dropout > 0)
    assert recurrent_mask is None or recurrent_mask.shape == (cell_class.n_gates, 3, 3)
    for fused_value, stepped_value in zip(*results):
        np.testing.assert_allclose(fused_value, stepped_value, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_fused_gate_mask_gradients_by_finite_differences(name, float64):
    cell_class, cell_kwargs = CELLS[name]
    layer = _layer(cell_class, cell_kwargs, 0.4, 0.3, {"go_backwards": True})
    x = RNG.standard_normal((3, 5, 4))
    layer(x)

    def run(x_):
        _reseed(layer)
        return layer(x_, training=True, mask=Tensor(MASK))
    check_gradients(run, [x], rtol=1e-5, atol=1e-8, extra_variables=layer.trainable_weights)


def test_fused_lstm_gate_masks_match_the_formula():
    """Two steps by hand: each gate's product from its own masked input and state."""
    x = RNG.standard_normal((2, 2, 3)).astype(np.float32)
    h0 = RNG.standard_normal((2, 2)).astype(np.float32)
    c0 = RNG.standard_normal((2, 2)).astype(np.float32)
    w, u, b = (RNG.standard_normal(shape).astype(np.float32) for shape in ((3, 8), (2, 8), (8,)))
    input_masks = (RNG.random((4, 2, 3)) > 0.5).astype(np.float32) * 2
    state_masks = (RNG.random((4, 2, 2)) > 0.5).astype(np.float32) * 2
    out, (h, c) = recurrent_ops.fused_sequence(
        "lstm", x, w, u, b, [h0, c0], return_sequences=True, recurrent_mask=state_masks,
        input_gate_masks=input_masks)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))
    h_t, c_t = h0.astype(np.float64), c0.astype(np.float64)
    for t in range(2):
        z = [(x[:, t] * input_masks[g]) @ w[:, 2 * g:2 * g + 2] +
             (h_t * state_masks[g]) @ u[:, 2 * g:2 * g + 2] + b[2 * g:2 * g + 2]
             for g in range(4)]
        c_t = sigmoid(z[1]) * c_t + sigmoid(z[0]) * np.tanh(z[2])
        h_t = sigmoid(z[3]) * np.tanh(c_t)
        np.testing.assert_allclose(out.numpy()[:, t], h_t, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.numpy(), c_t, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("recurrent_activation", ["hard_sigmoid", "sigmoid"])
def test_conv_lstm_gate_op_matches_the_elementwise_steps(recurrent_activation, data_format):
    """ConvLSTM's gate math as one op (`ops.recurrent.lstm_gate_update`) against the same
    cell with activations Keras does not know (wrappers: split and elementwise ops)."""
    x = RNG.standard_normal((2, 3, 5, 5, 2)).astype(np.float32)
    if data_format == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 1, 4, 2, 3))
    get = keras.activations.get
    wrapped = {"activation": lambda t: get("tanh")(t),
               "recurrent_activation": lambda t: get(recurrent_activation)(t)}
    kwargs = dict(padding="same", return_sequences=True, return_state=True,
                  data_format=data_format)
    fused = layers.ConvLSTM2D(3, 3, recurrent_activation=recurrent_activation, **kwargs)
    stepped = layers.ConvLSTM2D(3, 3, **wrapped, **kwargs)
    fused(x)
    stepped(x)
    stepped.set_weights(fused.get_weights())
    results = []
    for layer in (fused, stepped):
        t = Tensor(x.copy())
        with keras.GradientTape() as tape:
            tape.watch(t)
            out, h, c = layer(t, mask=Tensor(np.array([[1, 1, 0], [1, 0, 1]], bool)))
            total = keras.ops.add(keras.ops.sum(out), keras.ops.sum(keras.ops.multiply(c, 3.0)))
        grads = tape.gradient(total, [t] + layer.trainable_weights)
        results.append([out.numpy(), h.numpy(), c.numpy()] + [g.numpy() for g in grads])
    for fused_value, stepped_value in zip(*results):
        np.testing.assert_allclose(fused_value, stepped_value, rtol=1e-5, atol=1e-5)
