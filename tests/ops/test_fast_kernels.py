"""The chunked, threaded and route-planned kernels against plain NumPy references:
convolution with its fused bias/activation epilogue (every chunking and thread split, both
stride-1 input-gradient routes), the depthwise tap loop, separable pooling and first-maximum
routing, the vectorised sigmoid, the two-way splitting helper and inference's early release of
intermediates in functional models."""
import itertools

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.ops import conv_kernels as K
from minikeras.ops import activation_kernels as A
from minikeras.ops import parallel
from minikeras.ops import pool_kernels as P

from gradcheck import check_gradients


# ---------------------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------------------
def reference_conv(x, kernel, strides, pads, dilation, groups=1):
    """Direct sum over kernel taps and channels, channels_last, any rank."""
    xp = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)])
    kernel_size = kernel.shape[:-2]
    cin_g, filters = kernel.shape[-2:]
    f_g = filters // groups
    out_sizes = [(n - (k - 1) * d - 1) // s + 1
                 for n, k, s, d in zip(xp.shape[1:-1], kernel_size, strides, dilation)]
    out = np.zeros((x.shape[0],) + tuple(out_sizes) + (filters,))
    for tap in np.ndindex(*kernel_size):
        index = (slice(None),) + tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s
                                       in zip(tap, dilation, out_sizes, strides))
        window = xp[index]
        for group in range(groups):
            source = window[..., group * cin_g:(group + 1) * cin_g]
            out[..., group * f_g:(group + 1) * f_g] += source @ kernel[tap][:, group * f_g:
                                                                             (group + 1) * f_g]
    return out


def reference_pool(x, pool_size, strides, pads, fn, fill):
    """Every window gathered explicitly (padding cells hold `fill`)."""
    xp = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)], constant_values=fill)
    out_sizes = [(n - k) // s + 1 for n, k, s in zip(xp.shape[1:-1], pool_size, strides)]
    out = np.empty((x.shape[0],) + tuple(out_sizes) + (x.shape[-1],), x.dtype)
    for position in np.ndindex(*out_sizes):
        index = (slice(None),) + tuple(slice(p * s, p * s + k) for p, s, k in
                                       zip(position, strides, pool_size))
        window = xp[index].reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None),) + position] = fn(window)
    return out


def reference_first_max_grad(x, g, pool_size, strides, pads):
    """Each window's gradient added to its first (row-major) maximum; in 3-D to each of its
    maxima (tf's MaxPool3DGrad)."""
    xp = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)], constant_values=-np.inf)
    dxp = np.zeros_like(xp)
    for position in np.ndindex(*g.shape[1:-1]):
        starts = [p * s for p, s in zip(position, strides)]
        for b, c in itertools.product(range(x.shape[0]), range(x.shape[-1])):
            window = xp[(b,) + tuple(slice(s0, s0 + k) for s0, k in zip(starts, pool_size))
                        + (c,)]
            maxima = [np.unravel_index(np.argmax(window), window.shape)]
            if len(pool_size) == 3:
                maxima = list(zip(*np.nonzero(window == window.max())))
            for first in maxima:
                dxp[(b,) + tuple(s0 + f for s0, f in zip(starts, first)) + (c,)] += \
                    g[(b,) + position + (c,)]
    return dxp[(slice(None),) + tuple(slice(lo, lo + n) for (lo, _), n in
                                      zip(pads, x.shape[1:-1])) + (slice(None),)]


@pytest.fixture(params=["one chunk, one thread", "many chunks, two threads"])
def chunking(request, monkeypatch):
    """Run a test with whole-batch chunks on one thread, and with chunks of one sample split
    over two threads (the results must agree to round-off)."""
    if request.param.startswith("many"):
        monkeypatch.setattr(K, "_CHUNK_BYTES", 1)
        monkeypatch.setattr(parallel, "_THREADS", 2)
    else:
        monkeypatch.setattr(K, "_CHUNK_BYTES", 1 << 40)
        monkeypatch.setattr(parallel, "_THREADS", 1)
    return request.param


