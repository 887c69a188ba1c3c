"""tf.keras 2's default weights format: the TensorFlow (object-based) checkpoint.

`model.save_weights('ckpt/cp')` (no '.h5'/'.keras' suffix, or `save_format='tf'`) writes
`cp.index` + `cp.data-00000-of-00001` (a tensor bundle: `tf_bundle`) and the `checkpoint` state
file beside them. Each variable is stored under the path by which TensorFlow's breadth-first
walk of the model's object graph first reaches it (`layer_with_weights-0/kernel/.ATTRIBUTES/
VARIABLE_VALUE`, `optimizer/_variables/1/...`), and the graph itself is stored as the serialized
`TrackableObjectGraph` under `_CHECKPOINTABLE_OBJECT_GRAPH`. Loading matches the saved graph
with the model's, name by name from the root, as TensorFlow's restore does.

The graph is the one tf.keras 2.21 builds for the same model (`object_graph`): a Sequential or
functional model's layers as `layer-<i>` (every layer) and `layer_with_weights-<k>` (layers
with weights); a subclassed model's or a layer's tracked attributes (layers, variables, metrics,
lists and dicts of them) in assignment order, each `add_weight` variable under its own name
first; the compiled optimizer as `optimizer` (`_variables`: iterations then the slots in
creation order, `_iterations`, `_learning_rate`, `_index_dict`, then its slot lists). Of the
nodes that hold no values, those tf has for layers, the optimizer and a few layer attributes
(`_add_tf_keras_empty_children`) are written, so tf_keras writes the same bytes for the same
values; not tf's `train_function` nodes of a trained model (nothing reads them).
"""
import logging
import os

import numpy as np

from ..core import durable
from ..core.durable import replaced_through_temporary_file
from ..core.tensor import Variable
from ..engine.base_layer import Layer
from ..metrics.base import Metric
from ..models.model_kind import is_functional, is_sequential
from ..models.training import Model
from ..optimizers.base import Optimizer
from ..optimizers.legacy import LegacyOptimizer
from ..optimizers.loss_scale_optimizer import LossScaleOptimizer
from . import file_io
from .keras_v3 import _ENGINE_ATTRIBUTES, _TF_KERAS_ATTRIBUTES
from .legacy_h5 import build_optimizer, _optimizer_weight_name
from .tf_bundle import (BundleFormatError, build_bundle, read_bundle_index, decode_tensor,
                        field_bytes, field_varint, parse_message, first)

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
VARIABLE_VALUE = "VARIABLE_VALUE"
ATTRIBUTES = ".ATTRIBUTES"
STATE_FILENAME = "checkpoint"
DATA_SUFFIX = ".data-00000-of-00001"
logger = logging.getLogger("minikeras")


class NotFoundError(FileNotFoundError):
    """TensorFlow's `NotFoundError` for a checkpoint prefix with no files."""


# --- the object graph of a minikeras model, as tf.keras 2.21 builds it -------------------------
class _Node:
    """One trackable object: its ordered (local name, node) children and, for a variable, the
    variable and the name tf gives it in the checkpoint's `full_name`."""

    def __init__(self, obj):
        self.obj = obj
        self.children = []
        self._by_name = {}
        self.variable = obj if isinstance(obj, Variable) else None
        # a legacy optimizer's slot variables: {(id(original variable), slot name): node},
        # slot names in the order the optimizer first made them
        self.slot_names = []
        self.slots = {}

    def add(self, name, node):
        """A new child; the first object tracked under a name keeps it."""
        if node is not None and name not in self._by_name:
            self.children.append((name, node))
            self._by_name[name] = node

    def insert(self, position, name, node):
        if name not in self._by_name:
            self.children.insert(position, (name, node))
            self._by_name[name] = node

    def child(self, name):
        return self._by_name.get(name)


# Lists of minikeras' optimizers that are no slots (tf.keras does not track them).
_OPTIMIZER_BOOKKEEPING = frozenset({"_variables", "_var_list", "_scratch",
                                    "_exclude_from_weight_decay",
                                    "_exclude_from_weight_decay_names"})
# Attributes of minikeras' Model and Layer that tf.keras does not track (compile and trace
# state), and Bidirectional's template layer (its weights live in forward/backward_layer).
_UNTRACKED_ATTRIBUTES = _ENGINE_ATTRIBUTES | {
    "_own_weights", "_initial_weights", "_compiled_trainable_state", "_compile_args",
    "_train_traces", "_init_call_args", "_build_input_shape", "optimizer"}
_UNTRACKED_BY_CLASS = {"Bidirectional": frozenset({"layer"})}


