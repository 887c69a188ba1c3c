"""Hashing, HashedCrossing and the pure-Python hashes against tf.keras 2.21 / TensorFlow
(tests/fixtures/prep/lookup_cases.json: `fingerprint`, `hash_*`, `cross_*`)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras.layers.preprocessing.hash_functions import fingerprint64

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "prep")
with open(os.path.join(FIXTURES, "lookup_cases.json"), encoding="utf-8") as _handle:
    CASES = json.load(_handle)


def _array(values):
    array = np.asarray(values, dtype=object)
    if array.size and isinstance(array.reshape(-1)[0], str):
        return array
    return np.asarray(values)


def _json_config(layer_or_config):
    config = layer_or_config if isinstance(layer_or_config, dict) else layer_or_config.get_config()
    config = json.loads(json.dumps(config))
    config.pop("name")
    return config


def test_fingerprint64_matches_tensorflow_for_every_length_class():
    case = CASES["fingerprint"]
    for text, raw in zip(case["strings"], case["fingerprint_bytes"]):
        assert fingerprint64(text) == int.from_bytes(bytes(raw), "little"), text
    for text, bucket in zip(case["strings"], case["mod_2_63_minus_1"]):
        assert fingerprint64(text) % (2 ** 63 - 1) == bucket


HASH_CASES = sorted(n for n in CASES if n.startswith("hash_") and "error" not in CASES[n])


@pytest.mark.parametrize("name", HASH_CASES)
def test_hashing_matches_tf_keras(name):
    case = CASES[name]
    layer = keras.layers.Hashing(**case["ctor"])
    out = layer(_array(case["test"])).numpy()
    assert out.dtype == np.dtype(case["dtype"])
    np.testing.assert_array_equal(out, np.asarray(case["output"]))
    assert _json_config(layer) == _json_config(case["config"])
    clone = keras.layers.Hashing.from_config(layer.get_config())
    np.testing.assert_array_equal(clone(_array(case["test"])).numpy(), out)


def test_hashing_refuses_floats_like_tensorflow():
    assert "error" in CASES["hash_float"]
    with pytest.raises(ValueError, match="string or integer"):
        keras.layers.Hashing(num_bins=3)(np.array([[0.5, 1.0]]))


CROSS_CASES = sorted(n for n in CASES if n.startswith("cross_"))


@pytest.mark.parametrize("name", CROSS_CASES)
def test_hashed_crossing_matches_tf_keras(name):
    case = CASES[name]
    layer = keras.layers.HashedCrossing(**case["ctor"])
    out = layer((_array(case["a"]), _array(case["b"]))).numpy()
    assert out.dtype == np.dtype(case["dtype"])
    np.testing.assert_array_equal(out, np.asarray(case["output"]))
    assert _json_config(layer) == _json_config(case["config"])


@pytest.mark.parametrize("kwargs, error", [
    ({"num_bins": 0}, "cannot be `None` or non-positive"),
    ({"num_bins": 3, "salt": "x"}, "tuple of size 2 integers"),
    ({"num_bins": 3, "output_mode": "tf_idf"}, "invalid value `tf_idf`"),
    ({"num_bins": 3, "output_mode": "int", "sparse": True}, "`sparse` may only be true"),
])
def test_hashing_bad_arguments(kwargs, error):
    with pytest.raises(ValueError, match=error):
        keras.layers.Hashing(**kwargs)


def test_sparse_outputs_are_not_implemented():
    with pytest.raises(NotImplementedError, match="sparse"):
        keras.layers.Hashing(num_bins=3, output_mode="one_hot", sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        keras.layers.HashedCrossing(num_bins=3, output_mode="one_hot", sparse=True)


def test_hashed_crossing_shape_errors():
    layer = keras.layers.HashedCrossing(num_bins=3)
    with pytest.raises(ValueError, match="at least two inputs"):
        layer([np.array([1, 2])])
    with pytest.raises(ValueError, match="equal shape"):
        layer([np.array([1, 2]), np.array([1, 2, 3])])
