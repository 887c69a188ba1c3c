"""The gradient of max / min (GlobalMaxPooling's op): ties share it equally, as TensorFlow's
reduce_max gradient does, counted without a float64 pass (uint16 counts, or int64 past 65535
values a reduction), in the input's dtype."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import ops
from minikeras.core.tensor import Tensor


def _max_gradient(x, axis, keepdims=False, op=ops.max):
    t = Tensor(x)
    with keras.GradientTape() as tape:
        tape.watch(t)
        out = op(t, axis=axis, keepdims=keepdims)
        weights = np.arange(1, out.numpy().size + 1, dtype=x.dtype).reshape(out.shape)
        loss = ops.sum(ops.multiply(out, weights))
    return tape.gradient(loss, t).numpy(), weights


def _reference(x, axis, weights, extreme=np.max):
    """Ties share: each position holding the extreme gets weight / count, in float64."""
    out = extreme(x, axis=axis, keepdims=True)
    hit = (x == out)
    counts = hit.sum(axis=axis, keepdims=True)
    return hit * (np.expand_dims(weights, axis).astype(np.float64) / counts)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_relu_like_ties_share_the_gradient(dtype):
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((4, 9, 6)), 0).astype(dtype)
    x[:, :, 0] = 0          # a dead channel: all nine steps tie at zero
    x[1, 2:5, 3] = 7        # three steps tie at the maximum
    grad, weights = _max_gradient(x, axis=1)
    assert grad.dtype == dtype
    np.testing.assert_array_equal(grad, _reference(x, 1, weights).astype(dtype))


def test_min_and_keepdims():
    x = np.array([[3, 1, 1, 2], [0, 5, 0, 0]], np.float32)
    grad, weights = _max_gradient(x, axis=1, keepdims=True, op=ops.min)
    np.testing.assert_array_equal(grad, np.float32([[0, 0.5, 0.5, 0], [2 / 3, 0, 2 / 3, 2 / 3]]))


def test_more_ties_than_uint16_counts():
    x = np.zeros((2, 70000), np.float32)
    x[1, 5] = 1
    grad, _ = _max_gradient(x, axis=1)
    np.testing.assert_array_equal(grad[0], np.float32(1 / 70000))
    assert grad[1, 5] == 2 and np.count_nonzero(grad[1]) == 1
