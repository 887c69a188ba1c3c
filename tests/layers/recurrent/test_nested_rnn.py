"""An RNN over a nested (tuple) input, with a cell whose states and outputs are nested and
multi-dimensional (the `NestedCell` of keras.io's "Working with RNNs" guide), against tf.keras
2.21's outputs and gradients (tests/fixtures/keras_io/nested_rnn.npz)."""
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras.core.nest import flatten

FIXTURE = np.load(os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "keras_io",
                               "nested_rnn.npz"))


class NestedCell(keras.layers.Layer):
    """Two inputs per step, two states (shapes `(unit_1,)` and `(unit_2, unit_3)`), two outputs;
    sizes given as shapes, as tf.keras' `TensorShape` entries."""

    def __init__(self, unit_1, unit_2, unit_3, **kwargs):
        self.unit_1, self.unit_2, self.unit_3 = unit_1, unit_2, unit_3
        self.state_size = [(unit_1,), (unit_2, unit_3)]
        self.output_size = [(unit_1,), (unit_2, unit_3)]
        super().__init__(**kwargs)

    def build(self, input_shapes):
        i1, i2, i3 = input_shapes[0][1], input_shapes[1][1], input_shapes[1][2]
        self.kernel_1 = self.add_weight(shape=(i1, self.unit_1), initializer="uniform",
                                        name="kernel_1")
        self.kernel_2_3 = self.add_weight(shape=(i2, i3, self.unit_2, self.unit_3),
                                          initializer="uniform", name="kernel_2_3")

    def call(self, inputs, states):
        input_1, input_2 = flatten(inputs)
        s1, s2 = states
        output_1 = keras.ops.matmul(input_1, self.kernel_1)
        output_2_3 = keras.ops.einsum("bij,ijkl->bkl", input_2, self.kernel_2_3)
        return (output_1, output_2_3), (s1 + output_1, s2 + output_2_3)


def nested_model(return_sequences):
    rnn = keras.layers.RNN(NestedCell(2, 2, 4), return_sequences=return_sequences,
                           return_state=True)
    input_1, input_2 = keras.Input((None, 5)), keras.Input((None, 2, 3))
    model = keras.Model([input_1, input_2], rnn((input_1, input_2)))
    model.set_weights([FIXTURE["kernel_1"], FIXTURE["kernel_2_3"]])
    return model


@pytest.mark.parametrize("tag", ["last", "seq"])
def test_nested_inputs_states_and_outputs_match_tf_keras(tag):
    model = nested_model(return_sequences=tag == "seq")
    shapes = [tuple(o.shape) for o in flatten(model.outputs)]
    assert str(shapes) == str(FIXTURE[f"{tag}_shapes"][0])
    with keras.GradientTape() as tape:
        results = flatten(model([FIXTURE["x1"], FIXTURE["x2"]]))
        loss = sum(keras.ops.sum(r * float(i + 1)) for i, r in enumerate(results))
    grads = tape.gradient(loss, model.trainable_weights)
    for i, result in enumerate(results):
        np.testing.assert_allclose(np.asarray(result), FIXTURE[f"{tag}_out{i}"], rtol=1e-5,
                                   atol=1e-5)
        assert np.asarray(result).dtype == np.float32
    np.testing.assert_allclose(np.asarray(grads[0]), FIXTURE[f"{tag}_grad_kernel_1"], rtol=1e-5,
                               atol=1e-4)
    np.testing.assert_allclose(np.asarray(grads[1]), FIXTURE[f"{tag}_grad_kernel_2_3"],
                               rtol=1e-5, atol=1e-4)


def test_nested_model_fits_with_one_loss_per_output():
    input_1, input_2 = keras.Input((None, 5)), keras.Input((None, 2, 3))
    outputs = keras.layers.RNN(NestedCell(2, 2, 4))((input_1, input_2))
    model = keras.Model([input_1, input_2], outputs)
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    history = model.fit([rng.random((8, 3, 5)), rng.random((8, 3, 2, 3))],
                        [rng.random((8, 2)), rng.random((8, 2, 4))], batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_a_list_still_carries_initial_states():
    """`layer([x, h])` (a list) is the sequence and its initial state, a tuple is one nested
    input, as tf.keras tells them apart."""
    layer = keras.layers.SimpleRNN(2, kernel_initializer="ones", recurrent_initializer="zeros",
                                   use_bias=False)
    x = np.ones((1, 3, 2), "float32")
    h = np.full((1, 2), 0.5, "float32")
    np.testing.assert_allclose(np.asarray(layer([x, h])), np.tanh([[2.0, 2.0]]), rtol=1e-6)
