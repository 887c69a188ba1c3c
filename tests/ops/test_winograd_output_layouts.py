"""The Winograd output transform's two-slot passes and its interleaving copy of channel cells
(`winograd._OutputTransform`): against A^T M A computed per tile by einsum, for even and odd
output sizes and for outputs whose channel runs are strided or not contiguous at all; the
forward kernel transform's sign and slot convention against G W G^T; the kept wide bias of an
inference chain (`WideBias.of`) after its array changes in place; the nested ufunc-buffer
setting."""
import numpy as np
import pytest

from minikeras.ops import winograd as W

_A_T = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]])
# The input transform negates V's row i = 2 and column j = 2: so do the products'.
_FORWARD_SIGNS = np.array([1.0, 1.0, -1.0, 1.0])


def _stored(m_standard):
    """`(4, 4, tiles, f)` products in the (i, j) order and signs of G W G^T -> `(16, tiles,
    f)` as `_OutputTransform` takes them (signs applied, columns in the slots' order)."""
    signed = m_standard * np.multiply.outer(_FORWARD_SIGNS, _FORWARD_SIGNS)[:, :, None, None]
    return signed[:, W._J_OF_SLOT].reshape(16, *m_standard.shape[2:])


def _expected(m_standard, count, tiling):
    """A^T M A per tile, interleaved into `(count, *tiling.out, f)` (cropped)."""
    th, tw = tiling.tiles
    filters = m_standard.shape[-1]
    y = np.einsum("ai,ijtf,bj->abtf", _A_T, m_standard, _A_T)
    y = y.reshape(2, 2, count, th, tw, filters).transpose(2, 3, 0, 4, 1, 5)
    return y.reshape(count, 2 * th, 2 * tw, filters)[:, :tiling.out[0], :tiling.out[1]]


@pytest.mark.parametrize("spatial, pads", [((6, 8), [(1, 1), (1, 1)]),
                                           ((7, 5), [(1, 1), (1, 1)]),
                                           ((5, 6), [(0, 0), (0, 0)])])
@pytest.mark.parametrize("layout", ["contiguous", "strided cells", "reversed channels"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_transform_matches_the_per_tile_reference(spatial, pads, layout, dtype):
    rng = np.random.default_rng(21)
    tiling = W.Tiling(spatial, pads)
    count, filters = 3, 5
    tiles = count * tiling.tiles_per_sample
    m_standard = rng.standard_normal((4, 4, tiles, filters)).astype(dtype)
    expected = _expected(m_standard.astype(np.float64), count, tiling)
    shape = (count,) + tiling.out + (filters,)
    if layout == "contiguous":
        out = np.full(shape, np.nan, dtype)
    elif layout == "strided cells":          # channel runs contiguous, cells further apart
        out = np.full(shape[:-1] + (filters + 3,), np.nan, dtype)[..., 1:1 + filters]
    else:                                    # no contiguous channel run: float by float
        out = np.full(shape, np.nan, dtype)[..., ::-1]
    W.transform_output(_stored(m_standard), tiling, count, out)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=0, atol=tolerance)


def test_output_transform_reused_for_two_outputs_writes_each():
    # The cell view is taken of each call's output, not kept from the first.
    rng = np.random.default_rng(22)
    tiling = W.Tiling((4, 4), [(1, 1), (1, 1)])
    transform = W._OutputTransform(tiling, 2, 3, np.float32)
    results = []
    for _ in range(2):
        m_standard = rng.standard_normal((4, 4, 2 * tiling.tiles_per_sample, 3))
        transform.m[...] = _stored(m_standard)
        out = np.empty((2,) + tiling.out + (3,), np.float32)
        with W._short_ufunc_buffer():
            transform.run(out)
        results.append((out, _expected(m_standard, 2, tiling)))
    for out, expected in results:
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


def test_kernel_transform_is_g_w_gt_in_slot_order():
    rng = np.random.default_rng(23)
    kernel = rng.standard_normal((3, 3, 2, 4))
    standard = np.einsum("ia,abcf,jb->ijcf", W._G, kernel, W._G)
    np.testing.assert_allclose(W.transform_kernel(kernel).reshape(4, 4, 2, 4),
                               standard[:, W._J_OF_SLOT], rtol=1e-14, atol=1e-14)


def test_signed_input_and_plain_kernel_give_the_products_the_output_transform_takes():
    # V (signed) times U (plain) per position: the products `_stored` lays out.
    rng = np.random.default_rng(29)
    tiling = W.Tiling((4, 6), [(1, 1), (1, 1)])
    x, kernel = rng.standard_normal((2, 4, 6, 3)), rng.standard_normal((3, 3, 3, 5))
    v = W.transform_input(W.padded(x, tiling), tiling)               # (4, 2, tiles, 2, c)
    products = np.matmul(v.transpose(0, 1, 3, 2, 4), W.transform_kernel(kernel).reshape(
        4, 2, 2, 3, 5))                                               # (i, p, q, tiles, f)
    b_t = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
    windows = np.lib.stride_tricks.sliding_window_view(W.padded(x, tiling), (4, 4), (1, 2))
    d = windows[:, ::2, ::2].transpose(4, 5, 0, 1, 2, 3).reshape(4, 4, -1, 3)
    m_standard = np.einsum("ijtc,ijcf->ijtf",
                           np.einsum("ia,abtc,jb->ijtc", b_t, d, b_t),
                           np.einsum("ia,abcf,jb->ijcf", W._G, kernel, W._G))
    np.testing.assert_allclose(products.reshape(16, -1, 5), _stored(m_standard),
                               rtol=1e-12, atol=1e-12)


def test_kept_wide_bias_follows_values_changed_in_place():
    vector = np.arange(5, dtype=np.float32)
    first = W.WideBias.of(vector, np.float32)
    assert W.WideBias.of(vector, np.float32) is first
    vector[2] = 40.0                         # a variable assigned in place
    second = W.WideBias.of(vector, np.float32)
    assert second is not first
    np.testing.assert_array_equal(second.wide, np.tile(vector, second.fold))
    rows = np.zeros((2 * second.fold + 1, 5), np.float32)
    second.add_to(rows)
    np.testing.assert_array_equal(rows, np.broadcast_to(vector, rows.shape))


def test_nested_short_ufunc_buffers_set_once_and_restore():
    before = np.getbufsize()
    with W._short_ufunc_buffer():
        assert np.getbufsize() == W._UFUNC_BUFFER
        with W._short_ufunc_buffer():
            assert np.getbufsize() == W._UFUNC_BUFFER
        assert np.getbufsize() == W._UFUNC_BUFFER
    assert np.getbufsize() == before


def test_slice_products_are_dropped_with_their_input_transform():
    # An input transform evicted from the per-thread cache must not be kept alive (with its
    # buffers) by the product views an output transform made for it.
    import gc
    tiling = W.Tiling((4, 4), [(1, 1), (1, 1)])
    outputs = W._OutputTransform(tiling, 2, 3, np.float32)
    inputs = W._InputTransform(tiling, 2, 5, np.float32)
    products = outputs.products_from(inputs)
    assert outputs.products_from(inputs) is products
    del inputs, products
    gc.collect()
    assert len(outputs._slice_products) == 0
