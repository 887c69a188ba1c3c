"""Training batch normalization split over two threads walks runs of several tiles per NumPy
call (`batch_norm._BLOCK_TILES`), with stacked partial sums per tile: the same numbers, bit for
bit, as one call per tile on one thread, for folded channels-last rows, a shorter last tile and
the channels-first (3-D) view."""
import numpy as np
import pytest

from minikeras.core.tensor import Variable, compute_gradients, recording_scope
from minikeras.ops import batch_norm as bn_ops
from minikeras.ops import parallel
from minikeras import ops as kops

# (shape, reduced axes, tile elements): 16 equal tiles; 11 tiles with a shorter last one;
# channels-first 3-D view (A, K, B); a dense layer's (batch, units).
CASES = [((32, 8, 8, 16), (0, 1, 2), 2048), ((21, 6, 6, 10), (0, 1, 2), 700),
         ((24, 6, 5, 5), (0, 2, 3), 600), ((300, 40), (0,), 1200)]
ACTIVATIONS = (None, "relu", "relu6", "sigmoid", "tanh")


def _run(shape, axes, activation, seed=5):
    rng = np.random.default_rng(seed)
    kept = [n for i, n in enumerate(shape) if i not in axes]
    pshape = (kept[0],) if axes == tuple(range(len(shape) - 1)) else \
        tuple(1 if i in axes else n for i, n in enumerate(shape))
    x = Variable(rng.standard_normal(shape).astype(np.float32) * 3 + 2)
    gamma = Variable(rng.standard_normal(pshape).astype(np.float32))
    beta = Variable(rng.standard_normal(pshape).astype(np.float32))
    weights = rng.standard_normal(shape).astype(np.float32)
    with parallel.blas_single_threaded():
        with recording_scope():
            out, moments = bn_ops.batch_norm_train(x, gamma, beta, axes, 1e-3,
                                                   activation=activation)
            loss = kops.sum(kops.multiply(out, weights))
        grads = compute_gradients(loss, [x, gamma, beta])
    return [out.data, moments.mean, moments.variance] + [np.asarray(g.data) for g in grads]


def _set_tiles(monkeypatch, tile_elements, threads, block_tiles=2):
    monkeypatch.setattr(bn_ops, "_TILE_ELEMENTS", tile_elements)
    monkeypatch.setattr(bn_ops, "_THREADED_ELEMENTS", 1)
    monkeypatch.setattr(bn_ops, "_SHORT_BUFFER_ELEMENTS", 1)
    monkeypatch.setattr(bn_ops, "_BLOCK_TILES", block_tiles)
    monkeypatch.setattr(parallel, "_THREADS", threads)
    bn_ops._LAYOUTS.clear()


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape,axes,tile_elements", CASES)
@pytest.mark.parametrize("block_tiles", [2, 3])
def test_runs_of_tiles_on_two_threads_give_the_numbers_of_one_tile_at_a_time(
        shape, axes, tile_elements, activation, block_tiles, monkeypatch):
    if parallel._BLAS is None:
        pytest.skip("no OpenBLAS thread control: run_split keeps BLAS work on one thread")
    _set_tiles(monkeypatch, tile_elements, threads=1)
    layout = bn_ops._layout(shape, axes)
    assert layout.view is not None and len(layout.tiles()) >= 4
    one_tile_calls = _run(shape, axes, activation)

    _set_tiles(monkeypatch, tile_elements, threads=2, block_tiles=block_tiles)
    runs = []
    channel_sums_into = bn_ops._Layout.channel_sums_into

    def recording(self, run, lo, hi, out):
        runs.append(hi - lo)
        return channel_sums_into(self, run, lo, hi, out)
    monkeypatch.setattr(bn_ops._Layout, "channel_sums_into", recording)
    split_runs = _run(shape, axes, activation)
    bn_ops._LAYOUTS.clear()

    assert 1 < max(runs) <= block_tiles      # calls over several tiles were made
    for got, expected in zip(split_runs, one_tile_calls):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected)


def test_stacked_sums_of_a_run_with_a_shorter_last_tile():
    """Per-tile channel sums and dot products of a run (equal tiles stacked, a shorter last tile
    on its own) equal the NumPy sums of each tile."""
    rng = np.random.default_rng(2)
    layout = bn_ops._Layout((701, 3), (0,))           # a prime count of rows: no fold
    assert layout.fold == 1
    layout.rows_per_tile = 100                        # 8 tiles: 7 of 88 rows, one of 85
    tiles = layout.tiles()
    assert tiles[-1].stop - tiles[-1].start < tiles[0].stop - tiles[0].start
    view = rng.standard_normal(layout.view).astype(np.float32)
    other = rng.standard_normal(layout.view).astype(np.float32)
    sums = np.zeros((len(tiles), layout.view[1]), np.float32)
    dots = np.zeros_like(sums)
    lo, hi = 1, len(tiles)
    rows = layout.rows_of(lo, hi)
    layout.channel_sums_into(view[rows], lo, hi, sums)
    layout.channel_dots_into(view[rows], other[rows], lo, hi, dots)
    for index in range(lo, hi):
        tile = tiles[index]
        np.testing.assert_allclose(sums[index], view[tile].sum(0), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(dots[index], (view[tile] * other[tile]).sum(0), rtol=1e-5,
                                   atol=1e-5)
    assert not sums[0].any() and not dots[0].any()    # only the run's rows are written
