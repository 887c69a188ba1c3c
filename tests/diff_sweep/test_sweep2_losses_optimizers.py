"""Second differential sweep, losses and optimizers (fixtures/diff_sweep2/loss_opt_cases.py):
loss values and their gradients with respect to y_pred, and 5 optimizer steps on fixed
gradients (every class, legacy ones too, with clipping, weight decay, EMA and schedules), must
match tf.keras 2.21. Cases tf.keras rejects must raise in minikeras too."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module
from minikeras.core.tensor import Tensor

HERE = os.path.join(FIXTURES, "diff_sweep2")
cases = load_fixture_module("sweep2_loss_opt_cases", "diff_sweep2", "loss_opt_cases.py")
packed = load_fixture_module("sweep2_packed_arrays", "diff_sweep2", "packed_arrays.py")
with open(os.path.join(HERE, "losses_optimizers.json")) as f:
    FACTS = json.load(f)
ARRAYS = packed.Unpacked(os.path.join(HERE, "losses_optimizers.npz"))


def assert_close(got, expected, rtol, what):
    got = np.asarray(got)
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                               atol=rtol * max(scale, 1e-3) + 1e-7, rtol=0, err_msg=what)


@pytest.mark.parametrize("case", cases.LOSS_CASES, ids=[c[0] for c in cases.LOSS_CASES])
def test_loss_value_and_gradient_match_tf_keras(case):
    case_id, cls, kwargs, _, _ = case
    facts = FACTS["losses"][case_id]
    loss = getattr(keras.losses, cls)(**kwargs)
    y_pred = Tensor(ARRAYS[f"{case_id}__yp"])
    sw = ARRAYS[f"{case_id}__sw"] if facts["sample_weight"] else None
    if "error" in facts:     # e.g. per-element weights that tf.keras cannot squeeze
        with pytest.raises((ValueError, TypeError)):
            np.asarray(loss(ARRAYS[f"{case_id}__yt"], y_pred, sample_weight=sw))
        return
    with keras.GradientTape() as tape:
        tape.watch(y_pred)
        value = loss(ARRAYS[f"{case_id}__yt"], y_pred, sample_weight=sw)
        total = keras.ops.sum(value)
    grad = tape.gradient(total, y_pred)
    assert_close(value, ARRAYS[f"{case_id}__loss"], 1e-5, "loss")
    assert_close(grad, ARRAYS[f"{case_id}__grad"], 1e-4, "gradient")


def make_optimizer(module, cls, kwargs):
    kwargs = dict(kwargs)
    lr = kwargs.get("learning_rate")
    if isinstance(lr, dict):
        spec = dict(lr)
        kwargs["learning_rate"] = getattr(keras.optimizers.schedules,
                                          spec.pop("schedule"))(**spec)
    namespace = keras.optimizers.legacy if module == "legacy" else keras.optimizers
    return getattr(namespace, cls)(**kwargs)


OPT_CASES = cases.OPTIMIZER_CASES


@pytest.mark.parametrize("case", OPT_CASES, ids=[c[0] for c in OPT_CASES])
def test_optimizer_steps_match_tf_keras(case):
    case_id, module, cls, kwargs = case
    facts = FACTS["optimizers"][case_id]
    if "error" in facts:
        with pytest.raises(Exception):
            optimizer = make_optimizer(module, cls, kwargs)
            variable = keras.Variable(np.zeros(2, np.float32))
            optimizer.apply_gradients([(np.ones(2, np.float32), variable)])
        return
    optimizer = make_optimizer(module, cls, kwargs)
    variables = [keras.Variable(ARRAYS[f"{case_id}__init{k}"]) for k in range(2)]
    for step in range(facts["steps"]):
        grads = [Tensor(ARRAYS[f"{case_id}__g{step}_{k}"]) for k in range(2)]
        optimizer.apply_gradients(zip(grads, variables))
        for k, v in enumerate(variables):
            assert_close(v.numpy(), ARRAYS[f"{case_id}__v{step}_{k}"], 1e-5,
                         f"variable {k} after step {step + 1}")
    if hasattr(optimizer, "finalize_variable_values"):
        optimizer.finalize_variable_values(variables)
    for k, v in enumerate(variables):
        assert_close(v.numpy(), ARRAYS[f"{case_id}__final{k}"], 1e-5, f"variable {k} finalized")


METRIC_CASES = cases.METRIC_CASES


@pytest.mark.parametrize("case", METRIC_CASES, ids=[c[0] for c in METRIC_CASES])
def test_metric_with_sample_weights_matches_tf_keras(case):
    """Per-sample, (batch, 1), per-element and per-timestep weights: tf.keras' result, or an
    error where tf.keras cannot squeeze or broadcast the weights."""
    case_id, cls, kwargs, _, _ = case
    facts = FACTS["metrics"][case_id]
    metric = getattr(keras.metrics, cls)(**kwargs)
    key = "metric_" + case_id
    args = (ARRAYS[f"{key}__yt"], ARRAYS[f"{key}__yp"])
    sample_weight = ARRAYS[f"{key}__sw"]
    if "error" in facts:
        with pytest.raises((ValueError, TypeError)):
            metric.update_state(*args, sample_weight=sample_weight)
            np.asarray(metric.result())
        return
    metric.update_state(*args, sample_weight=sample_weight)
    assert_close(metric.result(), ARRAYS[f"{key}__result"], 1e-5, "result")
