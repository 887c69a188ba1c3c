"""Winograd F(2x2, 3x3) route of the 3x3 stride-1 convolution: forward against a direct NumPy
sum, both gradients against the adjoint identity and the im2col route, finite differences
through Conv2D (both data formats), float32 agreement with im2col at round-off, and which
convolutions it takes."""
import numpy as np
import pytest

from minikeras import layers
from minikeras.ops import conv_kernels as K
from minikeras.ops import parallel
from minikeras.ops import winograd as W

from gradcheck import check_layer_gradients
from test_fast_kernels import reference_conv

# x shape, pads: even and odd sizes, 'same', 'valid', uneven and two-cell padding.
CASES = [
    ((2, 6, 6, 3), [(1, 1), (1, 1)]),
    ((3, 7, 5, 4), [(1, 1), (1, 1)]),
    ((2, 7, 8, 2), [(0, 0), (0, 0)]),
    ((1, 5, 6, 3), [(2, 1), (0, 2)]),
    ((2, 3, 3, 2), [(0, 1), (1, 0)]),
]


def force(monkeypatch, name):
    """Every route plan picks `name` when it is a candidate (else its default)."""
    monkeypatch.setattr(K, "plan", lambda key, candidates, **options: name if name in candidates
                        else next(iter(candidates)))


@pytest.fixture(params=["one chunk, one thread", "many chunks, two threads",
                        "one chunk, one slice per sample"])
def chunking(request, monkeypatch):
    if request.param.startswith("many"):
        monkeypatch.setattr(K, "_CHUNK_BYTES", 1)
        monkeypatch.setattr(parallel, "_THREADS", 2)
    elif request.param.endswith("per sample"):
        monkeypatch.setattr(K, "_CHUNK_BYTES", 1 << 40)
        monkeypatch.setattr(W, "_SLICE_BYTES", 1)
    else:
        monkeypatch.setattr(K, "_CHUNK_BYTES", 1 << 40)
        monkeypatch.setattr(parallel, "_THREADS", 1)
    return request.param


@pytest.mark.parametrize("x_shape, pads", CASES)
def test_forward_matches_the_direct_sum(x_shape, pads, chunking, monkeypatch):
    force(monkeypatch, "winograd")
    rng = np.random.default_rng(0)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal((3, 3, x_shape[-1], 5))
    bias = rng.standard_normal(5)
    out, _ = K.conv_forward(x, kernel, (1, 1), pads, (1, 1), bias=bias, activation="relu")
    expected = np.maximum(reference_conv(x, kernel, (1, 1), pads, (1, 1)) + bias, 0)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x_shape, pads", CASES)
