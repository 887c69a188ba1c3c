"""The Keras 3 formats: `*.weights.h5` and the `*.keras` zip (`config.json`, `metadata.json`,
`model.weights.h5`).

Layers with state that is not a variable (a lookup layer's vocabulary, a Discretization summary)
use Keras 3's hooks: `save_own_variables(store)` / `load_own_variables(store)` write and read
their `vars` group themselves, and `save_assets(directory)` / `load_assets(directory)` their
files under `assets/<path>/` in the archive.

Weights layout (Keras 3 `saving_lib`): every saveable object (model, layer, optimizer) gets a
group `<path>/vars` (attribute `name`) holding its own variables as datasets `0`, `1`, ...
The model's own variables are at `vars`; the layers of a Sequential/functional model at
`layers/<snake_case class name>[_<n>]`, numbered per class in `model.layers` order; layers held
in attributes of subclassed models/layers at `<attribute>` (containers: `<attribute>/<class>`);
the optimizer at `optimizer` (iterations, learning rate, then each variable's slots).
tf.keras 2.21 walks attributes in reverse sorted order with a model's `layers` and `metrics`
properties among them and saves metrics too: for subclassed models (and models holding metric
attributes) its groups are added as hard links to the same `vars` groups, so both libraries
read the file; reading takes tf.keras' layout when Keras 3's groups are missing.
"""
import datetime
import io
import json
import os
import tempfile
import warnings
import zipfile

import numpy as np

from ..core.serialization import UnknownClassError
from ..core.version import __version__
from ..models.serialization import json_default
from ..models.model_kind import is_functional, is_sequential
from ..models.training import Model
from ..metrics.base import Metric
from . import file_io
from ..engine.base_layer import Layer
from ..optimizers.base import Optimizer
from ..optimizers.legacy import LegacyOptimizer
from ..optimizers import schedules
from ..core.tensor import Variable
from .legacy_h5 import build_optimizer
from .tf_keras_config import tf_keras_readable
from .keras3_config import (serialize_model, deserialize_model, compile_from_config,
                            keras3_operation, snake_case, hard_sigmoid_is_keras3,
                            write_keras3_hard_sigmoid)

CONFIG_FILENAME = "config.json"
METADATA_FILENAME = "metadata.json"
WEIGHTS_FILENAME = "model.weights.h5"
ASSETS_DIRECTORY = "assets"

# Attributes of minikeras' engine that hold layers for bookkeeping, not as children.
_ENGINE_ATTRIBUTES = frozenset({
    "_tracked_layers", "_stack", "_input_layer", "_layers_in_order", "_nodes_in_order",
    "_input_layers", "_output_layers", "_inbound_nodes", "_outbound_nodes", "_own_weights",
    "inputs", "outputs", "_nested_inputs", "_nested_outputs", "compiled_loss",
    "compiled_metrics", "history", "_outer", "input_spec", "_initial_weights",
    "_added_metrics", "_attribute_metrics",
})

# Attributes that hold a layer Keras 3 does not save: Bidirectional's template `layer` (its
# weights live in `forward_layer` and `backward_layer`).
_UNSAVED_ATTRIBUTES = {"Bidirectional": frozenset({"layer"})}


# Sublayers tf.keras 2.21 keeps in private attributes where Keras 3 (and minikeras) use public
# ones: its `.keras` / `.weights.h5` groups take those names (`multi_head_attention/_query_dense`).
_TF_KERAS_ATTRIBUTES = {"MultiHeadAttention": {name: "_" + name for name in (
    "query_dense", "key_dense", "value_dense", "output_dense")}}


# --- walking the saveable objects -----------------------------------------------------------------
def _is_saveable(obj):
    return isinstance(obj, Layer) or _has_saved_state(obj)


def _has_saved_state(optimizer):
    """tf.keras 2.21 saves the state of its current optimizers in `.keras` files, not that of
    the legacy ones (`keras.optimizers.legacy.*`, no saveable object there): it reloads them
    fresh (iterations 0). Keras 3 could not read their slots anyway (other order, no learning
    rate variable)."""
    return isinstance(optimizer, Optimizer) and not isinstance(optimizer, LegacyOptimizer)


def _children(obj):
    """(attribute, child) pairs in Keras 3's visiting order: a graph model's `layers` first,
    then attributes sorted by name with private ones last."""
    if is_functional(obj) or is_sequential(obj):
        yield "layers", list(obj.layers)
    attributes = sorted(vars(obj), key=lambda name: "~" + name if name.startswith("_") else name)
    unsaved = _UNSAVED_ATTRIBUTES.get(type(obj).__name__, ())
    for name in attributes:
        if name.startswith("__") or name in _ENGINE_ATTRIBUTES or name in unsaved:
            continue
        yield name, vars(obj)[name]


