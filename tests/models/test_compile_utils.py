"""models/compile_utils.py against tf.keras 2.21 numbers (tests/fixtures/trainfuzz): a loss
compiled with reduction="none" trains on the sum of its per-sample values and the `loss`
tracker averages those values, each batch weighted by its size."""
import json
import os

import numpy as np

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

HERE = os.path.join(FIXTURES, "trainfuzz")
cases = load_fixture_module("trainfuzz_regression_cases", "trainfuzz", "regression_cases.py")
with open(os.path.join(HERE, "regressions.json")) as f:
    FACTS = json.load(f)
ARRAYS = np.load(os.path.join(HERE, "regressions.npz"))


def test_reduction_none_loss_matches_tf_keras():
    x, labels = cases.dense_data()
    model, compile_kwargs = cases.reduction_none_model(keras)
    n_weights = len(model.get_weights())
    model.set_weights([ARRAYS[f"reduction_none__init{k}"] for k in range(n_weights)])
    model.compile(**compile_kwargs)
    history = model.fit(x, labels, batch_size=4, epochs=2, shuffle=False, verbose=0)
    expected = FACTS["reduction_none"]["history"]
    assert list(history.history) == list(expected)
    for key, values in expected.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5, err_msg=key)
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"reduction_none__final{k}"], rtol=1e-5,
                                   atol=1e-6)