class _GraphBuilder:
    def __init__(self):
        self.nodes = {}             # id(object) -> _Node, so a shared object is one node

    def node_for(self, obj, root=False):
        if id(obj) in self.nodes:
            return self.nodes[id(obj)]
        if isinstance(obj, Variable):
            node = self.nodes[id(obj)] = _Node(obj)
            return node
        if not isinstance(obj, (Layer, Optimizer, Metric, list, tuple, dict)):
            return None
        node = self.nodes[id(obj)] = _Node(obj)
        if isinstance(obj, LegacyOptimizer):
            self._legacy_optimizer_children(node, obj)
        elif isinstance(obj, Optimizer):
            self._optimizer_children(node, obj)
        elif isinstance(obj, Metric):
            for variable in obj.variables:
                node.add(_local_weight_name(variable, obj), self.node_for(variable))
        elif isinstance(obj, (list, tuple)):
            for index, item in enumerate(obj):
                node.add(str(index), self.node_for(item))
        elif isinstance(obj, dict):
            for key, item in obj.items():
                if isinstance(key, str):
                    node.add(key, self.node_for(item))
        elif isinstance(obj, Model) and (is_functional(obj) or is_sequential(obj)):
            self._graph_model_children(node, obj)
        else:
            self._attribute_children(node, obj)
            _add_tf_keras_empty_children(node, obj)
            _add_idf_weights(node, obj)
        if isinstance(obj, Model) and getattr(obj, "optimizer", None) is not None \
                and getattr(obj, "_is_compiled", False):
            node.add("optimizer", self.node_for(obj.optimizer))
        if root:
            node.add("root", node)
        if isinstance(obj, (list, tuple, dict)) and not node.children:
            del self.nodes[id(obj)]
            return None             # tf keeps empty lists as nodes: they hold nothing
        return node

    def _graph_model_children(self, node, model):
        """tf.keras' `layer-<i>` / `layer_with_weights-<k>` names (functional models count
        their InputLayers; `model.layers` of a Sequential model does not list its own)."""
        with_weights = 0
        for index, layer in enumerate(model.layers):
            child = self.node_for(layer)
            if layer.weights:
                node.add(f"layer_with_weights-{with_weights}", child)
                with_weights += 1
            node.add(f"layer-{index}", child)

    def _attribute_children(self, node, layer):
        """A layer's (or subclassed model's) tracked attributes in assignment order; a variable
        made by `add_weight` is first tracked under its own name (`kernel`)."""
        own = {id(w) for w in getattr(layer, "_own_weights", [])}
        renamed = _TF_KERAS_ATTRIBUTES.get(type(layer).__name__, {})
        untracked = _UNTRACKED_BY_CLASS.get(type(layer).__name__, frozenset())
        for attribute, value in list(vars(layer).items()):
            if attribute.startswith("__") or attribute in _UNTRACKED_ATTRIBUTES \
                    or attribute in untracked:
                continue
            if isinstance(value, Variable) and id(value) in own:
                node.add(_local_weight_name(value, layer), self.node_for(value))
            if isinstance(value, (Variable, Layer, Metric, list, tuple, dict)) \
                    and not isinstance(value, Optimizer):
                node.add(renamed.get(attribute, attribute), self.node_for(value))
        for variable in getattr(layer, "_own_weights", []):     # made, never set as attribute
            node.add(_local_weight_name(variable, layer), self.node_for(variable))

    def _optimizer_children(self, node, optimizer):
        """`_variables`, `_iterations`, the learning rate variable, then once built the
        (empty) `_index_dict` and the slot lists, empty ones included, as tf.keras tracks them
        (minikeras' optimizers create the same lists in the same order)."""
        if isinstance(optimizer, LossScaleOptimizer):
            # tf's LossScaleOptimizer delegates its children to the inner optimizer and adds
            # its dynamic loss scale (fid-mixed)
            inner = optimizer.inner_optimizer
            if isinstance(inner, LegacyOptimizer):
                self._legacy_optimizer_children(node, inner)
            else:
                self._optimizer_children(node, inner)
            if optimizer.dynamic:
                scale = _Node(None)
                scale.add("current_loss_scale", self.node_for(optimizer._current_scale))
                scale.add("good_steps", self.node_for(optimizer._good_steps))
                node.add("loss_scale", scale)
            return
        node.add("_variables", self.node_for(list(optimizer.variables)))
        node.add("_iterations", self.node_for(optimizer.iterations))
        attributes = vars(optimizer)
        if isinstance(attributes.get("_learning_rate"), Variable):
            node.add("_learning_rate", self.node_for(attributes["_learning_rate"]))
        elif isinstance(attributes.get("_current_learning_rate"), Variable):
            node.add("_current_learning_rate",
                     self.node_for(attributes["_current_learning_rate"]))
        if not getattr(optimizer, "_built", False):
            return
        node.add("_index_dict", _Node(None))
        for attribute, value in attributes.items():
            if attribute in _OPTIMIZER_BOOKKEEPING or not isinstance(value, list):
                continue
            if all(isinstance(item, Variable) for item in value):
                node.add(attribute, self.node_for(value) or _Node(value))
        if "_u_product" in attributes:      # Nadam: a tf.Variable in tf.keras, a float here
            node.add("_u_product", _Node(_AttributeVariable(optimizer, "_u_product")))


    def _legacy_optimizer_children(self, node, optimizer):
        """OptimizerV2's: `iter`, its hyperparameter variables by name, Nadam's
        `momentum_cache`; its slot variables are no children (`slot_variables` references,
        their nodes placed after all others)."""
        if optimizer._built or optimizer._iterations_read:
            node.add("iter", self.node_for(optimizer._iterations))
        if optimizer._hypers_created:
            for hyper in _legacy_hyperparameters(optimizer):
                if hyper == "learning_rate":
                    if isinstance(vars(optimizer).get("_learning_rate"), Variable):
                        node.add(hyper, self.node_for(optimizer._learning_rate))
                else:   # decay: tf computes the decayed rate from `_initial_decay`, not this
                    node.add(hyper, _Node(_AttributeVariable(
                        optimizer, "_initial_decay" if hyper == "decay" else hyper,
                        name=f"{optimizer.name}/{hyper}", restored=hyper != "decay")))
        if isinstance(vars(optimizer).get("_momentum_cache"), Variable):
            node.add("momentum_cache", self.node_for(optimizer._momentum_cache))
        for variable_id, slots in vars(optimizer).get("_slots_of", {}).items():
            for slot in slots:
                slot_name = slot.name[:-2] if slot.name.endswith(":0") else slot.name
                slot_name = slot_name.rsplit("/", 1)[-1]
                if slot_name not in node.slot_names:
                    node.slot_names.append(slot_name)
                node.slots[(variable_id, slot_name)] = _Node(slot)


