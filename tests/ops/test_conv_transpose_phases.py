"""The forward routes of transposed convolutions (ops/conv_transpose_kernels.py: phases,
gather, scatter-add) against direct loops and one another, and the gradients
against every route by adjointness and against finite differences."""
import itertools

import numpy as np
import pytest

from minikeras.ops import conv_transpose_kernels


def _direct(x, kernel, strides, pads, output_spatial):
    """z[o] = sum x[i] @ k[t].T over i * s + t = o + lo, in float64 loops."""
    z = np.zeros((x.shape[0],) + tuple(output_spatial) + (kernel.shape[-2],))
    for i in itertools.product(*map(range, x.shape[1:-1])):
        for t in itertools.product(*map(range, kernel.shape[:-2])):
            o = tuple(a * s + b - lo for a, b, s, (lo, _) in zip(i, t, strides, pads))
            if all(0 <= v < n for v, n in zip(o, output_spatial)):
                z[(slice(None),) + o] += x[(slice(None),) + i].astype(np.float64) \
                    @ kernel[t].T.astype(np.float64)
    return z


def _geometry(size_in, k, s, padding, output_padding):
    """Keras' output size and the (lo, hi) padding ops/conv.py derives from it."""
    pad = k // 2 if padding == "same" else 0
    if output_padding is None:
        size = size_in * s if padding == "same" else size_in * s + max(k - s, 0)
    else:
        size = (size_in - 1) * s + k - 2 * pad + output_padding
    if padding == "same":
        total = max((size_in - 1) * s + k - size, 0)
        return size, (total // 2, total - total // 2)
    return size, (0, 0)


def _case(rank, sizes, kernel_size, strides, padding, output_padding, seed=0, cin=3, filters=2):
    rng = np.random.default_rng(seed)
    geometry = [_geometry(n, k, s, padding, op) for n, k, s, op in
                zip(sizes, kernel_size, strides, output_padding)]
    output_spatial = tuple(size for size, _ in geometry)
    pads = [pad for _, pad in geometry]
    x = rng.standard_normal((2,) + tuple(sizes) + (cin,)).astype(np.float32)
    kernel = rng.standard_normal(tuple(kernel_size) + (filters, cin)).astype(np.float32)
    return x, kernel, tuple(strides), pads, output_spatial


CASES = [
    # rank, input sizes, kernel, strides, padding, output_padding
    (1, (5,), (3,), (2,), "same", (None,)),
    (1, (4,), (4,), (2,), "valid", (None,)),
    (1, (4,), (2,), (3,), "valid", (1,)),       # kernel smaller than the stride: empty phases
    (1, (3,), (5,), (3,), "same", (2,)),
    (2, (3, 4), (3, 3), (2, 2), "same", (None, None)),
    (2, (3, 3), (4, 4), (2, 2), "same", (None, None)),     # even kernel
    (2, (3, 2), (5, 3), (2, 3), "valid", (1, 2)),
    (2, (4, 3), (3, 2), (2, 1), "same", (1, None)),        # strided on one axis only
    (2, (2, 3), (1, 1), (2, 2), "valid", (None, None)),
    (2, (3, 3), (3, 3), (1, 1), "same", (None, None)),     # stride 1: one phase
    (3, (2, 3, 2), (3, 2, 3), (2, 2, 2), "same", (None, None, 1)),
    (3, (2, 2, 2), (2, 3, 3), (2, 1, 3), "valid", (None, 0, None)),
]


ROUTES = ("gather", "phases", "scatter")


def _forward(route, x, kernel, strides, pads, output_spatial, dilation=None):
    dilation = dilation or (1,) * len(strides)
    return conv_transpose_kernels.conv_transpose_forward(x, kernel, strides, pads, dilation,
                                               output_spatial, route=route)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", CASES)
def test_routes_match_direct_loops(case, route):
    x, kernel, strides, pads, output_spatial = _case(*case)
    expected = _direct(x, kernel, strides, pads, output_spatial)
    out, _ = _forward(route, x, kernel, strides, pads, output_spatial)
    assert out.dtype == np.float32 and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_gather_route_with_dilation_matches_the_scatter_add_route():
    x, kernel, strides, pads, _ = _case(2, (3, 4), (3, 2), (2, 3), "valid", (None, None))
    output_spatial = (2 * 2 + 2 * 2 + 1, 3 * 3 + 1 * 2 + 1)
    gathered, _ = _forward("gather", x, kernel, strides, pads, output_spatial, (2, 2))
    scattered, _ = _forward("scatter", x, kernel, strides, pads, output_spatial, (2, 2))
    assert np.abs(scattered).max() > 0
    np.testing.assert_allclose(gathered, scattered, atol=1e-5)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", CASES)
def test_gradients_are_the_adjoint_of_every_route_and_match_finite_differences(case, route):
    x, kernel, strides, pads, output_spatial = _case(*case, seed=2)
    out, ctx = _forward(route, x, kernel, strides, pads, output_spatial)
    g = np.random.default_rng(3).standard_normal(out.shape).astype(np.float32)
    dx, dk = conv_transpose_kernels.conv_transpose_backward(ctx, g)
    # Linear in x: <A x, g> = <x, A^T g>; linear in the kernel likewise.
    inner = np.sum(out.astype(np.float64) * g)
    assert np.sum(x.astype(np.float64) * dx) == pytest.approx(inner, rel=1e-4, abs=1e-4)
    assert np.sum(kernel.astype(np.float64) * dk) == pytest.approx(inner, rel=1e-4, abs=1e-4)
    # Central differences of <forward, g> on a few kernel and input entries (float64 loops).
    rng = np.random.default_rng(4)
    for name, array, grad in (("kernel", kernel, dk), ("x", x, dx)):
        for flat in rng.choice(array.size, 3, replace=False):
            index = np.unravel_index(flat, array.shape)
            sums = []
            for sign in (1, -1):
                moved = array.astype(np.float64)
                moved[index] += sign * 1e-3
                args = (moved, kernel) if name == "x" else (x, moved)
                sums.append(np.sum(_direct(*args, strides, pads, output_spatial) * g))
            numeric = (sums[0] - sums[1]) / 2e-3
            assert grad[index] == pytest.approx(numeric, rel=1e-3, abs=1e-3)


def test_large_batches_split_over_chunks_give_the_same_numbers():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((96, 7, 7, 16)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 32, 16)).astype(np.float32)
    outs = [_forward(route, x, kernel, (2, 2), [(0, 1)] * 2, (14, 14))[0] for route in ROUTES]
    np.testing.assert_allclose(outs[0], outs[2], atol=1e-4)
    np.testing.assert_allclose(outs[1], outs[2], atol=1e-4)


