"""Gradients at kinks and exact ties, where finite differences cannot decide, against
tf_keras 2.21 / tf.GradientTape (fixtures tests/fixtures/grad3/conventions.npz, written by
benchmarks/fixture_recipes/grad3.py over the cases of grad3_cases.py): relu with its cap,
leak and threshold (tf.keras composes relu6 or relu, clip_by_value and relu(-x)), the Keras 2
hard_sigmoid (clip_by_value passes at its bounds), selu at 0 (tf's SeluGrad: slope `scale`),
sign (zeros, not None), MaxPooling3D (tf's MaxPool3DGrad gives every tied maximum the
gradient; 1-D/2-D pooling only the first), losses at their clipping edges, masked softmax and
attention, ... Each case is also run with the gradient taken while an outer tape records (the
second-order rules of ops/second_order.py), which must give the same numbers."""
import os
import sys

import numpy as np
import pytest

import minikeras as keras
from minikeras.core.tensor import Tensor, Variable

_RECIPES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "benchmarks",
                        "fixture_recipes")
sys.path.insert(0, os.path.normpath(_RECIPES))
import grad3_cases as cases  # noqa: E402

_FIXTURE = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "grad3",
                        "conventions.npz")


@pytest.fixture(scope="module")
def expected():
    with np.load(_FIXTURE) as data:
        return dict(data)


def _peer(expected, prefix):
    return {key.split("/", 1)[1]: value for key, value in expected.items()
            if key.split("/", 1)[0] == prefix}


def _assert_same(ours, theirs, name):
    assert sorted(ours) == sorted(theirs), f"{name}: gradients given (None elsewhere)"
    for key, value in theirs.items():
        np.testing.assert_allclose(ours[key], value, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name} {key}")


class _RecordingTape(keras.GradientTape):
    """A tape whose gradient is taken while an outer tape records (the recorded rules)."""
    def __enter__(self):
        self._outer = keras.GradientTape(persistent=True)
        self._outer.__enter__()
        return super().__enter__()

    def gradient(self, target, sources):
        try:
            return super().gradient(target, sources)
        finally:
            self._outer.__exit__(None, None, None)


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_gradient_matches_tf(name, expected):
    _assert_same(cases.run_case(keras, keras.GradientTape, keras.Variable, name),
                 _peer(expected, name), name)


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_recorded_gradient_matches_tf(name, expected):
    _assert_same(cases.run_case(keras, _RecordingTape, keras.Variable, name),
                 _peer(expected, name), name)


@pytest.mark.parametrize("name", sorted(cases.STEP_CASES))
def test_one_sgd_step_on_kinks_matches_tf(name, expected):
    _assert_same(cases.run_step(keras, name), _peer(expected, f"step_{name}"), name)


def test_sign_gradient_is_zeros_and_differentiable_again():
    x = Tensor(np.float32([-2, 0, 3]))
    with keras.GradientTape() as outer:
        outer.watch(x)
        with keras.GradientTape() as inner:
            inner.watch(x)
            y = keras.ops.sum(keras.ops.sign(x) * x * x)
        g = inner.gradient(y, x)            # sign(x) * 2x, sign's own gradient zero
        total = keras.ops.sum(g * g)      # 4 x**2
    np.testing.assert_array_equal(g.numpy(), np.float32([4, 0, 6]))
    np.testing.assert_array_equal(outer.gradient(total, x).numpy(), np.float32([-16, 0, 24]))


def test_keras3_hard_sigmoid_is_relu6_of_x_plus_3_over_6():
    # Keras 3 (every backend): relu6(x + 3) / 6, so its rounding and relu6's slope 0 at +-3
    # (it was clip(x / 6 + 0.5, 0, 1): other last bits, and slope 1/6 at +-3)
    x = Variable(np.array([-4, -3, -1.7, 0, 0.3, 2.9, 3, 5], np.float32))
    with keras.GradientTape() as tape:
        y = keras.ops.hard_sigmoid(x)
        total = keras.ops.sum(keras.ops.hard_swish(x) + y)
    expected = np.minimum(np.maximum(x.data + np.float32(3), 0), 6) / np.float32(6)
    np.testing.assert_array_equal(y.numpy(), expected)
    inside = (np.abs(x.data) < 3).astype(np.float32)
    # d/dx [x h(x) + h(x)] = h(x) + (x + 1) h'(x), h' = 1/6 strictly inside (-3, 3)
    np.testing.assert_allclose(tape.gradient(total, x).numpy(),
                               expected + (x.data + 1) * inside / 6, rtol=1e-6)


@pytest.mark.parametrize("op", ["rsqrt", "reciprocal", "sqrt"])
def test_no_nan_where_an_infinite_derivative_gets_no_gradient(op):
    # tf's SqrtGrad / RsqrtGrad / ReciprocalGrad give 0 where the incoming gradient is 0
    # (Keras 3's normalize of a zero vector, a sqrt on a branch K.switch drops)
    x = Variable(np.array([0.0, 4.0], np.float32))
    with keras.GradientTape() as tape:
        y = keras.ops.sum(getattr(keras.ops, op)(x) * np.float32([0, 1]))
    slope = {"rsqrt": -0.5 * 4 ** -1.5, "reciprocal": -1 / 16, "sqrt": 0.25}[op]
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [0, slope], rtol=1e-6)


def test_keras3_mod_is_differentiable_as_floor_mod():
    # Keras 3's TF backend: tf.math.floormod, gradient g to x and -floor(x / y) g to y
    # (these numbers are tf's); it had no gradient here
    a = Variable(np.float32([[5.5, -3.2, 7.0], [1.0, -0.5, 4.0]]))
    b = Variable(np.float32([2.0, 1.5, -3.0]))
    with keras.GradientTape() as tape:
        y = keras.ops.sum(keras.ops.mod(a, b) * np.arange(1, 7, dtype=np.float32).reshape(2, 3))
    ga, gb = tape.gradient(y, [a, b])
    np.testing.assert_array_equal(ga.numpy(), [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(gb.numpy(), [-2, 11, 21])
    assert keras.ops.mod(np.int32([7, -7]), np.int32([3, 3])).numpy().tolist() == [1, 2]
