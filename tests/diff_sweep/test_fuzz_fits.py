"""Seeded random whole training runs against tf_keras 2.21 (fid-fitfuzz sweep).

benchmarks/fixture_recipes/fitfuzz.py drew each case (model, optimizer with its arguments and
learning-rate schedule, loss, metrics, fit arguments, callbacks) and recorded tf_keras on it;
tests/fixtures/fitfuzz/fitfuzz_run.py is the public-API code both libraries ran. Given the same
seeded initial weights, minikeras must give tf_keras' History (keys and values), evaluate
results, final weights, optimizer variables (names and values) and iterations, or raise the
error type tf_keras raised."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

HERE = os.path.join(FIXTURES, "fitfuzz")
runner = load_fixture_module("fitfuzz_run", "fitfuzz", "fitfuzz_run.py")
with open(os.path.join(HERE, "cases.json")) as f:
    CASES = json.load(f)
ARRAYS = np.load(os.path.join(HERE, "cases.npz"))

# Cases where tf_keras does something we deliberately do not copy (seed -> why).
KNOWN = {}


def tolerances(spec):
    """(rtol, atol) of values computed by a whole fit: float32 round-off grows along the steps;
    float64 runs are held to near float64 round-off."""
    if spec["floatx"] == "float64":
        return 1e-9, 1e-11
    return 2e-4, 2e-5


def assert_close(actual, expected, spec, what):
    rtol, atol = tolerances(spec)
    expected = np.asarray(expected, dtype="float64")
    scale = max(float(np.abs(expected).max()), 1.0) if expected.size else 1.0
    np.testing.assert_allclose(np.asarray(actual, dtype="float64"), expected, rtol=rtol,
                               atol=atol * scale, err_msg=what)


def case_params():
    params = []
    for name in sorted(CASES, key=int):
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN[name])] if name in KNOWN else []
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.mark.parametrize("name", case_params())
def test_fit_matches_tf_keras(name):
    expected = CASES[name]
    spec = expected["spec"]
    facts, arrays = runner.run_case(keras, spec)
    if "error" in expected:
        assert "error" in facts, f"tf_keras raised {expected['error'][:3]}; minikeras did not"
        assert facts["error"][:2] == expected["error"][:2], (facts["error"], expected["error"])
        return
    assert "error" not in facts, facts.get("error")
    assert facts["weight_names"] == expected["weight_names"]
    assert facts["history_keys"] == expected["history_keys"]
    assert facts["epochs"] == expected["epochs"]
    for key, values in expected["history"].items():
        assert_close(facts["history"][key], values, spec, f"history[{key!r}]")
    assert facts["metrics_names"] == expected["metrics_names"]
    assert list(facts["evaluate"]) == list(expected["evaluate"])
    for key, value in expected["evaluate"].items():
        assert_close(facts["evaluate"][key], value, spec, f"evaluate[{key!r}]")
    assert facts["iterations"] == expected["iterations"]
    assert facts["optimizer_variable_names"] == expected["optimizer_variable_names"]
    for key in sorted(arrays):
        assert_close(arrays[key], ARRAYS[f"{name}/{key}"], spec, key)
