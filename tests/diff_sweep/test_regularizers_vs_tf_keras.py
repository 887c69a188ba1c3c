"""Regularizer penalties, configs and serialized forms recorded from tf.keras 2.21."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES

with open(os.path.join(FIXTURES, "diff_sweep", "regularizers.json")) as f:
    FACTS = json.load(f)
CASES = [k for k in FACTS if k != "weight"]


@pytest.mark.parametrize("case_id", CASES)
def test_regularizer_matches_tf_keras(case_id):
    facts = FACTS[case_id]
    weight = np.asarray(FACTS["weight"], np.float32)
    for reg in (getattr(keras.regularizers, facts["class"])(**facts["kwargs"]),
                keras.regularizers.deserialize(facts["serialized"])):
        value = reg(weight)
        assert np.asarray(value).dtype == np.float32
        np.testing.assert_allclose(float(value), facts["value"], rtol=1e-5)
        assert reg.get_config() == facts["config"]
    assert json.loads(json.dumps(keras.regularizers.serialize(reg))) == facts["serialized"]
