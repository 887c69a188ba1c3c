"""`parallel.matmul` runs products with a thin inner dimension (a classifier's input gradient,
128x10 @ 10x512) on one BLAS thread, the previous count restored after; the same bits as
OpenBLAS' own threads give, so the route never changes a number."""
import numpy as np

import pytest

from minikeras.ops import parallel
from fake_blas import install_fake_blas


def test_thin_product_runs_on_one_blas_thread_and_restores_the_count(monkeypatch):
    blas = install_fake_blas(monkeypatch, oversubscribed=False)
    rng = np.random.default_rng(3)
    gradient = rng.standard_normal((128, 10)).astype(np.float32)
    kernel = rng.standard_normal((512, 10)).astype(np.float32)
    product = parallel.matmul(gradient, kernel.T)
    assert blas.history == [1, 2]
    assert blas.threads == 2
    np.testing.assert_array_equal(product, gradient @ kernel.T)


@pytest.mark.parametrize("shape", [(128, 17, 512),      # inner dimension not thin
                                   (512, 10, 256),      # more rows than columns
                                   (256, 10, 1024)])    # output above _THIN_OUTPUT
def test_other_products_keep_the_blas_threads(shape, monkeypatch):
    blas = install_fake_blas(monkeypatch, oversubscribed=False)
    rows, depth, columns = shape
    a, b = np.ones((rows, depth), np.float32), np.ones((depth, columns), np.float32)
    np.testing.assert_array_equal(parallel.matmul(a, b), np.full((rows, columns), depth))
    assert blas.history == []


def test_thin_product_inside_one_thread_blas_changes_nothing(monkeypatch):
    blas = install_fake_blas(monkeypatch, oversubscribed=False)
    blas.threads = 1
    parallel.matmul(np.ones((4, 3)), np.ones((3, 5)))
    assert blas.history == []


def test_blas_threads_restored_after_an_error(monkeypatch):
    blas = install_fake_blas(monkeypatch, oversubscribed=False)
    with pytest.raises(ValueError):
        parallel.matmul(np.ones((4, 3)), np.ones((2, 5)))
    assert blas.history == [1, 2]


@pytest.mark.skipif(parallel._BLAS is None, reason="no OpenBLAS in this process")
@pytest.mark.parametrize("depth", [1, 2, 3, 7, 10, 15, 16])
def test_thin_products_have_the_same_bits_on_one_and_two_blas_threads(depth):
    setter, getter = parallel._BLAS
    before = getter()
    rng = np.random.default_rng(depth)
    operands = [(rng.standard_normal((128, depth)).astype(np.float32),
                 rng.standard_normal((512, depth)).astype(np.float32).T),   # g @ W.T
                (rng.standard_normal((100, depth)).astype(np.float32),
                 rng.standard_normal((depth, 333)).astype(np.float32))]
    try:
        for a, b in operands:
            setter(1)
            one = a @ b
            setter(2)
            two = a @ b
            np.testing.assert_array_equal(one, two)
    finally:
        setter(before)