# The hyperparameters OptimizerV2 keeps in variables besides `learning_rate` and `decay`.
_LEGACY_HYPERPARAMETERS = {
    "SGD": ("momentum",), "RMSprop": ("momentum", "rho"), "Adagrad": (), "Adadelta": ("rho",),
    "Adam": ("beta_1", "beta_2"), "Adamax": ("beta_1", "beta_2"),
    "Nadam": ("beta_1", "beta_2"),
    "Ftrl": ("beta", "l1_regularization_strength", "l2_regularization_strength",
             "learning_rate_power")}


def _legacy_hyperparameters(optimizer):
    """The names of the hyperparameter variables, sorted as OptimizerV2 creates them."""
    from ..optimizers import legacy
    base = next(cls for cls in type(optimizer).__mro__
                if cls.__module__ == legacy.__name__ and cls.__name__ in _LEGACY_HYPERPARAMETERS)
    return sorted(("learning_rate", "decay") + _LEGACY_HYPERPARAMETERS[base.__name__])


class _AttributeVariable(Variable):
    """A Variable standing for a float attribute that tf.keras keeps in a tf.Variable (Nadam's
    `_u_product`): written with its value, restoring it sets the attribute."""
    __slots__ = ("_owner", "_attribute", "_restored")

    def __init__(self, owner, attribute, name=None, restored=True):
        super().__init__(np.float32(getattr(owner, attribute)),
                         name=name or f"{getattr(owner, 'name', '')}/Variable", trainable=False)
        self._owner = owner
        self._attribute = attribute
        self._restored = restored       # False: read from the file, used by nothing (as tf)

    def assign(self, value):
        super().assign(value)
        if self._restored:
            setattr(self._owner, self._attribute, np.float32(np.asarray(self.data)))
        return self


class _IdfWeights(Variable):
    """A lookup layer's tf_idf weights, a tf.Variable `idf_weights` in tf.keras (an array
    here): written with its value, restoring it sets the layer's weights."""
    __slots__ = ("_layer",)

    def __init__(self, layer):
        super().__init__(np.asarray(layer._idf_weights, np.float32),
                         name=f"{layer.name}/Variable", trainable=False)
        self._layer = layer

    def assign(self, value):
        super().assign(value)
        self._layer._store_idf(np.asarray(self.data, np.float32))
        return self


def _add_idf_weights(node, layer):
    """An adapted (or given) tf_idf lookup layer's first child in tf.keras: `idf_weights`.
    Left out while the vocabulary is unset (its size is unknown until then)."""
    from ..layers.preprocessing.index_lookup import IndexLookup
    if isinstance(layer, IndexLookup) and layer.output_mode == "tf_idf" and layer._tokens:
        node.insert(0, "idf_weights", _Node(_IdfWeights(layer)))


def _add_tf_keras_empty_children(node, layer):
    """Lists tf.keras' layers keep as attributes (tracked, holding nothing), so that the node ids
    and the bytes of the graph are tf's: BatchNormalization's `axis` (its first child) and an
    RNN layer's `state_spec` (after its `cell`), an LSTM cell's `state_size` (its first)."""
    from ..layers.normalization.batch_normalization import BatchNormalization
    from ..layers.recurrent.base_rnn import RNN
    if isinstance(layer, BatchNormalization) and layer.built:
        node.insert(0, "axis", _Node(None))
    elif type(layer).__name__ == "LSTMCell" and layer.built:
        node.insert(0, "state_size", _Node(None))
    elif isinstance(layer, RNN) and layer.built and node.child("cell") is not None:
        position = [name for name, _ in node.children].index("cell") + 1
        node.insert(position, "state_spec", _Node(None))


