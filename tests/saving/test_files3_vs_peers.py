"""The files3 models (tests/fixtures/files3/files3_models.py: Lambda layers, registered custom
layers/losses/metrics, nested Sequential/Functional, shared layers with dict outputs, recurrent
wrappers and custom cells, a stateful RNN, masking, preprocessing layers, mixed precision,
attention, EinsumDense, normalizations, merges with regularizers and constraints) saved by
tf_keras 2.21 (legacy `.h5`, `save_weights` `.h5`) and Keras 3.15 (`.keras`) with the recipe
benchmarks/fixture_recipes/files3.py: minikeras loads each file and predicts what the writer
predicted from it; compiled files come back compiled and train on as the writer's did."""
import json
import zipfile

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from fixtures.files3 import files3_models as fm

EXPECTED = {tag: np.load(fixture_path("files3", f"expected_{tag}.npz")) for tag in ("tk", "k3")}
FACTS = {tag: json.load(open(fixture_path("files3", f"expected_{tag}.json")))
         for tag in ("tk", "k3")}
# the mixed_float16 files match to float16 round-off only (tested below).
LOADABLE = [name for name in fm.MODELS if name != "mixed_precision"]
K3_MODELS = [name for name in LOADABLE if name != "string_lookup"]


def custom_objects():
    objects = fm.custom_classes(keras)
    objects["MinimalCell"] = fm.minimal_cell_class(keras)
    objects["scale_by_two"] = fm.scale_by_two
    return objects


def arrays(tag, prefix):
    data = EXPECTED[tag]
    count = 0
    while f"{prefix}/{count}" in data or f"{prefix}/{count:03d}" in data or \
            f"{prefix}/{count:02d}" in data:
        count += 1
    keys = [next(k for k in (f"{prefix}/{i}", f"{prefix}/{i:03d}", f"{prefix}/{i:02d}")
                 if k in data) for i in range(count)]
    return [data[k] for k in keys]


def feed(model, inputs):
    if model.name == "shared_dict":
        return {spec[0]: a for spec, a in zip(fm.input_specs(model), inputs)}
    return inputs if len(inputs) > 1 else inputs[0]


def outputs(prediction):
    if isinstance(prediction, dict):
        return [np.asarray(prediction[k]) for k in sorted(prediction)]
    return [np.asarray(p) for p in (prediction if isinstance(prediction, list) else [prediction])]


def assert_predicts(model, name, tag, what):
    got = outputs(model.predict(feed(model, arrays(tag, f"{name}/x")), verbose=0))
    want = arrays(tag, f"{name}/pred")
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        scale = max(1.0, float(np.abs(w).max()))
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=2e-6 * scale, err_msg=what)


def load(path):
    return keras.models.load_model(path, custom_objects=custom_objects(), safe_mode=False)


@pytest.mark.parametrize("name", LOADABLE)
def test_tf_keras_h5_loads_and_predicts(name):
    model = load(fixture_path("files3", f"{name}.tk.h5"))
    for got, want in zip(model.get_weights(), arrays("tk", f"{name}/w")):
        np.testing.assert_array_equal(got, want)
    assert_predicts(model, name, "tk", f"{name}.tk.h5")


@pytest.mark.parametrize("name", K3_MODELS)
def test_keras3_file_loads_and_predicts(name):
    model = load(fixture_path("files3", f"{name}.k3.keras"))
    assert_predicts(model, name, "k3", f"{name}.k3.keras")


# (the recipe keeps tf_keras' save_weights files of these models only)
@pytest.mark.parametrize("name", ["nested_seq", "rnn_wrappers", "attention", "shared_dict",
                                  "custom_compiled"])
def test_tf_keras_weights_file_loads_into_our_model(name):
    keras.backend.clear_session()
    model = fm.build(name, keras)
    model.load_weights(fixture_path("files3", f"{name}.tk_weights.h5"))
    for got, want in zip(model.get_weights(), arrays("tk", f"{name}/w")):
        np.testing.assert_array_equal(got, want)
    assert_predicts(model, name, "tk", f"{name}.tk_weights.h5")


@pytest.mark.parametrize("name", [n for n in LOADABLE if n != "lambda_model"])
def test_tf_keras_to_json_builds_the_same_model(name):
    keras.backend.clear_session()
    model = keras.models.model_from_json(FACTS["tk"][name]["to_json"],
                                         custom_objects=custom_objects())
    model.set_weights(arrays("tk", f"{name}/w"))
    assert_predicts(model, name, "tk", f"{name} model_from_json")


def test_lambda_json_is_refused_as_tf_keras_refuses_it():
    # tf_keras' model_from_json refuses bytecode outside safe_mode(False): so do we.
    with pytest.raises(ValueError, match="Lambda layer with a Python `lambda`"):
        keras.models.model_from_json(FACTS["tk"]["lambda_model"]["to_json"])


