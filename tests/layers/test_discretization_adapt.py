"""Discretization.adapt against tf.keras 2.21 (tests/fixtures/prep/lookup_cases.json,
`disc_*`): learned boundaries (batch sizes, epsilon, 2-D data, ties) and the bucketized
outputs."""
import json
import os

import numpy as np
import pytest

import minikeras as keras

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "prep")
with open(os.path.join(FIXTURES, "lookup_cases.json"), encoding="utf-8") as _handle:
    CASES = json.load(_handle)


@pytest.mark.parametrize("name", sorted(n for n in CASES if n.startswith("disc_")))
def test_discretization_adapt_matches_tf_keras(name):
    case = CASES[name]
    layer = keras.layers.Discretization(**case["ctor"])
    layer.adapt(np.asarray(case["data"], np.float32), batch_size=case["batch_size"])
    np.testing.assert_allclose(layer.bin_boundaries, case["bin_boundaries"], rtol=1e-6,
                               atol=1e-6)
    out = layer(np.asarray(case["test"], np.float32)).numpy()
    np.testing.assert_array_equal(out, np.asarray(case["output"]))
    config = json.loads(json.dumps(layer.get_config()))
    expected = dict(case["config"])
    config.pop("name"), expected.pop("name")
    assert config == expected


def test_adapt_refused_with_given_boundaries():
    layer = keras.layers.Discretization(bin_boundaries=[0.0, 1.0])
    with pytest.raises(ValueError, match="initialized with `bin_boundaries`"):
        layer.adapt(np.zeros((4, 1), np.float32))
