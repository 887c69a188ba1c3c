"""Recurrent layers over one input feature (mnist_irnn's 784 x 1 pixels, the rows of
mnist_hierarchical_rnn, univariate series): the input projection is an outer product there."""
import numpy as np

import minikeras as keras


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_lstm_over_one_feature_matches_a_numpy_loop():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 9, 1)).astype(np.float32)
    layer = keras.layers.LSTM(5, return_sequences=True)
    out = np.asarray(layer(x))
    kernel, recurrent, bias = (w.astype(np.float64) for w in layer.get_weights())
    h = np.zeros((4, 5))
    c = np.zeros((4, 5))
    for t in range(9):
        z = x[:, t].astype(np.float64) @ kernel + h @ recurrent + bias
        i, f, g, o = sigmoid(z[:, :5]), sigmoid(z[:, 5:10]), np.tanh(z[:, 10:15]), \
            sigmoid(z[:, 15:])
        c = f * c + i * g
        h = o * np.tanh(c)
        np.testing.assert_allclose(out[:, t], h, rtol=1e-5, atol=1e-6)


def test_simple_rnn_over_one_feature_matches_a_numpy_loop_and_its_gradient():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6, 1)).astype(np.float32)
    layer = keras.layers.SimpleRNN(4, activation="relu")
    with keras.backend.GradientTape() as tape:
        out = layer(x)
        loss = keras.backend.sum(out)
    grad_kernel = np.asarray(tape.gradient(loss, layer.cell.kernel))
    kernel, recurrent, bias = (w.astype(np.float64) for w in layer.get_weights())

    def run(kernel):
        h = np.zeros((3, 4))
        for t in range(6):
            h = np.maximum(x[:, t].astype(np.float64) @ kernel + h @ recurrent + bias, 0)
        return h
    np.testing.assert_allclose(np.asarray(out), run(kernel), rtol=1e-5, atol=1e-6)
    step = 1e-6
    for j in range(4):
        bumped = kernel.copy()
        bumped[0, j] += step
        numeric = (run(bumped).sum() - run(kernel).sum()) / step
        np.testing.assert_allclose(grad_kernel[0, j], numeric, rtol=1e-3, atol=1e-4)