def test_keras3_named_lambda_function_is_found_by_its_name():
    """Keras 3 writes `{"class_name": "function", "config": "scale_by_two",
    "registered_name": "function"}`: the function is looked up as 'scale_by_two'."""
    path = fixture_path("files3", "lambda_model.k3.keras")
    with pytest.raises(ValueError, match="'scale_by_two'"):
        keras.models.load_model(path, safe_mode=False)
    model = keras.models.load_model(path, safe_mode=False,
                                    custom_objects={"scale_by_two": fm.scale_by_two})
    assert model.get_layer("named_fn").function is fm.scale_by_two


def test_keras3_registered_loss_function_in_compile_config():
    """Keras 3's compile config names a registered loss function as
    `{"class_name": "function", "config": "files3>scaled_mse", ...}`."""
    objects = custom_objects()
    model = keras.models.load_model(fixture_path("files3", "custom_compiled.k3.keras"))
    assert model.loss is objects["scaled_mse"]


def test_keras3_augmentation_is_off_in_predict():
    """Keras 3 records `training=True` in the nodes of its augmentation layers; its model's
    `training` overrides that, so predict never flips."""
    model = load(fixture_path("files3", "image_preprocessing.k3.keras"))
    for _ in range(4):
        assert_predicts(model, "image_preprocessing", "k3", "image_preprocessing.k3.keras")


@pytest.mark.parametrize("path,tag", [("mixed_precision.tk.h5", "tk"),
                                      ("mixed_precision.k3.keras", "k3")])
def test_mixed_precision_files_load_and_predict_in_float16(path, tag):
    # (fid-mixed) float16 layers: the writer's predictions to float16 round-off
    model = load(fixture_path("files3", path))
    assert [layer.dtype_policy.name for layer in model.layers[1:-1]] == ["mixed_float16"] * 3
    for got, want in zip(model.get_weights(), arrays(tag, "mixed_precision/w")):
        np.testing.assert_array_equal(got, want)
    got = model.predict(arrays(tag, "mixed_precision/x")[0], verbose=0)
    want = arrays(tag, "mixed_precision/pred")[0]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3 * np.abs(want).max())


def test_registering_a_name_again_replaces_it_as_tf_keras():
    facts = FACTS["tk"]["registration"]
    register = keras.saving.register_keras_serializable

    @register(package="files3_twice")
    def twice(t):
        return t

    def twice_again(t):
        return t
    register(package="files3_twice", name="twice")(twice_again)
    assert facts["second_registration_error"] is None
    found = keras.saving.get_registered_object("files3_twice>twice")
    assert (found is twice_again) == facts["lookup_is_second"]
    assert (found is twice) == facts["lookup_is_first"]
    assert keras.saving.get_registered_name(twice) == facts["first_name"]
    assert keras.saving.get_registered_name(twice_again) == facts["second_name"]


def layer_entries(path):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return {layer["config"]["name"]: layer for layer in config["config"]["layers"]}


def test_discretization_written_for_keras3(tmp_path):
    """Keras 3's Discretization takes no `trainable` and casts its inputs to its dtype: an int
    dtype (tf.keras' output dtype) would bucket truncated values. We write what it writes."""
    model = load(fixture_path("files3", "tabular_preprocessing.tk.h5"))
    model.save(tmp_path / "ours.keras")
    ours = layer_entries(tmp_path / "ours.keras")["discretization"]["config"]
    theirs = layer_entries(fixture_path("files3", "tabular_preprocessing.k3.keras"))
    theirs = theirs["discretization"]["config"]
    assert set(ours) - {"dtype"} == set(theirs) - {"dtype"}
    assert ours["dtype"] == theirs["dtype"]     # (a name: both libraries read it)
    reloaded = keras.models.load_model(tmp_path / "ours.keras")
    assert reloaded.get_layer("discretization").dtype == "int64"
    assert_predicts(reloaded, "tabular_preprocessing", "tk", "our .keras")


# --- compiled files: compile state and resumed training -----------------------------------------
def compiled_case(tag, key, path):
    facts = FACTS[tag][key]
    keras.backend.clear_session()
    model = load(fixture_path("files3", path))
    return facts, model


@pytest.mark.parametrize("tag,key,path", [
    ("tk", "compiled_adam", "compiled_adam.tk.h5"),
    ("tk", "compiled_legacy_rmsprop", "compiled_legacy_rmsprop.tk.h5"),
    ("k3", "compiled_adam", "compiled_adam.k3.keras")])
def test_compiled_file_trains_on_as_the_writer(tag, key, path):
    facts, model = compiled_case(tag, key, path)
    assert type(model.optimizer).__name__ == facts["optimizer_class"]
    assert int(model.optimizer.iterations.numpy()) == facts["iterations"]
    if tag == "tk":
        assert model.metrics_names == facts["metrics_names_loaded"]
    x, y = EXPECTED[tag]["compiled/x"], EXPECTED[tag]["compiled/y"]
    history = model.fit(x, y, batch_size=6, epochs=3, shuffle=False, verbose=0).history
    want = facts["history_after_reload"]
    assert sorted(history) == sorted(want)
    for name in want:
        np.testing.assert_allclose(history[name], want[name], rtol=1e-5, atol=1e-6,
                                   err_msg=f"{path} {name}")
    if tag == "tk":
        assert model.metrics_names == facts["metrics_names_after_fit"]
    for got, expected in zip(model.get_weights(), arrays(tag, f"{key}/after")):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=path)


