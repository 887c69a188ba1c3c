"""small_gemm_threads: one BLAS thread inside while the machine is oversubscribed, the
previous count restored after; nothing changes on a quiet machine. blas_single_threaded: the
per-step choice between one BLAS thread and BLAS threads (parallel.py)."""
import time

import numpy as np

import pytest

from minikeras.ops import blas_threads, parallel
from fake_blas import install_fake_blas

pytestmark = pytest.mark.skipif(not blas_threads._APIS, reason="no OpenBLAS in this process")


def counts():
    return [getter() for _, getter in blas_threads._APIS]


def test_one_thread_inside_when_oversubscribed(monkeypatch):
    setter, getter = blas_threads._APIS[0]
    before = getter()
    setter(2)
    try:
        monkeypatch.setattr(blas_threads, "_oversubscribed", lambda: True)
        with blas_threads.small_gemm_threads():
            assert counts()[0] == 1
        assert getter() == 2
        monkeypatch.setattr(blas_threads, "_oversubscribed", lambda: False)
        with blas_threads.small_gemm_threads():
            assert getter() == 2
        with pytest.raises(RuntimeError):
            monkeypatch.setattr(blas_threads, "_oversubscribed", lambda: True)
            with blas_threads.small_gemm_threads():
                raise RuntimeError("inside")
        assert getter() == 2        # restored after an error too
    finally:
        setter(before)


# ---------------------------------------------------------------------------------------
# the per-step policy of parallel.blas_single_threaded
# ---------------------------------------------------------------------------------------
def run_step(work_seconds, split_seconds):
    """A pretend step: `split_seconds` inside run_split (both halves sleep), then
    `work_seconds` outside."""
    with parallel.blas_single_threaded():
        if split_seconds:
            parallel.run_split(lambda lo, hi: time.sleep(split_seconds), 2, uses_blas=False)
        time.sleep(work_seconds)


@pytest.fixture
def fake_blas(monkeypatch):
    blas = install_fake_blas(monkeypatch, oversubscribed=False)
    monkeypatch.setattr(parallel._state, "split_share", 0.0, raising=False)
    monkeypatch.setattr(parallel._state, "splittable_share", 0.0, raising=False)
    monkeypatch.setattr(parallel._state, "contested", None, raising=False)
    monkeypatch.setattr(parallel, "_CONTESTED_TRIAL", True)    # off by default (parallel.py)
    return blas


def test_contested_steps_keep_blas_threads_by_default(fake_blas, monkeypatch):
    monkeypatch.setattr(parallel, "_CONTESTED_TRIAL", False)
    monkeypatch.setattr(parallel._state, "splittable_share", 1.0, raising=False)
    for _ in range(3):
        with parallel.blas_single_threaded():
            assert not parallel._state.single_blas_active
    assert fake_blas.history == []


def test_steps_mostly_in_splitting_kernels_run_blas_single_threaded(fake_blas):
    run_step(0.0, 0.05)                       # first step: BLAS threads, mostly split work
    assert fake_blas.history == []
    assert parallel._state.split_share > 0.5
    run_step(0.0, 0.05)                       # the next runs on one BLAS thread, restored after
    assert fake_blas.history == [1, 2] and fake_blas.threads == 2


def test_steps_of_products_keep_blas_threads(fake_blas, monkeypatch):
    for _ in range(3):
        run_step(0.05, 0.0)
    assert fake_blas.history == [] and parallel._state.split_share == 0
    monkeypatch.setattr(parallel, "oversubscribed", lambda: True)
    run_step(0.0, 0.0)                        # oversubscribed: one thread whatever the step
    assert fake_blas.history == [1, 2]


@pytest.mark.parametrize("policy, split_seconds, expected", [
    ("single", 0.0, [1, 2, 1, 2]),      # one BLAS thread even for steps without split work
    ("threads", 0.05, []),              # BLAS threads even after a step of split work
])
def test_the_policy_can_be_fixed(fake_blas, monkeypatch, policy, split_seconds, expected):
    monkeypatch.setattr(parallel, "_POLICY", policy)
    run_step(0.0, split_seconds)
    run_step(0.0, split_seconds)
    assert fake_blas.history == expected


def test_steps_mostly_in_splittable_work_run_blas_single_threaded(fake_blas, monkeypatch):
    """Large products and flat updates are split over the two Python threads only in a
    one-BLAS-thread step; a step made mostly of them switches to one, a step with less keeps
    BLAS threads."""
    halves = []

    def step(splittable_seconds, other_seconds):
        with parallel.blas_single_threaded():
            parallel.split_flat(lambda lo, hi: (halves.append((lo, hi)),
                                                time.sleep(splittable_seconds)), 1 << 20)
            time.sleep(other_seconds)
    # Sleeps long against thread hand-offs, which take tens of ms on a loaded machine.
    step(0.02, 0.1)
    step(0.02, 0.1)
    assert fake_blas.history == [] and parallel._state.splittable_share < 0.5
    step(0.2, 0.0)                            # measured with BLAS threads: the flat work whole
    assert fake_blas.history == [] and halves[-1] == (0, 1 << 20)
    assert parallel._state.splittable_share > 0.6
    step(0.2, 0.0)                            # one BLAS thread, the work in halves
    assert fake_blas.history == [1, 2] and sorted(halves[-2:]) == [(0, 1 << 19), (1 << 19, 1 << 20)]