def _local_weight_name(variable, owner):
    """The name `add_weight(name=...)` was given: what follows the owner's name scope in
    `dense/kernel:0` (`lstm/lstm_cell/kernel:0` for a cell), else the last part."""
    name = getattr(variable, "_handle_name", None) or variable.name
    name = name[:-2] if name.endswith(":0") else name
    scope = f"{getattr(owner, 'name', '')}/"
    if scope != "/" and (name.startswith(scope) or f"/{scope}" in name):
        return name[name.rindex(scope) + len(scope):]
    return name.rsplit("/", 1)[-1]


def _full_name(variable, optimizer_of):
    optimizer = optimizer_of.get(id(variable))
    name = _optimizer_weight_name(optimizer, variable) if optimizer is not None else \
        (getattr(variable, "_handle_name", None) or variable.name)
    return name[:-2] if name.endswith(":0") else name


def object_graph(model):
    """The root `_Node` of the model's object graph."""
    return _GraphBuilder().node_for(model, root=True)


def breadth_first(root):
    """[(node, path)] in TensorFlow's order: breadth first, children in order; a node's path is
    the first one found (its node id is its position here)."""
    order, paths, queue = [], {id(root): ()}, [root]
    while queue:
        node = queue.pop(0)
        order.append((node, paths[id(node)]))
        for name, child in node.children:
            if id(child) not in paths:
                paths[id(child)] = paths[id(node)] + (name,)
                queue.append(child)
    return order + _slot_nodes(order)


class _Unescaped(str):
    """A path part written into checkpoint keys as it is."""


_SLOT_EDGE = _Unescaped(".OPTIMIZER_SLOT")


def _slot_nodes(order):
    """[(slot node, path)] of the legacy optimizers' slot variables, placed after every other
    node as tf does: optimizer by optimizer, slot name by slot name, then original variables
    in node order. Their path (checkpoint key) is
    `<variable path>/.OPTIMIZER_SLOT/<optimizer path>/<slot name>`."""
    found = []
    for optimizer_node, optimizer_path in order:
        for slot_name in optimizer_node.slot_names:
            for node, path in order:
                slot = node.variable is not None and \
                    optimizer_node.slots.get((id(node.variable), slot_name))
                if slot:
                    found.append((slot, path + (_SLOT_EDGE,) + optimizer_path + (slot_name,)))
    return found


def _escape(name):
    """tf escapes a local name so '/' only separates edges: '.' -> '..', '/' -> '.S'."""
    if isinstance(name, _Unescaped):
        return name
    return name.replace(".", "..").replace("/", ".S")


def checkpoint_key(path):
    return "/".join(_escape(name) for name in path) + f"/{ATTRIBUTES}/{VARIABLE_VALUE}"


def _holds_values(node, memo):
    if id(node) not in memo:
        memo[id(node)] = False          # cycles (the root's own `root` child)
        memo[id(node)] = node.variable is not None or any(
            _holds_values(child, memo) for _, child in node.children)
    return memo[id(node)]


def serialize_graph(order, optimizer_of):
    """(TrackableObjectGraph bytes, [(key, variable)] in node order)."""
    node_ids = {id(node): index for index, (node, _) in enumerate(order)}
    memo, tensors, nodes = {}, [], []
    for node, path in order:
        message = b""
        for name, child in node.children:
            reference = field_varint(1, node_ids[id(child)]) + field_bytes(2, name)
            message += field_bytes(1, reference, keep_default=True)
        if node.variable is not None:
            key = checkpoint_key(path)
            tensors.append((key, node.variable))
            attribute = (field_bytes(1, VARIABLE_VALUE)
                         + field_bytes(2, _full_name(node.variable, optimizer_of))
                         + field_bytes(3, key))
            message += field_bytes(2, attribute)
        for slot_name in node.slot_names:
            for original, _ in order:
                slot = original.variable is not None and \
                    node.slots.get((id(original.variable), slot_name))
                if slot:
                    message += field_bytes(3, field_varint(1, node_ids[id(original)])
                                           + field_bytes(2, slot_name)
                                           + field_varint(3, node_ids[id(slot)]))
        has_values = field_varint(1, 1) if _holds_values(node, memo) else b""
        message += field_bytes(5, has_values, keep_default=True)
        nodes.append(field_bytes(1, message, keep_default=True))
    return b"".join(nodes), tensors


def _optimizer_of(order):
    found = {}
    for node, _ in order:
        if isinstance(node.obj, Optimizer):
            for variable in node.obj.variables:
                found[id(variable)] = node.obj
            learning_rate = vars(node.obj).get("_learning_rate")
            if isinstance(node.obj, LegacyOptimizer) and isinstance(learning_rate, Variable):
                found[id(learning_rate)] = node.obj     # OptimizerV2's `<name>/learning_rate`
    return found


