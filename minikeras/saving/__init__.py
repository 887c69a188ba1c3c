"""Saving and loading models and weights (`keras.saving`).

Formats, chosen from the file name as tf.keras does:
- `*.weights.h5`: Keras 3 weights layout; `*.h5` / `*.hdf5`: Keras 2 legacy HDF5 weights.
- `model.save('m.keras')`: the Keras 3 zip; `model.save('m.h5')`: the legacy whole-model HDF5.
- `save_weights('ckpt/cp')` (no '.h5'/'.keras'): the TensorFlow checkpoint (`tf_checkpoint`);
  `model.save('my_model')`: the TensorFlow SavedModel directory (`savedmodel`).
Every save is atomic (temporary file + rename) and every load names the file when it fails.
"""
import collections.abc
import os
import warnings

import h5py

from ..core.registry import (  # noqa: F401
    register_keras_serializable, get_registered_object, get_registered_name,
    custom_object_scope, CustomObjectScope, get_custom_objects,
)
from ..core.serialization import serialize_keras_object, deserialize_keras_object  # noqa: F401
from . import file_io, keras3_config, keras_v3, legacy_h5, savedmodel, tf_checkpoint
from .pickling import model_from_bytes, model_to_bytes  # noqa: F401 (Model.__reduce_ex__)
from ..models.serialization import enable_unsafe_deserialization, safe_mode_scope  # noqa: F401,E501


def _path(filepath):
    try:
        return os.fspath(filepath)
    except TypeError:
        raise TypeError(f"Expected a file path (str or os.PathLike), received: {filepath!r}") \
            from None


def _save_format(filepath, save_format):
    if save_format:
        if save_format in ("keras", "keras_v3"):
            return "keras"
        if save_format in ("h5", "hdf5"):
            return "h5"
        if save_format in ("tf", "tensorflow"):
            return "tf"
        raise ValueError("Unknown `save_format` argument. Expected one of 'keras', 'tf', or 'h5'. "
                         f"Received: save_format={save_format}")
    if filepath.endswith(".keras"):
        return "keras"
    if filepath.endswith((".h5", ".hdf5")):
        return "h5"
    return "tf"


