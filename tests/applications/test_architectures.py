"""Every application family against tf.keras 2.21: the summary text (as a SHA-256 of its
lines, see tests/fixtures/applications/peer/summaries.json), parameter, layer and weight
counts, the first and last layers. The fixture-backed full comparisons are in
test_fixture_summaries.py."""
import hashlib
import json

import pytest

import minikeras as keras
from conftest import fixture_path

with open(fixture_path("applications", "peer", "summaries.json")) as f:
    CASES = json.load(f)["models"]
# Quick to build (small inputs or few parameters); the others run in the slow sample.
LIGHT = {"mobilenet_025_128", "mobilenet_notop", "mobilenetv2_035_nonsquare",
         "efficientnetb0_notop", "nasnetmobile", "densenet121", "xception",
         "inceptionv3_notop", "efficientnetb0"}


def _params():
    return [case if case in LIGHT else pytest.param(case, marks=pytest.mark.slow)
            for case in CASES]


@pytest.mark.parametrize("case", _params())
def test_architecture_matches_tf_keras(case):
    spec = CASES[case]
    kwargs = dict(spec["kwargs"])
    if "input_shape" in kwargs:
        kwargs["input_shape"] = tuple(kwargs["input_shape"])
    model = getattr(keras.applications, spec["constructor"])(weights=None, **kwargs)
    lines = []
    model.summary(print_fn=lines.append)
    assert model.count_params() == spec["total_params"]
    assert len(model.layers) == spec["n_layers"]
    assert len(model.weights) == spec["n_weights"]
    layers = [[layer.name, type(layer).__name__] for layer in model.layers]
    assert layers[:3] == spec["first_layers"] and layers[-3:] == spec["last_layers"]
    assert len(lines) == spec["summary_n_lines"]
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    assert digest == spec["summary_sha256"], "\n".join(lines[:40])
