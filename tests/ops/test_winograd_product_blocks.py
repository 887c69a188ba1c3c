"""Winograd slice products in row blocks (`winograd._product_in_blocks`, for OpenBLAS'
small-matrix kernels): the same as one stacked product over the transforms' strided operands,
for block counts with and without a remainder, and whole convolutions and their gradients
through blocks of a few rows against the direct sum and the adjoint identity."""
import numpy as np
import pytest

from minikeras.ops import conv_kernels as K
from minikeras.ops import winograd as W

from test_fast_kernels import reference_conv


def pair_operand(rng, rows, channels, dtype):
    """A `(4, 2, rows, c)` view with row stride 2c, as `_InputTransform.operands` lays them."""
    pairs = rng.standard_normal((4, 2, rows, 2, channels)).astype(dtype)
    return pairs[:, 0].transpose(0, 2, 1, 3)


@pytest.mark.parametrize("rows, channels, filters, limit", [
    (10, 3, 4, 12 * 10),        # 10 rows, 10 a block: one product
    (10, 3, 4, 12 * 5),         # two whole blocks
    (11, 3, 4, 12 * 4),         # 3 blocks of 4 rows: two whole, a remainder of 3
    (37, 5, 2, 10 * 6),         # 7 blocks of 6 rows: six whole, a remainder of 1
    (9, 2, 3, 1),               # one row a block
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocks_give_the_stacked_product(rows, channels, filters, limit, dtype, monkeypatch):
    monkeypatch.setattr(W, "_SMALL_PRODUCT_MACS", limit)
    rng = np.random.default_rng(0)
    operand = pair_operand(rng, rows, channels, dtype)
    slots = rng.standard_normal((4, 4, channels, filters)).astype(dtype)
    kernel = slots[:, 1:3]                              # a strided kernel pair, as the kernels
    products = np.full((4, 4, rows, filters), np.nan, dtype)
    out = products[:, 0::3]                             # a strided output pair
    W._product_in_blocks(operand, kernel, out)
    expected = np.einsum("iqrc,iqcf->iqrf", operand.astype(np.float64),
                         kernel.astype(np.float64))
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)
    assert np.isnan(products[:, 1:3]).all()             # nothing written outside `out`


def test_row_blocks_are_views():
    array = np.arange(4 * 10 * 3.0).reshape(4, 10, 3)[:, ::-1][:, :9]
    blocks = W._row_blocks(array, 3, 3)
    assert np.shares_memory(blocks, array)
    np.testing.assert_array_equal(blocks.reshape(4, 9, 3), array)


@pytest.mark.parametrize("x_shape, pads", [((2, 6, 6, 3), [(1, 1), (1, 1)]),
                                           ((3, 7, 5, 4), [(1, 1), (1, 1)])])
def test_convolution_and_gradients_in_small_blocks(x_shape, pads, monkeypatch):
    monkeypatch.setattr(W, "_SMALL_PRODUCT_MACS", 7 * x_shape[-1] * 5)   # 7-row blocks
    monkeypatch.setattr(K, "plan", lambda key, candidates, **options: "winograd"
                        if "winograd" in candidates else next(iter(candidates)))
    rng = np.random.default_rng(1)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal((3, 3, x_shape[-1], 5))
    out, ctx = K.conv_forward(x, kernel, (1, 1), pads, (1, 1))
    linear = reference_conv(x, kernel, (1, 1), pads, (1, 1))
    np.testing.assert_allclose(out, linear, rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    dx, dk, _ = K.conv_gradients(ctx, g, True, True)
    np.testing.assert_allclose(np.sum(x * dx), np.sum(linear * g), rtol=1e-10)
    np.testing.assert_allclose(np.sum(kernel * dk), np.sum(linear * g), rtol=1e-10)