CONV_CASES = [
    # x shape, kernel shape, strides, pads, dilation, groups
    ((3, 7, 8, 4), (3, 3, 4, 6), (1, 1), [(1, 1), (1, 1)], (1, 1), 1),
    ((3, 9, 8, 4), (3, 2, 2, 6), (2, 3), [(0, 1), (1, 0)], (1, 1), 2),
    ((2, 9, 9, 1), (5, 5, 1, 3), (1, 1), [(0, 0), (0, 0)], (1, 1), 1),
    ((2, 8, 7, 3), (3, 3, 3, 4), (1, 1), [(2, 2), (2, 2)], (2, 2), 1),
    ((3, 10, 2), (3, 2, 5), (2,), [(2, 0)], (1,), 1),
    # band route (conv_band.py): odd output width, strided/dilated leading axes, three phases
    ((2, 11, 3), (4, 3, 5), (1,), [(1, 2)], (1,), 1),
    ((2, 5, 6, 7, 2), (2, 3, 3, 2, 4), (2, 1, 1), [(0, 0), (1, 0), (1, 1)], (1, 2, 1), 1),
    ((2, 4, 12, 2), (2, 5, 2, 32), (1, 1), [(0, 0), (0, 0)], (1, 1), 1),
    # pointwise (1x1 stride 1): the input rows are the im2col rows (a view)
    ((3, 5, 6, 4), (1, 1, 4, 6), (1, 1), [(0, 0), (0, 0)], (1, 1), 1),
    ((2, 7, 5), (1, 5, 3), (1,), [(0, 0)], (1,), 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
def test_conv_forward_with_epilogue_matches_reference(case, activation, chunking,
                                                      im2col_layout):
    x_shape, k_shape, strides, pads, dilation, groups = case
    rng = np.random.default_rng(0)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    bias = rng.standard_normal(k_shape[-1])
    out, _ = K.conv_forward(x, kernel, strides, pads, dilation, groups, bias=bias,
                            activation=activation)
    expected = reference_conv(x, kernel, strides, pads, dilation, groups) + bias
    expected = {None: expected, "relu": np.maximum(expected, 0),
                "tanh": np.tanh(expected)}[activation]
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def _layout_if_possible(layout, groups, band):
    if callable(band):                    # conv_forward hands over a function making it
        band = band()
    if layout == "band":
        return "band" if band is not None else "rows"
    return layout if groups == 1 else "rows"


@pytest.fixture(params=["rows", "taps", "band"])
def im2col_layout(request, monkeypatch):
    """Every im2col layout where it applies (tap-major: ungrouped convolutions; band: also
    few channels, stride 1 and no dilation along the last axis), else "rows"."""
    monkeypatch.setattr(K, "_im2col_layout", lambda x, kernel, strides, pads, dilation, groups,
                        out_sizes, kernel_groups, dtype, band=None:
                        _layout_if_possible(request.param, groups, band))
    return request.param


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("route", ["flipped", "col2im", "band"])
def test_conv_gradients_are_the_adjoint_through_the_activation(case, route, chunking,
                                                               im2col_layout, monkeypatch):
    """With a tanh epilogue: dx, dk, db equal the adjoint of the linear convolution applied to
    g * tanh'(pre-activation), on every input-gradient route and im2col layout that applies
    (else the first candidate)."""
    monkeypatch.setattr(K, "plan", lambda key, candidates, **options:
                        route if route in candidates else next(iter(candidates)))
    x_shape, k_shape, strides, pads, dilation, groups = case
    rng = np.random.default_rng(1)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    bias = rng.standard_normal(k_shape[-1])
    out, ctx = K.conv_forward(x, kernel, strides, pads, dilation, groups, bias=bias,
                              activation="tanh")
    g = rng.standard_normal(out.shape)
    dx, dk, db = K.conv_gradients(ctx, g, True, True, True)
    ga = g * (1 - out * out)
    linear = reference_conv(x, kernel, strides, pads, dilation, groups)
    np.testing.assert_allclose(np.sum(linear * ga), np.sum(x * dx), rtol=1e-10)
    np.testing.assert_allclose(np.sum(linear * ga), np.sum(kernel * dk), rtol=1e-10)
    np.testing.assert_allclose(db, ga.reshape(-1, ga.shape[-1]).sum(axis=0), rtol=1e-10)
    # dx of the first sample elementwise: d <conv(x), ga> / dx[0, i] = <conv(e_i), ga>
    expected_dx = np.zeros(x.shape[1:])
    for index in np.ndindex(*x.shape[1:]):
        unit = np.zeros_like(x)
        unit[(0,) + index] = 1
        expected_dx[index] = np.sum(reference_conv(unit, kernel, strides, pads, dilation,
                                                   groups) * ga)
    np.testing.assert_allclose(dx[0], expected_dx, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_products_in_small_blocks_match_the_reference(case, chunking, im2col_layout,
                                                      monkeypatch):
    """Forward GEMMs row by row and kernel-gradient GEMMs summed position by position
    (OpenBLAS' small-matrix kernels; chosen here whatever the timing) give the
    reference forward and the adjoint kernel gradient, on every im2col layout."""
    monkeypatch.setattr(K, "_small_block", lambda depth, width: 1)
    chosen = []
    plan = K._plan_on_one_blas_thread

    def small(key, candidates):
        if key[0] in ("forward_blocks", "kernel_blocks"):
            chosen.append(key[0])
            return "small"
        return plan(key, candidates)
    monkeypatch.setattr(K, "_plan_on_one_blas_thread", small)
    x_shape, k_shape, strides, pads, dilation, groups = case
    rng = np.random.default_rng(5)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    bias = rng.standard_normal(k_shape[-1])
    out, ctx = K.conv_forward(x, kernel, strides, pads, dilation, groups, bias=bias,
                              activation="relu")
    linear = reference_conv(x, kernel, strides, pads, dilation, groups)
    np.testing.assert_allclose(out, np.maximum(linear + bias, 0), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    monkeypatch.setattr(K, "_grid_route_applies", lambda ctx: False)
    _, dk, db = K.conv_gradients(ctx, g, False, True, True)
    ga = g * (out > 0)
    np.testing.assert_allclose(np.sum(linear * ga), np.sum(kernel * dk), rtol=1e-10)
    np.testing.assert_allclose(db, ga.reshape(-1, ga.shape[-1]).sum(axis=0), rtol=1e-10)
    if chunking.startswith("one"):                  # whole batch: always more than a row
        assert chosen == (["forward_blocks", "kernel_blocks"] if groups == 1 else [])


def test_relu_in_place_matches_maximum_with_zero_for_any_layout():
    rng = np.random.default_rng(6)
    for shape in [(5, 3), (K._SMALL_RELU + 7,), (3, K._EPILOGUE_ROW // 4 + 1, 3), (0, 4)]:
        x = rng.standard_normal(shape).astype(np.float32)
        x.flat[:1] = np.nan
        expected = np.maximum(x, 0)
        for array in (x.copy(), np.asfortranarray(x)):
            K.relu_in_place(array)
            np.testing.assert_array_equal(array, expected)
            assert array.dtype == np.float32


GRID_CASES = [c for c in CONV_CASES if c[5] == 1 and all(s == 1 for s in c[2])] + [
    ((2, 9, 8, 9), (2, 2, 9, 5), (1,), [(0, 0), (0, 0)], (1, 1), 1),     # seed_cnn's shape
    ((2, 6, 7, 8), (2, 2, 8, 3), (1,), [(1, 0), (0, 1)], (1, 1), 1),     # padded
    ((2, 7, 7, 8), (2, 2, 8, 3), (1,), [(1, 1), (1, 1)], (2, 1), 1),     # dilated
    ((2, 11, 8), (4, 8, 6), (1,), [(3, 0)], (1,), 1),                    # 1-D causal
    ((1, 4, 5, 4, 8), (2, 1, 2, 8, 3), (1,), [(0, 0)] * 3, (1, 1, 1), 1),  # 3-D
    ((2, 4, 5, 8), (1, 1, 8, 6), (1,), [(0, 0), (0, 0)], (1, 1), 1),     # pointwise
]


@pytest.fixture(params=["whole chunks", "blocks of 3 rows"])
def grid_blocks(request, monkeypatch):
    """The grid route's products over whole chunks, and (chosen whatever the timing) in blocks
    of 3 grid rows, so that the later taps of a block add into rows of the next blocks."""
    if request.param.startswith("blocks"):
        plan = K._plan_on_one_blas_thread
        monkeypatch.setattr(K, "_plan_on_one_blas_thread", lambda key, candidates: "small"
                            if key[0] == "grid_blocks" else plan(key, candidates))
    return request.param


@pytest.mark.parametrize("case", GRID_CASES)
@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
def test_grid_gradient_route_matches_the_im2col_route_and_the_reference(
        case, activation, chunking, grid_blocks, monkeypatch):
    """The per-tap grid route (forced on for any taps and channels) gives the im2col route's
    dx, dk, db to round-off, and dx is the reference adjoint elementwise."""
    x_shape, k_shape, _, pads, dilation, _ = case
    if grid_blocks.startswith("blocks"):
        monkeypatch.setattr(K, "_SMALL_GEMM_MACS", 3 * k_shape[-2] * k_shape[-1])
    strides = (1,) * (len(x_shape) - 2)
    rng = np.random.default_rng(7)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    bias = rng.standard_normal(k_shape[-1])
    out, ctx = K.conv_forward(x, kernel, strides, pads, dilation, 1, bias=bias,
                              activation=activation)
    g = rng.standard_normal(out.shape)
    monkeypatch.setattr(K, "_GRID_MAX_TAPS", 0)
    assert not K._grid_route_applies(ctx)
    expected = [np.array(a) for a in K.conv_gradients(ctx, g, True, True, True)]
    monkeypatch.setattr(K, "_GRID_MAX_TAPS", 1000)
    monkeypatch.setattr(K, "_GRID_MIN_CHANNELS", 1)
    assert K._grid_route_applies(ctx)
    got = K.conv_gradients(ctx, g, True, True, True)
    for name, a, b in zip(("dx", "dk", "db"), got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=name)
    ga = {None: g, "relu": g * (out > 0), "tanh": g * (1 - out * out)}[activation]
    unit = np.zeros_like(x)
    expected_dx = np.zeros(x.shape[1:])
    for index in np.ndindex(*x.shape[1:]):
        unit[(0,) + index] = 1
        expected_dx[index] = np.sum(reference_conv(unit, kernel, strides, pads, dilation) * ga)
        unit[(0,) + index] = 0
    np.testing.assert_allclose(got[0][0], expected_dx, rtol=1e-9, atol=1e-12)
    only_kernel = K.conv_gradients(ctx, g, False, True, False)
    assert only_kernel[0] is None and only_kernel[2] is None
    np.testing.assert_allclose(only_kernel[1], expected[1], rtol=1e-10, atol=1e-12)


def test_grid_route_layer_gradients_by_finite_differences(float64):
    layer = layers.Conv2D(3, 2, activation="relu", padding="same")
    x = np.random.default_rng(8).standard_normal((2, 5, 4, 9))
    layer(x)
    assert K._grid_route_applies(K.conv_forward(x, layer.kernel.numpy(), (1, 1),
                                                [(0, 1), (0, 1)], (1, 1))[1])
    check_gradients(lambda t: layer(t), [x], extra_variables=layer.trainable_weights)


def test_no_im2col_buffer_outlives_the_forward_pass():
    rng = np.random.default_rng(2)
    x, kernel = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((3, 3, 3, 4))
    out, ctx = K.conv_forward(x, kernel, (1, 1), [(1, 1), (1, 1)], (1, 1))
    held = [value for value in vars(ctx).values() if isinstance(value, np.ndarray)]
    assert sum(array.size for array in held) <= x.size + out.size + 2 * kernel.size


def test_plan_times_candidates_once_and_keeps_the_default_without_a_clear_win(monkeypatch):
    clock = [0.0]
    calls = []
    monkeypatch.setattr(K, "_PLANS", {})
    monkeypatch.setattr(K.time, "thread_time", lambda: clock[0])

    def costing(name, seconds):
        def run():
            calls.append(name)
            clock[0] += seconds
        return run
    close = {"default": costing("default", 1.0), "other": costing("other", 0.9)}
    assert K.plan("key", close) == "default"          # 10 % faster is within the noise margin
    assert calls == ["default", "other"] * 3            # interleaved, best of three
    assert K.plan("key", close) == "default" and len(calls) == 6     # remembered
    clear = {"default": costing("default", 1.0), "fast": costing("fast", 0.5)}
    assert K.plan("other key", clear) == "fast"


# ---------------------------------------------------------------------------------------
# depthwise tap loop
# ---------------------------------------------------------------------------------------
DEPTHWISE_CASES = [
    ((2, 7, 8, 3), (3, 3, 3, 2), (1, 1), [(1, 1), (1, 1)], (1, 1)),
    ((3, 9, 9, 4), (3, 2, 4, 1), (2, 3), [(0, 1), (1, 0)], (1, 1)),
    ((2, 10, 5), (3, 5, 1), (1,), [(2, 0)], (2,)),
    # 'same' stride 2 with odd sizes, batch 1; stride 2 with dilation 3 (phases 0 and 1 both
    # hold taps, spaced 3 apart); 5x5 'same' stride 1 with a multiplier; 1-D stride 2
    ((1, 11, 13, 5), (3, 3, 5, 1), (2, 2), [(1, 1), (1, 1)], (1, 1)),
    ((2, 13, 14, 3), (2, 3, 3, 1), (1, 2), [(0, 0), (2, 1)], (2, 3)),
    ((2, 6, 7, 2), (5, 5, 2, 3), (1, 1), [(2, 2), (2, 2)], (1, 1)),
    ((3, 17, 6), (4, 6, 2), (2,), [(1, 2)], (1,)),
    # stride 3 along the width with kernel 2: a phase that no tap reads
    ((2, 5, 10, 3), (2, 2, 3, 1), (1, 3), [(0, 0), (0, 0)], (1, 1)),
]


@pytest.mark.parametrize("x_shape,k_shape,strides,pads,dilation", DEPTHWISE_CASES)
def test_depthwise_tap_loop_matches_grouped_reference_and_is_adjoint(
        x_shape, k_shape, strides, pads, dilation, chunking, monkeypatch):
    monkeypatch.setattr(K, "_DEPTHWISE_BLOCK", 40)     # row blocks within a sample
    monkeypatch.setattr(K, "_GATHER_MIN_VALUES", 0)    # the routes of large shapes
    monkeypatch.setattr(K, "_DIRECT_MIN_VALUES", 0)
    rng = np.random.default_rng(3)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    out, ctx = K.depthwise_conv_forward(x, kernel, strides, pads, dilation)
    grouped = kernel.reshape(kernel.shape[:-2] + (1, -1))
    expected = reference_conv(x, grouped, strides, pads, dilation, groups=x_shape[-1])
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    dx, dk = K.depthwise_conv_backward(ctx, g)
    np.testing.assert_allclose(np.sum(out * g), np.sum(x * dx), rtol=1e-10)
    np.testing.assert_allclose(np.sum(out * g), np.sum(kernel * dk), rtol=1e-10)


@pytest.mark.parametrize("x_shape,k_shape,strides,pads", [
    ((2, 8, 8, 3), (3, 3, 3, 1), (2, 2), [(0, 1), (0, 1)]),          # 'same', even sizes
    ((1, 11, 13, 5), (3, 3, 5, 2), (2, 2), [(1, 1), (1, 1)]),        # odd, batch 1, m = 2
    ((2, 9, 10, 4), (3, 3, 4, 1), (2, 2), [(0, 0), (0, 0)]),         # 'valid'
    ((2, 7, 9, 3), (3, 3, 3, 1), (1, 2), [(1, 1), (1, 1)]),          # stride along width only
    ((2, 9, 7, 3), (3, 3, 3, 1), (2, 1), [(1, 1), (1, 1)]),          # along the rows only
    ((3, 17, 6), (4, 6, 2), (2,), [(1, 2)]),                         # 1-D, 4 taps
    ((2, 5, 10, 3), (2, 2, 3, 1), (3, 3), [(0, 0), (0, 0)]),         # rows no tap reaches
    ((2, 6, 5, 7, 2), (3, 2, 3, 2, 1), (2, 2, 3), [(0, 1), (0, 0), (1, 1)]),   # 3-D
    ((1, 2, 2, 4), (5, 5, 4, 1), (2, 2), [(1, 2), (1, 2)]),          # kernel wider than input
    ((2, 9, 7, 1), (3, 3, 1, 1), (2, 2), [(1, 1), (0, 1)]),          # one channel
    ((3, 8, 6, 2), (1, 1, 2, 1), (2, 2), [(0, 0), (0, 0)]),          # 1x1, stride 2
])
def test_depthwise_strided_input_gradient_gathered(x_shape, k_shape, strides, pads,
                                                   monkeypatch):
    """Strided input gradients gathered from the width grid: the numbers of the tap scatter
    (float64) and of a direct sum over taps."""
    rng = np.random.default_rng(8)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    dilation = (1,) * len(strides)
    out, ctx = K.depthwise_conv_forward(x, kernel, strides, pads, dilation)
    g = rng.standard_normal(out.shape)
    monkeypatch.setattr(K, "_GATHER_MIN_VALUES", 0)    # small shapes take the route too
    monkeypatch.setattr(K, "_DEPTHWISE_BLOCK", 40)     # row blocks within a sample
    gathered = K.depthwise_conv_backward(ctx, g, need_kernel=False)[0]
    monkeypatch.setattr(K, "USE_WIDTH_GATHER", False)
    scattered = K.depthwise_conv_backward(ctx, g, need_kernel=False)[0]
    np.testing.assert_allclose(gathered, scattered, rtol=1e-12, atol=1e-12)
    expected = np.zeros(np.pad(x, [(0, 0)] + list(pads) + [(0, 0)]).shape)
    m = k_shape[-1]
    for tap in np.ndindex(*k_shape[:-2]):
        index = (slice(None),) + tuple(slice(t, t + (o - 1) * s + 1, s) for t, s, o in
                                       zip(tap, strides, out.shape[1:-1]))
        expected[index] += np.sum(g.reshape(g.shape[:-1] + (-1, m)) * kernel[tap], axis=-1)
    inner = (slice(None),) + tuple(slice(lo, lo + n) for n, (lo, _) in
                                   zip(x_shape[1:-1], pads))
    np.testing.assert_allclose(gathered, expected[inner], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("x_shape,k_shape,pads,dilation", [
    ((2, 7, 8, 3), (3, 3, 3, 1), [(1, 1), (1, 1)], (1, 1)),          # 'same'
    ((1, 9, 6, 4), (3, 2, 4, 1), [(0, 0), (0, 0)], (1, 1)),          # 'valid', batch 1
    ((2, 6, 7, 2), (5, 5, 2, 1), [(2, 2), (2, 2)], (1, 1)),          # 5x5, taps off the input
    ((2, 13, 11, 3), (2, 3, 3, 1), [(1, 1), (2, 2)], (2, 2)),        # dilated
    ((3, 10, 5), (3, 5, 1), [(2, 0)], (2,)),                         # 1-D causal
    ((1, 4, 5, 6, 2), (2, 3, 2, 2, 1), [(0, 1), (1, 1), (0, 1)], (1, 1, 1)),   # 3-D
    ((2, 2, 3, 2), (5, 5, 2, 1), [(2, 2), (2, 2)], (1, 1)),          # taps reading no cell
])
def test_depthwise_kernel_gradient_from_unpadded_input(x_shape, k_shape, pads, dilation,
                                                       monkeypatch):
    """Stride-1 kernel gradients read views of the unpadded input: the same numbers as the
    padded width-phase route, and a direct sum over taps (float64)."""
    rng = np.random.default_rng(7)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    strides = (1,) * (len(x_shape) - 2)
    out, ctx = K.depthwise_conv_forward(x, kernel, strides, pads, dilation)
    g = rng.standard_normal(out.shape)
    monkeypatch.setattr(K, "_DIRECT_MIN_VALUES", 0)    # small shapes take the route too
    monkeypatch.setattr(K, "_DEPTHWISE_BLOCK", 50)     # several sample blocks
    direct = K.depthwise_conv_backward(ctx, g, need_input=False)[1]
    monkeypatch.setattr(K, "USE_DIRECT_KERNEL_GRAD", False)
    padded = K.depthwise_conv_backward(ctx, g, need_input=False)[1]
    np.testing.assert_allclose(direct, padded, rtol=1e-12, atol=1e-12)
    xp = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)])
    expected = np.zeros(k_shape)
    for tap in np.ndindex(*k_shape[:-2]):
        index = (slice(None),) + tuple(slice(t * d, t * d + o) for t, d, o in
                                       zip(tap, dilation, out.shape[1:-1]))
        expected[tap][:, 0] = np.sum(xp[index] * g, axis=tuple(range(g.ndim - 1)))
    np.testing.assert_allclose(direct, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kwargs,shape", [
    (dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2), (2, 5, 6, 3)),
    (dict(kernel_size=3, padding="same"), (1, 5, 7, 4)),                  # flipped input grad
    (dict(kernel_size=(2, 3), dilation_rate=2, padding="valid"), (2, 6, 7, 2)),
    (dict(kernel_size=3, strides=2, padding="same", data_format="channels_first"),
     (2, 3, 5, 6)),
])
def test_depthwise_layer_gradients_by_finite_differences(float64, kwargs, shape):
    layer = layers.DepthwiseConv2D(**kwargs)
    x = np.random.default_rng(4).standard_normal(shape)
    layer(x)
    check_gradients(lambda t: layer(t), [x], extra_variables=layer.trainable_weights)


@pytest.mark.parametrize("kwargs,shape", [
    (dict(filters=4, kernel_size=3, strides=(2, 1), padding="same", depth_multiplier=2),
     (2, 7, 5, 3)),                                   # gathered input gradient, m = 2
    (dict(filters=2, kernel_size=(3, 2), padding="valid"), (1, 6, 5, 3)),   # unpadded dk
])
def test_separable_2d_layer_gradients_by_finite_differences(float64, kwargs, shape,
                                                             monkeypatch):
    monkeypatch.setattr(K, "_GATHER_MIN_VALUES", 0)    # the routes of large shapes
    monkeypatch.setattr(K, "_DIRECT_MIN_VALUES", 0)
    layer = layers.SeparableConv2D(**kwargs)
    x = np.random.default_rng(9).standard_normal(shape)
    layer(x)
    check_gradients(lambda t: layer(t), [x], extra_variables=layer.trainable_weights)


def test_depthwise_1d_layer_gradients_by_finite_differences(float64):
    layer = layers.SeparableConv1D(3, 3, strides=2, padding="same", depth_multiplier=2)
    x = np.random.default_rng(5).standard_normal((2, 9, 3))
    layer(x)
    check_gradients(lambda t: layer(t), [x], extra_variables=layer.trainable_weights)


def test_depthwise_chain_in_inference_matches_the_op():
    """The inference chain (fused depthwise -> BN -> ReLU6) takes the same kernel."""
    model = keras.Sequential([keras.Input((9, 11, 4)),
                              layers.DepthwiseConv2D(3, strides=2, padding="same"),
                              layers.BatchNormalization(), layers.ReLU(6.0)])
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 9, 11, 4)).astype(np.float32) * 3
    kernel, bias = model.layers[0].get_weights()
    gamma, beta, mean = (rng.standard_normal(4).astype(np.float32) for _ in range(3))
    variance = rng.random(4).astype(np.float32) + 0.5
    model.layers[1].set_weights([gamma, beta, mean, variance])
    conv = reference_conv(x.astype(np.float64), kernel.reshape(3, 3, 1, 4), (2, 2),
                          [(1, 1), (1, 1)], (1, 1), groups=4) + bias
    normalized = (conv - mean) / np.sqrt(variance + 1e-3) * gamma + beta
    np.testing.assert_allclose(model.predict(x, verbose=0), np.clip(normalized, 0, 6),
                               rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------
POOL_CASES = [
    ((2, 9, 9, 3), (2, 2), (2, 2), [(0, 0), (0, 0)]),       # tiles (last row/col dropped)
    ((2, 9, 8, 3), (3, 3), (2, 2), [(1, 1), (0, 1)]),       # overlapping, padded
    ((2, 7, 7, 2), (3, 2), (1, 3), [(0, 0), (0, 0)]),       # gaps along one axis
    ((1, 6, 5, 7, 2), (2, 2, 2), (2, 2, 2), [(0, 0)] * 3),  # 3-D
    ((2, 10, 2), (3,), (3,), [(0, 2)]),                     # 1-D, padded end
    ((3, 8, 11, 5), (3, 2), (3, 2), [(1, 0), (0, 1)]),      # tiles a padded input, 3x2
    ((2, 5, 9, 4), (1, 3), (1, 3), [(0, 0), (0, 0)]),       # tiles, one row per window
    ((1, 4, 4, 1), (4, 4), (4, 4), [(0, 0), (0, 0)]),       # one window
]


@pytest.mark.parametrize("x_shape,pool_size,strides,pads", POOL_CASES)
def test_separable_pooling_and_first_maximum_routing_match_references(
        x_shape, pool_size, strides, pads, chunking):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, size=x_shape).astype(np.float64)     # many ties
    out, ctx = P.max_pool_forward(x, pool_size, strides, pads)
    np.testing.assert_array_equal(out, reference_pool(x, pool_size, strides, pads,
                                                      lambda w: w.max(axis=1), -np.inf))
    g = rng.standard_normal(out.shape)
    np.testing.assert_allclose(P.max_pool_backward(ctx, g),        # sums where windows overlap
                               reference_first_max_grad(x, g, pool_size, strides, pads),
                               rtol=1e-14, atol=1e-15)
    mean, avg_ctx = P.avg_pool_forward(x, pool_size, strides, pads)
    if not any(lo or hi for lo, hi in pads):
        np.testing.assert_allclose(mean, reference_pool(x, pool_size, strides, pads,
                                                        lambda w: w.mean(axis=1), 0))
    dx = P.avg_pool_backward(avg_ctx, g)
    np.testing.assert_allclose(np.sum(mean * g), np.sum(x * dx), rtol=1e-12)


