"""Lambda functions in tf.keras 2 configs: every Python function (named `def`s too) is stored
as marshalled bytecode with `function_type: "lambda"`, and loading refuses it unless safe mode
is off (fixture files2/to_json, written by tf.keras 2.21 under CPython 3.11)."""
import base64
import json
import marshal
import sys
import warnings

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

CASE = json.load(open(fixture_path("files2", "files2.json")))["to_json"][0]
ARRAYS = np.load(fixture_path("files2", "files2.npz"))
SAFE_MODE_ERROR = ("Requested the deserialization of a Lambda layer with a Python `lambda` "
                   "inside it")


def affine_fn(t):
    return t * 2.0


def lambda_config(model, name):
    return next(entry["config"] for entry in json.loads(model.to_json())["config"]["layers"]
                if entry["config"]["name"] == name)


def test_named_function_is_stored_as_bytecode_like_tf_keras():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)),
                              keras.layers.Lambda(affine_fn, name="affine")])
    config = lambda_config(model, "affine")
    want = next(entry["config"] for entry in CASE["json_parsed"]["config"]["layers"]
                if entry["class_name"] == "Lambda")
    assert config["function_type"] == want["function_type"] == "lambda"
    assert config["module"] == __name__
    code, defaults, closure = config["function"]
    assert (defaults, closure) == (None, None)
    assert marshal.loads(base64.b64decode(code)).co_name == "affine_fn"
    # tf.keras writes base64 with a newline every 76 characters.
    assert all(len(line) <= 76 for line in code.split("\n")) and code.endswith("\n")
    assert set(config) == set(want)


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the fixture's bytecode is CPython "
                                                            "3.11's")
def test_tf_keras_json_is_refused_in_safe_mode_and_loads_without_it():
    with pytest.raises(ValueError, match=SAFE_MODE_ERROR):
        keras.models.model_from_json(CASE["json"])
    model = keras.models.model_from_json(CASE["json"], safe_mode=False)
    assert [layer.name for layer in model.layers] == CASE["loaded_layer_names"]
    assert [type(layer).__name__ for layer in model.layers] == CASE["loaded_layer_classes"]
    for name in ("shared_dense", "head"):
        model.get_layer(name).set_weights([ARRAYS[f"json/w/{name}/{i}"] for i in range(2)])
    np.testing.assert_allclose(model.predict([ARRAYS["json/left"], ARRAYS["json/right"]],
                                             verbose=0), ARRAYS["json/expected"], rtol=1e-5,
                               atol=1e-6)
    with keras.saving.safe_mode_scope(False):
        keras.models.model_from_json(CASE["json"])


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the fixture's bytecode is CPython "
                                                            "3.11's")
def test_tf_keras_h5_with_lambda_loads_in_safe_mode_as_tf_keras():
    # tf.keras 2.21's safe mode does not reach legacy .h5 files: their bytecode runs.
    path = fixture_path("files2", CASE["h5_file"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.models.load_model(path)
    np.testing.assert_allclose(model.predict([ARRAYS["json/left"], ARRAYS["json/right"]],
                                             verbose=0), ARRAYS["json/expected"], rtol=1e-5,
                               atol=1e-6)


def test_closure_over_a_module_round_trips():
    backend = keras.backend

    def with_closure(t):
        return backend.square(t)
    model = keras.Sequential([keras.layers.Lambda(with_closure, input_shape=(3,))])
    config = lambda_config(model, model.layers[0].name)
    assert config["function"][2] == [{"module": "builtins", "class_name": "module",
                                      "config": "minikeras.backend", "registered_name": "module"}]
    restored = keras.models.model_from_json(model.to_json(), safe_mode=False)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), x * x)


def test_keras3_archive_keeps_named_functions_by_name(tmp_path):
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(3,)),
                              keras.layers.Lambda(keras.activations.relu)])
    model.save(tmp_path / "m.keras")
    keras.models.load_model(tmp_path / "m.keras")      # safe mode: no bytecode inside
