"""K.* functions on K.constant inputs give tf.keras 2.21's recorded results and dtypes
(fixtures/diff_sweep/backend_cases.py, backend.npz)."""
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

HERE = os.path.join(FIXTURES, "diff_sweep")
cases_module = load_fixture_module("diff_backend_cases", "diff_sweep", "backend_cases.py")
ARRAYS = np.load(os.path.join(HERE, "backend.npz"))
K = keras.backend


def _cases():
    return cases_module.cases(K, *(K.constant(ARRAYS[k]) for k in ("x", "y", "p", "t", "x3")))


@pytest.mark.parametrize("name", sorted(_cases()))
def test_backend_function_matches_tf_keras(name):
    got = np.asarray(K.get_value(_cases()[name]()))
    expected = ARRAYS[f"out_{name}"]
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_allclose(got.astype(float), expected.astype(float), rtol=1e-5, atol=1e-6)
