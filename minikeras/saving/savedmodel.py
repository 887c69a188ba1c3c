"""tf.keras 2's TensorFlow SavedModel directory (`model.save('my_model')`, no '.h5'/'.keras').

What tf_keras 2.21 writes into `my_model/`:
- `keras_metadata.pb`: a `SavedMetadata` proto, one `SavedObject` per Keras object (node_id 2,
  node_path 3 such as 'root.layer_with_weights-0', identifier 4 such as '_tf_keras_sequential',
  metadata 5: a JSON dict with class_name, config, build_input_shape, and on the root the
  training_config of a compiled model);
- `variables/variables.{index,data-00000-of-00001}`: a TF checkpoint (`tf_checkpoint`) whose
  object graph is the model's (layer-<i>, layer_with_weights-<k>, kernel, ...) plus the
  SavedModel's extra children (variables, keras_api, __call__, signatures, ...). A variable is
  stored under its first path in that larger graph (`variables/0/...` for a nested model's).
- `saved_model.pb`: the `SavedModel` proto: the MetaGraphDef with the graph functions (which
  minikeras cannot run) and the `SavedObjectGraph` (field 7); `fingerprint.pb`; `assets/`.

Loading rebuilds the model from the root's metadata (config, then `build_input_shape`), restores
the variables through the checkpoint's object graph, then compiles it from `training_config`.
As tf_keras 2.21 does, the optimizer comes back fresh: its saved state is not restored.
TF 2.0-2.4 files have no keras_metadata.pb: the same JSON is in saved_model.pb's user objects.
"""
import contextlib
import inspect
import json
import logging
import os
import shutil

import numpy as np

from ..core import durable
from ..core.durable import interrupts_deferred
from ..core.version import __version__
from ..layers.core.lambda_serialization import legacy_h5_bytecode
from ..models import serialization
from . import file_io, legacy_h5, tf_checkpoint
from .tf_bundle import (DT_STRING, NUMPY_TO_DTYPE, BundleFormatError, build_bundle,
                        field_bytes, field_varint, first, parse_message, read_varint)

METADATA_FILENAME = "keras_metadata.pb"
SAVED_MODEL_FILENAME = "saved_model.pb"
VARIABLES_DIRECTORY = "variables"
VARIABLES_PREFIX = os.path.join(VARIABLES_DIRECTORY, "variables")
logger = logging.getLogger("minikeras")


def is_savedmodel_dir(path):
    return os.path.isdir(path) and any(
        os.path.isfile(os.path.join(path, name)) for name in file_io.SAVED_MODEL_FILES)


# --- reading the metadata ---------------------------------------------------------------------
def _parse(raw, where):
    try:
        return parse_message(raw)
    except BundleFormatError as error:
        raise file_io.CorruptFileError(f"Cannot read {where}: {error}") from None


def read_keras_metadata(dirpath):
    """{node_path: (identifier, metadata dict)} of the Keras objects saved in `dirpath`."""
    metadata_path = os.path.join(dirpath, METADATA_FILENAME)
    if os.path.isfile(metadata_path):
        with open(metadata_path, "rb") as handle:
            raw = handle.read()
        nodes = {}
        for node_bytes in _parse(raw, metadata_path).get(1, []):
            fields = _parse(node_bytes, metadata_path)
            nodes[_text(first(fields, 3, b""), metadata_path)] = (
                _text(first(fields, 4, b""), metadata_path),
                _json(first(fields, 5, b""), metadata_path))
        return nodes
    return _metadata_from_saved_model(dirpath)


def _text(raw, where=None):
    try:
        return bytes(raw).decode("utf8")
    except UnicodeDecodeError as error:     # a damaged file: tf.keras' words
        raise file_io.CorruptFileError(f"Cannot parse keras metadata at path {where}: "
                                       f"Received error: {error}") from None


def _json(raw, where):
    value = file_io.parse_json(_text(raw, where) or "{}",
                               f"Cannot read the Keras metadata in {where}")
    return _decode_tuples(value)


