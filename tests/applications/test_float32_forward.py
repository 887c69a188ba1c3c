"""float32 forward passes of single layers as close to the float64 truth as tf_keras 2.21's own
float32 outputs are (fixtures tests/fixtures/f32_forward/, recipe
benchmarks/fixture_recipes/f32_forward.py, cases in f32_forward_cases.py run unchanged by both
libraries).

The truth is minikeras' float64 run, checked here to be tf's (its output's max |value| to
float64 round-off). The float32 distance from it may not exceed a factor times the larger of
tf's own (oneDNN off and on). Two forward passes differed: batch normalization in training mode
as x * gain + (offset - mean * gain), which cancels when channels are many standard deviations
off zero (2.1x tf's error at 4 values a channel), and global average pooling / backend.mean
over middle axes, which NumPy sums row after row (3.8x tf's error at 56x56)."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path, load_fixture_module

cases = load_fixture_module("f32_forward_cases", "f32_forward", "f32_forward_cases.py")
with open(fixture_path("f32_forward", "f32_forward.json")) as f:
    FACTS = json.load(f)

FACTOR = 1.6


def _tf_error(name):
    return max(FACTS["tf_float32_error"]["onednn_off"][name],
               FACTS["tf_float32_error"]["onednn_on"][name])


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_float32_forward_as_close_to_float64_as_tf_keras(name):
    ours, maxabs = cases.errors(keras, name)
    np.testing.assert_allclose(maxabs, FACTS["tf_float64_maxabs"][name], rtol=1e-12)
    assert ours <= FACTOR * _tf_error(name), (name, ours, _tf_error(name))


def test_pairwise_mean_matches_numpy_on_odd_and_small_counts():
    """The pairwise path (middle axes) gives NumPy's mean, odd counts and empty batches too."""
    rng = np.random.RandomState(0)
    for shape, axis in [((3, 5, 7, 4), (1, 2)), ((2, 3, 4), 1), ((0, 9, 3), 1),
                        ((2, 4, 3, 5, 6), (1, 2, 3)), ((2, 33, 3), -2)]:
        x = rng.standard_normal(shape).astype(np.float32)
        for keepdims in (False, True):
            ours = np.asarray(keras.ops.mean(x, axis=axis, keepdims=keepdims))
            expected = np.mean(x.astype(np.float64), axis=axis, keepdims=keepdims)
            assert ours.dtype == np.float32 and ours.shape == expected.shape
            np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6)
