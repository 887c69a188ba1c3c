"""`parallel.matmul` in a one-BLAS-thread step splits a large product over two threads only
when each thread's half is not thin (`_split_pays`): a split by columns into runs of fewer than
64 floats of `b`, or by rows with a narrow `b`, lost to one thread (a Dense layer after a large
Flatten at a small batch: (9, 100352) @ (100352, 32)). Either way the same bits."""
import numpy as np
import pytest

from minikeras.ops import parallel


@pytest.mark.parametrize("rows, columns, expected", [
    (9, 32, False), (24, 32, False), (9, 64, False),     # columns split, halves under 64
    (9, 128, True), (40, 900, True),                     # columns split, wide halves
    (32, 9, False), (100, 10, False),                    # rows split, narrow b
    (32, 32, True), (300, 100, True)])                   # rows split
def test_split_pays_only_for_halves_that_are_not_thin(rows, columns, expected):
    assert parallel._split_pays(rows, columns) is expected


@pytest.mark.parametrize("shape, split", [((9, 700, 32), False), ((9, 700, 160), True),
                                          ((48, 700, 10), False), ((48, 700, 40), True)])
def test_thin_halves_run_on_one_thread_with_the_split_products_bits(shape, split, monkeypatch):
    monkeypatch.setattr(parallel, "_SPLIT_MACS", 1)
    monkeypatch.setattr(parallel, "oversubscribed", lambda: True)
    rows, depth, columns = shape
    rng = np.random.default_rng(21)
    a = rng.standard_normal((rows, depth)).astype(np.float32)
    b = rng.standard_normal((depth, columns)).astype(np.float32)
    splits = []
    real_split = parallel._split
    monkeypatch.setattr(parallel, "_split", lambda *args: (splits.append(args[1]),
                                                           real_split(*args)))
    with parallel.blas_single_threaded():
        routed = parallel.matmul(a, b)
        assert bool(splits) is (split and parallel.can_split())
        monkeypatch.setattr(parallel, "_split_pays", lambda rows, columns: not split)
        other = parallel.matmul(a, b)
    np.testing.assert_array_equal(routed, other)
    np.testing.assert_allclose(routed, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