@pytest.mark.parametrize("pool_size", [(2, 2), (3, 1), (2, 3)])
def test_tiled_max_pool_routing_takes_any_gradient_layout(pool_size, chunking):
    """The row route of tiling windows, with the gradient in a transposed (channels_first)
    layout and float32 values with ties at zero (ReLU outputs)."""
    rng = np.random.default_rng(7)
    x = np.maximum(rng.standard_normal((3, 9, 10, 6)), 0).astype(np.float32)
    pads = [(0, 0), (0, 0)]
    out, ctx = P.max_pool_forward(x, pool_size, pool_size, pads)
    g = np.moveaxis(rng.standard_normal((3, 6) + out.shape[1:3]).astype(np.float32), 1, -1)
    assert not g.flags.c_contiguous
    np.testing.assert_array_equal(P.max_pool_backward(ctx, g),
                                  reference_first_max_grad(x, g, pool_size, pool_size, pads))


@pytest.mark.parametrize("pool_size", [(2, 2), (3, 2)])
def test_tiled_max_pool_routing_without_ties_skips_nothing_it_needs(pool_size, chunking):
    """Distinct values (the masks settling ties are skipped) give the reference routing, and a
    batch where a NaN window (no hit) and a tied window (two hits) balance the count of hits
    still settles the tie as the masks do."""
    rng = np.random.default_rng(8)
    pads = [(0, 0), (0, 0)]
    x = rng.permutation(3 * 9 * 10 * 6).reshape(3, 9, 10, 6).astype(np.float32)
    out, ctx = P.max_pool_forward(x, pool_size, pool_size, pads)
    g = rng.standard_normal(out.shape).astype(np.float32)
    np.testing.assert_array_equal(P.max_pool_backward(ctx, g),
                                  reference_first_max_grad(x, g, pool_size, pool_size, pads))
    x[0, 0, 0, 0] = np.nan                                     # window (0, 0, 0, 0): no hit
    x[1, 0, :2, 2] = 7e4                                       # window (1, 0, 0, 2): a tie
    out, ctx = P.max_pool_forward(x, pool_size, pool_size, pads)
    routed = P.max_pool_backward(ctx, g).copy()
    assert routed[1, 0, 0, 2] == g[1, 0, 0, 2] and routed[1, 0, 1, 2] == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(P, "SKIP_MASKS_WITHOUT_TIES", False)
        np.testing.assert_array_equal(routed, P.max_pool_backward(ctx, g))