# --- writing ------------------------------------------------------------------------------------
def save_weights(model, filepath):
    """Write `<filepath>.index`, `<filepath>.data-00000-of-00001` and the `checkpoint` file."""
    prefix = os.fspath(filepath)
    order = breadth_first(object_graph(model))
    graph_bytes, tensors = serialize_graph(order, _optimizer_of(order))
    values = [(key, np.asarray(variable.data)) for key, variable in tensors]
    index_bytes, data_bytes = build_bundle(values + [(OBJECT_GRAPH_KEY, graph_bytes)])
    directory = os.path.abspath(os.path.dirname(prefix))    # 'ckpt/' names files in ckpt/
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, exist_ok=True)      # tf creates the checkpoint's directory
    # Both files are written to temporaries first, then renamed one after the other (Ctrl-C
    # deferred): a failure while writing leaves the previous checkpoint whole; the state file
    # is updated last. The data file is renamed first, as tf's BundleWriter does, so the index
    # (what says a checkpoint exists) never names a data file not yet there.
    _replace_pair([(prefix + DATA_SUFFIX, data_bytes), (prefix + ".index", index_bytes)])
    _write_state_file(directory, prefix)


def _replace_pair(files):
    """Write each (path, bytes) to a temporary file beside it, make all durable, then rename
    them in order, back to back: a process killed between the two renames leaves a new data
    file beside the old index (as tf's BundleWriter can), so that window holds no disk wait."""
    with durable.interrupts_deferred():
        temporaries = []
        try:
            for path, payload in files:
                target = os.path.realpath(path)
                directory, name = os.path.dirname(target), os.path.basename(target)
                durable.remove_abandoned_temporary_files(directory, name)
                temporary = durable.create_temporary_file(directory, name)
                temporaries.append((temporary, target))
                _write_bytes(temporary, payload)
                durable.fsync_file(temporary)
            for temporary, target in temporaries:
                os.replace(temporary, target)
            for directory in {os.path.dirname(target) for _, target in temporaries}:
                durable.sync_directory(directory)
        finally:
            for temporary, _ in temporaries:
                if os.path.exists(temporary):
                    os.remove(temporary)
                durable.release_temporary_file(temporary)


def _replaced(path):
    target = os.path.realpath(path)
    return replaced_through_temporary_file(os.path.dirname(target), os.path.basename(target),
                                           target)


def _write_bytes(path, payload):
    with open(path, "wb") as handle:
        handle.write(payload)


def _write_file(path, payload):
    with _replaced(path) as tmp_path:
        _write_bytes(tmp_path, payload)