def test_route_choice():
    applies = conv_transpose_kernels.applies
    # Strided 'same': the same multiplies as the scatter-add route.
    assert applies((8, 7, 7, 64), (3, 3, 32, 64), (2, 2), [(0, 1)] * 2, (1, 1), (14, 14))
    # Stride 1 'same': also the same.
    assert applies((8, 28, 28, 32), (3, 3, 1, 32), (1, 1), [(1, 1)] * 2, (1, 1), (28, 28))
    # A 3x3 input grown to 7x7 by a 5x5 kernel: 5.4x the multiplies on zeros.
    assert not applies((8, 3, 3, 384), (5, 5, 192, 384), (1, 1), [(0, 0)] * 2, (1, 1), (7, 7))
    # Dilation and empty inputs keep the scatter-add route.
    assert not applies((8, 7, 7, 4), (3, 3, 2, 4), (2, 2), [(0, 1)] * 2, (2, 2), (14, 14))
    assert not applies((8, 7, 7, 0), (3, 3, 2, 0), (2, 2), [(0, 1)] * 2, (1, 1), (14, 14))


def test_the_op_plans_a_route_and_gives_the_same_numbers(monkeypatch):
    import importlib
    conv_module = importlib.import_module("minikeras.ops.conv")
    chosen = []
    plan = conv_transpose_kernels._transpose_route
    monkeypatch.setattr(conv_transpose_kernels, "_transpose_route",
                        lambda *args: chosen.append(plan(*args)) or chosen[-1])
    x, kernel, strides, pads, output_spatial = _case(*CASES[5])
    out = conv_module.conv_transpose(x, kernel, strides, "same", (1, 1), output_spatial)
    assert chosen and chosen[0] in ROUTES
    expected = _direct(x, kernel, strides, pads, output_spatial)
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-5)
