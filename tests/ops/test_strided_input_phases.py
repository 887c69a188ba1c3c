"""The input gradient of strided convolutions gathered phase by phase
(`conv_kernels._StridedInputPhases`): NumPy reference, adjointness, the tap-by-tap scatter it
replaced (the same sums in the same order, so the same bits), finite differences."""
import numpy as np
import pytest

from minikeras import layers
from minikeras.ops import conv_kernels as K
from minikeras.ops import parallel

from gradcheck import check_gradients

STRIDED_CASES = [
    # x shape, kernel shape, strides, pads, dilation
    ((3, 8, 8, 5), (3, 3, 5, 4), (2, 2), [(0, 1), (0, 1)], (1, 1)),      # TF 'same', even
    ((2, 7, 9, 3), (3, 3, 3, 4), (2, 2), [(1, 1), (1, 1)], (1, 1)),      # 'same', odd
    ((3, 8, 6, 5), (1, 1, 5, 4), (2, 2), [(0, 0), (0, 0)], (1, 1)),      # 1x1 shortcut
    ((2, 9, 9, 2), (2, 2, 2, 3), (3, 3), [(0, 0), (0, 0)], (1, 1)),      # kernel < stride
    ((2, 11, 10, 2), (5, 4, 2, 3), (3, 2), [(2, 2), (1, 2)], (1, 1)),
    ((2, 13, 12, 2), (3, 3, 2, 3), (2, 3), [(0, 0), (1, 0)], (2, 1)),    # dilated
    ((2, 12, 3), (3, 3, 4), (2,), [(0, 1)], (1,)),                        # 1-D
    ((2, 5, 6, 5, 2), (3, 3, 3, 2, 3), (2, 2, 2), [(0, 1)] * 3, (1, 1, 1)),  # 3-D
]


def reference_conv(x, kernel, strides, pads, dilation):
    """Direct sum over kernel taps (channels_last, any rank, one group)."""
    xp = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)])
    out_sizes = [(n - (k - 1) * d - 1) // s + 1
                 for n, k, s, d in zip(xp.shape[1:-1], kernel.shape[:-2], strides, dilation)]
    out = np.zeros((x.shape[0],) + tuple(out_sizes) + (kernel.shape[-1],))
    for tap in np.ndindex(*kernel.shape[:-2]):
        index = (slice(None),) + tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s
                                       in zip(tap, dilation, out_sizes, strides))
        out += xp[index] @ kernel[tap]
    return out


def _scatter_reference(g, kernel, x_shape, strides, pads, dilation):
    """The tap-by-tap scatter-add of `g @ K[t].T` into the padded input (float64)."""
    padded = (x_shape[0],) + tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[1:-1], pads)) \
        + (x_shape[-1],)
    dxp = np.zeros(padded)
    out_sizes = g.shape[1:-1]
    for tap in np.ndindex(*kernel.shape[:-2]):
        index = (slice(None),) + tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                                       for t, s, d, o in zip(tap, strides, dilation, out_sizes))
        dxp[index] += g @ kernel[tap].T
    return dxp[(slice(None),) + tuple(slice(lo, lo + n) for n, (lo, _)
                                      in zip(x_shape[1:-1], pads))]


@pytest.fixture(params=["one chunk, one thread", "many chunks, two threads"])
def chunking(request, monkeypatch):
    if request.param.startswith("many"):
        monkeypatch.setattr(K, "_CHUNK_BYTES", 1)
        monkeypatch.setattr(parallel, "_THREADS", 2)
    else:
        monkeypatch.setattr(K, "_CHUNK_BYTES", 1 << 40)
        monkeypatch.setattr(parallel, "_THREADS", 1)


def _strided_route_only(monkeypatch):
    """Keep the band route (few channels) out: the phases are what is tested. Returns the
    list of sample counts the phase route was called on."""
    monkeypatch.setattr(K, "_band_kernel", lambda *args: None)
    calls, phase_into = [], K._StridedInputPhases.into

    def spy(self, blocks, dx):
        calls.append(len(dx))
        return phase_into(self, blocks, dx)
    monkeypatch.setattr(K._StridedInputPhases, "into", spy)
    return calls


@pytest.mark.parametrize("case", STRIDED_CASES)
def test_phases_match_the_scatter_and_are_the_adjoint(case, chunking, monkeypatch):
    calls = _strided_route_only(monkeypatch)
    x_shape, k_shape, strides, pads, dilation = case
    rng = np.random.default_rng(3)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    out, ctx = K.conv_forward(x, kernel, strides, pads, dilation)
    g = rng.standard_normal(out.shape)
    dx = K.conv_gradients(ctx, g, True, False, False)[0]
    assert sum(calls) == x_shape[0]
    np.testing.assert_allclose(dx, _scatter_reference(g, kernel, x_shape, strides, pads,
                                                      dilation), rtol=1e-12, atol=1e-12)
    linear = reference_conv(x, kernel, strides, pads, dilation)
    np.testing.assert_allclose(np.sum(linear * g), np.sum(x * dx), rtol=1e-10)


@pytest.mark.parametrize("case", STRIDED_CASES[:4])
def test_phases_add_the_taps_in_the_scatters_order_in_float32(case, monkeypatch):
    """float32: the same bits as the scatter (each cell sums its taps in tap order)."""
    _strided_route_only(monkeypatch)
    x_shape, k_shape, strides, pads, dilation = case
    rng = np.random.default_rng(4)
    x = rng.standard_normal(x_shape).astype(np.float32)
    kernel = rng.standard_normal(k_shape).astype(np.float32)
    out, ctx = K.conv_forward(x, kernel, strides, pads, dilation)
    g = rng.standard_normal(out.shape).astype(np.float32)
    dx = K.conv_gradients(ctx, g, True, False, False)[0]
    # The scatter in float32, tap-major products as the kernel makes them.
    taps = int(np.prod(k_shape[:-2]))
    blocks = np.matmul(g.reshape(-1, k_shape[-1]), np.ascontiguousarray(
        kernel.reshape(taps, k_shape[-2], k_shape[-1]).transpose(0, 2, 1)))
    padded = (x_shape[0],) + tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[1:-1], pads)) \
        + (x_shape[-1],)
    dxp = np.zeros(padded, np.float32)
    for block, index in zip(blocks, K.tap_slices(k_shape[:-2], strides, dilation,
                                                 out.shape[1:-1])):
        dxp[index] += block.reshape(out.shape[:-1] + (x_shape[-1],))
    expected = dxp[(slice(None),) + tuple(slice(lo, lo + n) for n, (lo, _)
                                          in zip(x_shape[1:-1], pads))]
    assert np.array_equal(dx, expected)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, strides=2, padding="same"),
                                    dict(kernel_size=1, strides=2),
                                    dict(kernel_size=(2, 3), strides=(3, 2), padding="same")])
def test_strided_layer_gradients_by_finite_differences(float64, kwargs):
    layer = layers.Conv2D(3, **kwargs)
    x = np.random.default_rng(9).standard_normal((2, 7, 6, 2))
    layer(x)
    check_gradients(lambda t: layer(t), [x], extra_variables=layer.trainable_weights)
