"""StringLookup / IntegerLookup against tf.keras 2.21 (tests/fixtures/prep/lookup_cases.json,
recipe in tests/fixtures/PROVENANCE.md): vocabularies, outputs, dtypes, configs."""
import json
import os

import numpy as np
import pytest

import minikeras as keras

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "prep")
with open(os.path.join(FIXTURES, "lookup_cases.json"), encoding="utf-8") as _handle:
    CASES = json.load(_handle)

LOOKUPS = {"str_": keras.layers.StringLookup, "int_": keras.layers.IntegerLookup}


def _layer_class(name):
    return next(cls for prefix, cls in LOOKUPS.items() if name.startswith(prefix))


def _strings_or_ints(values):
    array = np.asarray(values, dtype=object)
    if array.size and isinstance(array.reshape(-1)[0], str):
        return array
    return np.asarray(values)


def _check_same_output(got, expected, dtype):
    got = got.numpy()
    if dtype == "string":
        assert got.dtype == object
        assert got.tolist() == expected
    else:
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-6, atol=1e-6)


def _config_without_name(config):
    config = json.loads(json.dumps(config))     # tuples become lists, as in a saved config
    config.pop("name")
    return config


CASE_NAMES = sorted(n for n in CASES if n.startswith(tuple(LOOKUPS)) and "error" not in CASES[n])


@pytest.mark.parametrize("name", CASE_NAMES)
def test_lookup_matches_tf_keras(name):
    case = CASES[name]
    layer = _layer_class(name)(**case["ctor"])
    if case["adapt"] is not None:
        layer.adapt(_strings_or_ints(case["adapt"]))
    out = layer(_strings_or_ints(case["test"]))
    _check_same_output(out, case["output"], case["dtype"])
    assert layer.get_vocabulary() == case["vocab"]
    assert layer.get_vocabulary(include_special_tokens=False) == case["vocab_no_special"]
    assert layer.vocabulary_size() == case["vocabulary_size"]
    assert _config_without_name(layer.get_config()) == _config_without_name(case["config"])
    if "idf_weights" in case:
        expected = [float(v) for v in case["idf_weights"].split("[")[1].split("]")[0].split(",")]
        np.testing.assert_allclose(layer.idf_weights.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_lookup_config_round_trip(name):
    case = CASES[name]
    layer = _layer_class(name)(**case["ctor"])
    if case["adapt"] is not None:
        layer.adapt(_strings_or_ints(case["adapt"]))
        return      # an adapted vocabulary travels in assets / set_vocabulary, not the config
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    _check_same_output(clone(_strings_or_ints(case["test"])), case["output"], case["dtype"])
