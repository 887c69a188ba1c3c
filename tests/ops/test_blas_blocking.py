"""One-BLAS-thread products give the bits of BLAS' threaded products (ops/blas_blocking.py), so
a seeded fit's numbers do not depend on the BLAS policy the machine's load picks."""
import numpy as np
import pytest

from minikeras.ops import blas_blocking, parallel

DEPTHS = (300, 513, 600, 784, 1000, 1500, 4097, 20000)


def test_threaded_cuts_closed_form():
    cuts = blas_blocking.threaded_cuts_for
    assert cuts(784, 0) == ()                       # no block depth known: plain products
    assert cuts(448, 448) == ()
    assert cuts(784, 448) == (392,)
    assert cuts(513, 448) == (257,)
    assert cuts(896, 448) == ()                     # two whole blocks: both drivers agree
    # whole blocks while two are left (one plain product), then the rest (552) halved
    assert cuts(1000, 448) == (448, 724)
    assert cuts(2000, 512) == (1024, 1512)
    assert cuts(65536, 448) == (64960, 65248)       # at most two cuts, whatever the depth
    # with the one-thread driver's rounding known, only where the two drivers' halves differ
    assert cuts(512, 448, 16) == ()                 # 256 + 256 both
    assert cuts(784, 448, 16) == (392,)             # 400 + 384 on one thread
    assert cuts(65536, 448, 16) == ()               # rest 576: 288 + 288 both
    assert cuts(1000, 448, 16) == (448, 724)        # rest 552: 288 + 264 on one thread


@pytest.mark.parametrize("cuts", [(), (100,), (3, 250, 251)])
def test_matmul_into_is_the_product(cuts):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20, 300), dtype=np.float32)
    b = rng.standard_normal((300, 30), dtype=np.float32)
    out = blas_blocking.matmul_into(a, b, np.empty((20, 30), np.float32), cuts)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    if not cuts:
        np.testing.assert_array_equal(out, a @ b)


def _threads_or_skip():
    if parallel._BLAS is None:
        pytest.skip("no OpenBLAS thread control: one route only")
    if not blas_blocking.threaded_cuts(784, np.float32, *parallel._BLAS):
        pytest.skip("this BLAS cuts K = 784 alike on one and two threads, or unlike OpenBLAS")


@pytest.fixture
def one_blas_thread_steps(monkeypatch):
    monkeypatch.setattr(parallel, "_THREADS", 2)
    monkeypatch.setattr(parallel, "oversubscribed", lambda: False)
    monkeypatch.setattr(parallel, "_POLICY", "single")


def _threaded(a, b):
    set_threads, get_threads = parallel._BLAS
    previous = get_threads()
    set_threads(2)
    try:
        return a @ b
    finally:
        set_threads(previous)


@pytest.mark.parametrize("depth", DEPTHS + (512,))
@pytest.mark.parametrize("rows, columns", [(128, 512), (512, 128)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_products_give_the_threaded_bits(one_blas_thread_steps, depth, rows, columns,
                                               dtype):
    _threads_or_skip()
    rng = np.random.default_rng(depth)
    a = rng.random((rows, depth)).astype(dtype)
    b = rng.standard_normal((depth, columns)).astype(dtype)
    with parallel.blas_single_threaded():
        assert parallel._BLAS[1]() == 1
        split = parallel.matmul(a, b)
    np.testing.assert_array_equal(split, _threaded(a, b))


@pytest.mark.parametrize("depth", DEPTHS)
def test_paired_products_give_the_threaded_bits(one_blas_thread_steps, depth):
    _threads_or_skip()
    rng = np.random.default_rng(depth)
    g = rng.standard_normal((128, depth), dtype=np.float32)
    w = rng.standard_normal((512, depth), dtype=np.float32)
    x = rng.standard_normal((128, 512), dtype=np.float32)
    with parallel.blas_single_threaded():
        gx, gw = parallel.matmul_pair((g, w.T), (x.T, g))
    np.testing.assert_array_equal(gx, _threaded(g, w.T))
    np.testing.assert_array_equal(gw, _threaded(x.T, g))


def test_mlp_fit_is_the_same_on_one_blas_thread_and_on_blas_threads(monkeypatch):
    """784 inputs (MNIST's) and 600 units: the first product's and the input gradients' inner
    dimensions are cut unlike on one thread by OpenBLAS' threads."""
    _threads_or_skip()
    import minikeras as keras
    rng = np.random.default_rng(0)
    x = rng.random((256, 784), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 10, 256), 10)
    monkeypatch.setattr(parallel, "_THREADS", 2)
    monkeypatch.setattr(parallel, "oversubscribed", lambda: False)
    results = {}
    for policy in ("single", "threads"):
        monkeypatch.setattr(parallel, "_POLICY", policy)
        keras.utils.set_random_seed(1)
        model = keras.Sequential([
            keras.Input((784,)), keras.layers.Dense(600, activation="relu"),
            keras.layers.Dropout(0.2), keras.layers.Dense(600, activation="relu"),
            keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
        history = model.fit(x, y, batch_size=128, epochs=2, verbose=0)
        results[policy] = history.history["loss"], model.get_weights()
    assert results["single"][0] == results["threads"][0]
    for single, threads in zip(results["single"][1], results["threads"][1]):
        np.testing.assert_array_equal(single, threads)