# ---------------------------------------------------------------------------------------
# sigmoid, splitting, inference release
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_vectorised_sigmoid_is_exact_in_both_tails(dtype):
    x = np.array([-np.inf, -200, -30, -15, -1e-3, 0, 1e-3, 30, 200, np.inf, np.nan], dtype)
    out = A.sigmoid_array(x)
    assert out.dtype == dtype
    with np.errstate(over="ignore"):
        expected = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    np.testing.assert_allclose(out[:-1], expected[:-1].astype(dtype), rtol=2e-7, atol=0)
    assert np.isnan(out[-1])
    big = np.random.default_rng(6).standard_normal((700, 500)).astype(dtype) * 5   # split
    reference = 1 / (1 + np.exp(-big.astype(np.float64)))
    if dtype == np.float16:                # computed in float32: within an ulp of the rounding
        np.testing.assert_array_max_ulp(A.sigmoid_array(big), reference.astype(dtype), 1)
    else:
        np.testing.assert_allclose(A.sigmoid_array(big), reference, rtol=2e-6)


def test_sigmoid_and_relu_gradients_by_finite_differences(float64):
    x = np.random.default_rng(7).standard_normal((4, 5))
    check_gradients(lambda t: keras.ops.sigmoid(t), [x])
    check_gradients(lambda t: keras.ops.relu(t), [x + np.sign(x) * 0.1])
    away_from_kinks = x * 4 + np.sign(x) * 0.1
    away_from_kinks[np.abs(away_from_kinks - 1.5) < 0.05] += 0.2
    check_gradients(lambda t: keras.ops.relu(t, max_value=1.5), [away_from_kinks])


