"""models/training.py against tf.keras 2.21 numbers (tests/fixtures/trainfuzz): metrics whose
result is a vector (F1Score per class, Precision at several thresholds) reach the logs and
History as arrays, as in tf.keras."""
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


def test_vector_metrics_in_history_match_tf_keras():
    x, labels = cases.dense_data()
    model, compile_kwargs = cases.f1_model(keras)
    model.set_weights([ARRAYS[f"f1__init{k}"] for k in range(len(model.get_weights()))])
    model.compile(**compile_kwargs)
    history = model.fit(x, np.eye(3, dtype="float32")[labels], batch_size=4, epochs=2,
                        shuffle=False, verbose=0)
    expected = FACTS["f1"]["history"]
    assert list(history.history) == list(expected)
    for key, values in expected.items():
        got = [np.asarray(v) for v in history.history[key]]
        assert [v.shape for v in got] == [np.shape(v) for v in values], key
        np.testing.assert_allclose(np.array(got), np.array(values), rtol=1e-5, atol=1e-6,
                                   err_msg=key)
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"f1__final{k}"], rtol=1e-5, atol=1e-6)
    evaluation = model.evaluate(x, np.eye(3, dtype="float32")[labels], verbose=0,
                                return_dict=True)
    assert np.shape(evaluation["f1_score"]) == (3,)
