"""Differential sweep: the models of fixtures/diff_sweep/model_cases.py (built with the same
public-API code in both libraries) print tf.keras' summary() text, have its config, weight and
layer names, parameter counts and predictions (its weights copied in); its JSON loads. The
initializers give tf.keras' distribution statistics for a seed, and its configs."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

HERE = os.path.join(FIXTURES, "diff_sweep")
cases = load_fixture_module("diff_model_cases", "diff_sweep", "model_cases.py")
with open(os.path.join(HERE, "models.json")) as f:
    FACTS = json.load(f)
ARRAYS = np.load(os.path.join(HERE, "models.npz"))
MODELS = sorted(cases.MODELS)
# uniform and truncated-normal initializers: the sample's extremes sit at the support's bounds
BOUNDED = {"glorot_u", "he_u_conv", "lecun_u", "vs_in_u", "runiform", "glorot_n", "he_n_conv",
           "lecun_n", "vs_out_tr", "tnormal"}


def jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist")
                                 else repr(o)))


def summary_text(model, **kwargs):
    lines = []
    model.summary(print_fn=lambda line, *a, **k: lines.append(line), **kwargs)
    return "\n".join(lines)


def _comparable(config):
    """A model JSON without the library fields (each Keras writes its own version and backend)
    and without Lambda bytecode, whose closure names the library's own module."""
    config = json.loads(json.dumps(config))
    config.pop("keras_version")
    config.pop("backend")
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Lambda":
            layer["config"].pop("function")
            layer["config"].pop("module")
    return config


def model_json(model):
    return _comparable(json.loads(model.to_json()))


def tf_config(name):
    return _comparable(FACTS["models"][name]["config"])


# tf.keras' Lambda bytecode refers to tf_keras itself: it cannot run here
NO_JSON_LOAD = {"siamese_shared"}


def check_predictions(model, name):
    n_weights = len(FACTS["models"][name]["weight_names"])
    model.set_weights([ARRAYS[f"{name}__w{k}"] for k in range(n_weights)])
    n_inputs = len(model.inputs)
    xs = [ARRAYS[f"{name}__x{k}"] for k in range(n_inputs)]
    ys = model.predict(xs if n_inputs > 1 else xs[0], verbose=0)
    ys = ys if isinstance(ys, list) else [ys]
    for k, y in enumerate(ys):
        expected = ARRAYS[f"{name}__y{k}"]
        assert y.dtype == expected.dtype
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_model_matches_tf_keras(name):
    facts = FACTS["models"][name]
    model = cases.MODELS[name](keras)
    for variant, kwargs in cases.SUMMARY_VARIANTS:
        assert summary_text(model, **kwargs) == facts["summaries"][variant], variant
    assert [layer.name for layer in model.layers] == facts["layer_names"]
    assert [w.name for w in model.weights] == facts["weight_names"]
    assert [list(w.shape) for w in model.weights] == facts["weight_shapes"]
    assert model.count_params() == facts["count_params"]
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == facts["trainable"]
    assert jsonable(model.input_shape) == facts["input_shape"]
    assert jsonable(model.output_shape) == facts["output_shape"]
    assert model_json(model) == tf_config(name)
    check_predictions(model, name)


@pytest.mark.parametrize("name", sorted(set(MODELS) - NO_JSON_LOAD))
def test_tf_keras_model_json_loads(name):
    facts = FACTS["models"][name]
    model = keras.models.model_from_json(json.dumps(facts["config"]))
    assert [w.name for w in model.weights] == facts["weight_names"]
    check_predictions(model, name)
    assert model_json(model) == tf_config(name)


@pytest.mark.parametrize("case", cases.INITIALIZER_CASES, ids=[c[0] for c in cases.INITIALIZER_CASES])
def test_initializer_statistics_match_tf_keras(case):
    case_id, cls, kwargs, shape = case
    facts = FACTS["initializers"][case_id]
    init = getattr(keras.initializers, cls)(**kwargs)
    values = np.asarray(init(shape, dtype="float32"))
    assert values.dtype == np.float32 and values.shape == tuple(shape)
    assert jsonable(init.get_config()) == facts["config"]
    if f"init_{case_id}" in ARRAYS:
        np.testing.assert_array_equal(values, ARRAYS[f"init_{case_id}"])
        return
    n = values.size
    std = facts["std"]
    assert abs(values.mean() - facts["mean"]) < 6 * std / np.sqrt(n) + 1e-6
    assert values.std() == pytest.approx(std, rel=6 / np.sqrt(n) + 0.01)
    spread = facts["max"] - facts["min"]
    if case_id in BOUNDED:       # uniform or truncated normal: the same support
        assert values.min() == pytest.approx(facts["min"], abs=0.03 * spread)
        assert values.max() == pytest.approx(facts["max"], abs=0.03 * spread)
    if cls == "Orthogonal":
        flat = values.reshape(-1, values.shape[-1])
        gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        scaled_identity = np.allclose(gram, kwargs.get("gain", 1.0) ** 2 *
                                      np.eye(min(flat.shape)), atol=1e-4)
        assert scaled_identity == facts["gram_is_scaled_identity"]
