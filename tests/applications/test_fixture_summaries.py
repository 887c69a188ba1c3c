"""The applications in tests/fixtures/applications/ rebuilt: summary text byte-identical to
tf.keras, same layers (names and classes), parameter counts, weights, input/output shapes."""
import json

import pytest

import minikeras as keras
from conftest import fixture_path

with open(fixture_path("applications", "index.json")) as f:
    CASES = json.load(f)["models"]
HEAVY = {"vgg16"}   # 138M parameters: about 0.5 GB of float32 weights


def _load_case(case):
    with open(fixture_path("applications", "models", f"{case}.json")) as f:
        return json.load(f)


def _build(spec):
    kwargs = dict(spec["kwargs"])
    if "input_shape" in kwargs:
        kwargs["input_shape"] = tuple(kwargs["input_shape"])
    return getattr(keras.applications, spec["constructor"])(**kwargs)


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in HEAVY else c
                                  for c in CASES])
def test_application_matches_tf_keras(case):
    expected = _load_case(case)
    model = _build(CASES[case])
    lines = []
    model.summary(print_fn=lines.append)
    assert lines == expected["summary_lines"]
    assert model.name == expected["model_name"]
    assert type(model).__name__ == expected["model_class"]
    assert [[layer.name, type(layer).__name__] for layer in model.layers] == expected["layers"]
    assert model.count_params() == expected["total_params"]
    trainable = sum(int(w.data.size) for w in model.trainable_weights)
    assert trainable == expected["trainable_params"]
    assert model.count_params() - trainable == expected["non_trainable_params"]
    assert len(model.weights) == expected["n_weights"]
    assert list(model.input_shape) == expected["input_shape"]
    assert list(model.output_shape) == expected["output_shape"]
