"""Transposed convolutions with the bias and a relu/tanh inside the op (`ops.conv.
conv_transpose(..., bias=, activation=)`, what Conv1D/2D/3DTranspose call): the same outputs
as the separate bias_add and activation ops, gradients equal to round-off and to finite
differences."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import ops
from minikeras.core.tensor import GradientTape, Variable
from minikeras.ops.conv import conv_transpose

CASES = [
    # x shape (channels_last), kernel (*k, filters, cin), strides, padding, output, format
    ((2, 4, 3, 3), (3, 3, 5, 3), (2, 2), "same", (8, 6), "channels_last"),
    ((2, 3, 3, 4), (3, 3, 2, 4), (1, 1), "same", (3, 3), "channels_last"),
    ((3, 3, 2, 2), (5, 5, 1, 2), (2, 2), "valid", (9, 7), "channels_last"),
    ((2, 4, 3, 3), (2, 3, 4, 3), (2, 1), "same", (8, 3), "channels_first"),
    ((2, 5, 3), (3, 4, 3), (2,), "same", (10,), "channels_last"),
]


def _inputs(case, dtype=np.float32, seed=0):
    x_shape, kernel_shape, _, _, _, data_format = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    kernel = rng.standard_normal(kernel_shape).astype(dtype)
    bias = rng.standard_normal(kernel_shape[-2]).astype(dtype)
    return x, kernel, bias


def _fused(case, x, kernel, bias, activation):
    _, kernel_shape, strides, padding, output, data_format = case
    return conv_transpose(x, kernel, strides, padding, (1,) * len(strides), output,
                          data_format, bias=bias, activation=activation)


def _separate(case, x, kernel, bias, activation):
    _, kernel_shape, strides, padding, output, data_format = case
    out = conv_transpose(x, kernel, strides, padding, (1,) * len(strides), output, data_format)
    if bias is not None:
        out = ops.nn.bias_add(out, bias, axis=1 if data_format == "channels_first" else -1)
    if activation == "relu":
        out = ops.nn.relu(out)
    elif activation == "tanh":
        out = ops.tanh(out)
    return out


def _gradients(op, case, x, kernel, bias, activation, weights):
    variables = [Variable(v) for v in (x, kernel) + (() if bias is None else (bias,))]
    with GradientTape() as tape:
        out = op(case, *variables[:2], variables[2] if bias is not None else None, activation)
        loss = ops.sum(out * weights)
    return out.numpy(), [g.numpy() for g in tape.gradient(loss, variables)]


@pytest.mark.parametrize("activation", ["relu", "tanh", None, "linear"])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[2]}-{c[3]}-{c[5]}")
def test_fused_matches_separate_ops(case, with_bias, activation):
    x, kernel, bias = _inputs(case)
    bias = bias if with_bias else None
    separate = _separate(case, x, kernel, bias, activation).numpy()
    weights = np.random.default_rng(1).standard_normal(separate.shape).astype(np.float32)
    out, grads = _gradients(_fused, case, x, kernel, bias, activation, weights)
    expected_out, expected_grads = _gradients(_separate, case, x, kernel, bias, activation,
                                              weights)
    np.testing.assert_array_equal(out, expected_out)      # the same elementwise operations
    for got, expected in zip(grads, expected_grads):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("case", CASES[:4], ids=lambda c: f"{c[0]}-{c[2]}-{c[3]}-{c[5]}")
def test_fused_gradients_match_finite_differences(case, activation):
    x, kernel, bias = _inputs(case, np.float64, seed=2)
    weights = np.random.default_rng(3).standard_normal(
        _fused(case, x, kernel, bias, activation).shape)
    _, grads = _gradients(_fused, case, x, kernel, bias, activation, weights)

    def loss(values):
        return float(np.sum(_fused(case, *values, activation).numpy() * weights))
    rng = np.random.default_rng(4)
    values = [x, kernel, bias]
    for index, grad in enumerate(grads):
        for flat in rng.choice(values[index].size, min(6, values[index].size), replace=False):
            eps = 1e-6
            plus = [v.copy() for v in values]
            minus = [v.copy() for v in values]
            plus[index].reshape(-1)[flat] += eps
            minus[index].reshape(-1)[flat] -= eps
            numeric = (loss(plus) - loss(minus)) / (2 * eps)
            # relu's kink: a value within eps of zero has no derivative to compare
            assert grad.reshape(-1)[flat] == pytest.approx(numeric, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", None])
def test_conv2d_transpose_layer_same_outputs_as_bias_add_then_activation(activation):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 5, 5, 3)).astype(np.float32)
    fused = keras.layers.Conv2DTranspose(6, 3, strides=2, padding="same",
                                         activation=activation,
                                         bias_initializer="random_normal")
    plain = keras.layers.Conv2DTranspose(6, 3, strides=2, padding="same", use_bias=False)
    fused.build(x.shape)
    plain.build(x.shape)
    plain.set_weights(fused.get_weights()[:1])
    expected = ops.nn.bias_add(plain(x), fused.bias)
    if activation is not None:
        expected = keras.activations.get(activation)(expected)
    np.testing.assert_array_equal(fused(x).numpy(), expected.numpy())


def test_unfusable_activation_is_refused_by_the_op():
    x, kernel, bias = _inputs(CASES[0])
    with pytest.raises(ValueError, match="Cannot fuse activation 'sigmoid'"):
        _fused(CASES[0], x, kernel, bias, "sigmoid")
