"""Winograd training routes as the two threads run them: a running kernel-gradient sum per
thread made a kernel there (`winograd.kernel_grad_sum`, `kernel_from_slot_sum`) against the
direct NumPy sum and the per-chunk route; chunks cut at whole slices; larger slices inside a
two-thread split (`_SPLIT_SLICE_FACTOR`) giving the same gradients as one thread to
round-off; finite differences through Conv2D with the split's slices."""
import numpy as np
import pytest

from minikeras import layers
from minikeras.ops import conv_kernels as K
from minikeras.ops import parallel
from minikeras.ops import winograd as W

from gradcheck import check_layer_gradients
from test_fast_kernels import reference_conv


def force(monkeypatch, name):
    monkeypatch.setattr(K, "plan", lambda key, candidates, **options: name if name in candidates
                        else next(iter(candidates)))


def direct_kernel_grad(x, g, pads):
    """The kernel gradient of a 3x3 stride-1 convolution, summed window by window."""
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(x, [(0, 0)] + list(pads) + [(0, 0)]), (3, 3), axis=(1, 2))  # (n, h, w, c, 3, 3)
    return np.einsum("nhwcab,nhwf->abcf", windows[:, :g.shape[1], :g.shape[2]], g)


@pytest.mark.parametrize("x_shape, pads, filters", [
    ((5, 6, 6, 3), [(1, 1), (1, 1)], 4), ((4, 7, 5, 2), [(0, 0), (0, 0)], 3),
    ((3, 5, 6, 4), [(2, 1), (0, 2)], 5)])
def test_running_sum_over_chunks_is_the_kernel_gradient(x_shape, pads, filters, monkeypatch):
    monkeypatch.setattr(W, "_SLICE_BYTES", 1)                     # a slice per sample
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape)
    tiling = W.Tiling(x_shape[1:3], pads)
    g = rng.standard_normal((x_shape[0],) + tiling.out + (filters,))
    total = bias = None
    for lo, hi in [(0, 2), (2, 3), (3, x_shape[0])]:             # chunks of a thread
        total, bias = W.kernel_grad_sum(x[lo:hi], g[lo:hi], tiling, total,
                                        np.zeros(filters) if bias is None else bias)
    dk = W.kernel_from_slot_sum(total, np.float64)
    expected = direct_kernel_grad(x, g, pads)
    np.testing.assert_allclose(dk, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bias, g.reshape(-1, filters).sum(axis=0), rtol=1e-12)
    # The per-chunk route (reordered sum, `kernel_from_transformed`) agrees.
    per_chunk = W.kernel_from_transformed(W.kernel_grad_chunk(x, g, tiling), np.float64)
    np.testing.assert_allclose(dk, per_chunk, rtol=1e-12, atol=1e-12)


def test_slot_sum_back_transform_is_the_adjoint():
    # <G W G^T, dU> = <W, G^T dU G> with dU in the slots' order (the signs of +dY1 undone).
    rng = np.random.default_rng(12)
    w, du = rng.standard_normal((3, 3, 2, 3)), rng.standard_normal((4, 2, 2, 2, 3))
    # The slot sum carries the signs of +dY1 and of the input transform's negated row and
    # column 2.
    row_signs = np.array([1, 1, 1, -1]) * np.array([1, 1, -1, 1])
    signs = np.outer(row_signs, row_signs).reshape(4, 4, 1, 1)
    # transform_kernel's columns are in the slots' order already.
    u_slots = W.transform_kernel(w).reshape(4, 4, 2, 3) * signs[:, W._J_OF_SLOT]
    lhs = np.sum(u_slots.reshape(du.shape) * du)
    rhs = np.sum(w * W.kernel_from_slot_sum(du, np.float64))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