def test_large_products_count_as_splittable_work(fake_blas):
    a = np.ones((256, 256), np.float32)
    with parallel.blas_single_threaded():
        product = parallel.matmul(a, a)
    assert parallel._state.splittable_share > 0.6
    with parallel.blas_single_threaded():
        split_product = parallel.matmul(a, a[:, :100])       # split by columns of b
    np.testing.assert_array_equal(product, a @ a)
    np.testing.assert_array_equal(split_product, a @ a[:, :100])
    assert fake_blas.history[:1] == [1]


def test_matmul_pair_runs_the_two_products_at_once_in_a_one_thread_step(fake_blas, monkeypatch):
    rng = np.random.default_rng(0)
    g, w, x = (rng.standard_normal(s).astype(np.float32) for s in [(96, 200), (300, 200),
                                                                      (96, 300)])
    split_sizes = []
    real_split = parallel._split
    monkeypatch.setattr(parallel, "_split", lambda work, n, uses_blas: (
        split_sizes.append(n), real_split(work, n, uses_blas)))
    monkeypatch.setattr(parallel._state, "splittable_share", 1.0, raising=False)
    with parallel.blas_single_threaded():
        gx, gw = parallel.matmul_pair((g, w.T), (x.T, g))
        only_gw = parallel.matmul_pair(None, (x.T, g))
    assert split_sizes == [2, 300]            # one hand-off for the pair; one split product
    np.testing.assert_array_equal(gx, g @ w.T)
    np.testing.assert_array_equal(gw, x.T @ g)
    assert only_gw[0] is None
    np.testing.assert_array_equal(only_gw[1], x.T @ g)


@pytest.mark.parametrize("single_is_faster", [True, False])
def test_steps_of_splittable_work_time_both_choices_and_keep_the_faster(
        fake_blas, monkeypatch, single_is_faster):
    monkeypatch.setattr(parallel, "_TRIAL_STEPS", 2)
    monkeypatch.setattr(parallel, "_TRIAL_ROUNDS", 1)
    monkeypatch.setattr(parallel, "_TRIAL_EVERY", 4)
    monkeypatch.setattr(parallel, "_SPIN_SECONDS", 0.2)
    monkeypatch.setattr(parallel._state, "threads_step_end", -1e9, raising=False)
    monkeypatch.setattr(parallel._state, "splittable_share", 1.0, raising=False)
    chosen = []

    def step():
        with parallel.blas_single_threaded():
            single = parallel._state.single_blas_active
            chosen.append(single)
            slow = 0.001 if single == single_is_faster else 0.05
            parallel.split_flat(lambda lo, hi: time.sleep(slow), 10, min_items=100)
    for _ in range(2 + 3 + 4):
        step()
    # two steps on one BLAS thread, three with BLAS threads (the first not counted), then the
    # faster for 4 steps, then the trial again: one-thread steps count only once BLAS' threads
    # had _SPIN_SECONDS to stop spinning
    assert chosen == [True] * 2 + [False] * 3 + [single_is_faster] * 4
    choice = parallel._state.contested["step"]
    assert len(choice.times[True]) == 2 and len(choice.times[False]) == 2
    step()
    assert chosen[-1] is True and choice.single is None
    if not single_is_faster:                  # the last step ran BLAS threads just now
        step()
        assert choice.times[True] == []
        time.sleep(0.25)
        step()
        assert len(choice.times[True]) == 1


def test_one_blas_thread_and_blas_threads_train_an_mlp_to_the_same_weights(monkeypatch):
    """The contested choice changes the speed only: split products, paired gradient products
    and split Adam updates give the weights BLAS threads give (float32 round-off)."""
    import minikeras as keras
    rng = np.random.default_rng(0)
    x = rng.random((128, 300), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 10, 128), 10)
    monkeypatch.setattr(parallel, "_THREADS", 2)
    monkeypatch.setattr(parallel, "oversubscribed", lambda: False)
    results = {}
    for policy in ("single", "threads"):
        monkeypatch.setattr(parallel, "_POLICY", policy)
        keras.utils.set_random_seed(1)
        model = keras.Sequential([
            keras.Input((300,)), keras.layers.Dense(600, activation="relu"),
            keras.layers.Dropout(0.2), keras.layers.Dense(600, activation="relu"),
            keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
        for _ in range(3):
            model.train_on_batch(x, y)
        results[policy] = model.get_weights()
    for single, threads in zip(results["single"], results["threads"]):
        np.testing.assert_allclose(single, threads, rtol=1e-5, atol=1e-7)