def test_gradients_are_the_adjoint_and_match_im2col(x_shape, pads, chunking, monkeypatch):
    rng = np.random.default_rng(1)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal((3, 3, x_shape[-1], 4))
    results = {}
    for route in ("winograd", "flipped"):
        force(monkeypatch, route)
        out, ctx = K.conv_forward(x, kernel, (1, 1), pads, (1, 1), activation="tanh")
        g = np.random.default_rng(2).standard_normal(out.shape)
        results[route] = K.conv_gradients(ctx, g, True, True)
    dx, dk, _ = results["winograd"]
    ga = g * (1 - out * out)
    linear = reference_conv(x, kernel, (1, 1), pads, (1, 1))
    np.testing.assert_allclose(np.sum(x * dx), np.sum(linear * ga), rtol=1e-10)
    np.testing.assert_allclose(np.sum(kernel * dk), np.sum(linear * ga), rtol=1e-10)
    np.testing.assert_allclose(dx, results["flipped"][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dk, results["flipped"][1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_gradients_by_finite_differences(float64, data_format, padding, monkeypatch):
    force(monkeypatch, "winograd")
    layer = layers.Conv2D(3, 3, padding=padding, data_format=data_format, activation="tanh")
    shape = (2, 2, 5, 6) if data_format == "channels_first" else (2, 5, 6, 2)
    check_layer_gradients(layer, np.random.default_rng(3).standard_normal(shape))


def test_float32_agrees_with_im2col_to_round_off(monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 16, 16, 32)).astype("float32")
    kernel = (rng.standard_normal((3, 3, 32, 48)) / 17).astype("float32")
    g = rng.standard_normal((4, 16, 16, 48)).astype("float32")
    results = {}
    for route in ("winograd", "im2col"):
        force(monkeypatch, route)
        out, ctx = K.conv_forward(x, kernel, (1, 1), [(1, 1), (1, 1)], (1, 1))
        dx, dk = K.conv_backward(ctx, g)
        assert out.dtype == dx.dtype == dk.dtype == np.float32
        results[route] = (out, dx, dk)
    for winograd, im2col in zip(results["winograd"], results["im2col"]):
        scale = np.abs(im2col).max()
        np.testing.assert_allclose(winograd, im2col, rtol=0, atol=2e-6 * scale)


def test_kernel_transform_round_trip_is_the_adjoint():
    # <G W G^T, dU> = <W, G^T dU G> (the kernel gradient's back transform is the adjoint).
    rng = np.random.default_rng(5)
    w, du = rng.standard_normal((3, 3, 2, 3)), rng.standard_normal((16, 2, 3))
    # The transformed sum carries the signs of +dY1 and of the input transform's negated
    # row and column 2; transform_kernel lays the columns j in the slots' order.
    row_signs = np.array([1, 1, 1, -1]) * np.array([1, 1, -1, 1])
    signs = np.outer(row_signs, row_signs).reshape(16, 1, 1)
    u = W.transform_kernel(w).reshape(4, 4, 2, 3)[:, W._SLOT_OF].reshape(16, 2, 3)
    lhs = np.sum(u * du * signs)
    rhs = np.sum(w * W.kernel_from_transformed(du, np.float64))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


@pytest.mark.parametrize("kernel_shape, strides, pads, dilation, groups, expected", [
    ((3, 3, 4, 8), (1, 1), [(1, 1), (1, 1)], (1, 1), 1, True),
    ((3, 3, 4, 8), (2, 2), [(0, 1), (0, 1)], (1, 1), 1, False),
    ((3, 3, 4, 8), (1, 1), [(2, 2), (2, 2)], (2, 2), 1, False),
    ((3, 3, 2, 8), (1, 1), [(1, 1), (1, 1)], (1, 1), 2, False),
    ((5, 5, 4, 8), (1, 1), [(2, 2), (2, 2)], (1, 1), 1, False),
    ((3, 4, 8), (1,), [(1, 1)], (1,), 1, False),
    ((3, 3, 4, 8), (1, 1), [(3, 0), (1, 1)], (1, 1), 1, False),
])
def test_route_applies_only_to_3x3_stride_1_2d(kernel_shape, strides, pads, dilation, groups,
                                               expected):
    assert W.applies(kernel_shape, strides, pads, dilation, groups) is expected


# Input and output-gradient transforms of F(2x2, 3x3) as matrices (rows: transformed
# positions), for the per-tile NumPy reference below.
_B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
_A_SIGNED = np.array([[1, 0], [1, 1], [1, -1], [0, 1]], float)   # A with +dY1 in its last row


def _tiles(array, size, step):
    """`(count, th, tw, size, size, c)` windows of `array` starting every `step` pixels."""
    windows = np.lib.stride_tricks.sliding_window_view(array, (size, size), axis=(1, 2))
    return windows[:, ::step, ::step].transpose(0, 1, 2, 4, 5, 3)


def _as_positions(pairs):
    """`(4, 2, tiles, 2, c)` column pairs -> `(16, tiles, c)` in the order k = 4i + j."""
    four = pairs.transpose(0, 1, 3, 2, 4).reshape(4, 4, *pairs.shape[2:3], pairs.shape[-1])
    return four[:, W._SLOT_OF].reshape(16, pairs.shape[2], pairs.shape[-1])


@pytest.mark.parametrize("spatial, pads, channels", [
    ((6, 6), [(1, 1), (1, 1)], 3), ((7, 5), [(1, 1), (1, 1)], 4), ((5, 6), [(2, 1), (0, 2)], 2)])
def test_transforms_match_per_tile_reference(spatial, pads, channels):
    rng = np.random.default_rng(6)
    tiling = W.Tiling(spatial, pads)
    x = rng.standard_normal((2,) + spatial + (channels,))
    tiles = _tiles(W.padded(x, tiling), 4, 2)                        # (n, th, tw, 4, 4, c)
    # V's row i = 2 and column j = 2 come negated (B^T's row 2 as d1 - d2).
    b_t = _B_T * W._INPUT_SIGNS[:, None]
    expected = np.einsum("ia,ntsabc,jb->ijntsc", b_t, tiles, b_t).reshape(16, -1, channels)
    np.testing.assert_allclose(_as_positions(W.transform_input(W.padded(x, tiling), tiling)),
                               expected, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal((2,) + tiling.out + (channels,))
    grid = np.zeros((2, 2 * tiling.tiles[0], 2 * tiling.tiles[1], channels))
    grid[:, :tiling.out[0], :tiling.out[1]] = g
    g_tiles = _tiles(grid, 2, 2)                                      # (n, th, tw, 2, 2, c)
    expected = np.einsum("ia,ntsabc,jb->ijntsc", _A_SIGNED, g_tiles, _A_SIGNED)
    np.testing.assert_allclose(_as_positions(W.transform_output_grad(g, tiling)),
                               expected.reshape(16, -1, channels), rtol=1e-12, atol=1e-12)


def test_transforms_restore_the_ufunc_buffer_size():
    tiling = W.Tiling((6, 6), [(1, 1), (1, 1)])
    x = np.ones((1, 6, 6, 2), np.float32)
    before = np.getbufsize()
    W.kernel_grad_chunk(x, np.ones((1, 6, 6, 3), np.float32), tiling)
    W.convolve_chunk(x, W.transform_kernel(np.ones((3, 3, 2, 3), np.float32)), tiling,
                     np.empty((1, 6, 6, 3), np.float32))
    assert np.getbufsize() == before


def test_reused_transforms_give_the_fresh_result_across_shapes_and_evictions(monkeypatch):
    # The per-thread transform objects are kept per shape (at most _KEPT_TRANSFORMS); calls
    # alternating between more shapes than that, and between slice counts, must still give
    # what fresh buffers give (no stale view of an evicted or resized buffer).
    monkeypatch.setattr(W, "_KEPT_TRANSFORMS", 3)
    rng = np.random.default_rng(7)
    cases = []
    for spatial, count in [((6, 6), 2), ((7, 5), 3), ((6, 6), 1), ((4, 9), 2), ((5, 5), 3)]:
        tiling = W.Tiling(spatial, [(1, 1), (1, 1)])
        x = rng.standard_normal((count,) + spatial + (3,)).astype(np.float32)
        kernel = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
        expected = reference_conv(x.astype(np.float64), kernel.astype(np.float64), (1, 1),
                                  [(1, 1), (1, 1)], (1, 1))
        cases.append((x, W.transform_kernel(kernel), tiling, expected))
    for _ in range(2):
        for x, u, tiling, expected in cases:
            out = np.empty(expected.shape, np.float32)
            W.convolve_chunk(x, u, tiling, out)
            np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)
            dk = W.kernel_from_transformed(W.kernel_grad_chunk(x, out, tiling), np.float64)
            windows = np.lib.stride_tricks.sliding_window_view(
                np.pad(x.astype(np.float64), [(0, 0), (1, 1), (1, 1), (0, 0)]), (3, 3),
                axis=(1, 2))                                       # (n, h, w, c, 3, 3)
            expected_dk = np.einsum("nhwcab,nhwf->abcf", windows, out.astype(np.float64))
            np.testing.assert_allclose(dk, expected_dk, rtol=0,
                                       atol=1e-5 * np.abs(expected_dk).max())


@pytest.mark.parametrize("x_shape, pads, filters", [
    ((1, 6, 6, 3), [(1, 1), (1, 1)], 5), ((3, 7, 5, 33), [(1, 1), (1, 1)], 7),
    ((2, 7, 8, 2), [(0, 0), (0, 0)], 40), ((1, 5, 6, 3), [(2, 1), (0, 2)], 1025)])
def test_bias_added_in_the_transform_matches_the_direct_sum(x_shape, pads, filters,
                                                            monkeypatch):
    # The bias goes to the (1, 1) products (A^T's ones reach every output of a tile), over
    # folded rows, odd tile counts leaving a remainder (1025 filters: no fold).
    monkeypatch.setattr(W, "_SLICE_BYTES", 1)
    rng = np.random.default_rng(8)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal((3, 3, x_shape[-1], filters))
    bias = rng.standard_normal(filters)
    tiling = W.Tiling(x_shape[1:3], pads)
    out = np.empty((x_shape[0],) + tiling.out + (filters,))
    W.convolve_chunk(x, W.transform_kernel(kernel), tiling, out, bias=bias)
    expected = reference_conv(x, kernel, (1, 1), pads, (1, 1)) + bias
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_run_copies_match_strided_assignment():
    rng = np.random.default_rng(9)
    source = rng.standard_normal((2, 5, 8, 3)).astype(np.float32)
    dest = np.zeros((2, 5, 4, 2, 3), np.float32)
    np.copyto(*W._runs(source[:, :, 1::2], dest[:, :, :, 1]))
    expected = np.zeros_like(dest)
    expected[:, :, :, 1] = source[:, :, 1::2]
    np.testing.assert_array_equal(dest, expected)


@pytest.mark.parametrize("channels, expected", [(8, "im2col"), (16, "winograd")])
def test_winograd_is_the_plan_default_from_16_channels(channels, expected, monkeypatch):
    # `plan` keeps its first candidate unless another times clearly faster: that default is
    # Winograd from 16 input channels (fewer products), im2col below.
    defaults = []

    def default_plan(key, candidates, **options):
        defaults.append(next(iter(candidates)))
        return defaults[-1]
    monkeypatch.setattr(K, "plan", default_plan)
    x = np.random.default_rng(10).standard_normal((2, 6, 6, channels)).astype(np.float32)
    kernel = np.ones((3, 3, channels, 4), np.float32)
    out, _ = K.conv_forward(x, kernel, (1, 1), [(1, 1), (1, 1)], (1, 1))
    assert expected in defaults and ({"im2col", "winograd"} - {expected}).isdisjoint(defaults)
    np.testing.assert_allclose(out, reference_conv(x, kernel, (1, 1), [(1, 1), (1, 1)], (1, 1)),
                               rtol=1e-5, atol=1e-4)


def test_a_training_step_of_a_four_layer_stack_keeps_its_transforms(monkeypatch):
    # cifar10_cnn's training step uses 24-26 transforms a thread (least recently used ones
    # are dropped in a cycle: one over the limit rebuilds them all, every step). Its shapes
    # and slice sizes (a thread's half of a batch of 32), each with all three kinds (a
    # superset of a step's), walked twice: the second walk builds nothing.
    built = []
    for kind in (W._InputTransform, W._OutputTransform, W._OutputGradTransform):
        original = kind.__init__

        def counting_init(self, *args, _original=original, **kwargs):
            built.append(type(self).__name__)
            _original(self, *args, **kwargs)
        monkeypatch.setattr(kind, "__init__", counting_init)
    monkeypatch.setattr(W._buffers, "transforms", {}, raising=False)
    keys = []
    for spatial, pads, counts, channels in [
            ((32, 32), [(0, 0), (0, 0)], (3, 4), (3, 32)),
            ((30, 30), [(2, 2), (2, 2)], (3, 4), (32,)),
            ((15, 15), [(1, 1), (1, 1)], (4, 6), (32, 64)), ((15, 15), [(0, 0), (0, 0)], (8,), (64,)),
            ((13, 13), [(2, 2), (2, 2)], (4, 6), (64,))]:
        for count in counts:
            for channels_ in channels:
                for kind in (W._InputTransform, W._OutputTransform, W._OutputGradTransform):
                    keys.append((kind, W.Tiling(spatial, pads), count, channels_))
    assert 26 < len(keys) <= 40, len(keys)
    for walk in range(2):
        built.clear()
        for kind, tiling, count, channels_ in keys:
            W._transform(kind, tiling, count, channels_, np.float32)
    assert built == []
