"""Helpers shared by the robustness tests: saving quietly, and rewriting the model config
stored inside each file format (as an attacker editing a file would)."""
import io
import json
import os
import shutil
import warnings
import zipfile

import h5py

import minikeras as keras

MODEL_FORMATS = ["m.keras", "m.h5", "json"]


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def read_config(path):
    """The model config a file holds (Keras 3 form for `.keras`, tf.keras form otherwise)."""
    path = str(path)
    if path.endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    with h5py.File(path, "r") as f:
        raw = f.attrs["model_config"]
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def write_config(path, config):
    """Replace the model config inside a `.keras` or legacy `.h5` model file."""
    path = str(path)
    text = config if isinstance(config, str) else json.dumps(config)
    if path.endswith(".keras"):
        replace_members(path, {"config.json": text.encode()})
        return
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = text.encode()


def replace_members(path, replacements, extra=None):
    """Rewrite a zip with some members replaced (and `extra` members added)."""
    tmp = str(path) + ".rewrite"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replacements.get(info.filename, src.read(info.filename)))
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    shutil.move(tmp, path)


def model_file(model, directory, fmt):
    """Save `model` as `fmt` (a file name, or "json" for `to_json`); returns the path or the
    JSON string."""
    if fmt == "json":
        return model.to_json()
    path = os.path.join(str(directory), fmt)
    quiet(model.save, path)
    return path


def load_from(source, fmt, **kwargs):
    if fmt == "json":
        return keras.models.model_from_json(source, **kwargs)
    return quiet(keras.models.load_model, source, **kwargs)


def layer_configs(config):
    return config["config"]["layers"]


def edit_layers(source, fmt, edit):
    """Apply `edit(layer_entry)` to every layer entry of the stored config; returns the new
    source (JSON string or path)."""
    config = json.loads(source) if fmt == "json" else read_config(source)
    for entry in layer_configs(config):
        edit(entry)
    if fmt == "json":
        return json.dumps(config)
    write_config(source, config)
    return source


def kernel_path(h5file):
    """The dataset path of the first Dense kernel, whatever the layout."""
    found = []
    h5file.visititems(lambda name, obj: found.append(name)
                      if isinstance(obj, h5py.Dataset) and obj.shape == (3, 4) else None)
    return found[0]


def rewrite_h5(path, rewrite):
    """Apply `rewrite(h5file, kernel_path)` to the HDF5 file, or to the one inside a zip."""
    if str(path).endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            data = archive.read("model.weights.h5")
        buffer = io.BytesIO(data)
        with h5py.File(buffer, "r+") as f:
            rewrite(f, kernel_path(f))
        replace_members(path, {"model.weights.h5": buffer.getvalue()})
        return
    with h5py.File(path, "r+") as f:
        rewrite(f, kernel_path(f))