def test_file_saved_without_optimizer_loads_uncompiled():
    facts, model = compiled_case("tk", "compiled_no_optimizer", "compiled_no_optimizer.tk.h5")
    assert facts["compiled"] is False
    assert model.optimizer is None
    assert model.metrics_names == facts["metrics_names_loaded"]


def test_keras3_channels_first_augmentation_is_refused():
    """Keras 3's image preprocessing layers take a `data_format`; tf.keras 2's work on
    channels-last images only. Ours take "channels_first" for the geometric layers (fid-left:
    tests/test_small_differences_2.py); RandomContrast still refuses it."""
    from minikeras.saving import keras3_config
    with zipfile.ZipFile(fixture_path("files3", "image_preprocessing.k3.keras")) as archive:
        config = json.loads(archive.read("config.json"))
    contrast = next(layer for layer in config["config"]["layers"]
                    if layer["class_name"] == "RandomContrast")
    assert contrast["config"]["data_format"] == "channels_last"
    contrast["config"]["data_format"] = "channels_first"
    with pytest.raises(NotImplementedError, match="data_format='channels_first'"):
        keras3_config.deserialize_model(config)


@pytest.mark.parametrize("name", [n for n in K3_MODELS
                                  if n not in ("lambda_model", "tabular_preprocessing")])
def test_keras3_to_json_builds_the_same_model(name):
    """Keras 3's `to_json()` (its `.keras` config form) read by `model_from_json`: the weights
    Keras 3 held give its predictions. (Its adapted Normalization predicts otherwise before and
    after its own reload, so that model is checked through the file only.)"""
    keras.backend.clear_session()
    model = keras.models.model_from_json(FACTS["k3"][name]["to_json"],
                                         custom_objects=custom_objects())
    model.set_weights(arrays("k3", f"{name}/w"))
    assert_predicts(model, name, "k3", f"{name} Keras 3 to_json")


def test_keras3_lambda_json_needs_unsafe_mode():
    with pytest.raises(ValueError, match="Lambda layer with a Python `lambda`"):
        keras.models.model_from_json(FACTS["k3"]["lambda_model"]["to_json"],
                                     custom_objects=custom_objects())
    model = keras.models.model_from_json(FACTS["k3"]["lambda_model"]["to_json"],
                                         custom_objects=custom_objects(), safe_mode=False)
    model.set_weights(arrays("k3", "lambda_model/w"))
    assert_predicts(model, "lambda_model", "k3", "lambda_model Keras 3 to_json")


@pytest.mark.parametrize("safe_mode", [None, True, False])
def test_h5_lambda_bytecode_loads_whatever_safe_mode_as_tf_keras(safe_mode):
    """tf_keras 2.21 loads the Lambda bytecode of a legacy `.h5` file with the default and with
    an explicit safe_mode=True (its safe mode covers `.keras` files and model_from_json)."""
    kwargs = {} if safe_mode is None else {"safe_mode": safe_mode}
    keras.backend.clear_session()
    model = keras.models.load_model(fixture_path("files3", "lambda_model.tk.h5"), **kwargs)
    assert_predicts(model, "lambda_model", "tk", f"lambda_model.tk.h5 {kwargs}")
    # (tf_keras marshals named functions too)
    assert model.get_layer("named_fn").function.__name__ == "scale_by_two"


def test_keras_file_lambda_bytecode_still_needs_unsafe_mode():
    with pytest.raises(ValueError, match="Lambda layer with a Python `lambda`"):
        keras.models.load_model(fixture_path("files3", "lambda_model.k3.keras"),
                                custom_objects={"scale_by_two": fm.scale_by_two})


def node_tensor_dtypes(path):
    with zipfile.ZipFile(path) as archive:
        text = archive.read("config.json").decode()
    found = set()
    for layer in json.loads(text)["config"]["layers"]:
        for node in layer.get("inbound_nodes", []):
            for arg in node["args"] if isinstance(node, dict) else []:
                for entry in arg if isinstance(arg, list) else [arg]:
                    if isinstance(entry, dict) and entry.get("class_name") == "__keras_tensor__":
                        found.add(entry["config"]["dtype"])
    return found


def test_string_tensors_written_as_keras3_writes_them(tmp_path):
    """A string tensor in a `.keras` call node is dtype "string" (Keras 3 cannot read NumPy's
    "object"); our file of the lookups model names the dtypes Keras 3's names."""
    model = load(fixture_path("files3", "lookups.tk.h5"))
    model.save(tmp_path / "ours.keras")
    ours = node_tensor_dtypes(tmp_path / "ours.keras")
    assert "string" in ours or not ours     # (tf.keras' nodes, which both read, name none)
    assert ours <= node_tensor_dtypes(fixture_path("files3", "lookups.k3.keras"))
    assert '"object"' not in zipfile.ZipFile(tmp_path / "ours.keras").read("config.json").decode()
