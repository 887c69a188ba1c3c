"""Deep keras.applications networks against tf_keras 2.21 (fixtures tests/fixtures/deep/, recipe
benchmarks/fixture_recipes/deep.py, cases in deep_cases.py run unchanged by both libraries).

Both sides draw the same weights from a seed. In float64 minikeras must give tf's numbers to
float64 round-off: the training-mode forward (batch statistics), loss, every weight's gradient,
the update of two SGD(momentum) steps, the moving statistics and the inference forward. A formula difference
shows as 1e-9 or more (a float32-rounded constant) where round-off stays near 1e-12 (gradients
of the deepest ResNets: 1e-10, the same as reordering the batch gives). In float32, minikeras
must be as close to tf's float64 truth as tf's own float32 run is."""
import hashlib
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path, load_fixture_module

cases = load_fixture_module("deep_cases", "deep", "deep_cases.py")
with open(fixture_path("deep", "deep.json")) as f:
    FACTS = json.load(f)
ARRAYS = np.load(fixture_path("deep", "deep.npz"))
ARCHITECTURES = sorted(FACTS["architectures"])
# Cheap enough (< ~2 s) to run every time; the rest are sampled (`--slow=all` runs them all).
LIGHT = {"MobileNet", "MobileNetV2"}

# float64 bounds: ~100x the round-off seen, ~10x below the smallest formula difference found.
FLOAT64_BOUNDS = {"loss": 1e-10, "inference_probs": 1e-11, "training_probs": 1e-10,
                  "after_inference_probs": 1e-9, "inference_probes": 1e-12,
                  "training_probes": 1e-10, "gradient_stages": 3e-9, "update_stages": 3e-9,
                  "moving_stages": 1e-11}
# float32: at most this many times tf's own float32 distance from the float64 truth, and never
# held tighter than FLOAT32_FLOOR (a float32 ulp and a half).
FLOAT32_FACTOR = 10.0
FLOAT32_FLOOR = 2e-7


def _params(names):
    return [pytest.param(name, id=name, marks=() if name in LIGHT else pytest.mark.slow)
            for name in names]


def _reference(name):
    facts = FACTS["architectures"][name]
    reference = {key.split("/", 1)[1]: ARRAYS[key] for key in ARRAYS.files
                 if key.startswith(name + "/")}
    reference["loss"] = facts["loss"]
    return facts, reference


def _run(name, dtype):
    return cases.run(keras, keras.GradientTape, name, dtype)


def _worst(value):
    return max(value) if isinstance(value, list) else value


@pytest.mark.parametrize("name", _params(ARCHITECTURES))
def test_float64_matches_tf_keras_to_round_off(name):
    facts, reference = _reference(name)
    result = _run(name, "float64")
    assert result["params"] == facts["params"]
    assert hashlib.sha256("\n".join(result["weight_names"]).encode()).hexdigest() == \
        facts["weight_names_sha256"]
    assert result["probes"] == facts["probes"]
    summary = result["summary"]
    assert len(summary.splitlines()) == facts["summary_lines"]
    assert hashlib.sha256(summary.encode()).hexdigest() == facts["summary_sha256"]
    distances = cases.distances(result, reference)
    too_far = {key: value for key, value in distances.items()
               if _worst(value) > FLOAT64_BOUNDS[key]}
    assert not too_far, f"{name}: float64 results differ from tf_keras by {too_far}"


@pytest.mark.parametrize("name", _params(ARCHITECTURES))
def test_float32_is_as_close_to_the_truth_as_tf_keras_float32(name):
    facts, reference = _reference(name)
    result = _run(name, "float32")
    ours = cases.distances(result, reference)
    theirs = facts["float32_distances"]
    too_far = {}
    for key, value in ours.items():
        bounds = theirs[key]
        if not isinstance(value, list):
            value, bounds = [value], [bounds]
        for index, (distance, bound) in enumerate(zip(value, bounds)):
            if distance > max(FLOAT32_FACTOR * bound, FLOAT32_FLOOR):
                too_far[f"{key}[{index}]"] = (distance, bound)
    assert not too_far, f"{name}: (ours, tf_keras float32) distances from the truth {too_far}"


FLOAT64_CONSTANTS = cases.float64_constants(
    keras, lambda value: keras.Variable(value),
    lambda value: keras.backend.constant(value, dtype="float64"))


@pytest.mark.parametrize("label", sorted(FACTS["constants_float64"]))
def test_float64_constants_round_as_tf_keras_does(label):
    """tf.cast of a Python float goes through float32: a float64 model scales by
    float32(1 / 127.5) in Rescaling, decays moving averages by float32(0.01), steps with
    float32(0.9) momentum and float32 betas (but a float64 learning rate), and gelu's
    constants are float32's."""
    expected = FACTS["constants_float64"][label]
    ours = FLOAT64_CONSTANTS[label]
    if isinstance(expected, dict):
        for key in expected:
            np.testing.assert_allclose(ours[key], expected[key], rtol=1e-15, atol=0, err_msg=key)
    else:
        # gelu's negative tail goes through erfc / 1 + tanh(-17), whose last bits differ
        # between libraries; the float32-rounded constants move values by 1e-10 and more.
        if label.startswith("gelu"):
            np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)
        else:
            np.testing.assert_allclose(ours, expected, rtol=1e-15, atol=1e-300)
