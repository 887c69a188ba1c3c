"""Metric functions and stateful metrics against values recorded with tf.keras 2.21."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

with open(fixture_path("functions", "metrics.json")) as _handle:
    FIXTURE = json.load(_handle)
ARRAYS = np.load(fixture_path("functions", "arrays.npz"))


def resolve(value):
    """`"@name"` is the array `name` of arrays.npz; anything else is a literal."""
    if isinstance(value, str) and value.startswith("@"):
        return ARRAYS[value[1:]]
    return value


@pytest.mark.parametrize("case", FIXTURE["functions"],
                         ids=[c["name"] for c in FIXTURE["functions"]])
def test_metric_function_matches_tf_keras(case):
    fn = getattr(keras.metrics, case["function"])
    args = [resolve(a) for a in case["args"]]
    kwargs = {k: resolve(v) for k, v in case["kwargs"].items()}
    got = np.asarray(fn(*args, **kwargs))
    np.testing.assert_allclose(got, case["value"], rtol=1e-5, atol=1e-6)
    assert got.dtype == np.float32


@pytest.mark.parametrize("case", FIXTURE["classes"], ids=[c["class"] for c in FIXTURE["classes"]])
def test_stateful_metric_matches_tf_keras(case):
    metric = getattr(keras.metrics, case["class"])(**case["kwargs"])
    assert metric.name == case["name"]
    for batch, expected in zip(case["batches"], case["results"]):
        metric.update_state(*[resolve(a) for a in batch])
        np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5, atol=1e-6)
    metric.reset_state()
    np.testing.assert_allclose(float(metric.result()), case["after_reset"], atol=1e-6)
    again = type(metric).from_config(metric.get_config())
    assert again.get_config() == metric.get_config()
