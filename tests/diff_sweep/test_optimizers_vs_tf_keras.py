"""Differential sweep: the optimizer cases of fixtures/diff_sweep/optimizer_cases.py take the
same four steps as tf.keras (recorded variable values), and have its config, slot variable
names and learning rates; tf.keras' config loads via from_config."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

HERE = os.path.join(FIXTURES, "diff_sweep")
cases = load_fixture_module("diff_optimizer_cases", "diff_sweep", "optimizer_cases.py")
with open(os.path.join(HERE, "optimizers.json")) as f:
    FACTS = json.load(f)
ARRAYS = np.load(os.path.join(HERE, "optimizers.npz"))
CASES = [c for c in cases.OPTIMIZER_CASES if "error" not in FACTS[c[0]]]
STEPS = 4


def jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist")
                                 else repr(o)))


def make_kwargs(kwargs):
    out = dict(kwargs)
    lr = out.get("learning_rate")
    if isinstance(lr, dict):
        lr = dict(lr)
        out["learning_rate"] = getattr(keras.optimizers.schedules, lr.pop("schedule"))(**lr)
    return out


def run_steps(optimizer, case_id):
    variables = [keras.Variable(ARRAYS[f"init{k}"].copy(), name=f"v{k}") for k in range(2)]
    learning_rates = []
    for step in range(STEPS):
        grads = [ARRAYS[f"grad{step}_{k}"] for k in range(2)]
        optimizer.apply_gradients(zip(grads, variables))
        for k, v in enumerate(variables):
            expected = ARRAYS[f"{case_id}__step{step}_{k}"]
            assert np.asarray(v).dtype == np.float32
            np.testing.assert_allclose(np.asarray(v), expected, rtol=2e-5, atol=2e-6,
                                       err_msg=f"step {step}, variable {k}")
        learning_rates.append(float(np.asarray(optimizer.learning_rate)))
    return learning_rates


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_optimizer_matches_tf_keras(case):
    case_id, cls, kwargs = case
    facts = FACTS[case_id]
    optimizer = getattr(keras.optimizers, cls)(**make_kwargs(kwargs))
    learning_rates = run_steps(optimizer, case_id)
    np.testing.assert_allclose(learning_rates, facts["lr_after"], rtol=1e-6)
    assert int(np.asarray(optimizer.iterations)) == facts["iterations"]
    assert [[v.name, list(v.shape)] for v in optimizer.variables()] == facts["variables"]
    assert jsonable(optimizer.get_config()) == facts["config"]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_tf_keras_optimizer_config_loads(case):
    case_id, cls, _ = case
    optimizer = getattr(keras.optimizers, cls).from_config(FACTS[case_id]["config"])
    run_steps(optimizer, case_id)
    assert jsonable(optimizer.get_config()) == FACTS[case_id]["config"]