def _tf_keras_children(obj):
    """(attribute, child) pairs in tf.keras 2.21's visiting order (`saving_lib`): attribute
    names in reverse sorted order (tf.keras' own names: `_TF_KERAS_ATTRIBUTES`), a model's
    `layers` and `metrics` properties among them; metrics are saved objects too."""
    names = {name for name in vars(obj)
             if not name.startswith("__") and name not in _ENGINE_ATTRIBUTES}
    if isinstance(obj, Model):
        names |= {"layers", "metrics"}
    renamed = _TF_KERAS_ATTRIBUTES.get(type(obj).__name__, {})
    for tf_keras_name, name in sorted(((renamed.get(name, name), name) for name in names),
                                      reverse=True):
        yield tf_keras_name, list(getattr(obj, name)) if name in ("layers", "metrics") else \
            vars(obj)[name]


def _is_tf_keras_saveable(obj):
    return _is_saveable(obj) or isinstance(obj, Metric)


def walk(obj, path="", visited=None, tf_keras_layout=False):
    """Yield (path, saveable) for `obj` and every saveable below it, each once: Keras 3's
    layout, or tf.keras 2.21's (which also saves metrics) with `tf_keras_layout=True`."""
    visited = set() if visited is None else visited
    if id(obj) in visited:
        return
    visited.add(id(obj))
    yield path, obj
    if isinstance(obj, Metric):
        return
    children = _tf_keras_children(obj) if tf_keras_layout else _children(obj)
    is_saveable = _is_tf_keras_saveable if tf_keras_layout else _is_saveable
    for attribute, child in children:
        child_path = f"{path}/{attribute}" if path else attribute
        if is_saveable(child):
            yield from walk(child, child_path, visited, tf_keras_layout)
        elif isinstance(child, (list, tuple, dict)):
            items = list(child.values()) if isinstance(child, dict) else list(child)
            used = {}
            for item in items:
                if not is_saveable(item) or id(item) in visited:
                    continue
                if keras3_operation(item) is not None:
                    continue        # written as a Keras 3 operation: not a saveable layer
                name = snake_case(type(item).__name__)
                if name in used:
                    used[name] += 1
                    name = f"{name}_{used[name]}"
                else:
                    used[name] = 0
                yield from walk(item, f"{child_path}/{name}", visited, tf_keras_layout)


def own_variables(obj):
    """The variables an object stores in its own `vars` group, in Keras 3's order."""
    if isinstance(obj, Optimizer):
        return _optimizer_variables(obj)
    if isinstance(obj, Metric):
        return obj.variables
    own = list(getattr(obj, "_own_weights", []))
    return [w for w in own if w.trainable] + [w for w in own if not w.trainable]


def _optimizer_variables(optimizer):
    """Keras 3 order: iterations, the learning rate (none with a schedule), the slots in
    creation order, then Nadam's `u_product`."""
    if not getattr(optimizer, "_built", False):
        return []
    variables = [optimizer.iterations]
    if not isinstance(getattr(optimizer, "_learning_rate", None),
                      schedules.LearningRateSchedule):
        learning_rate = optimizer.learning_rate
        if not isinstance(learning_rate, Variable):
            learning_rate = Variable(np.asarray(getattr(learning_rate, "data", learning_rate),
                                                np.float32), trainable=False,
                                     name="learning_rate")
        variables.append(learning_rate)
    if hasattr(optimizer, "_slots"):     # optimizers that keep the variable list themselves
        variables += [slot for variable in optimizer._variables
                      for slot in optimizer._slots.get(id(variable), {}).values()]
    else:                                  # creation order: each variable's slots together
        variables += [v for v in optimizer.variables if v is not optimizer.iterations]
    if hasattr(optimizer, "_u_product"):   # a plain float32 in minikeras: saved as a copy
        variables.append(Variable(np.asarray(optimizer._u_product, np.float32),
                                  trainable=False, name="u_product"))
    return variables


# --- writing ------------------------------------------------------------------------------------
def write_weights(model, h5file):
    written = {}
    for path, obj in walk(model):
        group = h5file.create_group(f"{path}/vars" if path else "vars")
        written[id(obj)] = group
        group.attrs["name"] = str(getattr(obj, "name", ""))
        if hasattr(obj, "save_own_variables"):
            obj.save_own_variables(group)
            continue
        for index, variable in enumerate(own_variables(obj)):
            group.create_dataset(str(index), data=np.asarray(variable.data))
    _add_tf_keras_paths(model, h5file, written)


