"""Broken, truncated, foreign and mismatched files end in clear errors; an interrupted save
leaves the previous file intact; Lambda bytecode is never run unless safe_mode=False."""
import json
import os
import warnings

import h5py
import numpy as np
import pytest

import minikeras as keras
from minikeras.saving import file_io, keras_v3, legacy_h5
from minikeras.layers.core.lambda_serialization import forget_functions_written_here

L = keras.layers
ALL_WEIGHT_FILES = ["w.h5", "w.weights.h5"]


def small_model(units=4, name=None):
    return keras.Sequential([L.Dense(units, activation="relu", input_shape=(3,)), L.Dense(2)],
                            name=name)


def save(model, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if str(path).endswith((".keras",)) or os.path.basename(str(path)).startswith("m."):
            model.save(path)
        else:
            model.save_weights(path)


def load(path, model=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model is None:
            return keras.models.load_model(path)
        model.load_weights(path)
        return model


ALL_FILES = ["w.h5", "w.weights.h5", "m.h5", "m.keras"]


@pytest.mark.parametrize("filename", ALL_FILES)
def test_truncated_file_names_the_file_and_the_problem(tmp_path, filename):
    path = tmp_path / filename
    save(small_model(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError) as info:
        load(path, None if filename.startswith("m.") else small_model())
    message = str(info.value)
    assert str(path) in message
    assert "truncated" in message or "corrupt" in message


@pytest.mark.parametrize("filename", ALL_FILES)
def test_corrupted_bytes_are_reported(tmp_path, filename):
    path = tmp_path / filename
    save(small_model(), path)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    for index in rng.integers(600, len(data) - 600, size=64):
        data[index] ^= 0xFF
    data[:8] = b"NOTAFILE"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="Cannot load") as info:
        load(path, None if filename.startswith("m.") else small_model())
    assert str(path) in str(info.value)


@pytest.mark.parametrize("filename", ["w.h5", "w.weights.h5", "m.h5"])
def test_corrupted_hdf5_metadata_is_reported(tmp_path, filename):
    path = tmp_path / filename
    save(small_model(), path)
    data = bytearray(path.read_bytes())
    for index in range(96, 2048):            # object headers and B-trees, signature intact
        data[index] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="Cannot load") as info:
        load(path, None if filename.startswith("m.") else small_model())
    assert str(path) in str(info.value)


def test_corrupt_member_of_keras_archive_fails_its_crc(tmp_path):
    path = tmp_path / "m.keras"
    save(small_model(), path)
    data = bytearray(path.read_bytes())
    offset = data.index(b"\x89HDF") + 2000       # inside the stored model.weights.h5
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt") as info:
        keras.models.load_model(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("filename", ALL_FILES)
def test_foreign_and_empty_files(tmp_path, filename):
    path = tmp_path / filename
    path.write_text("just some text, not a Keras file")
    with pytest.raises(ValueError, match="Cannot load") as info:
        load(path, None if filename.startswith("m.") else small_model())
    assert str(path) in str(info.value)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load(path, None if filename.startswith("m.") else small_model())


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nowhere.h5"):
        keras.models.load_model("/nonexistent/nowhere.h5")
    with pytest.raises(FileNotFoundError, match="nowhere.weights.h5"):
        small_model().load_weights("/nonexistent/nowhere.weights.h5")


def test_hdf5_files_of_the_wrong_kind(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("data", data=np.zeros(3))
    with pytest.raises(ValueError, match="no 'layer_names' attribute"):
        small_model().load_weights(tmp_path / "other.h5")
    with pytest.raises(ValueError, match="No model config found"):
        keras.models.load_model(tmp_path / "other.h5")
    small_model().save_weights(tmp_path / "k3.weights.h5")
    os.rename(tmp_path / "k3.weights.h5", tmp_path / "k3.h5")
    with pytest.raises(ValueError, match="Keras 3 weights file"):
        small_model().load_weights(tmp_path / "k3.h5")
    small_model().save_weights(tmp_path / "legacy.h5")
    os.rename(tmp_path / "legacy.h5", tmp_path / "legacy.weights.h5")
    with pytest.raises(ValueError, match="legacy Keras weights file"):
        small_model().load_weights(tmp_path / "legacy.weights.h5")
    with pytest.raises(ValueError, match="holds only weights"):
        keras.models.load_model(tmp_path / "k3.h5")


def test_zip_without_config_is_reported(tmp_path):
    import zipfile
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match="has no 'config.json'"):
        keras.models.load_model(tmp_path / "m.keras")


# --- mismatches -----------------------------------------------------------------------------------
@pytest.mark.parametrize("filename", ALL_WEIGHT_FILES)
def test_shape_mismatch_names_layer_and_both_shapes_and_changes_nothing(tmp_path, filename):
    save(small_model(units=4), tmp_path / filename)
    other = small_model(units=5)
    before = other.get_weights()
    with pytest.raises(ValueError) as info:
        other.load_weights(tmp_path / filename)
    message = str(info.value)
    assert "dense" in message and "(3, 5)" in message and "(3, 4)" in message
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_layer_count_mismatch(tmp_path):
    small_model().save_weights(tmp_path / "w.h5")
    bigger = keras.Sequential([L.Dense(4, input_shape=(3,)), L.Dense(2), L.Dense(2)])
    with pytest.raises(ValueError, match="Layer count mismatch when loading weights from file. "
                                         "Model expected 3 layers, found 2 saved layers."):
        bigger.load_weights(tmp_path / "w.h5")


def test_weight_count_mismatch_names_both_layers(tmp_path):
    keras.Sequential([L.Dense(4, input_shape=(3,), use_bias=False), L.Dense(2)]).save_weights(
        tmp_path / "w.h5")
    keras.backend.clear_session()
    with pytest.raises(ValueError, match=r"Weight count mismatch for layer #0 \(named dense in "
                                         r"the current model, dense in the save file\). Layer "
                                         r"expects 2 weight\(s\). Received 1 saved weight\(s\)"):
        small_model().load_weights(tmp_path / "w.h5")


def test_by_name_and_skip_mismatch(tmp_path):
    source = keras.Sequential([L.Dense(4, input_shape=(3,), name="shared"),
                               L.Dense(2, name="head")])
    source.save_weights(tmp_path / "w.h5")
    target = keras.Sequential([L.Dense(4, input_shape=(3,), name="shared"),
                               L.Dense(7, name="head"), L.Dense(2, name="new")])
    with pytest.raises(ValueError, match=r"Shape mismatch in layer #1 \(named head\) for weight "
                                         r"head/kernel:0. Weight expects shape \(4, 7\). Received "
                                         r"saved weight with shape \(4, 2\)"):
        target.load_weights(tmp_path / "w.h5", by_name=True)
    with pytest.warns(UserWarning, match="Skipping loading weights for layer #1 \\(named head\\)"):
        target.load_weights(tmp_path / "w.h5", by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(target.get_layer("shared").get_weights()[0],
                                  source.get_layer("shared").get_weights()[0])
    with pytest.raises(ValueError, match="skip_mismatch can only be set to True when by_name"):
        target.load_weights(tmp_path / "w.h5", skip_mismatch=True)


def test_keras3_skip_mismatch_warns_and_loads_the_rest(tmp_path):
    small_model(units=4).save_weights(tmp_path / "w.weights.h5")
    keras.backend.clear_session()
    other = keras.Sequential([L.Dense(4, input_shape=(3,)), L.Dense(3)])
    reference = small_model(units=4)
    reference.load_weights(tmp_path / "w.weights.h5")
    with pytest.warns(UserWarning, match="Skipping loading weights of dense_1"):
        other.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(other.layers[0].get_weights()[0],
                                  reference.layers[0].get_weights()[0])
    with pytest.raises(ValueError, match="`by_name` is only supported"):
        other.load_weights(tmp_path / "w.weights.h5", by_name=True)


# --- interrupted saves -------------------------------------------------------------------------
@pytest.mark.parametrize("filename,target", [
    ("w.h5", (legacy_h5, "save_weights_to_hdf5_group")),
    ("w.weights.h5", (keras_v3, "write_weights")),
    ("m.h5", (legacy_h5, "save_weights_to_hdf5_group")),
    ("m.keras", (keras_v3, "write_weights")),
])
def test_failed_save_leaves_previous_file_intact(tmp_path, monkeypatch, filename, target):
    path = tmp_path / filename
    old = small_model()
    save(old, path)
    before = path.read_bytes()
    writer = getattr(*target)

    def half_then_crash(*args, **kwargs):
        writer(*args, **kwargs)          # write real data first, then die mid-save
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(*target, half_then_crash)
    with pytest.raises(OSError, match="No space left"):
        save(small_model(), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [filename]      # no temporary file left behind
    monkeypatch.undo()
    x = np.ones((2, 3), "float32")
    reloaded = load(path, None if filename.startswith("m.") else small_model())
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), old.predict(x, verbose=0))


def test_keyboard_interrupt_during_save_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "w.h5"
    small_model().save_weights(path)
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(legacy_h5, "_save_weight_list", interrupted)
    with pytest.raises(KeyboardInterrupt):
        small_model().save_weights(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.h5"]


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with file_io.atomic_write(target) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path)
        with open(tmp, "wb") as f:
            f.write(b"new")
        assert target.read_bytes() == b"old"
    assert target.read_bytes() == b"new"


def test_overwrite_false_asks_before_replacing(tmp_path, monkeypatch):
    path = tmp_path / "w.h5"
    small_model().save_weights(path)
    before = path.read_bytes()
    monkeypatch.setattr("builtins.input", lambda prompt="": "n")
    small_model(units=6).save_weights(path, overwrite=False)
    assert path.read_bytes() == before


def test_paths_without_extension_are_savedmodel_directories(tmp_path):
    small_model().save(tmp_path / "model_dir")          # tests/saving/test_savedmodel.py
    assert (tmp_path / "model_dir" / "saved_model.pb").is_file()
    small_model().save_weights(tmp_path / "ckpt")      # a TF checkpoint (test_tf_checkpoint.py)
    assert (tmp_path / "ckpt.index").is_file()
    with pytest.raises(ValueError, match="Unknown `save_format`"):
        small_model().save(tmp_path / "m.h5", save_format="zip")


# --- Lambda bytecode ---------------------------------------------------------------------------
def lambda_model():
    return keras.Sequential([L.Dense(3, input_shape=(3,)), L.Lambda(lambda x: x * 2 + 1)])


# (a legacy .h5 model file runs its bytecode in safe mode too, as tf.keras 2.x:
# tests/saving/test_files3_vs_peers.py)
@pytest.mark.parametrize("filename", ["m.keras"])
def test_lambda_bytecode_needs_safe_mode_false(tmp_path, filename):
    model = lambda_model()
    path = tmp_path / filename
    save(model, path)
    forget_functions_written_here()     # a file another process wrote
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.model_from_json(model.to_json())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = keras.models.load_model(path, safe_mode=False)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_named_function_lambda_loads_in_safe_mode(tmp_path):
    model = keras.Sequential([L.Dense(3, input_shape=(3,)), L.Lambda(keras.activations.relu)])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    x = np.arange(-3, 3, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_safe_mode_refuses_functions_from_arbitrary_modules(tmp_path):
    model = keras.Sequential([L.Dense(3, input_shape=(3,)), L.Lambda(np.negative)])
    config = json.loads(model.to_json())
    lambda_config = config["config"]["layers"][-1]["config"]
    lambda_config.update({"function": "system", "module": "os"})
    with pytest.raises(ValueError, match="Refusing to load the function 'system'"):
        keras.models.model_from_json(json.dumps(config))
    lambda_config.update({"function": "relu", "module": "minikeras.activations"})
    assert keras.models.model_from_json(json.dumps(config)).layers[-1].function is \
        keras.activations.relu


def test_include_optimizer_false_is_refused_for_keras_archives(tmp_path):
    with pytest.raises(ValueError, match=r"not supported with the native TF-Keras format: "
                                         r"\['include_optimizer'\]"):
        small_model().save(tmp_path / "m.keras", include_optimizer=False)
    assert not (tmp_path / "m.keras").exists()


def test_saved_files_get_the_usual_permissions(tmp_path):
    old_mask = os.umask(0o022)
    try:
        small_model().save_weights(tmp_path / "w.h5")
    finally:
        os.umask(old_mask)
    assert (os.stat(tmp_path / "w.h5").st_mode & 0o777) == 0o644


def test_mismatched_optimizer_state_warns_and_starts_fresh(tmp_path):
    model = small_model()
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)
    save(model, tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        group = f["optimizer_weights"]
        names = list(group.attrs["weight_names"])
        group.attrs["weight_names"] = names[1:]     # tf.keras zips: a shorter tail is fine
    with pytest.warns(UserWarning, match="freshly initialized optimizer"):
        loaded = keras.models.load_model(tmp_path / "m.h5")
    assert int(loaded.optimizer.iterations.data) == 0
