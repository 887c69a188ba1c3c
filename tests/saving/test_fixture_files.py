"""Files written by real tf.keras 2.21 and Keras 3.15 load into minikeras and predict what Keras
recorded; files minikeras writes have the same HDF5 group/dataset/attribute structure."""
import io
import json
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
import fixtures.fixture_models as fixture_models

pytestmark = pytest.mark.skipif(
    not all(hasattr(keras.layers, name) for name in
            ("Conv2D", "MaxPooling2D", "GlobalAveragePooling2D")),
    reason="cnn_seed needs Conv2D, MaxPooling2D and GlobalAveragePooling2D (issue 3)")

FILES = ["cnn_seed_tk_legacy.h5", "cnn_seed_tk_full.h5", "cnn_seed_k3.weights.h5",
         "cnn_seed_k3.keras"]


def files_path(name):
    return fixture_path("files", name)


@pytest.fixture(scope="module")
def expected():
    return np.load(files_path("expected.npz"))


def cnn_seed():
    keras.backend.clear_session()
    return fixture_models.cnn_seed(keras)


def with_recorded_weights(model, arrays):
    for layer in model.layers:
        count = len(layer.weights)
        if count:
            layer.set_weights([arrays[f"cnn_seed/w/{layer.name}/{i}"] for i in range(count)])
    return model