def _add_tf_keras_paths(model, h5file, written):
    """Make the file readable by tf.keras 2.21 too: where its layout differs from Keras 3's (a
    subclassed model's `layers/functional`, metric trackers, `_TF_KERAS_ATTRIBUTES`), its
    groups are hard links to the `vars` groups written above (no copy), or hold a metric's
    variables. Graph models without those have one layout: nothing is added."""
    objects = list(walk(model, tf_keras_layout=True))
    if not any(isinstance(obj, Model) and not (is_functional(obj) or is_sequential(obj)) or
               getattr(obj, "_attribute_metrics", None) or
               type(obj).__name__ in _TF_KERAS_ATTRIBUTES for _, obj in objects):
        return
    for path, obj in objects:
        name = f"{path}/vars" if path else "vars"
        if isinstance(obj, Optimizer) or name in h5file:
            continue
        if id(obj) in written:
            parent = name.rpartition("/")[0]
            if parent:
                h5file.require_group(parent)
            h5file[name] = written[id(obj)]
        elif isinstance(obj, Metric):
            group = h5file.create_group(name)
            for index, variable in enumerate(obj.variables):
                group.create_dataset(str(index), data=np.asarray(variable.data))


def save_weights(model, filepath):
    with file_io.atomic_write(filepath) as tmp_path:
        with file_io.new_hdf5_file(tmp_path) as f:
            write_weights(model, f)


# --- reading --------------------------------------------------------------------------------------
def read_weights(model, h5file, filepath, skip_mismatch=False):
    """Check every object's saved variables against the model, then assign them all; the
    optimizer state is restored too when the optimizer already has its slots."""
    if "vars" not in h5file and "layers" not in h5file:
        hint = " It looks like a legacy Keras weights file: name it '*.h5'." \
            if "layer_names" in h5file.attrs else ""
        raise file_io.CorruptFileError(
            f"Cannot load weights from {filepath}: it has neither a 'vars' nor a 'layers' group, "
            f"so it is not a Keras 3 weights file.{hint}")
    assignments = []
    own_loaders = []
    size_of_file = file_io.file_size(h5file)
    for path, obj in _walk_in_file_layout(model, h5file):
        if isinstance(obj, Optimizer):
            continue
        stored = _stored_group(h5file, path)
        stored = {} if stored is None else stored
        if hasattr(obj, "load_own_variables"):
            own_loaders.append((obj, stored))
            continue
        try:
            assignments += _match(obj, own_variables(obj), stored, path, size_of_file)
        except ValueError as error:
            if not skip_mismatch:
                raise
            warnings.warn(f"Skipping loading weights of {getattr(obj, 'name', path)}: {error}",
                          stacklevel=3)
    values = [np.asarray(value[()], dtype=variable.dtype) for variable, value in assignments]
    for (variable, _), value in zip(assignments, values):
        variable.assign(value)
    for obj, stored in own_loaders:
        obj.load_own_variables(stored)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "_built", False):
        load_optimizer_state(model, h5file)


def _walk_in_file_layout(model, h5file):
    """Keras 3's layout, unless some of its groups are missing and tf.keras 2.21's layout
    (different for subclassed models: `layers/functional`, metric trackers) finds them all."""
    keras3 = list(walk(model))
    if all(_stored_group(h5file, path) is not None for path, obj in keras3
           if not isinstance(obj, Optimizer)):
        return keras3
    tf_keras = list(walk(model, tf_keras_layout=True))
    if all(_stored_group(h5file, path) is not None for path, obj in tf_keras
           if not isinstance(obj, Optimizer)):
        return tf_keras
    return keras3


def _stored_group(h5file, path):
    stored = h5file.get(f"{path}/vars" if path else "vars")
    return stored if stored is not None else h5file.get(f"{_private_twin(path)}/vars")


def _private_twin(path):
    """`a/_query_dense` for `a/query_dense` and back: tf.keras' `.keras` files name some
    sub-layers by their private attribute (MultiHeadAttention's `_query_dense`), Keras 3 by
    its public property."""
    head, _, last = path.rpartition("/")
    twin = last[1:] if last.startswith("_") else f"_{last}"
    return f"{head}/{twin}" if head else twin


