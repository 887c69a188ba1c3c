"""blas_threads.split_on_blas_worker: elementwise halves, the second on OpenBLAS' own worker
thread, in steps that keep BLAS' threads (the idle mlp's Adam update)."""
import threading

import numpy as np

import pytest

from minikeras.ops import blas_threads, parallel

pytestmark = pytest.mark.skipif(
    blas_threads._WORKER_HALVES is None or parallel._BLAS is None or parallel._THREADS < 2,
    reason="needs NumPy's OpenBLAS (with gotoblas_pthread) and two cores")


@pytest.fixture
def blas_threads_step(monkeypatch):
    """Inside a step that keeps BLAS on two threads (the policy's choice on a quiet machine)."""
    monkeypatch.setattr(parallel, "_POLICY", "threads")
    setter, getter = parallel._BLAS
    before = getter()
    setter(2)
    try:
        with parallel.blas_single_threaded("train"):
            yield
    finally:
        setter(before)


def adam_like(scratch, gradient, weights, moment):
    """A few in-place passes, as an optimizer update makes."""
    np.subtract(gradient, moment, out=scratch)
    scratch *= np.float32(0.1)
    moment += scratch
    np.sqrt(np.abs(moment), out=scratch)
    weights -= scratch


def assert_parts_of(parts, size):
    """Two contiguous parts of `range(size)`, neither much smaller than a quarter."""
    (a, b), (c, d) = sorted(parts)
    assert a == 0 and b == c and d == size and 0.25 * size <= b <= 0.75 * size


def arrays(size, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(size).astype(np.float32) for _ in range(3)]


def test_halves_give_the_bits_of_one_pass_and_run_on_another_thread(blas_threads_step):
    size = 300_001
    gradient, weights, moment = arrays(size)
    expected_weights, expected_moment = weights.copy(), moment.copy()
    adam_like(np.empty(size, np.float32), gradient, expected_weights, expected_moment)
    scratch = np.empty(size, np.float32)
    threads = {}

    def work(lo, hi):
        threads[lo] = threading.get_native_id()
        adam_like(scratch[lo:hi], gradient[lo:hi], weights[lo:hi], moment[lo:hi])
    assert blas_threads.split_on_blas_worker(work, size)
    first, second = sorted(threads)
    assert first == 0 and 0.25 * size < second < 0.75 * size
    assert threads[0] == threading.get_native_id() != threads[second]
    assert np.array_equal(weights, expected_weights)
    assert np.array_equal(moment, expected_moment)


def test_an_error_on_either_half_propagates(blas_threads_step):
    for failing in ("here", "worker"):
        def work(lo, hi):
            if (lo == 0) == (failing == "here"):
                raise ValueError(f"part {failing}")
        with pytest.raises(ValueError, match=f"part {failing}"):
            blas_threads.split_on_blas_worker(work, 100)
    seen = []       # and the runner works again afterwards
    assert blas_threads.split_on_blas_worker(lambda lo, hi: seen.append((lo, hi)), 100)
    assert_parts_of(seen, 100)


def test_the_worker_keeps_its_thread_state_and_scratch_buffers(blas_threads_step):
    buffers, marks = {}, []
    local = threading.local()       # made afresh with each new Python thread state

    def work(lo, hi):
        key = "here" if lo == 0 else "worker"
        if lo:
            marks.append(getattr(local, "mark", None))
            local.mark = "kept"
        buffers.setdefault(key, []).append(parallel.local_buffer("test_scratch", (1000,),
                                                                  np.float32))
    for _ in range(3):
        assert blas_threads.split_on_blas_worker(work, 1000)
    assert marks == [None, "kept", "kept"]
    for made in buffers.values():
        assert all(np.shares_memory(made[0], buffer) for buffer in made[1:])


def test_the_split_moves_towards_equal_end_times(monkeypatch):
    """From a run's starts and per-item times (here set by hand, no clock): the share run here
    moves a quarter of the way to the one that ends both parts at once, within 30-70 %."""
    runner = blas_threads._WORKER_HALVES
    monkeypatch.setattr(runner, "_share", 0.5)
    monkeypatch.setattr(runner, "_marks", [[0.0, 5.0], [1.0, 6.0]])
    runner._balance(500, 1000)          # same speed, the worker one unit later: 0.55 balances
    assert runner._share == pytest.approx(0.5 + 0.25 * 0.05)
    for _ in range(40):
        runner._marks = [[0.0, 5.0], [1.0, 6.0]]
        runner._balance(500, 1000)
    assert runner._share == pytest.approx(0.55, abs=1e-3)
    runner._marks = [[0.0, 1.0], [0.0, 50.0]]      # a very slow worker: clamped
    for _ in range(40):
        runner._balance(500, 1000)
    assert runner._share == 0.7
    runner._marks = [[0.0, 50.0], [0.0, 1.0]]
    for _ in range(40):
        runner._balance(500, 1000)
    assert runner._share == 0.3