def _quote(text):
    """A text-format protobuf string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _write_state_file(directory, prefix):
    """`model_checkpoint_path` and `all_model_checkpoint_paths`, relative to the directory as
    tf.keras writes them (only the newest checkpoint is listed)."""
    relative = os.path.relpath(os.path.abspath(prefix), directory)
    text = (f"model_checkpoint_path: {_quote(relative)}\n"
            f"all_model_checkpoint_paths: {_quote(relative)}\n")
    _write_file(os.path.join(directory, STATE_FILENAME), text.encode("utf8"))


# --- reading ------------------------------------------------------------------------------------
def is_checkpoint_prefix(filepath):
    return os.path.isfile(os.fspath(filepath) + ".index")


def read_checkpoint(prefix):
    """{key: value} of every tensor in the checkpoint at `prefix` (the object graph as bytes)."""
    index_path = prefix + ".index"
    if not os.path.isfile(index_path):
        raise NotFoundError("Unsuccessful TensorSliceReader constructor: Failed to find any "
                            f"matching files for {prefix}")
    with open(index_path, "rb") as handle:
        index_bytes = handle.read()
    try:
        entries, shards = read_bundle_index(index_bytes)
    except BundleFormatError as error:
        raise file_io.CorruptFileError(f"Cannot read the TensorFlow checkpoint index "
                                       f"{index_path}: {error}") from None
    if shards != 1 or any(entry["shard_id"] for entry in entries.values()):
        raise NotImplementedError(f"The checkpoint {prefix} is split into {shards} shards; "
                                  "minikeras reads single-shard checkpoints only.")
    data_path = prefix + DATA_SUFFIX
    try:
        with open(data_path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise NotFoundError(f"The checkpoint {prefix} has an index but no data file "
                            f"{data_path}") from None
    values = {}
    for key, entry in entries.items():
        end = entry["offset"] + entry["size"]
        if end > len(data):
            raise file_io.CorruptFileError(f"The checkpoint data file {data_path} is truncated: "
                                           f"the tensor {key!r} ends at byte {end} of "
                                           f"{len(data)}.")
        try:
            values[key] = decode_tensor(entry, data[entry["offset"]:end], key)
        except BundleFormatError as error:
            raise file_io.CorruptFileError(f"Cannot read {data_path}: {error}") from None
    return values


class SavedNode:
    def __init__(self, children, keys, slots=()):
        self.children = children    # [(local name, node id)]
        self.keys = keys            # the checkpoint keys of its VARIABLE_VALUE attributes
        self.slots = list(slots)    # [(original variable node id, slot name, slot node id)]


def parse_object_graph(raw):
    nodes = []
    for node_bytes in parse_message(raw).get(1, []):
        fields = parse_message(node_bytes)
        children = []
        for reference in fields.get(1, []):
            parts = parse_message(reference)
            children.append((first(parts, 2, b"").decode("utf8"), first(parts, 1)))
        keys = []
        for attribute in fields.get(2, []):
            parts = parse_message(attribute)
            keys.append((first(parts, 1, b"").decode("utf8"),
                         first(parts, 3, b"").decode("utf8")))
        slots = []
        for reference in fields.get(3, []):
            parts = parse_message(reference)
            slots.append((first(parts, 1, 0), first(parts, 2, b"").decode("utf8"),
                          first(parts, 3, 0)))
        nodes.append(SavedNode(children, keys, slots))
    return nodes


def _display_path(path):
    return "(root)" + "".join("." + name for name in path)


class CheckpointLoadStatus:
    """What `load_weights` returns for a TensorFlow checkpoint (tf's `CheckpointLoadStatus`)."""

    def __init__(self, unresolved, unmatched_variables, matched_objects, pending=None):
        self._unresolved = unresolved                      # [(path, key)] saved, not restored
        self._unmatched_variables = unmatched_variables    # model variables not in the file
        self._matched_objects = matched_objects            # saved nodes matched, root included
        self._partial_expected = False
        self._pending = pending     # optimizer state kept on the model for a later compile

    def __del__(self):
        """tf's warning when a status is dropped with values of the file left unrestored,
        unless `expect_partial()`. Optimizer state kept for a later `compile` warns when the
        model goes without having restored it (`PendingOptimizerState`)."""
        kept = () if self._pending is None else self._pending.paths
        _warn_unrestored([path for path, _ in self._unresolved if path not in kept]
                         if not self._partial_expected else [])

    def assert_consumed(self):
        self.assert_existing_objects_matched()
        if self._unresolved:
            path, key = self._unresolved[0]
            raise AssertionError(f"Unresolved object in checkpoint {_display_path(path)}: "
                                 f"attributes {{ name: \"{VARIABLE_VALUE}\" checkpoint_key: "
                                 f"\"{key}\" }}")
        return self

    def assert_existing_objects_matched(self):
        if self._unmatched_variables:
            count = len(self._unmatched_variables)
            shown = min(10, count)
            raise AssertionError(
                f"Found {count} Python objects that were not bound to checkpointed values, "
                "likely due to changes in the Python program. Showing "
                f"{shown} of {count} unmatched objects: {self._unmatched_variables[:shown]}")
        return self

    def assert_nontrivial_match(self):
        """tf.keras' `load_weights` calls it: a checkpoint of another model fails here."""
        if self._matched_objects <= 1:
            if self._unmatched_variables:
                raise AssertionError(
                    "Nothing except the root object matched a checkpointed value. Typically "
                    "this means that the checkpoint does not match the Python program. The "
                    "following objects have no matching checkpointed value: "
                    f"{self._unmatched_variables}")
            raise AssertionError("Nothing to load. No dependencies have been added to the "
                                 "model yet.")
        return self

    def expect_partial(self):
        """Silence the warning about values left unrestored."""
        self._partial_expected = True
        if self._pending is not None:
            self._pending.partial_expected = True
        return self

    def run_restore_ops(self, session=None):
        """Values are restored eagerly: nothing left to run."""

    def initialize_or_restore(self, session=None):
        """Values are restored eagerly: nothing left to run."""


def _warn_unrestored(paths):
    if paths:
        logger.warning("Detecting that an object or model or tf.train.Checkpoint is being "
                       "deleted with unrestored values. See the following logs for the "
                       "specific values in question. To silence these warnings, use "
                       "`status.expect_partial()`.")
        for path in paths:
            logger.warning("Value in checkpoint could not be found in the restored object: "
                           f"{_display_path(path)}")


class PendingOptimizerState:
    """The optimizer state of a checkpoint loaded into a model that has no optimizer yet. tf
    keeps it and restores it into the optimizer a later `compile` sets (its iterations at
    once, its slots at the first step: here built then, the next step is the same); the
    values it never restored are warned about when the model goes."""

    def __init__(self, prefix, values, saved, unresolved):
        self._prefix, self._values, self._saved = prefix, values, saved
        self.paths = [path for path, _ in unresolved]
        self.partial_expected = False
        self._restored = False

    def restore_into(self, model):
        """Called by `compile`: restore the optimizer's values only."""
        values, saved = self._values, self._saved
        self._values = self._saved = None
        self._restored = True
        _build_optimizer_if_saved(model, saved)
        root = object_graph(model)
        optimizer_variables = {id(node.variable) for node, path in breadth_first(root)
                               if node.variable is not None and path
                               and (path[0] == "optimizer" or _SLOT_EDGE in path)}
        pairs, _, _ = _match(saved, root)
        pairs = [pair for pair in pairs if id(pair[1]) in optimizer_variables]
        _check_values(self._prefix, values, pairs)
        for _, variable, key in pairs:
            variable.assign(np.asarray(values[key], dtype=variable.dtype))

    def __del__(self):
        if not self.partial_expected and not self._restored:
            _warn_unrestored(self.paths)


def _read_with_graph(prefix):
    """(values, parsed object graph) of the checkpoint at `prefix`."""
    values = read_checkpoint(prefix)
    if OBJECT_GRAPH_KEY not in values:
        raise NotImplementedError(
            f"The checkpoint {prefix} has no object graph: it is a name-based (TF1 "
            "`tf.compat.v1.train.Saver`) checkpoint, which minikeras cannot load.")
    saved = parse_object_graph(values[OBJECT_GRAPH_KEY])
    if not saved:
        raise file_io.CorruptFileError(f"The checkpoint {prefix} has an empty object graph.")
    return values, saved


def load_weights(model, filepath):
    prefix = os.fspath(filepath)
    values, saved = _read_with_graph(prefix)
    return _restore(model, prefix, values, saved)


def _restore(model, prefix, values, saved):
    _build_optimizer_if_saved(model, saved)
    root = object_graph(model)
    pairs, unresolved, matched_objects = _match(saved, root)
    _check_values(prefix, values, pairs)
    for _, variable, key in pairs:       # every value checked first: all or nothing
        variable.assign(np.asarray(values[key], dtype=variable.dtype))
    matched = {id(variable) for _, variable, _ in pairs}
    unmatched = [node.variable for node, _ in breadth_first(root)
                 if node.variable is not None and id(node.variable) not in matched]
    pending = None
    optimizer_unresolved = [(path, key) for path, key in unresolved if path[:1] == ("optimizer",)
                            or _SLOT_EDGE in path]
    if optimizer_unresolved and root.child("optimizer") is None:
        pending = model._pending_optimizer_state = PendingOptimizerState(
            prefix, values, saved, optimizer_unresolved)
    return CheckpointLoadStatus(unresolved, unmatched, matched_objects,
                                pending).assert_nontrivial_match()


def _check_values(prefix, values, pairs):
    for path, variable, key in pairs:
        value = values.get(key)
        if value is None or isinstance(value, bytes):
            raise file_io.CorruptFileError(f"The checkpoint {prefix} names the tensor {key!r} "
                                           "in its object graph but does not hold it.")
        if tuple(np.shape(value)) != tuple(variable.shape):
            raise ValueError(f"Received incompatible tensor with shape {np.shape(value)} when "
                             "attempting to restore variable with shape "
                             f"{tuple(variable.shape)} and name {variable.name} (checkpoint "
                             f"key {key!r}).")


class DeferredRestore:
    """`load_weights(prefix)` on a model whose variables do not exist yet (a subclassed model
    not called yet): tf keeps the values and assigns each variable as it is created. Here the
    values are read now and restored when the model is first called (`Model.__call__` builds it
    with an inference call on that first input, then restores, then runs the call asked for),
    so the first real computation already sees them, as in tf. What `load_weights` returns."""

    def __init__(self, model, prefix):
        self._prefix = prefix
        self._values, self._saved = _read_with_graph(prefix)
        self._status = None
        self._partial_expected = False
        model._pending_checkpoint = self
        if getattr(model, "_is_compiled", False) and getattr(model, "optimizer", None):
            self.restore_iterations(model.optimizer)

    def restore_into(self, model):
        values, saved = self._values, self._saved
        self._values = self._saved = None
        self._status = _restore(model, self._prefix, values, saved)
        if self._partial_expected:
            self._status.expect_partial()

    def restore_iterations(self, optimizer):
        """`compile` before the first call: tf restores the optimizer's step count at once
        (its variable exists), the rest when the model's variables are made."""
        optimizer_id = dict(self._saved[0].children).get("optimizer")
        if optimizer_id is None or optimizer_id >= len(self._saved):
            return
        children = dict(self._saved[optimizer_id].children)
        node_id = children.get("iter" if isinstance(optimizer, LegacyOptimizer)
                               else "_iterations")
        keys = dict(self._saved[node_id].keys) if node_id is not None \
            and node_id < len(self._saved) else {}
        value = self._values.get(keys.get(VARIABLE_VALUE))
        if value is not None and np.shape(value) == ():
            optimizer.iterations.assign(np.asarray(value, optimizer.iterations.dtype))

    def assert_consumed(self):
        if self._status is None:        # tf: every saved value is still unresolved
            path, key = next((path, key) for node_id, path in _saved_paths(self._saved)
                             for _, key in self._saved[node_id].keys)
            raise AssertionError(f"Unresolved object in checkpoint {_display_path(path)}: "
                                 f"attributes {{ name: \"{VARIABLE_VALUE}\" checkpoint_key: "
                                 f"\"{key}\" }}")
        self._status.assert_consumed()
        return self

    def assert_existing_objects_matched(self):
        if self._status is not None:
            self._status.assert_existing_objects_matched()
        return self         # no objects exist yet: nothing unmatched (as tf)

    def assert_nontrivial_match(self):
        if self._status is not None:        # before: tf matches the layers that exist already
            self._status.assert_nontrivial_match()
        return self

    def expect_partial(self):
        if self._status is not None:
            self._status.expect_partial()
        self._partial_expected = True
        return self

    def run_restore_ops(self, session=None):
        """Values are restored when the variables exist: nothing to run."""

    def initialize_or_restore(self, session=None):
        """Values are restored when the variables exist: nothing to run."""


def _match(saved, root):
    """Walk the saved graph from its root alongside the model's, child by child name, as tf's
    restore does: a saved node is matched by any path the model also has (a SavedModel's
    checkpoint stores a nested model's variables under `variables/<i>`, a path no model has,
    and also reaches them through the layers). ([(path, variable, key)] restored,
    [(path, key)] left unresolved, the number of saved nodes matched)."""
    pairs, matched = [], {}
    queue = [(0, root, ())]
    while queue:
        node_id, node, path = queue.pop(0)
        _check_node_id(node_id, saved)
        if node_id in matched:
            continue
        matched[node_id] = node
        for attribute, key in saved[node_id].keys:
            if node.variable is not None and attribute == VARIABLE_VALUE:
                pairs.append((path, node.variable, key))
        for name, child_id in _layer_index_edges_first(saved[node_id].children):
            child = node.child(name)
            if child is not None:
                queue.append((child_id, child, path + (name,)))
    pairs += _matched_slots(saved, matched)
    # A variable reached by two saved nodes is restored once (the first path), as in tf.
    unique, restored = [], set()
    for path, variable, key in pairs:
        if id(variable) not in restored:
            restored.add(id(variable))
            unique.append((path, variable, key))
    restored_keys = {key for _, _, key in unique}
    unresolved = [(path, key) for node_id, path in _saved_paths(saved)
                  for _, key in saved[node_id].keys if key not in restored_keys]
    return unique, unresolved, len(matched)


def _matched_slots(saved, matched):
    """[(path, slot variable, key)] of the saved slot variables of each matched legacy
    optimizer whose original variable was matched too."""
    pairs = []
    for node_id, node in list(matched.items()):
        for original_id, slot_name, slot_id in saved[node_id].slots:
            original = matched.get(original_id)
            slot = None if original is None or original.variable is None else \
                node.slots.get((id(original.variable), slot_name))
            _check_node_id(slot_id, saved)
            if slot is not None:
                pairs += [((slot_name,), slot.variable, key)
                          for attribute, key in saved[slot_id].keys
                          if attribute == VARIABLE_VALUE]
    return pairs


def _layer_index_edges_first(children):
    """`layer-<i>` names every layer of a graph model the same way in tf and here;
    `layer_with_weights-<k>` counts differ where tf's layer holds state minikeras keeps outside
    variables (an adapted TextVectorization's lookup table), so the index edges match first."""
    return sorted(children, key=lambda child: not child[0].startswith("layer-"))


def _check_node_id(node_id, saved):
    if node_id >= len(saved):
        raise file_io.CorruptFileError(f"The checkpoint's object graph refers to node "
                                       f"{node_id} of {len(saved)}.")


def _saved_paths(saved):
    """[(node id, first path)] of every saved node reachable from the root, breadth first."""
    order, paths, queue = [], {0: ()}, [0]
    while queue:
        node_id = queue.pop(0)
        order.append((node_id, paths[node_id]))
        for name, child_id in saved[node_id].children:
            _check_node_id(child_id, saved)
            if child_id not in paths:
                paths[child_id] = paths[node_id] + (name,)
                queue.append(child_id)
    for node_id, path in list(order):      # legacy optimizers' slot variables
        for original_id, slot_name, slot_id in saved[node_id].slots:
            _check_node_id(slot_id, saved)
            if slot_id not in paths and original_id in paths:
                paths[slot_id] = paths[original_id] + (_SLOT_EDGE,) + path + (slot_name,)
                order.append((slot_id, paths[slot_id]))
    return order


def _build_optimizer_if_saved(model, saved):
    """tf restores optimizer slots when the optimizer creates them (on its first step); the
    slots are made now instead, so the next step starts from the saved state either way."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "_is_compiled", False):
        return
    optimizer_id = next((child for name, child in saved[0].children if name == "optimizer"), None)
    if optimizer_id is None or optimizer_id >= len(saved):
        return
    if isinstance(optimizer, LegacyOptimizer):
        saved_children = dict(saved[optimizer_id].children)
        if saved[optimizer_id].slots or "iter" in saved_children:
            # tf creates `iter`, the hyperparameters and the slots at the first step and then
            # restores them: made now, the next step is the same
            build_optimizer(optimizer, model.trainable_weights)
        return
    saved_lists = dict(saved[optimizer_id].children)
    variables_id = saved_lists.get("_variables")
    if variables_id is not None and variables_id < len(saved) \
            and len(saved[variables_id].children) > 1:
        build_optimizer(optimizer, model.trainable_weights)
