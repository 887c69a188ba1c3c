"""minikeras.ops against Keras 3.15 (fixtures from tests/fixtures/keras3_ops/, cases in
cases.py there): values (float32 tolerance by scale), dtypes, result structure, and the
errors of bad arguments."""
import importlib.util
import json
import pathlib
import types

import numpy as np
import pytest

import minikeras as keras
from minikeras.core.tensor import Tensor

FOLDER = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "keras3_ops"
_spec = importlib.util.spec_from_file_location("keras3_ops_cases", FOLDER / "cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

META = json.loads((FOLDER / "ops.json").read_text())
ARRAYS = np.load(FOLDER / "ops.npz")
X = {key.split("/", 1)[1]: ARRAYS[key] for key in ARRAYS.files if key.startswith("input/")}
K = types.SimpleNamespace(ops=keras.ops, random=keras.random)


# TensorFlow's own error types raised through Keras 3, and what minikeras raises instead.
TENSORFLOW_ERRORS = {"InvalidArgumentError": "ValueError"}
# Keras 3.15's TensorFlow sparsemax takes its threshold from the sum of the cumulative sums
# over the support instead of the cumulative sum at the support's end: wrong (not on the
# simplex) whenever the support has more than one element. Compared in a test of its own.
KERAS_BUGS = {"sparsemax"}


def _flatten(value):
    if isinstance(value, (list, tuple)):
        return [item for v in value for item in _flatten(v)]
    return [value]


def _structure(value):
    if isinstance(value, (list, tuple)):
        return [_structure(v) for v in value]
    return None


def _as_numpy(value):
    return np.asarray(value.data if isinstance(value, Tensor) else value)


@pytest.mark.parametrize("name,fn", cases.CASES, ids=[c[0] for c in cases.CASES])
def test_matches_keras3(name, fn):
    if name in KERAS_BUGS:
        pytest.skip("Keras 3.15 bug: see test_sparsemax_on_the_simplex")
    expected = META["cases"][name]
    result = fn(K, X)
    assert _structure(result) == expected["structure"]
    for got, want in zip(_flatten(result), expected["outputs"]):
        if "python" in want:
            assert type(got).__name__ == want["type"] and got == want["python"]
            continue
        target = ARRAYS[want["key"]]
        got = _as_numpy(got)
        assert str(got.dtype) == want["dtype"], f"{name}: dtype {got.dtype} != {want['dtype']}"
        assert got.shape == target.shape, f"{name}: shape {got.shape} != {target.shape}"
        if target.dtype.kind in "fc":
            scale = max(1.0, float(np.nanmax(np.abs(target)))) if target.size else 1.0
            np.testing.assert_allclose(got, target, rtol=1e-4, atol=2e-5 * scale,
                                       equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(got, target, err_msg=name)


@pytest.mark.parametrize("name,fn,words", cases.ERROR_CASES,
                         ids=[c[0] for c in cases.ERROR_CASES])
def test_errors_worded_as_keras3(name, fn, words):
    expected = META["errors"][name]
    with pytest.raises(Exception) as info:
        fn(K, X)
    wanted_type = TENSORFLOW_ERRORS.get(expected["type"], expected["type"])
    assert type(info.value).__name__ == wanted_type, (name, repr(info.value))
    assert words.lower() in str(info.value).lower(), (name, str(info.value))


def test_sparsemax_on_the_simplex():
    """Rows with a one-element support agree with Keras 3; every row sums to 1 and equals the
    closed form `max(x - tau, 0)`, tau from the sorted cumulative sum at the support's end."""
    x = X["a"] * 2
    got = keras.ops.sparsemax(x).data
    keras_rows = ARRAYS["sparsemax/0"]
    one_element = (got > 0).sum(axis=-1) == 1
    assert one_element.any() and not one_element.all()
    np.testing.assert_allclose(got[one_element], keras_rows[one_element], atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-6)
    ordered = -np.sort(-x, axis=-1)
    ranks = np.arange(1, x.shape[-1] + 1)
    cumulative = np.cumsum(ordered, axis=-1)
    k = np.sum(1 + ranks * ordered > cumulative, axis=-1)
    tau = (cumulative[np.arange(len(x)), k - 1] - 1) / k
    np.testing.assert_allclose(got, np.maximum(x - tau[:, None], 0), atol=1e-6)
