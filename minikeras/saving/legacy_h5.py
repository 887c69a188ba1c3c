"""The Keras 2 legacy HDF5 format: `model.save_weights('w.h5')` and `model.save('m.h5')`.

Weights layout (as tf.keras writes it):
    attrs: layer_names, backend, keras_version
    <layer>/            attrs: weight_names = ['<layer>/kernel:0', ...]
    <layer>/<layer>/kernel:0   (dataset; the weight name is the path below the layer group)
    top_level_model_weights/   weights owned by the model itself
A whole-model file has `model_config` (and `training_config` when compiled) as root attributes,
the weights under `model_weights/`, and the optimizer state under `optimizer_weights/`.
Each layer stores its trainable weights first, then its non-trainable ones.
"""
import contextlib
import json
import warnings

import h5py
import numpy as np

from ..core.version import __version__
from ..models.serialization import json_default
from . import file_io, keras3_config
from .keras3_config import hard_sigmoid_is_keras3
from ..models import serialization
from ..models.model_kind import is_subclassed
from ..optimizers.loss_scale_optimizer import LossScaleOptimizer
from ..layers.core.lambda_serialization import legacy_h5_bytecode

BACKEND = "numpy"
# HDF5 cannot store an attribute larger than its object header: longer lists are split
# into `<name>0`, `<name>1`, ... as tf.keras does.
HDF5_OBJECT_HEADER_LIMIT = 64512


# --- attributes -----------------------------------------------------------------------------
def save_attributes(group, name, strings):
    """A list of strings as variable-length ASCII attributes (chunked when too large)."""
    data = [s.encode("utf8") for s in strings]
    too_long = [s for s in data if len(s) > HDF5_OBJECT_HEADER_LIMIT]
    if too_long:
        raise RuntimeError("The following attributes cannot be saved to HDF5 file because they "
                           f"are larger than {HDF5_OBJECT_HEADER_LIMIT} bytes: {too_long}")
    if not data:
        group.attrs[name] = np.array([])    # tf.keras writes an empty float64 array
        return
    chunks = 1
    while sum(len(s) for s in data) / chunks > HDF5_OBJECT_HEADER_LIMIT:
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
        return
    for index, part in enumerate(np.array_split(np.arange(len(data)), chunks)):
        group.attrs[f"{name}{index}"] = [data[i] for i in part]


def load_attributes(group, name):
    """A list-of-strings attribute (chunked as `<name>0`, `<name>1`, ... when it was large),
    its declared type and size checked before it is read."""
    where = f"HDF5 group '{group.name}'"
    if name in group.attrs:
        return file_io.read_string_attribute(group, name, where)
    values, chunk = [], 0
    while f"{name}{chunk}" in group.attrs:
        values.extend(file_io.read_string_attribute(group, f"{name}{chunk}", where))
        chunk += 1
    return values


