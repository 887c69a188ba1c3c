"""Elementwise passes split over the two threads, the same bits as NumPy's: the relu op
written straight from its input and its gradient from a float mask (`nn._relu_with_backward`),
same-shape float additions (`math._sum_of`) in the Add op and the tape's gradient sums."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.core.tensor import compute_gradients, recording_scope
from minikeras.ops import nn, parallel


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(64, 16, 16, 56), (3, 5), (7,), ()])
def test_relu_and_its_gradient_match_numpy_bit_for_bit(shape, threads, monkeypatch):
    monkeypatch.setattr(parallel, "_THREADS", threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    if x.ndim:
        x.reshape(-1)[:4] = [np.nan, -0.0, 0.0, -np.inf]
    g = rng.standard_normal(shape).astype(np.float32)
    v = keras.Variable(x)
    with recording_scope():
        y = nn.relu(v)
    dx = compute_gradients(y, [v], g)[0]
    assert y.data.dtype == dx.dtype == np.float32
    assert np.array_equal(np.asarray(y.data).view(np.int32), np.maximum(x, 0).view(np.int32))
    assert np.array_equal(dx.view(np.int32), (g * (x > 0)).view(np.int32))


def test_relu_of_strided_and_integer_inputs():
    x = np.arange(-12.0, 12.0, dtype=np.float32).reshape(4, 6).T      # not C-contiguous
    np.testing.assert_array_equal(nn.relu(x).data, np.maximum(x, 0))
    ints = np.arange(-3, 3)
    out = nn.relu(ints).data
    assert out.dtype == ints.dtype
    np.testing.assert_array_equal(out, np.maximum(ints, 0))


@pytest.mark.parametrize("threads", [1, 2])
def test_large_same_shape_add_matches_numpy_bit_for_bit(threads, monkeypatch):
    """Two large float arrays of one shape are added on two threads (`math._sum_of`)."""
    monkeypatch.setattr(parallel, "_THREADS", threads)
    calls, split_rows = [], parallel.split_rows

    def spy(work, array):
        calls.append(array.shape)
        return split_rows(work, array)
    monkeypatch.setattr(parallel, "split_rows", spy)
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((64, 16, 16, 56)).astype(np.float32) for _ in range(2))
    a.reshape(-1)[:2] = [np.nan, np.inf]
    out = keras.ops.add(a, b)
    assert calls == [a.shape]
    np.testing.assert_array_equal(np.asarray(out), a + b)
    assert np.asarray(out).dtype == np.float32
    # Broadcasting, mixed dtypes and small arrays keep NumPy's operator.
    np.testing.assert_array_equal(np.asarray(keras.ops.add(a, b[0])), a + b[0])
    np.testing.assert_array_equal(np.asarray(keras.ops.add(a[:2], b[:2])), a[:2] + b[:2])
    assert calls == [a.shape]


def test_tape_sums_gradients_of_two_paths_on_two_threads(monkeypatch):
    """A tensor read by two ops (a residual block's input) gets the sum of both gradients,
    added by `math._sum_of` (split for large arrays), the same bits as `a + b`."""
    monkeypatch.setattr(parallel, "_THREADS", 2)
    calls, split_rows = [], parallel.split_rows

    def spy(work, array):
        calls.append(array.shape)
        return split_rows(work, array)
    monkeypatch.setattr(parallel, "split_rows", spy)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 16, 16, 56)).astype(np.float32)
    w1, w2 = (rng.standard_normal(56).astype(np.float32) for _ in range(2))
    v = keras.Variable(x)
    with recording_scope():
        total = keras.ops.sum(keras.ops.multiply(v, w1)) + keras.ops.sum(keras.ops.multiply(v, w2))
    dx = compute_gradients(total, [v])[0]
    assert x.shape in calls
    first = np.broadcast_to(w1, x.shape).astype(np.float32)
    second = np.broadcast_to(w2, x.shape).astype(np.float32)
    assert np.array_equal(dx, first + second) or np.array_equal(dx, second + first)


@pytest.mark.parametrize("shape, split", [((32, 32, 32, 16), False),     # 2 MB: one thread
                                          ((48, 32, 32, 16), True)])     # 3 MB: two
def test_row_splits_start_at_three_megabytes(shape, split, monkeypatch):
    monkeypatch.setattr(parallel, "_THREADS", 2)
    runs = []
    monkeypatch.setattr(parallel, "run_split", lambda work, n, **kw: (runs.append(n),
                                                                      work(0, n)))
    x = np.ones(shape, np.float32)
    out = np.empty_like(x)
    parallel.split_rows(lambda rows: np.negative(x[rows], out=out[rows]), out)
    assert runs == ([shape[0]] if split else [])
    np.testing.assert_array_equal(out, -x)