def _match(obj, variables, stored, path, size_of_file=None):
    count = len(stored.keys()) if hasattr(stored, "keys") else 0
    name = getattr(obj, "name", path)
    if count != len(variables):
        if not variables and not getattr(obj, "built", True):
            raise ValueError(f"Layer '{name}' was never built and thus it doesn't have any "
                             f"variables. However the weights file lists {count} variables for "
                             "this layer.")
        raise ValueError(f"Layer '{name}' expected {len(variables)} variables, but received "
                         f"{count} variables during loading. Expected: "
                         f"{[v.name for v in variables]}")
    pairs = []
    for index, variable in enumerate(variables):
        value = file_io.require_dataset(stored[str(index)], f"The saved weight {index} of "
                                                            f"'{path or '/'}'")
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"Shape mismatch in layer '{name}' (weights group '{path or '/'}') "
                             f"for weight {variable.name}: the model expects shape "
                             f"{tuple(variable.shape)}, the file has shape {tuple(value.shape)}.")
        file_io.check_dataset(value, f"The saved weight {value.name!r}", size_of_file)
        pairs.append((variable, value))
    return pairs


def load_weights(model, filepath, skip_mismatch=False):
    with file_io.open_h5(filepath, "weights") as f:
        with file_io.reading_errors(filepath, "weights"):
            read_weights(model, f, filepath, skip_mismatch)


def load_optimizer_state(model, h5file):
    """Restore `optimizer/vars` into the model's optimizer: Keras 3's order
    (`_optimizer_variables`), or tf_keras' own `.keras` order (its `optimizer.variables`:
    iterations and the slots, no learning rate)."""
    optimizer = model.optimizer
    if not _has_saved_state(optimizer) or "optimizer/vars" not in h5file:
        return
    stored = h5file["optimizer/vars"]
    if not len(stored):
        return
    build_optimizer(optimizer, model.trainable_weights)
    variables = _optimizer_variables(optimizer)
    keras3_layout = len(stored) == len(variables)
    if not keras3_layout and len(stored) == len(optimizer.variables):
        variables = list(optimizer.variables)       # written by tf_keras 2.x
    if len(stored) != len(variables):
        # Keras 3's and tf_keras' `load_own_variables` text
        warnings.warn(f"Skipping variable loading for optimizer '{optimizer.name}', because it "
                      f"has {len(variables)} variables whereas the saved optimizer has "
                      f"{len(stored)} variables. ", stacklevel=3)
        return
    datasets = [file_io.require_dataset(stored[str(i)], f"The saved optimizer weight {i}")
                for i in range(len(variables))]
    if any(tuple(v.shape) != tuple(value.shape) for v, value in zip(variables, datasets)):
        warnings.warn("Error in loading the saved optimizer state: shapes differ. As a result, "
                      "your model is starting with a freshly initialized optimizer.", stacklevel=3)
        return
    values = [np.asarray(file_io.read_dataset(dataset, f"The saved optimizer weight "
                                              f"{dataset.name!r}"), dtype=variable.dtype)
              for variable, dataset in zip(variables, datasets)]
    for variable, value in zip(variables, values):
        variable.assign(value)
    # Nadam's `u_product` (one of Keras 3's variables, in its files) is not read back:
    # tf.keras keeps it outside its variables, so a model it reloads starts again from 1.


# --- the .keras archive -------------------------------------------------------------------------
def save_model(model, filepath):
    import h5py
    if not model.built:
        warnings.warn("You are saving a model that has not yet been built. It might not contain "
                      "any weights yet. Consider building the model first by calling it on some "
                      "data.", stacklevel=3)
    config, keras3_hard_sigmoid = write_keras3_hard_sigmoid(
        tf_keras_readable(serialize_model(model), model))
    config_json = json.dumps(config, default=json_default)
    saved_at = datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")
    metadata = {"keras_version": str(__version__), "date_saved": saved_at}
    if keras3_hard_sigmoid:
        metadata["hard_sigmoid"] = "keras3"      # read back as Keras 3's (Keras 3 reads it so)
    metadata_json = json.dumps(metadata)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5file:
        write_weights(model, h5file)
    assets = _collect_assets(model)
    with file_io.atomic_write(filepath) as tmp_path:
        with zipfile.ZipFile(tmp_path, "w") as archive:
            archive.writestr(METADATA_FILENAME, metadata_json)
            archive.writestr(CONFIG_FILENAME, config_json)
            archive.writestr(WEIGHTS_FILENAME, buffer.getvalue())
            for name, data in assets:
                archive.writestr(name, data)


def _collect_assets(model):
    """(archive name, bytes) of the files each object's `save_assets(directory)` writes."""
    assets = []
    for path, obj in walk(model):
        if not hasattr(obj, "save_assets"):
            continue
        with tempfile.TemporaryDirectory() as directory:
            obj.save_assets(directory)
            for name in sorted(os.listdir(directory)):
                with open(os.path.join(directory, name), "rb") as handle:
                    assets.append((f"{ASSETS_DIRECTORY}/{path}/{name}", handle.read()))
    return assets


