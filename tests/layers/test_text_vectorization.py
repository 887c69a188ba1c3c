"""TextVectorization against tf.keras 2.21 (tests/fixtures/prep/lookup_cases.json, `tv_*`
cases): vocabularies, outputs, dtypes and configs for each standardize / split / ngrams /
output mode."""
import json
import os

import numpy as np
import pytest

import minikeras as keras

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "prep")
with open(os.path.join(FIXTURES, "lookup_cases.json"), encoding="utf-8") as _handle:
    CASES = json.load(_handle)
CASE_NAMES = sorted(n for n in CASES if n.startswith("tv_"))


def _ctor(case):
    ctor = dict(case["ctor"])
    if isinstance(ctor.get("ngrams"), list):
        ctor["ngrams"] = tuple(ctor["ngrams"])
    return ctor


def _json_config(layer):
    config = json.loads(json.dumps(layer.get_config()))
    config.pop("name")
    return config


@pytest.mark.parametrize("name", CASE_NAMES)
def test_text_vectorization_matches_tf_keras(name):
    case = CASES[name]
    assert "error" not in case, case.get("error")
    layer = keras.layers.TextVectorization(**_ctor(case))
    if case["adapt"] is not None:
        layer.adapt(case["adapt"])
    out = layer(np.array(case["test"], dtype=object)).numpy()
    assert out.dtype == np.dtype(case["dtype"])
    np.testing.assert_allclose(out, np.asarray(case["output"]), rtol=1e-6, atol=1e-6)
    assert layer.get_vocabulary() == case["vocab"]
    assert layer.get_vocabulary(include_special_tokens=False) == case["vocab_no_special"]
    assert layer.vocabulary_size() == case["vocabulary_size"]
    expected = dict(case["config"])
    expected.pop("name")
    assert _json_config(layer) == expected


@pytest.mark.parametrize("name", ["tv_vocab_given", "tv_vocab_given_seq", "tv_tfidf_given",
                                  "tv_ngrams_tuple"])
def test_text_vectorization_config_round_trip(name):
    case = CASES[name]
    layer = keras.layers.TextVectorization(**_ctor(case))
    if case["adapt"] is not None:
        layer.adapt(case["adapt"])
    config = json.loads(json.dumps(layer.get_config()))
    clone = keras.layers.TextVectorization.from_config(config)
    assert _json_config(clone) == _json_config(layer) or case["adapt"] is not None
    if case["adapt"] is None:
        np.testing.assert_allclose(clone(np.array(case["test"], dtype=object)).numpy(),
                                   np.asarray(case["output"]), rtol=1e-6)