def test_nested_splits_run_inline_on_each_half(blas_threads_step):
    inner = []

    def work(lo, hi):
        inner.append(blas_threads.split_on_blas_worker(lambda a, b: None, 10))
    assert blas_threads.split_on_blas_worker(work, 10)
    assert inner == [False, False]


def test_not_outside_a_step_nor_in_a_one_blas_thread_step(monkeypatch):
    ran = []
    assert not blas_threads.split_on_blas_worker(lambda lo, hi: ran.append(lo), 10)
    monkeypatch.setattr(parallel, "_POLICY", "single")
    with parallel.blas_single_threaded("train"):
        assert not blas_threads.split_on_blas_worker(lambda lo, hi: ran.append(lo), 10)
    assert ran == []


def test_not_while_blas_runs_on_one_thread(monkeypatch):
    monkeypatch.setattr(parallel, "_POLICY", "threads")
    setter, getter = parallel._BLAS
    before = getter()
    setter(1)
    try:
        with parallel.blas_single_threaded("train"):
            assert not blas_threads.split_on_blas_worker(lambda lo, hi: None, 10)
    finally:
        setter(before)


def test_one_python_thread_at_a_time_the_others_run_inline(blas_threads_step):
    ran = []
    with blas_threads._WORKER_HALVES._busy:           # as while another thread's run is on
        assert not blas_threads.split_on_blas_worker(lambda lo, hi: ran.append(lo), 10)
        blas_threads.split_flat(lambda lo, hi: ran.append((lo, hi)), parallel.SPLIT_ELEMENTS)
    assert ran == [(0, parallel.SPLIT_ELEMENTS)]


def test_split_flat_uses_the_worker_in_a_blas_threads_step(blas_threads_step, monkeypatch):
    calls = []
    run = blas_threads._WORKER_HALVES.run
    monkeypatch.setattr(blas_threads._WORKER_HALVES, "run",
                        lambda work, size: calls.append(size) or run(work, size))
    seen = []
    blas_threads.split_flat(lambda lo, hi: seen.append((lo, hi)), parallel.SPLIT_ELEMENTS)
    assert calls == [parallel.SPLIT_ELEMENTS]
    assert_parts_of(seen, parallel.SPLIT_ELEMENTS)
    seen.clear()
    blas_threads.split_flat(lambda lo, hi: seen.append((lo, hi)), 100)     # small: one call
    assert seen[-1] == (0, 100) and calls == [parallel.SPLIT_ELEMENTS]


OPTIMIZERS = {
    "adam": lambda keras: keras.optimizers.Adam(1e-3),
    "amsgrad": lambda keras: keras.optimizers.Adam(1e-3, amsgrad=True),
    "sgd": lambda keras: keras.optimizers.SGD(0.01),
    "nesterov": lambda keras: keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_training_gives_the_same_weights_with_and_without_the_worker(monkeypatch, optimizer):
    import minikeras as keras
    monkeypatch.setattr(parallel, "_POLICY", "threads")
    setter, getter = parallel._BLAS
    before = getter()
    setter(2)

    def train(use_worker):
        monkeypatch.setattr(blas_threads, "_USE_WORKER", use_worker)
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.layers.Input((300,)),
                                  keras.layers.Dense(1024, activation="relu"),
                                  keras.layers.Dropout(0.2), keras.layers.Dense(5)])
        model.compile(optimizer=OPTIMIZERS[optimizer](keras), loss="mse")
        rng = np.random.default_rng(0)
        x = rng.random((64, 300), dtype=np.float32)
        y = rng.random((64, 5), dtype=np.float32)
        model.fit(x, y, batch_size=32, epochs=2, verbose=0)
        return model.get_weights() + model.optimizer.get_weights()
    calls = []
    run = blas_threads._WORKER_HALVES.run
    monkeypatch.setattr(blas_threads._WORKER_HALVES, "run",
                        lambda work, size: calls.append(size) or run(work, size))
    try:
        plain, halved = train(False), train(True)
    finally:
        setter(before)
    assert calls            # the 300x1024 kernel's update went through the worker
    assert all(np.array_equal(a, b) for a, b in zip(plain, halved))


def test_environment_switch_turns_the_worker_route_off():
    """MINIKERAS_BLAS_WORKER=0 at import keeps flat updates off OpenBLAS' worker."""
    import subprocess
    import sys
    code = ("from minikeras.ops import blas_threads as b; "
            "print(b._USE_WORKER, b._WORKER_HALVES is None)")
    env = dict(__import__("os").environ, MINIKERAS_BLAS_WORKER="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]