def _load_assets(model, archive, filepath):
    """Hands each object with `load_assets` a directory holding its files from the archive."""
    members = archive.namelist()
    for path, obj in walk(model):
        if not hasattr(obj, "load_assets"):
            continue
        prefix = f"{ASSETS_DIRECTORY}/{path}/"
        names = [m for m in members if m.startswith(prefix) and "/" not in m[len(prefix):]
                 and m != prefix]
        if not names:
            continue
        with tempfile.TemporaryDirectory() as directory:
            for name in names:
                data = file_io.read_member(archive, name, filepath, CONFIG_SIZE_LIMIT)
                with open(os.path.join(directory, name[len(prefix):]), "wb") as handle:
                    handle.write(data)
            obj.load_assets(directory)


# A config.json larger than this is not a model config (5,000 layers take about 3 MiB).
CONFIG_SIZE_LIMIT = 64 * 2 ** 20


def weights_size_limit(model):
    """The most bytes a sane `model.weights.h5` for `model` can take: the weights, up to four
    optimizer values per weight (slots, EMA), and HDF5's bookkeeping per object and variable."""
    objects = list(walk(model))
    variables = [v for _, obj in objects for v in own_variables(obj)]
    data = sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)
    return 5 * data + 2 ** 20 + 16 * 1024 * (len(objects) + 2 * len(variables))


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    with file_io.open_zip(filepath) as archive:
        raw = file_io.read_member(archive, CONFIG_FILENAME, filepath, CONFIG_SIZE_LIMIT)
        config = file_io.parse_json(raw, f"Cannot load the model from {filepath}: "
                                         f"'{CONFIG_FILENAME}'")
        keras3_hard_sigmoid = hard_sigmoid_is_keras3(_metadata(archive, filepath))
        model = file_io.deserializing(filepath, lambda: deserialize_model(
            config, custom_objects, safe_mode=safe_mode,
            keras3_hard_sigmoid=keras3_hard_sigmoid))
        weights = file_io.read_member(archive, WEIGHTS_FILENAME, filepath,
                                      weights_size_limit(model))
        with file_io.reading_errors(filepath, "the model"):
            _load_assets(model, archive, filepath)
    with file_io.open_h5_bytes(weights, filepath, WEIGHTS_FILENAME) as h5file:
        with file_io.reading_errors(filepath, "the model"):
            read_weights(model, h5file, filepath)
            if compile and config.get("compile_config"):
                _compile_from_file(model, config["compile_config"], custom_objects, filepath)
                load_optimizer_state(model, h5file)
                _first_train_trace_creates_variables(model)
    return model


def _compile_from_file(model, compile_config, custom_objects, filepath):
    """What a malformed `compile_config` makes the compile code trip over is an error naming
    the file (an optimizer `config` of 7 was a bare AttributeError)."""
    try:
        compile_from_config(model, compile_config, custom_objects)
    except UnknownClassError:
        raise
    except (TypeError, KeyError, AttributeError, IndexError) as error:
        raise file_io.CorruptFileError(
            f"Cannot load the model from {filepath}: its 'compile_config' is malformed "
            f"({type(error).__name__}: {error}).") from error


def _first_train_trace_creates_variables(model):
    """tf.keras builds the compiled metrics of a model loaded from a `.h5` file
    (`try_build_compiled_arguments`) but not of one loaded from a `.keras` file: there its
    first train step creates the metrics' variables, so tf.function traces it twice, even with
    the optimizer built by the loader. Nadam counts traces (its `u_product` cache): it sees the
    discarded first trace, as it does for an optimizer built inside the trace."""
    optimizer = model.optimizer
    if getattr(optimizer, "_built", False) and hasattr(optimizer, "_u_product_counter"):
        optimizer._u_product_counter = 1 + len(model.trainable_weights)


def _metadata(archive, filepath):
    """`metadata.json` as a dict ({} when absent or unreadable: it only refines reading)."""
    if METADATA_FILENAME not in archive.namelist():
        return {}
    try:
        return json.loads(file_io.read_member(archive, METADATA_FILENAME, filepath, 1 << 20))
    except (ValueError, file_io.CorruptFileError):
        return {}


def load_weights_from_archive(model, filepath, skip_mismatch=False):
    with file_io.open_zip(filepath) as archive:
        weights = file_io.read_member(archive, WEIGHTS_FILENAME, filepath,
                                      weights_size_limit(model))
    with file_io.open_h5_bytes(weights, filepath, WEIGHTS_FILENAME) as h5file:
        with file_io.reading_errors(filepath, "weights"):
            read_weights(model, h5file, filepath, skip_mismatch)
