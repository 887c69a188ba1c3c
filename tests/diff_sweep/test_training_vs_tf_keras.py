"""Differential sweep: the training cases of fixtures/diff_sweep/training_cases.py (the same
public-API code in both libraries), started from tf.keras' initial weights, give its History
(keys and values), evaluate() results, final weights and predictions."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

HERE = os.path.join(FIXTURES, "diff_sweep")
cases = load_fixture_module("diff_training_cases", "diff_sweep", "training_cases.py")
with open(os.path.join(HERE, "training.json")) as f:
    FACTS = json.load(f)
ARRAYS = np.load(os.path.join(HERE, "training.npz"))


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_training_matches_tf_keras(name):
    facts = FACTS[name]
    model, compile_kwargs, fit_kwargs = cases.CASES[name](keras, np.random.RandomState(5))
    n_weights = len(model.get_weights())
    model.set_weights([ARRAYS[f"{name}__init{k}"] for k in range(n_weights)])
    model.compile(**compile_kwargs)
    history = model.fit(verbose=0, **fit_kwargs)
    assert list(history.history) == facts["history_keys"]
    for key, values in facts["history"].items():
        np.testing.assert_allclose(history.history[key], values, rtol=2e-4, atol=2e-5,
                                   err_msg=key)
    evaluation = model.evaluate(fit_kwargs["x"], fit_kwargs["y"], verbose=0, return_dict=True)
    assert list(evaluation) == list(facts["evaluate"])
    for key, value in facts["evaluate"].items():
        np.testing.assert_allclose(evaluation[key], value, rtol=2e-4, atol=2e-5, err_msg=key)
    assert list(model.metrics_names) == facts["metrics_names"]
    # A conv bias before BatchNormalization has a zero gradient up to rounding noise, which
    # Adam scales up to whole steps: there only the step size bounds the difference.
    atol = 1e-3 if name == "batchnorm_conv" else 1e-5
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"{name}__final{k}"], rtol=1e-3, atol=atol)
    prediction = model.predict(fit_kwargs["x"], verbose=0)
    for k, p in enumerate(prediction if isinstance(prediction, list) else [prediction]):
        np.testing.assert_allclose(p, ARRAYS[f"{name}__pred{k}"], rtol=1e-3, atol=2 * atol)