def _decode_tuples(value):
    """tf.keras' metadata encoder writes tuples and TensorShapes as {"class_name": "__tuple__" /
    "TensorShape", "items": [...]}; its decoder turns them back into tuples (a shape of unknown
    rank into None). `__ellipsis__` stays a dict: minikeras' configs read it in that form."""
    if isinstance(value, list):
        return [_decode_tuples(item) for item in value]
    if not isinstance(value, dict):
        return value
    if value.get("class_name") in ("__tuple__", "TensorShape") and set(value) == {"class_name",
                                                                                   "items"}:
        items = value["items"]
        return None if items is None else tuple(_decode_tuples(item) for item in items)
    return {key: _decode_tuples(item) for key, item in value.items()}


def _metadata_from_saved_model(dirpath):
    """TF 2.0-2.4 kept each object's Keras metadata in saved_model.pb (SavedUserObject field 3);
    node paths are the breadth-first paths of the SavedObjectGraph."""
    path = os.path.join(dirpath, SAVED_MODEL_FILENAME)
    if not os.path.isfile(path):
        raise NotImplementedError(f"{dirpath} holds a text SavedModel (saved_model.pbtxt), "
                                  "which minikeras cannot read.")
    with open(path, "rb") as handle:
        raw = handle.read()
    meta_graphs = _parse(raw, path).get(2, [])
    if not meta_graphs:
        raise file_io.CorruptFileError(f"Cannot read {path}: it holds no MetaGraphDef.")
    graph = _parse(first(_parse(meta_graphs[0], path), 7, b""), path)
    objects = [_parse(node, path) for node in graph.get(1, [])]
    paths, queue, nodes = {0: "root"}, [0], {}
    while queue:
        node_id = queue.pop(0)
        fields = objects[node_id] if node_id < len(objects) else {}
        user_object = fields.get(4)
        if user_object:
            user_fields = _parse(user_object[-1], path)
            metadata = first(user_fields, 3, b"")
            if metadata:
                nodes[paths[node_id]] = (_text(first(user_fields, 1, b""), path),
                                         _json(metadata, path))
        for reference in fields.get(1, []):
            parts = _parse(reference, path)
            child = first(parts, 1)
            if child not in paths:
                paths[child] = f"{paths[node_id]}.{_text(first(parts, 2, b''), path)}"
                queue.append(child)
    return nodes