def save_model(model, filepath, overwrite=True, include_optimizer=True, save_format=None,
               **kwargs):
    """`model.save(filepath)`: the whole model (config, weights, optimizer state)."""
    if isinstance(filepath, h5py.File):     # tf.keras writes its .h5 form into an open file
        if save_format and _save_format("", save_format) == "keras":
            raise ValueError("Invalid `filepath` argument: expected a `.keras` extension. "
                             f"Received: filepath={filepath}")
        legacy_h5.save_model(model, filepath, include_optimizer=include_optimizer)
        return
    filepath = _path(filepath)
    fmt = _save_format(filepath, save_format)
    if fmt == "tf":
        # tf.keras asks before overwriting a SavedModel directory (or anything of that name)
        if not overwrite and os.path.exists(filepath) \
                and not file_io.ask_to_proceed_with_overwrite(filepath):
            return
        savedmodel.save_model(model, filepath, include_optimizer=include_optimizer, **kwargs)
        return
    if not file_io.should_write(filepath, overwrite):
        return
    if fmt == "keras":
        if not filepath.endswith(".keras"):
            raise ValueError("Invalid `filepath` argument: expected a `.keras` extension. "
                             f"Received: filepath={filepath}")
        unsupported = list(kwargs) + ([] if include_optimizer else ["include_optimizer"])
        if unsupported:
            raise ValueError("The following argument(s) are not supported with the native "
                             f"TF-Keras format: {unsupported}")
        keras_v3.save_model(model, filepath)
        return
    warnings.warn("You are saving your model as an HDF5 file via `model.save()`. This file "
                  "format is considered legacy. We recommend using instead the native TF-Keras "
                  "format, e.g. `model.save('my_model.keras')`.", stacklevel=3)
    legacy_h5.save_model(model, filepath, include_optimizer=include_optimizer)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, **kwargs):  # noqa: A002
    """`keras.models.load_model`: a `.keras` zip, a legacy whole-model `.h5` file or a
    TensorFlow SavedModel directory (`savedmodel`)."""
    # tf.keras takes `options` (tf.saved_model.LoadOptions, an I/O device) through **kwargs
    if kwargs.pop("options", None) is not None:
        raise NotImplementedError("load_model(options=...) (tf.saved_model.LoadOptions) is not "
                                  "supported by minikeras.")
    if kwargs:
        raise TypeError(f"load_model() got unexpected keyword arguments: {list(kwargs)}")
    if isinstance(filepath, h5py.File):     # an open .h5 file, as tf.keras takes one
        return legacy_h5.load_model(filepath, custom_objects, compile=compile,
                                    safe_mode=safe_mode)
    if not isinstance(filepath, (str, os.PathLike)):     # bytes too, as tf.keras
        raise OSError("Unable to load model. Filepath is not an hdf5 file (or h5py is not "
                      f"available) or SavedModel. Received: filepath={filepath}")
    if custom_objects is not None and not isinstance(custom_objects, collections.abc.Mapping):
        # tf.keras: TypeError "'list' object is not a mapping" (not a fault of the file)
        raise TypeError(f"`custom_objects` must be a dict mapping names to classes or "
                        f"functions. Received: custom_objects={custom_objects!r}")
    filepath = _path(filepath)
    if savedmodel.is_savedmodel_dir(filepath):
        return savedmodel.load_model(filepath, custom_objects, compile=compile,
                                     safe_mode=safe_mode)
    file_io.check_readable(filepath, whole_model=True)
    with open(filepath, "rb") as f:
        head = f.read(8)
    if head[:4] == b"PK\x03\x04":
        return keras_v3.load_model(filepath, custom_objects, compile=compile, safe_mode=safe_mode)
    if head == file_io.HDF5_SIGNATURE:
        return legacy_h5.load_model(filepath, custom_objects, compile=compile,
                                    safe_mode=safe_mode)
    kind = "empty" if not head else "neither a '.keras' zip archive nor an HDF5 file"
    raise file_io.CorruptFileError(f"Cannot load the model from {filepath}: the file is {kind} "
                                   "(truncated, corrupt or another format).")


def keras3_model_from_json(json_string, custom_objects=None, safe_mode=None):
    """The model of a Keras 3 `to_json()` string (read as its `.keras` configs are), or None
    when the string is not one (the tf.keras reader then takes it, and reports any error)."""
    import json
    try:
        config = json.loads(json_string)
        is_keras3 = keras3_config.is_keras3_model_config(config)
    except (TypeError, ValueError, RecursionError):
        return None
    if not is_keras3:
        return None
    return keras3_config.deserialize_model(config, custom_objects, safe_mode=safe_mode,
                                           keras3_hard_sigmoid=True)


def save_weights(model, filepath, overwrite=True, save_format=None, **kwargs):
    filepath = _path(filepath)
    is_checkpoint = not filepath.endswith((".h5", ".hdf5", ".keras")) and \
        _save_format(filepath, save_format) == "tf"
    # tf.keras asks before overwriting a checkpoint's index, not its prefix
    existing = filepath + ".index" if is_checkpoint else filepath
    if not file_io.should_write(existing, overwrite):
        return
    if filepath.endswith(".weights.h5"):
        keras_v3.save_weights(model, filepath)
        return
    fmt = _save_format(filepath, save_format)
    if fmt == "keras" and not save_format:
        fmt = "h5"   # tf.keras 2 writes its legacy HDF5 weights for a '.keras' name too
    if fmt == "tf" and filepath.endswith((".h5", ".hdf5", ".keras")):
        raise ValueError('save_weights got save_format="tf"/"tensorflow", but the filepath '
                         f'({filepath}) looks like an HDF5 file. Omit the ".h5"/".keras" when '
                         "saving in TensorFlow format.")
    if fmt == "tf":
        if kwargs.get("options") is not None:
            raise NotImplementedError("save_weights(options=...) (tf.train.CheckpointOptions) "
                                      "is not supported by minikeras.")
        tf_checkpoint.save_weights(model, filepath)
        return
    legacy_h5.save_weights(model, filepath)