def _attr_string(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


# --- which weights, in which order ----------------------------------------------------------
def legacy_weights(layer):
    """tf.keras' h5 order: trainable weights, then non-trainable ones."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def top_level_weights(model):
    """Weights created by the model itself (`Model.add_weight`), not by one of its layers."""
    own = getattr(model, "_own_weights", [])
    trainable = [w for w in own if w.trainable]
    return trainable + [w for w in own if not w.trainable]


def _weight_key(weight):
    """The dataset path of a weight inside its layer group: its full name (`dense/kernel:0`)."""
    return weight.name


# --- saving -------------------------------------------------------------------------------------
def _save_weight_list(group, weights, names=None):
    names = names or [_weight_key(w) for w in weights]
    save_attributes(group, "weight_names", names)
    for name, weight in zip(names, weights):
        value = np.asarray(weight.data)
        if name in group:
            raise ValueError(f"Two weights of layer group '{group.name}' share the name "
                             f"'{name}': the legacy HDF5 format needs unique weight names.")
        dataset = group.create_dataset(name.encode("utf8"), value.shape, dtype=value.dtype)
        if value.shape:
            dataset[:] = value
        else:
            dataset[()] = value


def _refuse_state_outside_variables(model, layers=None):
    """tf.keras refuses to write layers whose state is not variables (an adapted lookup
    layer's vocabulary) to HDF5, or to read into them: the file cannot hold that state.
    `layers`: only those (and what they track), else the whole model."""
    tracked = model._flatten_layers() if layers is None else \
        [sub for layer in layers for sub in layer._flatten_layers()]
    for layer in tracked:
        if getattr(layer, "_has_state_outside_variables", lambda: False)():
            raise NotImplementedError(
                "Saving or restoring the adapted vocabulary of layer "
                f"'{layer.name}' ({type(layer).__name__}) is not supported in the legacy HDF5 "
                "format (tf.keras refuses it too). Save the model to the native Keras format "
                "instead (a '.keras' file name).")


def save_weights_to_hdf5_group(group, model):
    _refuse_state_outside_variables(model)
    layers = model.layers
    save_attributes(group, "layer_names", [layer.name for layer in layers])
    group.attrs["backend"] = BACKEND.encode("utf8")
    group.attrs["keras_version"] = str(__version__).encode("utf8")
    for layer in sorted(layers, key=lambda item: item.name):
        _save_weight_list(group.create_group(layer.name), legacy_weights(layer))
    _save_weight_list(group.create_group("top_level_model_weights"), top_level_weights(model))


def save_weights(model, filepath):
    with file_io.atomic_write(filepath) as tmp_path:
        with file_io.new_hdf5_file(tmp_path) as f:
            save_weights_to_hdf5_group(f, model)


# --- loading ------------------------------------------------------------------------------------
def _load_weight_list(group):
    """The datasets a layer group lists in `weight_names` (not read yet: checked first)."""
    return [file_io.require_dataset(group[name], f"The saved weight {name!r}")
            for name in load_attributes(group, "weight_names")]


def _check_layer_names_attr(group, filepath):
    if "layer_names" not in group.attrs and "layer_names0" not in group.attrs:
        hint = ""
        if "layers" in group and "vars" in group:
            hint = " It looks like a Keras 3 weights file: name it '*.weights.h5'."
        elif "model_weights" in group:
            hint = " It is a whole-model file: its weights are under 'model_weights'."
        raise file_io.CorruptFileError(
            f"Cannot load weights from {filepath}: it has no 'layer_names' attribute, so it is "
            f"not a Keras legacy HDF5 weights file.{hint}")


def _assign_all(pairs):
    """Check every dataset (shape, type, storage) first, read them all, then assign: a failure
    anywhere leaves the model unchanged."""
    size_of_file = file_io.file_size(pairs[0][1]) if pairs else None
    for variable, dataset, where in pairs:
        if tuple(variable.shape) != tuple(dataset.shape):
            raise ValueError(f"Shape mismatch in {where} for weight {variable.name}. Weight "
                             f"expects shape {tuple(variable.shape)}. Received saved weight with "
                             f"shape {tuple(dataset.shape)}")
        file_io.check_dataset(dataset, f"The saved weight {dataset.name!r}", size_of_file)
    values = [np.asarray(dataset[()], dtype=variable.dtype) for variable, dataset, _ in pairs]
    for (variable, _, _), value in zip(pairs, values):
        variable.assign(value)


def _build_compiled_metrics(model):
    """tf.keras' `.h5` loader builds the compiled loss and metrics on the model's outputs
    (`y_true` taken as the outputs too), so `metrics_names` lists them right after
    `load_model`, before any batch (a `.keras` load leaves them to the first batch)."""
    outputs = getattr(model, "_nested_outputs", None)
    if outputs is None or model.compiled_loss is None:
        return
    if not model.compiled_loss._built:
        model.compiled_loss.build(outputs)
    model.compiled_loss._seen_batch = True
    if not model.compiled_metrics._built:
        model.compiled_metrics.build(outputs, outputs)


def load_weights_from_hdf5_group(group, model):
    """Topological loading: the k-th layer with weights gets the k-th saved layer with weights."""
    filtered_layers = [layer for layer in model.layers if legacy_weights(layer)]
    saved_names = [name for name in load_attributes(group, "layer_names")
                   if load_attributes(group[name], "weight_names")]
    if len(saved_names) != len(filtered_layers):
        raise ValueError("Layer count mismatch when loading weights from file. Model expected "
                         f"{len(filtered_layers)} layers, found {len(saved_names)} saved layers.")
    pairs = []
    for k, (name, layer) in enumerate(zip(saved_names, filtered_layers)):
        variables = legacy_weights(layer)
        values = _load_weight_list(group[name])
        if len(values) != len(variables):
            raise ValueError(
                f"Weight count mismatch for layer #{k} (named {layer.name} in the current model, "
                f"{name} in the save file). Layer expects {len(variables)} weight(s). Received "
                f"{len(values)} saved weight(s)")
        where = f"layer #{k} (named {layer.name} in the current model, {name} in the save file)"
        pairs += [(v, value, where) for v, value in zip(variables, values)]
    pairs += _top_level_pairs(group, model, skip_mismatch=False)
    _assign_all(pairs)


def _top_level_pairs(group, model, skip_mismatch):
    if "top_level_model_weights" not in group:
        return []
    variables = top_level_weights(model)
    values = _load_weight_list(group["top_level_model_weights"])
    if len(values) != len(variables):
        message = ("Weight count mismatch for top-level weights of model. Model expects "
                   f"{len(variables)} top-level weight(s). Received {len(values)} saved "
                   "top-level weight(s)")
        if skip_mismatch:
            warnings.warn("Skipping loading top-level weights for model due to mismatch in "
                          "number of weights. " + message.split(". ", 1)[1], stacklevel=4)
            return []
        raise ValueError(message)
    pairs = []
    for variable, value in zip(variables, values):
        if tuple(variable.shape) != value.shape and skip_mismatch:
            warnings.warn("Skipping loading top-level weight for model due to mismatch in shape "
                          f"for weight {variable.name}. Weight expects shape "
                          f"{tuple(variable.shape)}. Received saved weight with shape "
                          f"{value.shape}", stacklevel=4)
            continue
        pairs.append((variable, value, "model for top-level weight"))
    return pairs


def load_weights_from_hdf5_group_by_name(group, model, skip_mismatch=False):
    """Name-based loading: each saved layer goes to the model's layers of the same name."""
    index = {}
    for layer in model.layers:
        index.setdefault(layer.name, []).append(layer)
    pairs = []
    for k, name in enumerate(load_attributes(group, "layer_names")):
        values = _load_weight_list(group[name])
        for layer in index.get(name, []):
            variables = legacy_weights(layer)
            if len(values) != len(variables):
                detail = (f"Layer expects {len(variables)} weight(s). Received {len(values)} "
                          "saved weight(s)")
                if skip_mismatch:
                    warnings.warn(f"Skipping loading of weights for layer #{k} (named "
                                  f"{layer.name}) due to mismatch in number of weights. {detail}",
                                  stacklevel=3)
                    continue
                raise ValueError(f"Weight count mismatch for layer #{k} (named {layer.name}). "
                                 f"{detail}")
            for variable, value in zip(variables, values):
                if tuple(variable.shape) != value.shape:
                    detail = (f"for weight {variable.name}. Weight expects shape "
                              f"{tuple(variable.shape)}. Received saved weight with shape "
                              f"{value.shape}")
                    if skip_mismatch:
                        warnings.warn(f"Skipping loading weights for layer #{k} (named "
                                      f"{layer.name}) due to mismatch in shape {detail}",
                                      stacklevel=3)
                        continue
                    raise ValueError(f"Shape mismatch in layer #{k} (named {layer.name}) {detail}")
                pairs.append((variable, value, f"layer #{k} (named {layer.name})"))
    pairs += _top_level_pairs(group, model, skip_mismatch)
    _assign_all(pairs)


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    if skip_mismatch and not by_name:
        raise ValueError("When calling model.load_weights, skip_mismatch can only be set to "
                         "True when by_name is True.")
    with file_io.open_h5(filepath, "weights") as f:
        with file_io.reading_errors(filepath, "weights"):
            group = f["model_weights"] if "layer_names" not in f.attrs and \
                "model_weights" in f else f
            _check_layer_names_attr(group, filepath)
            saved_names = set(load_attributes(group, "layer_names")) if by_name else None
        # As tf.keras: refused before reading, for every layer (by name: each one named in the
        # file). Outside `reading_errors`, which would report it as a corrupt file.
        _refuse_state_outside_variables(model, None if saved_names is None else
                                        [layer for layer in model.layers
                                         if layer.name in saved_names])
        with file_io.reading_errors(filepath, "weights"):
            if by_name:
                load_weights_from_hdf5_group_by_name(group, model, skip_mismatch)
            else:
                load_weights_from_hdf5_group(group, model)


# --- optimizer state ------------------------------------------------------------------------------
def save_optimizer_weights_to_hdf5_group(group, optimizer):
    """`optimizer_weights/`: `iteration:0`, then the slots in creation order, named as a
    model trained by tf.keras' `fit` names them (`Adam/m/dense/kernel:0`: its slots are
    created inside the traced train function, under the optimizer's name scope)."""
    variables = list(optimizer.variables)
    if not variables or not getattr(optimizer, "_built", True):
        return
    weights_group = group.create_group("optimizer_weights")
    names = [_optimizer_weight_name(optimizer, v) for v in variables]
    _save_weight_list(weights_group, variables, names)


def _optimizer_weight_name(optimizer, variable):
    # (a LossScaleOptimizer builds its inner optimizer outside any name scope, as tf's does)
    if variable is optimizer.iterations or variable.name.startswith(optimizer.name + "/") or \
            isinstance(optimizer, LossScaleOptimizer):
        return variable.name
    return f"{optimizer.name}/{variable.name}"


def load_optimizer_weights_from_hdf5_group(group):
    """The datasets of the saved optimizer state (read by `set_optimizer_weights`)."""
    return _load_weight_list(group["optimizer_weights"])


def build_optimizer(optimizer, variables):
    """Create the optimizer's slots for `variables` as its first step would."""
    if getattr(optimizer, "_built", False):
        return
    if hasattr(optimizer, "_slots"):     # optimizers that keep the variable list themselves
        optimizer._variables = list(variables)
    optimizer.build(list(variables))
    optimizer._built = True


def set_optimizer_weights(optimizer, values):
    """Assign saved optimizer state as tf.keras' `set_weights` does, warning as its loader on
    a mismatch. A legacy optimizer (OptimizerV2) takes all or nothing: same count and
    shapes. A current one zips the two lists: pairs are assigned in order (extra or missing
    entries at the end are ignored) until a shape differs, which stops there with the
    warning (what came before stays assigned)."""
    from ..optimizers.legacy import LegacyOptimizer
    variables = list(optimizer.variables)
    if isinstance(optimizer, LegacyOptimizer):
        if len(values) != len(variables) or any(
                tuple(v.shape) != tuple(np.shape(value)) for v, value in zip(variables, values)):
            _warn_fresh_optimizer()
            return
    pairs = list(zip(variables, values))
    mismatch = next((i for i, (variable, value) in enumerate(pairs)
                     if tuple(variable.shape) != tuple(np.shape(value))), None)
    pairs = pairs[:mismatch]
    for _, value in pairs:      # every dataset checked before any is read
        file_io.check_dataset(value, f"The saved optimizer weight {value.name!r}")
    for variable, value in pairs:
        variable.assign(np.asarray(value[()], dtype=variable.dtype))
    if mismatch is not None:
        _warn_fresh_optimizer()


def _warn_fresh_optimizer():
    warnings.warn("Error in loading the saved optimizer state. As a result, your model is "
                  "starting with a freshly initialized optimizer.", stacklevel=5)


# --- whole model --------------------------------------------------------------------------------
def to_json_string(value):
    return json.dumps(value, default=json_default)


def save_model(model, filepath, include_optimizer=True):
    if is_subclassed(model):
        raise NotImplementedError(
            "Saving the model to HDF5 format requires the model to be a Functional model or a "
            "Sequential model. It does not work for subclassed models, because such models are "
            "defined via the body of a Python method, which isn't safely serializable. Consider "
            "saving to the native Keras format (a '.keras' file name) or using `save_weights`.")
    with serialization.legacy_layer_entries():     # tf.keras' .h5 form of the layers
        model_config = {"class_name": serialization.model_class_name(model),
                        "config": model.get_config()}
    if model._is_compiled:
        _build_compiled_metrics(model)
    training_config = serialization.training_config(model) if model._is_compiled else None
    with_optimizer = include_optimizer and model.optimizer is not None and \
        training_config is not None
    if isinstance(filepath, h5py.File):     # an open file (tf.keras writes into it, open)
        _write_model(filepath, model, model_config, training_config, with_optimizer)
        return
    with file_io.atomic_write(filepath, create_parents=True) as tmp_path:
        with file_io.new_hdf5_file(tmp_path) as f:
            _write_model(f, model, model_config, training_config, with_optimizer)


def _write_model(f, model, model_config, training_config, with_optimizer):
    f.attrs["backend"] = BACKEND
    f.attrs["keras_version"] = str(__version__)
    f.attrs["model_config"] = to_json_string(model_config).encode("utf8")
    if training_config is not None:
        f.attrs["training_config"] = to_json_string(training_config).encode("utf8")
    save_weights_to_hdf5_group(f.create_group("model_weights"), model)
    if with_optimizer:
        save_optimizer_weights_to_hdf5_group(f, model.optimizer)


def _deserialize(model_config, attributes, custom_objects, safe_mode):
    """Keras 3 writes its own configs (and means its own `hard_sigmoid`) into the legacy
    `.h5` files it saves (`keras_version` 3.x): they are read as its `.keras` configs are."""
    version = {"keras_version": _attr_string(attributes.get("keras_version", ""))}
    if hard_sigmoid_is_keras3(version):
        return keras3_config.deserialize_model(model_config, custom_objects,
                                               safe_mode=safe_mode, keras3_hard_sigmoid=True)
    return serialization.deserialize_model(model_config, custom_objects, safe_mode=safe_mode)


def _compile_from_file(model, training_config, custom_objects, filepath):
    """Compile `model` from a file's training config; what a malformed one makes the code trip
    over is a corrupt-file error naming the file (tf.keras: a bare AttributeError / KeyError)."""
    optimizer = training_config.get("optimizer_config") \
        if isinstance(training_config, dict) else None
    if not isinstance(training_config, dict) or not (
            optimizer is None or (
                isinstance(optimizer, dict) and isinstance(optimizer.get("class_name"), str)
                and isinstance(optimizer.get("config", {}), dict))):
        raise file_io.CorruptFileError(
            f"Cannot load the model from {filepath}: its 'training_config' attribute is "
            f"malformed (expected a dict whose 'optimizer_config' has a 'class_name' string and "
            f"a 'config' dict), received: {str(training_config)[:200]}")
    try:
        serialization.compile_from_training_config(model, training_config, custom_objects,
                                                   legacy_h5=True)
    except (TypeError, KeyError, AttributeError, IndexError) as error:
        raise file_io.CorruptFileError(
            f"Cannot load the model from {filepath}: its 'training_config' attribute is "
            f"malformed ({type(error).__name__}: {error}).") from error


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    if isinstance(filepath, h5py.File):     # an open file, as tf.keras takes one (left open)
        opened, filepath = contextlib.nullcontext(filepath), filepath.filename
    else:
        opened = file_io.open_h5(filepath, "the model")
    with opened as f:
        with file_io.reading_errors(filepath, "the model"):
            raw_config = f.attrs.get("model_config")
            if raw_config is None:
                hint = " It holds only weights: use `model.load_weights`." \
                    if "layer_names" in f.attrs or "layers" in f else ""
                raise ValueError(f"No model config found in the file at {filepath}.{hint}")
            model_config = file_io.parse_json(
                _attr_string(raw_config),
                f"Cannot load the model from {filepath}: its 'model_config' attribute")
            with legacy_h5_bytecode():      # tf.keras runs an .h5 file's Lambda bytecode
                model = file_io.deserializing(filepath, lambda: _deserialize(
                    model_config, f.attrs, custom_objects, safe_mode))
            if "model_weights" not in f:
                raise file_io.CorruptFileError(
                    f"Cannot load the model from {filepath}: the 'model_weights' group is missing.")
            load_weights_from_hdf5_group(f["model_weights"], model)
            if not compile:
                return model
            raw_training = f.attrs.get("training_config")
            if raw_training is None:
                warnings.warn("No training configuration found in the save file, so the model "
                              "was *not* compiled. Compile it manually.", stacklevel=3)
                return model
            training_config = file_io.parse_json(
                _attr_string(raw_training),
                f"Cannot load the model from {filepath}: its 'training_config' attribute")
            _compile_from_file(model, training_config, custom_objects, filepath)
            _build_compiled_metrics(model)
            if "optimizer_weights" in f:
                build_optimizer(model.optimizer, model.trainable_weights)
                set_optimizer_weights(model.optimizer, load_optimizer_weights_from_hdf5_group(f))
    return model
