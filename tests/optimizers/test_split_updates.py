"""Optimizer updates of large variables split over two threads inside a step that runs BLAS
single-threaded (parallel.split_flat): the same numbers as one pass over the whole arrays."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.ops import parallel

SHAPE = (600, 500)          # above parallel._SPLIT_ELEMENTS
REAL_SPLIT = parallel._split


def _steps(make_optimizer, split, monkeypatch):
    rng = np.random.default_rng(4)
    weights = keras.Variable(rng.standard_normal(SHAPE).astype(np.float32), name="w")
    bias = keras.Variable(rng.standard_normal(7).astype(np.float32), name="b")
    optimizer = make_optimizer()
    calls = []

    def counting_split(work, n, uses_blas):
        calls.append(n)
        REAL_SPLIT(work, n, uses_blas)
    monkeypatch.setattr(parallel, "_split", counting_split)
    monkeypatch.setattr(parallel, "_THREADS", 2 if split else 1)
    monkeypatch.setattr(parallel._state, "single_blas_active", split, raising=False)
    for _ in range(3):
        grads = [rng.standard_normal(SHAPE).astype(np.float32),
                 rng.standard_normal(7).astype(np.float32)]
        optimizer.apply_gradients(zip(grads, [weights, bias]))
    monkeypatch.setattr(parallel._state, "single_blas_active", False, raising=False)
    return [np.array(v.data) for v in [weights, bias] + list(optimizer.variables[1:])], calls


@pytest.mark.parametrize("make_optimizer", [
    lambda: keras.optimizers.Adam(1e-3),
    lambda: keras.optimizers.Adam(1e-2, amsgrad=True),
    lambda: keras.optimizers.AdamW(1e-3, weight_decay=0.01),
    lambda: keras.optimizers.SGD(0.1),
    lambda: keras.optimizers.SGD(0.1, momentum=0.9),
    lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
], ids=["adam", "amsgrad", "adamw", "sgd", "momentum", "nesterov"])
def test_split_update_gives_identical_numbers(make_optimizer, monkeypatch):
    whole, whole_calls = _steps(make_optimizer, False, monkeypatch)
    halves, split_calls = _steps(make_optimizer, True, monkeypatch)
    assert whole_calls == [] and split_calls == [SHAPE[0] * SHAPE[1]] * 3   # bias: too small
    for a, b in zip(whole, halves):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_non_contiguous_variable_is_updated_whole(monkeypatch):
    rng = np.random.default_rng(1)
    base = rng.standard_normal((500, 600)).astype(np.float32)
    expected = keras.Variable(base.T.copy(), name="a")
    odd = keras.Variable(base.T.copy(), name="b")
    odd.data = base.T                                       # a transposed view
    grad = rng.standard_normal((600, 500)).astype(np.float32)
    monkeypatch.setattr(parallel, "_THREADS", 2)
    monkeypatch.setattr(parallel._state, "single_blas_active", True, raising=False)
    for variable in (expected, odd):
        keras.optimizers.Adam(1e-2).apply_gradients([(grad, variable)])
    monkeypatch.setattr(parallel._state, "single_blas_active", False, raising=False)
    np.testing.assert_array_equal(odd.data, expected.data)


def test_split_updates_always_splits_in_steps_with_blas_threads(monkeypatch):
    monkeypatch.setattr(parallel, "_SPLIT_UPDATES", "always")
    calls = []

    def counting_split(work, n, uses_blas):
        calls.append(n)
        REAL_SPLIT(work, n, uses_blas)
    monkeypatch.setattr(parallel, "_split", counting_split)
    monkeypatch.setattr(parallel, "_THREADS", 2)
    monkeypatch.setattr(parallel._state, "single_blas_active", False, raising=False)
    rng = np.random.default_rng(2)
    start = rng.standard_normal(SHAPE).astype(np.float32)
    grad = rng.standard_normal(SHAPE).astype(np.float32)
    split, whole = keras.Variable(start.copy(), name="a"), keras.Variable(start.copy(), name="b")
    keras.optimizers.Adam(1e-2).apply_gradients([(grad, split)])
    monkeypatch.setattr(parallel, "_SPLIT_UPDATES", "auto")
    keras.optimizers.Adam(1e-2).apply_gradients([(grad, whole)])
    assert calls == [SHAPE[0] * SHAPE[1]]
    np.testing.assert_array_equal(split.numpy(), whole.numpy())


@pytest.mark.parametrize("make_optimizer", [
    lambda: keras.optimizers.Adam(1e-3),
    lambda: keras.optimizers.Adam(1e-2, amsgrad=True),
    lambda: keras.optimizers.SGD(0.1, momentum=0.9),
], ids=["adam", "amsgrad", "momentum"])
def test_large_variables_share_one_split(make_optimizer, monkeypatch):
    """The large variables of a step are updated in one split over all of them laid end to end
    (the halves' boundary inside the second variable here); small ones are updated at once."""
    shapes = [(100, 500), (190000,), (9,), (240, 200)]     # 288,009 elements
    rng = np.random.default_rng(7)
    starts = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    grads = [[rng.standard_normal(shape).astype(np.float32) for shape in shapes]
             for _ in range(3)]
    results, calls = [], []

    def counting_split(work, n, uses_blas):
        calls.append(n)
        REAL_SPLIT(work, n, uses_blas)
    monkeypatch.setattr(parallel, "_split", counting_split)
    monkeypatch.setattr(parallel, "_SPLIT_UPDATES", "always")
    for threads in (1, 2):
        monkeypatch.setattr(parallel, "_THREADS", threads)
        variables = [keras.Variable(start.copy(), name=f"v{i}") for i, start in enumerate(starts)]
        optimizer = make_optimizer()
        for step in grads:
            optimizer.apply_gradients(zip(step, variables))
        results.append([np.array(v.data) for v in variables + list(optimizer.variables[1:])])
    assert calls == [100 * 500 + 190000 + 240 * 200] * 3
    for whole, halves in zip(*results):
        np.testing.assert_array_equal(whole, halves)