def _assert_weights_created(model, legacy):
    """tf.keras refuses to load into a model whose weights do not exist yet (nothing would be
    loaded, silently)."""
    if getattr(model, "built", True):
        return
    if legacy:
        raise ValueError("Unable to load weights saved in HDF5 format into a subclassed Model "
                         "which has not created its variables yet. Call the Model first, then "
                         "load the weights.")
    raise ValueError(f"Weights for model '{model.name}' have not yet been created. Weights are "
                     "created when the model is first called on inputs or `build()` is called "
                     "with an `input_shape`.")


def _is_hdf5_file(filepath):
    """A '.keras' name holding legacy HDF5 weights (what tf.keras 2's save_weights writes)."""
    try:
        with open(filepath, "rb") as f:
            return f.read(8) == file_io.HDF5_SIGNATURE
    except OSError:
        return False


def load_weights(model, filepath, by_name=False, skip_mismatch=False, **kwargs):
    """Returns the restore status for a TensorFlow checkpoint (None for the other formats)."""
    filepath = _path(filepath)
    # As tf.keras: an HDF5 name is HDF5; else a checkpoint prefix wins over a file or directory
    # of that name; a path that is nothing is a checkpoint prefix without files (NotFoundError).
    if not filepath.endswith((".h5", ".hdf5", ".keras")) and (
            tf_checkpoint.is_checkpoint_prefix(filepath) or not os.path.exists(filepath)):
        return _load_tf_checkpoint(model, filepath, by_name, skip_mismatch, kwargs)
    h5_named_keras = filepath.endswith(".keras") and _is_hdf5_file(filepath)
    is_legacy = not filepath.endswith((".keras", ".weights.h5")) or h5_named_keras
    if is_legacy or skip_mismatch:
        _assert_weights_created(model, is_legacy)
    if filepath.endswith(".keras") and not h5_named_keras:
        if by_name:
            raise ValueError("`by_name` is only supported for weights in the legacy HDF5 format "
                             f"('.h5'); {filepath} is a '.keras' file.")
        keras_v3.load_weights_from_archive(model, filepath, skip_mismatch)
        return
    if filepath.endswith(".weights.h5"):
        if by_name:
            raise ValueError("`by_name` is only supported for weights in the legacy HDF5 format "
                             f"('.h5'); {filepath} is a Keras 3 '.weights.h5' file.")
        keras_v3.load_weights(model, filepath, skip_mismatch)
        return
    legacy_h5.load_weights(model, filepath, by_name=by_name, skip_mismatch=skip_mismatch)


def _load_tf_checkpoint(model, filepath, by_name, skip_mismatch, kwargs):
    """A path that is no file: the prefix of a TensorFlow checkpoint, as tf.keras reads it."""
    if by_name:
        raise NotImplementedError("Weights may only be loaded based on topology into Models when "
                                  "loading TensorFlow-formatted weights (got by_name=True to "
                                  "load_weights).")
    if skip_mismatch:
        raise ValueError("When calling model.load_weights, skip_mismatch can only be set to True "
                         "when by_name is True.")
    if kwargs.get("options") is not None:
        raise NotImplementedError("load_weights(options=...) (tf.train.CheckpointOptions) is not "
                                  "supported by minikeras.")
    if not getattr(model, "built", True):
        # tf.keras keeps the values and assigns them as the variables are created
        return tf_checkpoint.DeferredRestore(model, filepath)
    return tf_checkpoint.load_weights(model, filepath)
