"""MobileNetV3, EfficientNetV2, ConvNeXt, RegNet and ResNet-RS against tf.keras 2.21 (fixtures from the peer
recipe, see tests/fixtures/applications/peer/new_families/cases.py):
- structure: summary text (SHA-256 of its lines), parameter/layer/weight counts, first and last
  layers, model name, input and output shapes, the JSON config (SHA-256);
- numbers: every weight set by a formula of its position in `model.weights`, the outputs of
  the model and of three inner layers on fixed images equal tf.keras';
- files: a whole model saved by tf.keras as .h5 loads (architecture and weights) and predicts
  the same, and serves as `weights=` of our constructor; our model's config equals the one
  tf.keras wrote in that file (every layer's arguments and connections)."""
import hashlib
import json

import h5py
import numpy as np
import pytest

import minikeras as keras
from new_families_support import (build, cases, comparable_config, config_digest, fill, fixture,
                                  number_arrays, summaries)

SUMMARIES = summaries()
ARRAYS = number_arrays()
# Quick to build; the full-size defaults run in the slow sample.
LIGHT = {"mobilenetv3small", "mobilenetv3large", "mobilenetv3small_075_min_notop",
         "mobilenetv3large_notop_nopre", "mobilenetv3small_125_logits", "mobilenetv3large_min_32",
         "efficientnetv2b0", "efficientnetv2b0_notop", "efficientnetv2b1_nopre",
         "efficientnetv2s_mini", "convnexttiny", "convnexttiny_notop", "convnext_mini",
         "regnetx002", "regnetx002_notop", "regnety004_nopre_logits", "regnety002_named",
         "regnety_mini", "resnetrs_mini"}
H5_CASES = [case for case, (_, _, saved) in cases.NUMBER_CASES.items() if saved]


def _params(names, light):
    return [name if name in light else pytest.param(name, marks=pytest.mark.slow)
            for name in names]


@pytest.mark.parametrize("case", _params(SUMMARIES, LIGHT))
def test_architecture_matches_tf_keras(case):
    spec = SUMMARIES[case]
    model = build(spec["constructor"], spec["kwargs"])
    lines = []
    model.summary(print_fn=lines.append)
    layers = [[layer.name, type(layer).__name__] for layer in model.layers]
    assert model.name == spec["model_name"]
    assert model.count_params() == spec["total_params"]
    assert (len(model.layers), len(model.weights)) == (spec["n_layers"], spec["n_weights"])
    assert layers[:3] == spec["first_layers"] and layers[-3:] == spec["last_layers"]
    assert list(model.input_shape) == spec["input_shape"]
    assert list(model.output_shape) == spec["output_shape"]
    assert len(lines) == spec["summary_n_lines"]
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    assert digest == spec["summary_sha256"], "\n".join(lines[:40])
    # Every layer's arguments and connections, as tf.keras' model.to_json() has them.
    assert config_digest(model) == spec["config_sha256"]


def _expected(case):
    prefix = case + "/"
    return {key[len(prefix):]: value for key, value in ARRAYS.items() if key.startswith(prefix)}


def _assert_close(actual, expected, what):
    # float32 through tens of layers: compare at the scale of the values.
    scale = float(np.max(np.abs(expected))) or 1.0
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=2e-5 * scale, err_msg=what)


def _outputs(model, case, images):
    """The model's output and those of the inner layers the fixture holds, by name."""
    inner = [name for name in _expected(case) if name != "output"]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in inner] + [model.output])
    values = probe.predict(images, verbose=0)
    return dict(zip(inner + ["output"], values))


@pytest.mark.parametrize("case", list(cases.NUMBER_CASES))
def test_forward_matches_tf_keras_with_the_same_weights(case):
    constructor, kwargs, _ = cases.NUMBER_CASES[case]
    model = build(constructor, kwargs)
    fill(model)
    images = cases.probe_images(kwargs["input_shape"])
    actual = _outputs(model, case, images)
    expected = _expected(case)
    assert set(actual) == set(expected) and len(expected) == 4
    for name, value in expected.items():
        assert actual[name].shape == value.shape
        _assert_close(actual[name], value, f"{case}: {name}")


@pytest.mark.parametrize("case", H5_CASES)
def test_tf_keras_h5_model_loads_and_predicts_the_same(case):
    constructor, kwargs, _ = cases.NUMBER_CASES[case]
    model = keras.models.load_model(fixture(case + ".h5"))
    reference = build(constructor, kwargs)
    assert [(layer.name, type(layer).__name__) for layer in model.layers] == \
        [(layer.name, type(layer).__name__) for layer in reference.layers]
    images = cases.probe_images(kwargs["input_shape"])
    _assert_close(model.predict(images, verbose=0), _expected(case)["output"], case)


@pytest.mark.parametrize("case", H5_CASES)
def test_tf_keras_h5_file_as_constructor_weights(case):
    constructor, kwargs, _ = cases.NUMBER_CASES[case]
    model = build(constructor, kwargs, weights=fixture(case + ".h5"))
    images = cases.probe_images(kwargs["input_shape"])
    _assert_close(model.predict(images, verbose=0), _expected(case)["output"], case)


@pytest.mark.parametrize("case", H5_CASES)
def test_config_equals_the_one_tf_keras_wrote(case):
    constructor, kwargs, _ = cases.NUMBER_CASES[case]
    with h5py.File(fixture(case + ".h5"), "r") as f:
        expected = comparable_config(json.loads(f.attrs["model_config"]))
    model = build(constructor, kwargs)
    actual = comparable_config({"class_name": "Functional", "config": model.get_config()})
    assert actual["config"].keys() == expected["config"].keys()
    for ours, theirs in zip(actual["config"]["layers"], expected["config"]["layers"], strict=True):
        assert ours == theirs, ours["name"]
    assert actual == expected
