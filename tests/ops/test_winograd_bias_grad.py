"""The bias gradient of a convolution on the Winograd kernel-gradient route, taken from the
transformed output gradient (`winograd.kernel_grad_sum(..., bias=)`): against the
sum of the activation's gradient, the im2col route in float32, and finite differences."""
import numpy as np
import pytest

from minikeras import layers
from minikeras.ops import conv_kernels as K
from minikeras.ops import parallel
from minikeras.ops import winograd as W

from gradcheck import check_layer_gradients

CASES = [
    ((2, 6, 6, 3), [(1, 1), (1, 1)]),
    ((3, 7, 5, 4), [(1, 1), (1, 1)]),          # odd outputs: zero-completed tiles
    ((2, 7, 8, 2), [(0, 0), (0, 0)]),
    ((1, 5, 6, 3), [(2, 1), (0, 2)]),
]


def force(monkeypatch, name):
    monkeypatch.setattr(K, "plan", lambda key, candidates, **options: name if name in candidates
                        else next(iter(candidates)))


def spy_bias_sums(monkeypatch):
    """Samples whose bias sums came from the kernel-gradient chunks."""
    counted, chunk_sum = [], W.kernel_grad_sum

    def spy(x, g, tiling, total=None, bias=None):
        if bias is not None:
            counted.append(len(x))
        return chunk_sum(x, g, tiling, total, bias)
    monkeypatch.setattr(W, "kernel_grad_sum", spy)
    return counted


@pytest.fixture(params=["one chunk, one thread", "many chunks, two threads",
                        "one slice per sample"])
def chunking(request, monkeypatch):
    if request.param.startswith("many"):
        monkeypatch.setattr(K, "_CHUNK_BYTES", 1)
        monkeypatch.setattr(parallel, "_THREADS", 2)
    else:
        monkeypatch.setattr(K, "_CHUNK_BYTES", 1 << 40)
        monkeypatch.setattr(parallel, "_THREADS", 1)
        if request.param.endswith("per sample"):
            monkeypatch.setattr(W, "_SLICE_BYTES", 1)


@pytest.mark.parametrize("x_shape, pads", CASES)
def test_bias_gradient_is_the_sum_of_the_activation_gradient(x_shape, pads, chunking,
                                                             monkeypatch):
    force(monkeypatch, "winograd")
    counted = spy_bias_sums(monkeypatch)
    rng = np.random.default_rng(5)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal((3, 3, x_shape[-1], 4))
    bias = rng.standard_normal(4)
    out, ctx = K.conv_forward(x, kernel, (1, 1), pads, (1, 1), bias=bias, activation="tanh")
    g = rng.standard_normal(out.shape)
    dx, dk, db = K.conv_gradients(ctx, g, True, True, True)
    assert sum(counted) == x_shape[0]
    ga = g * (1 - out * out)
    np.testing.assert_allclose(db, ga.reshape(-1, 4).sum(axis=0), rtol=1e-12, atol=1e-12)
    # Without the kernel gradient the bias comes from a pass over the gradient, the same sums.
    alone = K.conv_gradients(ctx, g, False, False, True)[2]
    np.testing.assert_allclose(alone, db, rtol=1e-12, atol=1e-12)


def test_float32_bias_gradient_agrees_with_im2col_to_round_off(monkeypatch):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 15, 16, 32)).astype("float32")
    kernel = (rng.standard_normal((3, 3, 32, 24)) / 17).astype("float32")
    bias = rng.standard_normal(24).astype("float32")
    g = rng.standard_normal((4, 15, 16, 24)).astype("float32")
    results = {}
    for route in ("winograd", "im2col"):
        force(monkeypatch, route)
        out, ctx = K.conv_forward(x, kernel, (1, 1), [(1, 1), (1, 1)], (1, 1), bias=bias)
        results[route] = K.conv_gradients(ctx, g, True, True, True)[2]
        assert results[route].dtype == np.float32
    expected = g.astype(np.float64).reshape(-1, 24).sum(axis=0)
    for db in results.values():
        np.testing.assert_allclose(db, expected, rtol=0, atol=2e-6 * np.abs(expected).max())


def test_conv2d_bias_gradient_by_finite_differences(float64, monkeypatch):
    force(monkeypatch, "winograd")
    counted = spy_bias_sums(monkeypatch)
    layer = layers.Conv2D(3, 3, padding="same", activation="relu")
    check_layer_gradients(layer, np.random.default_rng(7).standard_normal((2, 5, 7, 2)))
    assert counted