def test_capped_relu_matches_clip_with_zero_slope_at_the_kinks():
    x = np.array([-1, 0, 0.5, 6, 7, 3], np.float32)
    v = keras.Variable(x)
    with keras.GradientTape() as tape:
        y = keras.ops.relu(v, max_value=6.0)
    np.testing.assert_array_equal(y.numpy(), np.clip(x, 0, 6))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [0, 0, 1, 0, 0, 1])


def test_run_split_covers_every_item_once_and_propagates_errors(monkeypatch):
    monkeypatch.setattr(parallel, "_THREADS", 2)
    seen = []
    parallel.run_split(lambda lo, hi: seen.extend(range(lo, hi)), 11, uses_blas=False)
    assert sorted(seen) == list(range(11))
    nested = []
    parallel.run_split(lambda lo, hi: parallel.run_split(
        lambda a, b: nested.append((a, b)), 4, uses_blas=False), 2, uses_blas=False)
    assert sorted(nested) == [(0, 4), (0, 4)]         # no second split inside a worker

    def fail(lo, hi):
        if lo > 0:
            raise ValueError("second half")
    with pytest.raises(ValueError, match="second half"):
        parallel.run_split(fail, 4, uses_blas=False)


@pytest.mark.parametrize("n, piece", [(64, 6), (64, 8), (7, 2), (5, 1), (3, 1), (9, 4)])
def test_run_split_pieces_cover_every_item_once_in_near_equal_even_pieces(n, piece,
                                                                          monkeypatch):
    bounds = parallel.pieces(n, piece)
    assert [lo for lo, _ in bounds] == [0] + [hi for _, hi in bounds[:-1]]
    assert bounds[-1][1] == n
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) <= piece and max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)
    assert len(bounds) % 2 == 0 or len(bounds) == n
    monkeypatch.setattr(parallel, "_THREADS", 2)
    calls = []
    parallel.run_split(lambda lo, hi: calls.append((lo, hi)), n, uses_blas=False, piece=piece)
    covered = sorted(i for lo, hi in calls for i in range(lo, hi))
    assert covered == list(range(n))
    if 2 * piece < n:
        assert sorted(calls) == bounds                 # one call per piece