@pytest.mark.parametrize("bytes_per_sample, multiple, expected", [
    (K._CHUNK_BYTES // 5, 2, [(0, 4), (4, 8), (8, 10)]),
    (K._CHUNK_BYTES // 5, 3, [(0, 3), (3, 6), (6, 10)]),      # a tail under half joins
    (K._CHUNK_BYTES // 2, 3, [(0, 3), (3, 6), (6, 10)]),      # at least one slice
    (K._CHUNK_BYTES // 5, 4, [(0, 4), (4, 8), (8, 10)]),      # half a slice stays apart
    (K._CHUNK_BYTES // 5, 1, [(0, 5), (5, 10)])])
def test_chunks_are_cut_at_whole_slices(bytes_per_sample, multiple, expected):
    assert K._sample_chunks(0, 10, bytes_per_sample, multiple) == expected


@pytest.mark.parametrize("count, step, expected", [
    (16, 12, [(0, 16)]), (16, 6, [(0, 6), (6, 12), (12, 16)]), (13, 6, [(0, 6), (6, 13)]),
    (5, 6, [(0, 5)]), (12, 6, [(0, 6), (6, 12)])])
def test_a_short_last_slice_joins_the_one_before(count, step, expected, monkeypatch):
    monkeypatch.setattr(W, "slice_samples", lambda tiling, channels: step)
    assert W._sample_slices(count, None, 1) == expected


def test_slices_are_larger_inside_a_split(monkeypatch):
    monkeypatch.setattr(parallel, "_THREADS", 2)
    tiling = W.Tiling((32, 32), [(1, 1), (1, 1)])
    alone = W.slice_samples(tiling, 32)
    inside = []
    parallel.run_split(lambda lo, hi: inside.append(W.slice_samples(tiling, 32)), 2,
                       uses_blas=False)
    assert inside == [W.slice_samples(tiling, 32, W._SLICE_BYTES * W._SPLIT_SLICE_FACTOR)] * 2
    assert inside[0] > alone


@pytest.mark.parametrize("activation", [None, "relu"])
def test_two_threads_agree_with_one_in_float32(activation, monkeypatch):
    # Two threads: larger slices, chunks at whole slices, a kernel made per thread; one
    # thread: the usual slices and chunks. The same gradients to round-off, and both match
    # the direct float64 sums.
    force(monkeypatch, "winograd")
    monkeypatch.setattr(K, "_CHUNK_BYTES", 5 * 12 * 12 * (2 * 24 + 9 * 16) * 4)   # 5 samples
    rng = np.random.default_rng(13)
    x = rng.standard_normal((14, 12, 12, 16)).astype(np.float32)
    kernel = (rng.standard_normal((3, 3, 16, 24)) / 12).astype(np.float32)
    bias = rng.standard_normal(24).astype(np.float32)
    g = rng.standard_normal((14, 12, 12, 24)).astype(np.float32)
    results = {}
    for threads in (1, 2):
        monkeypatch.setattr(parallel, "_THREADS", threads)
        out, ctx = K.conv_forward(x, kernel, (1, 1), [(1, 1), (1, 1)], (1, 1), bias=bias,
                                  activation=activation)
        results[threads] = (out,) + K.conv_gradients(ctx, g, True, True, True)
        assert all(r.dtype == np.float32 for r in results[threads])
    for one, two in zip(results[1], results[2]):
        np.testing.assert_allclose(two, one, rtol=0, atol=2e-6 * np.abs(one).max())
    out = results[1][0].astype(np.float64)
    ga = g * (out > 0) if activation == "relu" else g.astype(np.float64)
    linear = reference_conv(x.astype(np.float64), kernel.astype(np.float64), (1, 1),
                            [(1, 1), (1, 1)], (1, 1)) + bias
    expected_out = np.maximum(linear, 0) if activation == "relu" else linear
    expected_dk = direct_kernel_grad(x.astype(np.float64), ga, [(1, 1), (1, 1)])
    for route in (1, 2):
        _, _, dk, db = results[route]
        np.testing.assert_allclose(results[route][0], expected_out, rtol=0,
                                   atol=2e-6 * np.abs(expected_out).max())
        np.testing.assert_allclose(dk, expected_dk, rtol=0, atol=2e-6 * np.abs(expected_dk).max())
        np.testing.assert_allclose(db, ga.reshape(-1, 24).sum(axis=0), rtol=0,
                                   atol=2e-6 * np.abs(ga).sum(axis=(0, 1, 2)).max())


def test_conv2d_gradients_by_finite_differences_on_two_threads(float64, monkeypatch):
    force(monkeypatch, "winograd")
    monkeypatch.setattr(parallel, "_THREADS", 2)
    monkeypatch.setattr(K, "_CHUNK_BYTES", 1)              # a chunk per slice
    layer = layers.Conv2D(3, 3, padding="same", activation="tanh")
    check_layer_gradients(layer, np.random.default_rng(14).standard_normal((4, 5, 6, 2)))
