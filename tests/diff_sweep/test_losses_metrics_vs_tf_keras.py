"""Differential sweep: the loss and metric cases of fixtures/diff_sweep/loss_metric_cases.py give
tf.keras' recorded values (float32), configs and metric variables; tf.keras' configs load."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

HERE = os.path.join(FIXTURES, "diff_sweep")
cases = load_fixture_module("diff_loss_metric_cases", "diff_sweep", "loss_metric_cases.py")
with open(os.path.join(HERE, "losses_metrics.json")) as f:
    FACTS = json.load(f)
ARRAYS = np.load(os.path.join(HERE, "losses_metrics.npz"))
LOSSES = [c for c in cases.LOSS_CASES if "error" not in FACTS["losses"][c[0]]]
METRICS = [c for c in cases.METRIC_CASES if "error" not in FACTS["metrics"][c[0]]]


def jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist")
                                 else repr(o)))


def optional(key):
    return ARRAYS[key] if key in ARRAYS else None


def close(got, expected):
    got = np.asarray(got)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == np.float32, got.dtype
    scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("case", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss_matches_tf_keras(case):
    case_id, cls, kwargs, _, _ = case
    key = f"loss_{case_id}__"
    facts = FACTS["losses"][case_id]
    for loss in (getattr(keras.losses, cls)(**kwargs),
                 getattr(keras.losses, cls).from_config(facts["config"])):
        value = loss(ARRAYS[key + "true"], ARRAYS[key + "pred"],
                     sample_weight=optional(key + "sw"))
        close(value, ARRAYS[key + "value"])
        assert jsonable(loss.get_config()) == facts["config"]


@pytest.mark.parametrize("case", METRICS, ids=[c[0] for c in METRICS])
def test_metric_matches_tf_keras(case):
    case_id, cls, kwargs, kind, _ = case
    key = f"metric_{case_id}__"
    facts = FACTS["metrics"][case_id]
    for metric in (getattr(keras.metrics, cls)(**kwargs),
                   getattr(keras.metrics, cls).from_config(facts["config"])):
        for step in range(2):
            args = [ARRAYS[f"{key}true{step}"]]
            if kind != "values":
                args.append(ARRAYS[f"{key}pred{step}"])
            metric.update_state(*args, sample_weight=optional(f"{key}sw{step}"))
            close(metric.result(), ARRAYS[f"{key}result{step}"])
        assert jsonable(metric.get_config()) == facts["config"]
        assert [[v.name, list(v.shape)] for v in metric.variables] == facts["variables"]
        metric.reset_state()
        close(metric.result(), ARRAYS[key + "reset"])
