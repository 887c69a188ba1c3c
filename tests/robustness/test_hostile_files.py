"""Security regressions: a file can never make the loader run code in safe mode, read other
files, or allocate/decompress more than the model needs; hostile configs end in clear errors."""
import json
import sys
import textwrap

import numpy as np
import pytest

import minikeras as keras
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
    relu_model = lambda_model(keras.activations.relu)
    loaded = load_from(model_file(relu_model, tmp_path, fmt), fmt)
    assert loaded.layers[-1].function is keras.activations.relu


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