def assert_predicts(model, expected, name):
    got = model.predict(expected["cnn_seed/x"], verbose=0)
    np.testing.assert_allclose(got, expected[f"pred/{name}"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got, expected["cnn_seed/expected"], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["cnn_seed_tk_legacy.h5", "cnn_seed_tk_full.h5",
                                  "cnn_seed_k3.weights.h5", "cnn_seed_k3.keras"])
def test_load_weights_from_every_keras_file(expected, name):
    model = cnn_seed()
    model.load_weights(files_path(name))
    for layer in model.layers:
        for i, value in enumerate(layer.get_weights()):
            np.testing.assert_array_equal(value, expected[f"cnn_seed/w/{layer.name}/{i}"])
    assert_predicts(model, expected, name)


def test_load_legacy_weights_by_name(expected):
    model = cnn_seed()
    model.load_weights(files_path("cnn_seed_tk_legacy.h5"), by_name=True)
    assert_predicts(model, expected, "cnn_seed_tk_legacy.h5")


@pytest.mark.parametrize("name", ["cnn_seed_tk_full.h5", "cnn_seed_k3.keras"])
def test_load_model_from_keras_files(expected, name):
    keras.backend.clear_session()
    model = keras.models.load_model(files_path(name))
    with open(files_path("files.json")) as handle:
        recorded = json.load(handle)
    record = next(f for f in recorded["files"] if f["file"] == name)
    assert [layer.name for layer in model.layers] == record["loaded_layer_names"]
    # Keras 3 prints another summary layout: compare with tf.keras' summary of the same model.
    summary = record.get("loaded_summary_lines", recorded["models"]["cnn_seed"]["summary_lines"])
    lines = []
    model.summary(print_fn=lines.append)
    assert [line.rstrip() for line in lines] == [line.rstrip() for line in summary]
    assert_predicts(model, expected, name)


# --- structure of the files minikeras writes ----------------------------------------------------
def attribute_signature(obj, with_values):
    result = {}
    for key in obj.attrs:
        attr_id = obj.attrs.get_id(key)
        string = h5py.check_string_dtype(attr_id.dtype)
        kind = f"str:{string.encoding}" if string else attr_id.dtype.str
        entry = (kind, attr_id.shape)
        if with_values(key):
            value = obj.attrs[key]
            entry += (json.dumps(np.asarray(value).tolist() if not isinstance(value, str)
                                 else value),)
        result[key] = entry
    return result


def tree(h5file, with_values=lambda key: key in ("layer_names", "weight_names", "name")):
    """Every group and dataset: name, kind, shape, dtype and attributes."""
    entries = {"/": ("group", attribute_signature(h5file, with_values))}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            entries[name] = ("dataset", obj.shape, obj.dtype.str,
                             attribute_signature(obj, with_values))
        else:
            entries[name] = ("group", attribute_signature(obj, with_values))
    h5file.visititems(visit)
    return entries


def without(entries, root_keys):
    entries = dict(entries)
    kind, attrs = entries["/"]
    entries["/"] = (kind, {k: v for k, v in attrs.items() if k not in root_keys})
    return entries


def test_written_legacy_weights_have_the_tf_keras_structure(tmp_path, expected):
    model = with_recorded_weights(cnn_seed(), expected)
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(files_path("cnn_seed_tk_legacy.h5")) as ref, \
            h5py.File(tmp_path / "w.h5") as ours:
        assert tree(ours) == tree(ref)
        np.testing.assert_array_equal(ours["dense/dense/kernel:0"][()],
                                      ref["dense/dense/kernel:0"][()])


def test_written_legacy_model_has_the_tf_keras_structure(tmp_path, expected):
    model = with_recorded_weights(cnn_seed(), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "m.h5")
    with h5py.File(files_path("cnn_seed_tk_full.h5")) as ref, h5py.File(tmp_path / "m.h5") as ours:
        assert tree(ours) == tree(ref)
        assert json.loads(ours.attrs["model_config"]) == json.loads(ref.attrs["model_config"])


def test_written_keras3_weights_have_the_keras3_structure(tmp_path, expected):
    model = with_recorded_weights(cnn_seed(), expected)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(files_path("cnn_seed_k3.weights.h5")) as ref, \
            h5py.File(tmp_path / "w.weights.h5") as ours:
        assert tree(ours) == tree(ref)


def test_written_keras_archive_has_the_keras3_structure(tmp_path, expected):
    model = with_recorded_weights(cnn_seed(), expected)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(files_path("cnn_seed_k3.keras")) as ref, \
            zipfile.ZipFile(tmp_path / "m.keras") as ours:
        assert ours.namelist() == ref.namelist()
        with h5py.File(io.BytesIO(ref.read("model.weights.h5"))) as ref_h5, \
                h5py.File(io.BytesIO(ours.read("model.weights.h5"))) as our_h5:
            assert tree(our_h5) == tree(ref_h5)
        ref_config = json.loads(ref.read("config.json"))
        our_config = json.loads(ours.read("config.json"))
        assert set(json.loads(ours.read("metadata.json"))) == {"keras_version", "date_saved"}
    assert our_config["class_name"] == ref_config["class_name"] == "Sequential"
    ref_layers, our_layers = ref_config["config"]["layers"], our_config["config"]["layers"]
    assert [entry["class_name"] for entry in our_layers] == \
        [entry["class_name"] for entry in ref_layers]
    # (InputLayer's `batch_input_shape`, dtypes by name: tf_keras reads them too, Keras 3 does)
    assert our_layers[0]["config"]["batch_input_shape"] == ref_layers[0]["config"]["batch_shape"]
    for ours_entry, ref_entry in zip(our_layers[1:], ref_layers[1:]):
        assert ours_entry["module"] == ref_entry["module"]
        assert ours_entry.get("build_config") == ref_entry.get("build_config")
        assert ours_entry["config"]["dtype"] == ref_entry["config"]["dtype"]["config"]["name"]
        assert ours_entry["config"]["name"] == ref_entry["config"]["name"]
    assert our_config.get("build_config") == ref_config["build_config"]


@pytest.mark.parametrize("filename", ["w.h5", "w.weights.h5", "m.keras", "m.h5"])
def test_files_minikeras_writes_reload_to_the_recorded_predictions(tmp_path, expected, filename):
    model = with_recorded_weights(cnn_seed(), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if filename.startswith("w"):
            model.save_weights(tmp_path / filename)
            reloaded = cnn_seed()
            reloaded.load_weights(tmp_path / filename)
        else:
            model.save(tmp_path / filename)
            reloaded = keras.models.load_model(tmp_path / filename)
    got = reloaded.predict(expected["cnn_seed/x"], verbose=0)
    np.testing.assert_allclose(got, expected["cnn_seed/expected"], rtol=1e-5, atol=1e-7)
