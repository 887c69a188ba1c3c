"""Security regressions: a file can never make the loader run code in safe mode, read other
files, or allocate/decompress more than the model needs; hostile configs end in clear errors."""
import json
import sys
import textwrap

import numpy as np
import pytest

import minikeras as keras
from minikeras.layers.core.lambda_serialization import forget_functions_written_here
from hostile import MODEL_FORMATS, edit_layers, load_from, model_file, quiet

L = keras.layers


def lambda_model(function=None):
    return keras.Sequential([L.Dense(3, input_shape=(3,)),
                             L.Lambda(function or (lambda x: x * 2 + 1))])


@pytest.fixture
def planted_module(tmp_path, monkeypatch):
    """A module on sys.path whose import leaves a marker file: importing it means the loader
    ran code a file named."""
    name = f"planted_{tmp_path.name.replace('-', '_')}"
    marker = tmp_path / "imported.txt"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(f"""
        open({str(marker)!r}, "w").write("ran")
        def payload(x):
            return x
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, marker
    sys.modules.pop(name, None)


def _lambda_entry(entry):
    return entry["class_name"] == "Lambda"


# Ways of naming a function that used to slip past the safe-mode check.
def _missing_type(module):
    def edit(config):
        config.pop("function_type", None)
        config.update(function="payload", module=module)
    return edit


def _non_string_function(module):
    def edit(config):
        config.update(function_type="function", function=["payload"], module=module)
    return edit


def _keras3_named_function(module):
    def edit(config):
        config.pop("function_type", None)
        config["function"] = {"module": module, "class_name": "function", "config": "payload",
                              "registered_name": "payload"}
    return edit


def _named_output_shape(module):
    def edit(config):
        config.update(output_shape="payload", output_shape_type="function",
                      output_shape_module=module)
    return edit


@pytest.mark.parametrize("fmt", MODEL_FORMATS)
@pytest.mark.parametrize("attack", [_missing_type, _non_string_function, _keras3_named_function,
                                    _named_output_shape])
def test_safe_mode_never_imports_a_module_a_file_names(tmp_path, planted_module, fmt, attack):
    name, marker = planted_module
    edit = attack(name)

    def apply(entry):
        if _lambda_entry(entry):
            edit(entry["config"])
    source = edit_layers(model_file(lambda_model(np.negative), tmp_path, fmt), fmt, apply)
    with pytest.raises(ValueError, match="safe mode|safe_mode|must be a string"):
        load_from(source, fmt)
    assert not marker.exists(), "the loader imported a module named by the file"
    assert name not in sys.modules


@pytest.mark.parametrize("fmt", MODEL_FORMATS)
def test_safe_mode_never_reaches_os_system(tmp_path, fmt, monkeypatch):
    import os
    calls = []
    monkeypatch.setattr(os, "system", lambda *args: calls.append(args) or 0)

    def apply(entry):
        if _lambda_entry(entry):
            entry["config"].pop("function_type", None)
            entry["config"].update(function="system", module="os")
    source = edit_layers(model_file(lambda_model(np.negative), tmp_path, fmt), fmt, apply)
    with pytest.raises(ValueError, match="safe mode"):
        load_from(source, fmt)
    assert calls == []


@pytest.mark.parametrize("fmt", MODEL_FORMATS)
def test_custom_objects_and_minikeras_functions_still_load_in_safe_mode(tmp_path, fmt):
    def custom(x):
        return x * 3

    def apply(entry):
        if _lambda_entry(entry):
            entry["config"].pop("function_type", None)
            entry["config"].update(function="custom", module="somewhere_unknown")
    source = edit_layers(model_file(lambda_model(np.negative), tmp_path, fmt), fmt, apply)
    model = load_from(source, fmt, custom_objects={"custom": custom})
    assert model.layers[-1].function is custom

    def name_relu(entry):
        if _lambda_entry(entry):
            entry["config"].update(function="relu", function_type="function",
                                   module="minikeras.activations")
    source = edit_layers(model_file(lambda_model(np.negative), tmp_path, fmt), fmt, name_relu)
    assert load_from(source, fmt).layers[-1].function is keras.activations.relu


def _keras3_lambda(config, code):
    config.pop("function_type", None)
    config.pop("module", None)
    config["function"] = {"class_name": "__lambda__",
                          "config": {"code": code, "defaults": None, "closure": None}}


@pytest.mark.parametrize("fmt", ["m.keras", "m.h5"])
def test_keras3_lambda_format_is_refused_in_safe_mode_and_loads_when_allowed(tmp_path, fmt):
    model = lambda_model()
    stored = json.loads(model.to_json())["config"]["layers"][-1]["config"]["function"][0]

    def apply(entry):
        if _lambda_entry(entry):
            _keras3_lambda(entry["config"], stored)
    path = edit_layers(model_file(model, tmp_path, fmt), fmt, apply)
    forget_functions_written_here()     # a file another process wrote
    with pytest.raises(ValueError, match="safe_mode=False"):
        load_from(path, fmt)
    loaded = load_from(path, fmt, safe_mode=False)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_garbage_lambda_bytecode_is_a_clear_error_with_safe_mode_off(tmp_path):
    def apply(entry):
        if _lambda_entry(entry):
            entry["config"]["function"] = ["bm90IG1hcnNoYWw=", None, None]
    path = edit_layers(model_file(lambda_model(), tmp_path, "m.h5"), "m.h5", apply)
    with pytest.raises(ValueError, match="bytecode"):
        load_from(path, "m.h5", safe_mode=False)


# --- HDF5 datasets that read other files or forge their size -----------------------------------
import io  # noqa: E402
import tracemalloc  # noqa: E402
import zipfile  # noqa: E402

import h5py  # noqa: E402

from hostile import replace_members, rewrite_h5 as _rewrite_h5  # noqa: E402

WEIGHT_FILES = ["w.h5", "w.weights.h5", "m.h5", "m.keras"]


def dense_model():
    return keras.Sequential([L.Dense(4, input_shape=(3,)), L.Dense(2)])


def _save_any(model, path):
    name = str(path)
    if name.endswith(".keras") or path.name.startswith("m."):
        quiet(model.save, name)
    else:
        quiet(model.save_weights, name)


def _load_any(path, model=None):
    if str(path).endswith(".keras") or path.name.startswith("m."):
        return quiet(keras.models.load_model, str(path))
    quiet(model.load_weights, str(path))
    return model


@pytest.mark.parametrize("filename", WEIGHT_FILES)
def test_external_storage_is_refused(tmp_path, filename):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(12, dtype="float32").tobytes())
    path = tmp_path / filename
    _save_any(dense_model(), path)

    def point_outside(f, kernel):
        del f[kernel]
        f.create_dataset(kernel, (3, 4), "float32", external=[(str(secret), 0, 48)])
    _rewrite_h5(path, point_outside)
    model = dense_model()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="external storage"):
        _load_any(path, model)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("filename", ["w.h5", "w.weights.h5", "m.h5"])
def test_virtual_datasets_are_refused(tmp_path, filename):
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f["data"] = np.arange(12, dtype="float32").reshape(3, 4)
    path = tmp_path / filename
    _save_any(dense_model(), path)

    def make_virtual(f, kernel):
        layout = h5py.VirtualLayout(shape=(3, 4), dtype="float32")
        layout[:] = h5py.VirtualSource(str(source), "data", shape=(3, 4))
        del f[kernel]
        f.create_virtual_dataset(kernel, layout)
    _rewrite_h5(path, make_virtual)
    with pytest.raises(ValueError, match="virtual"):
        _load_any(path, dense_model())


@pytest.mark.parametrize("filename", WEIGHT_FILES)
def test_forged_dataset_size_is_refused_before_allocating(tmp_path, filename):
    """A tiny file declaring a 256 MiB kernel (chunked, never written): the shape check against
    the model comes before any read, so nothing near that size is allocated."""
    path = tmp_path / filename
    _save_any(dense_model(), path)

    def forge(f, kernel):
        del f[kernel]
        f.create_dataset(kernel, (8192, 8192), "float32", chunks=(64, 64))
    _rewrite_h5(path, forge)
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="(?i)shape"):
            _load_any(path, dense_model())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2 ** 20


def test_declared_size_beyond_the_file_is_refused(tmp_path):
    """A compressed-looking size is capped by the file size even when the shape is right."""
    from minikeras.saving import file_io
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("big", (4096, 4096), "float32", chunks=(256, 256))
        f.create_dataset("small", data=np.ones(3, "float32"))
    with h5py.File(path, "r") as f:
        with pytest.raises(ValueError, match="declares"):
            file_io.check_dataset(f["big"], "big")
        file_io.check_dataset(f["small"], "small")


def test_string_dataset_is_refused_before_reading(tmp_path):
    from minikeras.saving import file_io
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["s"] = np.array([b"abc", b"def"])
    with h5py.File(path, "r") as f:
        with pytest.raises(ValueError, match="not numbers"):
            file_io.check_dataset(f["s"], "s")


# --- .keras archive members are capped before decompressing --------------------------------------
def _bomb(size):
    return b"\0" * size


@pytest.mark.parametrize("member", ["model.weights.h5", "config.json"])
def test_keras_archive_members_are_capped_before_decompressing(tmp_path, member):
    path = tmp_path / "m.keras"
    quiet(dense_model().save, str(path))
    size = 200 * 2 ** 20 if member == "model.weights.h5" else 80 * 2 ** 20
    replace_members(path, {member: _bomb(size)})
    assert path.stat().st_size < 400_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="declares"):
            keras.models.load_model(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2 ** 20
    if member == "model.weights.h5":
        with pytest.raises(ValueError, match="declares"):
            dense_model().load_weights(str(path))


def test_keras_archive_cap_leaves_room_for_optimizer_state(tmp_path):
    model = keras.Sequential([L.Dense(64, input_shape=(32,)), L.Dense(8)])
    model.compile(keras.optimizers.Adam(amsgrad=True), "mse")
    model.fit(np.ones((4, 32), "float32"), np.ones((4, 8), "float32"), verbose=0)
    quiet(model.save, str(tmp_path / "m.keras"))
    loaded = keras.models.load_model(str(tmp_path / "m.keras"))
    for old, new in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(old.data), np.asarray(new.data))


# --- hostile configs: clear errors --------------------------------------------------------------
def _nested_sequential(depth):
    """A Sequential holding a Sequential holding ... `depth` levels (as JSON text)."""
    head = '{"class_name": "Sequential", "config": {"name": "s%d", "layers": ['
    return "".join(head % index for index in range(depth)) + "]}}" * depth


def _deep_json(depth):
    return '{"class_name": "Sequential", "config": {"layers": ' + "[" * depth + "]" * depth + "}}"


@pytest.mark.parametrize("fmt", MODEL_FORMATS)
@pytest.mark.parametrize("kind", ["deep_json", "deep_layers"])
def test_deeply_nested_configs_are_a_clear_error(tmp_path, fmt, kind):
    if kind == "deep_json":
        text = _deep_json(100_000)
    else:
        text = _nested_sequential(700)
    if fmt == "json":
        with pytest.raises(ValueError, match="nested too deeply"):
            keras.models.model_from_json(text)
        return
    from hostile import write_config
    path = model_file(dense_model(), tmp_path, fmt)
    write_config(path, text)
    with pytest.raises(ValueError, match="nested too deeply"):
        keras.models.load_model(path)


@pytest.mark.parametrize("fmt", MODEL_FORMATS)
def test_absurd_layer_sizes_in_a_config_are_a_clear_error(tmp_path, fmt):
    def apply(entry):
        if entry["class_name"] == "Dense":
            entry["config"]["units"] = 10 ** 30
    source = edit_layers(model_file(dense_model(), tmp_path, fmt), fmt, apply)
    # (model_from_json: tf.keras' TypeError "Error when deserializing class 'Dense' ...")
    with pytest.raises(TypeError if fmt == "json" else ValueError, match="units|too large"):
        load_from(source, fmt)


@pytest.mark.parametrize("fmt", ["m.keras", "m.h5"])
@pytest.mark.parametrize("garbage", [5, [1, 2], {"layers": 5}, {"layers": [5]},
                                     {"layers": [{"class_name": "Dense", "config": 7}]},
                                     {"layers": [{"class_name": "Dense",
                                                  "config": {"units": [1]}}]}])
def test_garbage_model_configs_are_the_loaders_error(tmp_path, fmt, garbage):
    from hostile import read_config, write_config
    path = model_file(dense_model(), tmp_path, fmt)
    config = read_config(path)
    config["config"] = garbage
    write_config(path, config)
    with pytest.raises(ValueError, match="Cannot load the model|config"):
        keras.models.load_model(path)


def test_unknown_zip_compression_method_is_the_loaders_error(tmp_path):
    """A damaged method field made zipfile raise NotImplementedError."""
    import struct
    path = tmp_path / "m.keras"
    quiet(dense_model().save, str(path))
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):   # local, central
        start = data.find(signature)
        while start >= 0:
            struct.pack_into("<H", data, start + offset, 99)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="Cannot load the model"):
        keras.models.load_model(str(path))
    with pytest.raises(ValueError, match="Cannot load the model"):
        dense_model().load_weights(str(path))


def test_layers_deserialize_stays_in_safe_mode(planted_module):
    name, marker = planted_module
    config = keras.layers.serialize(L.Lambda(np.negative))
    config["config"].pop("function_type", None)
    config["config"].update(function="payload", module=name)
    with pytest.raises(ValueError, match="safe mode"):
        keras.layers.deserialize(config)
    assert not marker.exists()


@pytest.mark.parametrize("fmt", ["m.keras", "m.h5"])
def test_a_bit_flipped_dtype_name_is_the_loaders_error(tmp_path, fmt):
    """'float32' with one flipped bit ('float3t') leaked NumPy's TypeError."""
    def apply(entry):
        if entry["class_name"] == "Dense":
            entry["config"]["dtype"] = "float3t"
    source = edit_layers(model_file(dense_model(), tmp_path, fmt), fmt, apply)
    with pytest.raises(ValueError, match="Cannot load the model"):
        load_from(source, fmt)