def test_run_split_pieces_propagate_errors_and_do_not_nest(monkeypatch):
    monkeypatch.setattr(parallel, "_THREADS", 2)
    nested = []
    parallel.run_split(lambda lo, hi: parallel.run_split(
        lambda a, b: nested.append((a, b)), 4, uses_blas=False, piece=1), 6,
        uses_blas=False, piece=1)
    assert sorted(nested) == [(0, 4)] * 6

    def fail(lo, hi):
        if lo == 5:
            raise ValueError("sixth piece")
    with pytest.raises(ValueError, match="sixth piece"):
        parallel.run_split(fail, 8, uses_blas=False, piece=1)


def test_functional_inference_releases_intermediates_but_keeps_outputs():
    inputs = keras.Input(shape=(4,))
    hidden = layers.Dense(3, activation="relu")(inputs)
    side = layers.Dense(2)(hidden)
    merged = layers.Concatenate()([hidden, side])      # `hidden` read by two layers
    model = keras.Model(inputs, [hidden, layers.Dense(1)(merged)])
    x = np.random.default_rng(8).standard_normal((5, 4)).astype(np.float32)
    first, second = model.predict(x, verbose=0)
    with keras.GradientTape():                          # recording: nothing is released
        recorded = model(x)
    np.testing.assert_allclose(first, recorded[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(second, recorded[1].numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape", [(300, 200, 100), (40, 300, 900)])   # split by rows / columns
def test_split_matmul_matches_numpy_and_blas_threads_are_restored(shape, monkeypatch):
    monkeypatch.setattr(parallel, "_SPLIT_MACS", 1)
    monkeypatch.setattr(parallel, "oversubscribed", lambda: True)
    rows, depth, columns = shape
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((rows, depth)), rng.standard_normal((depth, columns))
    before = parallel._BLAS[1]() if parallel._BLAS else None
    with parallel.blas_single_threaded():
        with parallel.blas_single_threaded():                # re-entrant
            product = parallel.matmul(a, b)
            transposed = parallel.matmul(b.T, a.T)          # non-contiguous operands
    np.testing.assert_allclose(product, a @ b, rtol=1e-12)
    np.testing.assert_allclose(transposed, (a @ b).T, rtol=1e-12)
    if before is not None:
        assert parallel._BLAS[1]() == before