# --- loading ------------------------------------------------------------------------------------
def load_model(dirpath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    dirpath = os.fspath(dirpath)
    nodes = read_keras_metadata(dirpath)
    if "root" not in nodes:
        # tf.keras' words (a ValueError there too), then why minikeras cannot go further
        raise ValueError(
            f"Unable to create a TF-Keras model from SavedModel at {dirpath}. This SavedModel "
            "was exported with `tf.saved_model.save`, and lacks the TF-Keras metadata file "
            f"({METADATA_FILENAME}, or it holds no model). Please save your TF-Keras model by "
            "calling `model.save` or `tf.keras.models.save_model`. (minikeras cannot run the "
            "graph functions of a SavedModel: save the model as '.keras' or '.h5' instead.)")
    _, root = nodes["root"]
    model = _model_from_metadata(root, custom_objects, safe_mode, dirpath)
    status = tf_checkpoint.load_weights(model, os.path.join(dirpath, VARIABLES_PREFIX))
    status.expect_partial()     # the SavedModel's own nodes (keras_api, signatures, ...)
    model._pending_optimizer_state = None   # tf_keras' loader compiles a fresh optimizer
    _restore_lookup_vocabularies(model, dirpath)
    if compile:
        _compile_from_metadata(model, root, custom_objects, dirpath)
    return model


def _model_from_metadata(root, custom_objects, safe_mode, dirpath):
    class_name = root.get("class_name")
    if not class_name or "config" not in root:
        raise NotImplementedError(f"The root object of the SavedModel {dirpath} is no Keras "
                                  "model with a config: minikeras cannot revive it.")
    if not root.get("is_graph_network", class_name in ("Sequential", "Functional", "Model")):
        _check_subclass_known(class_name, custom_objects, dirpath)
    try:
        with legacy_h5_bytecode():      # tf_keras' SavedModel reader runs Lambda bytecode too
            model = file_io.deserializing(dirpath, lambda: serialization.deserialize_model(
                {"class_name": class_name, "config": root["config"]}, custom_objects,
                safe_mode=safe_mode))
    except ValueError as error:
        if not str(error).startswith("Unknown layer"):
            raise
        # tf.keras revives a custom layer it cannot find from the SavedModel's traces
        raise NotImplementedError(
            f"{error} (The SavedModel {dirpath} holds a custom layer: tf.keras revives it from "
            "its traced graph functions, which minikeras cannot run; pass its class in "
            "`custom_objects`.)") from None
    if not model.built:
        shape = _shape(root.get("build_input_shape"))
        if shape is None:
            raise NotImplementedError(f"The model {class_name} in {dirpath} was saved before "
                                      "it was built: minikeras cannot create its weights.")
        model.build(shape)
    return model


def _check_subclass_known(class_name, custom_objects, dirpath):
    """tf.keras revives an unknown subclassed model from its traced graph functions."""
    try:
        serialization.lookup_class(class_name, custom_objects)
    except (ValueError, TypeError):
        raise NotImplementedError(
            f"The SavedModel {dirpath} holds a subclassed model of class {class_name!r}: "
            "tf.keras revives it from its traced graph functions, which minikeras cannot run. "
            f"Pass the class as `custom_objects={{'{class_name}': {class_name}}}` (it is rebuilt "
            "from its get_config() and its weights restored), or save the model as '.keras' or "
            "'.h5'.") from None


def _shape(value):
    """A build shape from the (decoded) metadata: a tuple, or a list / dict of them for
    several inputs."""
    if isinstance(value, list):
        return [_shape(item) for item in value]
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return value


def _compile_from_metadata(model, root, custom_objects, dirpath):
    training_config = root.get("training_config")
    if training_config is None:
        logger.warning("No training configuration found in save file, so the model was *not* "
                       "compiled. Compile it manually.")
        return
    serialization.compile_from_training_config(model, training_config, custom_objects,
                                               legacy_h5=True)
    legacy_h5._build_compiled_metrics(model)      # tf's loader builds them too (metrics_names)


# --- writing ------------------------------------------------------------------------------------
# The VersionDefs tf_keras 2.21 writes: Keras metadata (producer 2, min_consumer 1), user
# objects (1, 1) and the GraphDef (TensorFlow 2.21's graph version).
_METADATA_VERSION = field_varint(1, 2) + field_varint(2, 1)
_USER_OBJECT_VERSION = field_varint(1, 1) + field_varint(2, 1)
_GRAPH_VERSION = field_varint(1, 2474) + field_varint(2, 12)


def save_model(model, dirpath, include_optimizer=True, signatures=None, options=None,
               save_traces=True):
    """Write `dirpath/` as tf_keras 2.21 lays a SavedModel out (no graph functions): into a
    temporary directory beside it, which then replaces it (a failed save leaves the old one)."""
    if signatures is not None:
        raise NotImplementedError("model.save(signatures=...): minikeras writes no graph "
                                  "functions into a SavedModel.")
    if options is not None:
        raise NotImplementedError("model.save(options=...) (tf.saved_model.SaveOptions) is "
                                  "not supported by minikeras.")
    dirpath = os.path.abspath(os.fspath(dirpath))
    if os.path.islink(dirpath) and os.path.isdir(dirpath):
        dirpath = os.path.realpath(dirpath)     # tf writes into the directory a link names
    if not getattr(model, "built", False):
        raise ValueError("Model cannot be saved because the input shape is not available. "
                         "Please specify an input shape either using `build()` or by calling "
                         "the model on actual data.")
    files = _savedmodel_files(model, include_optimizer and getattr(model, "_is_compiled", False))
    parent = os.path.dirname(dirpath)
    os.makedirs(parent, exist_ok=True)
    name = os.path.basename(dirpath)
    # A directory holding more than a SavedModel is written into, as tf does; the new files
    # are then staged inside it (its parent may not be writable: `model.save('.')`).
    into_existing = (os.path.isdir(dirpath) and not os.path.islink(dirpath) and
                     _holds_more_than_a_savedmodel(dirpath))
    staging = dirpath if into_existing else parent
    with interrupts_deferred():
        # Directories that killed saves left here are named as durable's temporary files
        # (host and pid), so the next save removes them.
        durable.remove_abandoned_temporary_files(staging, name)
        temporary = durable.create_temporary_file(staging, name, make=os.mkdir)
        try:
            for relative, payload in files.items():
                path = os.path.join(temporary, relative)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as handle:
                    handle.write(payload)
            os.makedirs(os.path.join(temporary, "assets"), exist_ok=True)
            if into_existing:
                _write_into(temporary, dirpath)
            else:
                _replace_directory(temporary, dirpath)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        finally:
            durable.release_temporary_file(temporary)


def _replace_directory(new, target):
    """Put `new` in the place of `target`. Where the system can swap the two in one step, a
    process killed at any moment leaves the old directory or the new one under `target`;
    otherwise two renames (a kill between them leaves `target` missing, the old directory
    under a temporary name that the next save removes). The old directory is removed last."""
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    if not os.path.isdir(target) or os.path.islink(target):
        raise FileExistsError(f"Cannot save a SavedModel directory to {target}: a file of that "
                              "name exists.")
    _swap_directories(new, target)


def _swap_directories(new, target):
    """Put the directory `new` in the place of the existing directory `target`."""
    if durable.exchange_paths(new, target):
        shutil.rmtree(new, ignore_errors=True)      # now the old directory
        return
    old = durable.create_temporary_file(os.path.dirname(target), os.path.basename(target),
                                        make=os.mkdir)
    try:
        os.rmdir(old)
        os.rename(target, old)
        try:
            os.rename(new, target)
        except BaseException:
            os.rename(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        durable.release_temporary_file(old)


# What a SavedModel directory holds (tf writes `fingerprint.pb` too; `.pbtxt` is the text form).
_SAVEDMODEL_ENTRIES = {SAVED_MODEL_FILENAME, "saved_model.pbtxt", METADATA_FILENAME,
                       "fingerprint.pb", VARIABLES_DIRECTORY, "assets"}


def _holds_more_than_a_savedmodel(target):
    """Whether swapping the directory `target` for a new one would lose what is not ours: the
    user's files beside a SavedModel (tf writes into the directory and keeps them:
    `model.save('.')`, `model.save('results/')`), files in `assets/`, or the current
    directory itself (the process would be left in a deleted directory)."""
    working = os.getcwd()
    if working == target or working.startswith(target.rstrip(os.sep) + os.sep):
        return True
    entries = set(os.listdir(target))
    assets = os.path.join(target, "assets")
    return bool(entries - _SAVEDMODEL_ENTRIES) or (os.path.isdir(assets) and
                                                    bool(os.listdir(assets)))


def _write_into(new, target):
    """Move the SavedModel in `new` (a directory inside `target`) into the existing directory
    `target` entry by entry, as tf writes one, leaving its other files: variables first (swapped whole), the metadata and
    `saved_model.pb` last, each atomically. A kill between them can pair new variables with
    the old metadata (a load then reads the new weights or fails on their shapes)."""
    variables = os.path.join(target, VARIABLES_DIRECTORY)
    if os.path.isdir(variables) and not os.path.islink(variables):
        _swap_directories(os.path.join(new, VARIABLES_DIRECTORY), variables)
    else:
        os.replace(os.path.join(new, VARIABLES_DIRECTORY), variables)
    os.makedirs(os.path.join(target, "assets"), exist_ok=True)
    for stale in ("saved_model.pbtxt", "fingerprint.pb"):     # they would describe the old one
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(target, stale))
    for name in (METADATA_FILENAME, SAVED_MODEL_FILENAME):
        durable.durable_replace(os.path.join(new, name), os.path.join(target, name))
    shutil.rmtree(new, ignore_errors=True)


def _savedmodel_files(model, with_optimizer):
    """{relative path: bytes} of the SavedModel of `model`."""
    if with_optimizer:
        legacy_h5._build_compiled_metrics(model)   # tf.keras builds them too
    root = tf_checkpoint.object_graph(model)
    # A SavedModel's graph has no `root` self-edge; without the optimizer when not asked for.
    dropped = {"root"} | (set() if with_optimizer else {"optimizer"})
    root.children = [(name, child) for name, child in root.children if name not in dropped]
    order = tf_checkpoint.breadth_first(root)
    graph_bytes, tensors = tf_checkpoint.serialize_graph(order,
                                                         tf_checkpoint._optimizer_of(order))
    values = [(key, np.asarray(variable.data)) for key, variable in tensors]
    index_bytes, data_bytes = build_bundle(values + [(tf_checkpoint.OBJECT_GRAPH_KEY,
                                                      graph_bytes)])
    return {
        SAVED_MODEL_FILENAME: _saved_model_proto(order),
        METADATA_FILENAME: _metadata_proto(model, order, with_optimizer),
        VARIABLES_PREFIX + ".index": index_bytes,
        VARIABLES_PREFIX + tf_checkpoint.DATA_SUFFIX: data_bytes,
    }


def _identifier(obj, is_root=False):
    """tf_keras' SavedModel identifier of a Keras object (None: not a Keras object)."""
    from ..engine.base_layer import Layer
    from ..layers.core.input_layer import InputLayer
    from ..layers.recurrent.base_rnn import RNN
    from ..metrics.base import Metric
    from ..models.model_kind import is_functional, is_sequential
    from ..models.training import Model
    if isinstance(obj, Metric):
        return "_tf_keras_metric"
    if isinstance(obj, Model):
        if is_sequential(obj):
            return "_tf_keras_sequential"
        return "_tf_keras_network" if is_functional(obj) else "_tf_keras_model"
    if isinstance(obj, InputLayer):
        return "_tf_keras_input_layer"
    if isinstance(obj, RNN):
        return "_tf_keras_rnn_layer"
    if isinstance(obj, Layer):
        return "_tf_keras_layer"
    return None


def _tf_json(value):
    """tf.keras' metadata JSON: tuples as {"class_name": "__tuple__", "items": [...]}."""
    if isinstance(value, tuple):
        return {"class_name": "__tuple__", "items": [_tf_json(item) for item in value]}
    if isinstance(value, list):
        return [_tf_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _tf_json(item) for key, item in value.items()}
    return value


def _tensor_shape(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_tensor_shape(item) for item in shape]
    if shape is None:
        return None
    return {"class_name": "TensorShape", "items": [None if d is None else int(d) for d in shape]}


def _layer_metadata(layer, identifier, is_root, model, with_optimizer):
    """The JSON tf_keras writes for a layer or model (the properties its loader reads)."""
    from ..models.training import Model
    from ..metrics.base import Metric
    if isinstance(layer, Metric):
        return {"class_name": serialization.class_name_of(layer), "name": layer.name,
                "dtype": str(layer.dtype), "config": _tf_json(layer.get_config())}
    is_model = isinstance(layer, Model)
    class_name = serialization.model_class_name(layer) if is_model \
        else serialization.class_name_of(layer)
    metadata = {"name": layer.name, "trainable": bool(layer.trainable),
                "expects_training_arg": _expects_training_arg(layer),
                "dtype": str(getattr(layer, "dtype", "float32")),
                "batch_input_shape": _tf_json(getattr(layer, "_batch_input_shape", None)),
                "stateful": bool(getattr(layer, "stateful", False)),
                "must_restore_from_config": False,
                "preserve_input_structure_in_config": False,
                "autocast": not is_model, "class_name": class_name}
    with serialization.legacy_layer_entries():      # the form tf.keras' configs have here
        try:
            metadata["config"] = _tf_json(layer.get_config())
        except NotImplementedError:
            pass                # tf.keras too writes no config then (revived from traces)
    metadata["build_input_shape"] = _tensor_shape(getattr(layer, "_build_input_shape", None))
    if is_model:
        metadata["is_graph_network"] = identifier != "_tf_keras_model"
    if is_root:
        metadata["keras_version"] = str(__version__)
        metadata["backend"] = legacy_h5.BACKEND
        if "config" in metadata:
            metadata["model_config"] = {"class_name": class_name, "config": metadata["config"]}
        if with_optimizer:
            metadata["training_config"] = _tf_json(serialization.training_config(model))
    return metadata


def _expects_training_arg(layer):
    try:
        return "training" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return False


def _path_text(path):
    return "root" + "".join(f".{name}" for name in path)


_LOOKUP_CLASSES = ("TextVectorization", "StringLookup", "IntegerLookup")


def _adapted_vocabularies(order):
    """{layer name: vocabulary without special tokens} of the adapted lookup layers (tf keeps
    theirs in a hash table initialized by a graph function; minikeras writes no functions, so
    the vocabulary goes into the layer's config, where tf.keras' from_config takes it too)."""
    found = {}
    for node, _ in order:
        layer = node.obj
        if type(layer).__name__ in _LOOKUP_CLASSES and hasattr(layer, "get_vocabulary") \
                and getattr(layer, "input_vocabulary", getattr(
                    getattr(layer, "_lookup_layer", None), "input_vocabulary", None)) is None:
            vocabulary = layer.get_vocabulary(include_special_tokens=False)
            if len(vocabulary):
                entries = {"vocabulary": [v.item() if isinstance(v, np.generic) else v
                                          for v in vocabulary]}
                if getattr(layer, "output_mode", None) == "tf_idf":
                    entries["idf_weights"] = _vocabulary_idf_weights(layer, len(vocabulary))
                found[layer.name] = entries
    return found


def _vocabulary_idf_weights(layer, vocabulary_length):
    """The IDF weights of the vocabulary entries (tf.keras' from_config gives the special
    tokens the mean of these, as its adapt does)."""
    weights = np.asarray(layer.idf_weights, np.float32)
    start = len(layer.get_vocabulary()) - vocabulary_length
    return weights[start:start + vocabulary_length].tolist()


def _with_vocabularies(config, vocabularies):
    """`config` with each adapted lookup layer's entry given its `vocabulary`."""
    if isinstance(config, list):
        return [_with_vocabularies(item, vocabularies) for item in config]
    if not isinstance(config, dict):
        return config
    config = {key: _with_vocabularies(value, vocabularies) for key, value in config.items()}
    inner = config.get("config")
    if config.get("class_name") in _LOOKUP_CLASSES and isinstance(inner, dict) \
            and inner.get("name") in vocabularies and inner.get("vocabulary") is None:
        config["config"] = {**inner, **vocabularies[inner["name"]]}
    return config


def _metadata_proto(model, order, with_optimizer):
    """keras_metadata.pb: a SavedObject for every Keras object of the graph."""
    vocabularies = _adapted_vocabularies(order)
    nodes = []
    for node_id, (node, path) in enumerate(order):
        identifier = _identifier(node.obj)
        if identifier is None:
            continue
        metadata = _layer_metadata(node.obj, identifier, node_id == 0, model, with_optimizer)
        if vocabularies:
            metadata = _with_vocabularies(metadata, vocabularies)
            if node.obj.name in vocabularies and "config" in metadata:
                metadata["config"] = {**metadata["config"], **vocabularies[node.obj.name]}
        text = json.dumps(metadata, default=serialization.json_default)
        nodes.append(field_bytes(1, field_varint(2, node_id) + field_bytes(3, _path_text(path))
                                 + field_bytes(4, identifier) + field_bytes(5, text)
                                 + field_bytes(6, _METADATA_VERSION)))
    return b"".join(nodes)


def _saved_object(node, node_ids):
    """One SavedObject of the SavedObjectGraph: children, then a variable (7) or user object
    (4) kind."""
    message = b""
    for name, child in node.children:
        message += field_bytes(1, field_varint(1, node_ids[id(child)]) + field_bytes(2, name),
                               keep_default=True)
    if node.variable is not None:
        variable = node.variable
        value = np.asarray(variable.data)
        shape = b"".join(field_bytes(2, field_varint(1, size), keep_default=True)
                         for size in value.shape)
        name = getattr(variable, "_handle_name", None) or variable.name
        name = name[:-2] if name.endswith(":0") else name
        kind = (field_varint(1, NUMPY_TO_DTYPE[value.dtype])
                + field_bytes(2, shape, keep_default=True)
                + field_varint(3, bool(getattr(variable, "trainable", True)))
                + field_bytes(6, name))
        return message + field_bytes(7, kind, keep_default=True)
    identifier = _identifier(node.obj)
    if identifier is None:
        identifier = ("trackable_dict_wrapper" if isinstance(node.obj, dict) else
                      "trackable_list_wrapper" if isinstance(node.obj, (list, tuple))
                      or node.obj is None else "_generic_user_object")
    user_object = field_bytes(1, identifier) + field_bytes(2, _USER_OBJECT_VERSION)
    return message + field_bytes(4, user_object)


def _saved_model_proto(order):
    """saved_model.pb: a SavedModel (schema version 1) with one MetaGraphDef tagged 'serve':
    its GraphDef holds no ops or functions, its SavedObjectGraph (field 7) the objects."""
    node_ids = {id(node): index for index, (node, _) in enumerate(order)}
    object_graph = b"".join(field_bytes(1, _saved_object(node, node_ids), keep_default=True)
                            for node, _ in order)
    meta_info = field_bytes(4, "serve") + field_varint(7, 1)
    graph_def = field_bytes(4, _GRAPH_VERSION)
    meta_graph = (field_bytes(1, meta_info) + field_bytes(2, graph_def)
                  + field_bytes(7, object_graph))
    return field_varint(1, 1) + field_bytes(2, meta_graph)


# --- adapted lookup vocabularies ----------------------------------------------------------------
# An adapted StringLookup / IntegerLookup (TextVectorization's `_lookup_layer` too) keeps its
# vocabulary in a tf StaticHashTable: the SavedModel holds it only as two constants (keys, and
# their int64 indices) bound to the table's `_initialize` function, in saved_model.pb.
_TENSOR_STRINGS, _TENSOR_INT64S = 8, 10


class _SavedObjectGraph:
    """The parts of saved_model.pb's SavedObjectGraph and GraphDef a lookup table needs."""

    def __init__(self, dirpath):
        path = os.path.join(dirpath, SAVED_MODEL_FILENAME)
        with open(path, "rb") as handle:
            meta_graph = _parse(first(_parse(handle.read(), path), 2, b""), path)
        graph = _parse(first(meta_graph, 7, b""), path)
        self.nodes = [_parse(node, path) for node in graph.get(1, [])]
        self.functions = {}
        for entry in graph.get(2, []):
            fields = _parse(entry, path)
            self.functions[_text(first(fields, 1, b""))] = _parse(first(fields, 2, b""), path)
        self.constants = {}
        for node_bytes in _parse(first(meta_graph, 2, b""), path).get(1, []):
            node = _parse(node_bytes, path)
            if _text(first(node, 2, b"")) == "Const":
                self.constants[_text(first(node, 1, b""))] = node
        self.where = path

    def children(self, node_id):
        return {_text(first(_parse(ref, self.where), 2, b"")): first(_parse(ref, self.where), 1)
                for ref in self.nodes[node_id].get(1, [])}

    def resolve(self, path):
        node_id = 0
        for name in path:
            node_id = self.children(node_id).get(name)
            if node_id is None or node_id >= len(self.nodes):
                return None
        return node_id

    def bound_constants(self, function_node):
        """The Const tensors bound to the (first) concrete function of a function node."""
        function = _parse(first(self.nodes[function_node], 6, b""), self.where)
        concrete = self.functions.get(_text(first(function, 1, b"")), {})
        tensors = []
        for packed in concrete.get(2, []):
            for node_id in _varints(packed):
                if node_id < len(self.nodes) and 9 in self.nodes[node_id]:
                    constant = _parse(self.nodes[node_id][9][-1], self.where)
                    tensors.append(self._tensor(_text(first(constant, 1, b""))))
        return [tensor for tensor in tensors if tensor is not None]

    def _tensor(self, operation):
        node = self.constants.get(operation)
        if node is None:
            return None
        for entry in node.get(5, []):           # attr map: the `value` AttrValue's tensor
            fields = _parse(entry, self.where)
            if first(fields, 1, b"") == b"value":
                return _tensor_value(_parse(first(_parse(first(fields, 2, b""), self.where),
                                                  8, b""), self.where), self.where)
        return None


def _varints(packed):
    """The values of a repeated varint field: one int, or a packed run of varints."""
    if isinstance(packed, int):
        return [packed]
    values, position = [], 0
    while position < len(packed):
        value, position = read_varint(packed, position)
        values.append(value)
    return values


def _tensor_value(fields, where):
    """A 1-D string or int64 TensorProto as a list."""
    dtype = first(fields, 1)
    if dtype == DT_STRING:
        return [_text(value) for value in fields.get(_TENSOR_STRINGS, [])]
    if dtype == 9:                               # DT_INT64
        content = first(fields, 4, b"")
        if content:
            return np.frombuffer(content, "<i8").tolist()
        return [v - (1 << 64) if v >= 1 << 63 else v
                for packed in fields.get(_TENSOR_INT64S, []) for v in _varints(packed)]
    raise NotImplementedError(f"{where}: a lookup table constant of TensorFlow dtype {dtype}, "
                              "which minikeras cannot read.")


def _restore_lookup_vocabularies(model, dirpath):
    """Set the vocabulary of every adapted lookup layer from its table's constants."""
    from ..layers.preprocessing.index_lookup import IndexLookup
    lookups = [(node.obj, path) for node, path in
               tf_checkpoint.breadth_first(tf_checkpoint.object_graph(model))
               if isinstance(node.obj, IndexLookup) and node.obj.input_vocabulary is None]
    if not lookups:
        return
    graph = _SavedObjectGraph(dirpath)
    for layer, path in lookups:
        table = graph.resolve(path + ("lookup_table",))
        initialize = None if table is None else graph.children(table).get("_initialize")
        if initialize is None:
            continue
        constants = graph.bound_constants(initialize)
        if len(constants) != 2:
            raise NotImplementedError(f"The SavedModel {dirpath} keeps the vocabulary of "
                                      f"{layer.name} in a form minikeras cannot read.")
        keys, indices = constants if all(isinstance(v, int) for v in constants[1]) \
            else constants[::-1]
        vocabulary = [key for _, key in sorted(zip(indices, keys))]
        if layer.output_mode == "tf_idf":
            # the IDF weights (special tokens included) are the variable `idf_weights`
            layer.set_vocabulary(vocabulary, idf_weights=False)
            layer._store_idf(np.asarray(_checkpoint_variable(dirpath, path + ("idf_weights",)),
                                        layer._dtype))
        else:
            layer.set_vocabulary(vocabulary)


def _checkpoint_variable(dirpath, path):
    """The value of the variable at `path` (child names from the root) in the SavedModel's
    checkpoint."""
    values, saved = tf_checkpoint._read_with_graph(os.path.join(dirpath, VARIABLES_PREFIX))
    node_id = 0
    for name in path:
        node_id = dict(saved[node_id].children).get(name)
        if node_id is None:
            break
    key = None if node_id is None else dict(saved[node_id].keys).get("VARIABLE_VALUE")
    if key is None:
        raise file_io.CorruptFileError(f"The SavedModel {dirpath} has no variable "
                                       f"{'/'.join(path)} in its checkpoint.")
    return values[key]
