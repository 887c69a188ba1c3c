"""The training loop as users see it, compared with tf_keras 2.21: the cases of
fixtures/loop_sweep/loop_cases.py (plain public-API code) run here with minikeras must return
what they returned with tf_keras (observations.json, written by
benchmarks/fixture_recipes/loop_sweep.py)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

cases = load_fixture_module("loop_sweep_cases", "loop_sweep", "loop_cases.py")
with open(os.path.join(FIXTURES, "loop_sweep", "observations.json")) as f:
    OBSERVED = json.load(f)


@pytest.mark.parametrize("name", sorted(cases.LOOP_CASES))
def test_loop_case_matches_tf_keras(name, tmp_path):
    got = cases.LOOP_CASES[name](keras, str(tmp_path))
    assert cases.differences(got, OBSERVED[name]) == []


SAMPLE_WEIGHT_HINT = ("`evaluate()` received a value for `sample_weight`, but `weighted_metrics` "
                      "were not provided.  Did you mean to pass metrics to `weighted_metrics` in "
                      "`compile()`?  If this is intentional you can pass `weighted_metrics=[]` to "
                      "`compile()` in order to silence this warning.")


@pytest.mark.parametrize("weighted_metrics, evaluate_hints, fit_hints", [
    (None, 1, 2), ([], 0, 0), (["mae"], 0, 0)])
def test_sample_weight_without_weighted_metrics_hint(caplog, weighted_metrics, evaluate_hints,
                                                      fit_hints):
    """tf_keras 2.21 logs this hint from every evaluate() given sample weights when compile()
    had no `weighted_metrics`, fit's validations included (twice for validation_freq=[1, 3])."""
    x, _, y, _ = cases.data()
    weights = np.linspace(0.1, 1.0, len(x)).astype("float32")
    model = cases.fill(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))
    model.compile("sgd", "mse", metrics=["mae"], weighted_metrics=weighted_metrics)

    def hints():
        found = [r for r in caplog.records if r.getMessage() == SAMPLE_WEIGHT_HINT]
        caplog.clear()
        return len(found)
    model.evaluate(x, y, sample_weight=weights, verbose=0)
    assert hints() == evaluate_hints
    model.evaluate(x, y, verbose=0)
    assert hints() == 0
    model.fit(x, y, epochs=3, verbose=0, validation_data=(x, y, weights), validation_freq=[1, 3])
    assert hints() == fit_hints
