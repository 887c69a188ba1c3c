"""One `config.json` for both `.keras` readers: tf_keras 2.21 and Keras 3.

`keras3_config.serialize_model` gives Keras 3's form. tf_keras 2.21's `.keras` reader refuses
four things in it, and each has a spelling that both libraries read:

- a functional model's `module` "keras.src.models.functional": tf_keras imports
  `tf_keras.src.models.functional`, which does not exist. Both find `Functional` in
  "keras.src.models" (tf_keras imports `tf_keras.src.models`).
- InputLayer's `batch_shape`: tf_keras takes `batch_input_shape`, which Keras 3 also takes.
- dtypes as `DTypePolicy` objects: both take the policy's name ("float32", "mixed_float16").
- functional calls as `{"args", "kwargs"}` nodes: tf_keras reads only its
  `[[name, node, tensor, kwargs], ...]` nodes, which Keras 3 also reads (its "legacy case").
- LeakyReLU's `negative_slope`: tf_keras takes `alpha`, which Keras 3 takes too (deprecated).

Where no spelling serves both, the file follows Keras 3 (`.keras` is Keras 3's format; its
readers come first) and tf_keras cannot read it: a model holding a nested model (tf.keras
numbers a nested model's calls from 1, Keras 3 from 0), a call with tensors beyond its first
argument (`mask=`, MultiHeadAttention's `value`, RNN states: Keras 3 does not resolve them in
tf_keras' nodes), a Lambda (Keras 3 refuses tf.keras' `function_type`), a MultiHeadAttention
(tf_keras builds it from `query_shape` / `value_shape` / `key_shape`, which Keras 3 refuses)
and a graph holding Keras 3 operations (TFOpLambda layers) keep Keras 3's nodes and configs.
An optimizer's variables are written in Keras 3's order (with the learning rate): tf_keras
then loads the model with a fresh optimizer, with its warning.
"""

from ..models import serialization
from ..models.model_kind import is_functional, is_sequential
from ..models.training import Model

# Keras 3 and tf_keras both import this module and find `Functional` in it.
SHARED_FUNCTIONAL_MODULE = "keras.src.models"


def tf_keras_readable(entry, model):
    """Rewrite Keras 3's `config.json` content `entry` for `model` in place into the spelling
    both tf_keras 2.21 and Keras 3 read (see the module docstring); returns it."""
    _plain_dtype_names(entry)
    _input_layer_batch_input_shape(entry)
    _leaky_relu_alpha(entry)
    _shared_functional_module(entry)
    if _tree_both_read(entry, model):
        _graph_nodes_as_tf_keras(entry, model)
    return entry


def _shared_functional_module(tree):
    if isinstance(tree, list):
        for item in tree:
            _shared_functional_module(item)
    elif isinstance(tree, dict):
        if tree.get("module") == "keras.src.models.functional":
            tree["module"] = SHARED_FUNCTIONAL_MODULE
        for value in tree.values():
            _shared_functional_module(value)


def _plain_dtype_names(tree):
    """`{"class_name": "DTypePolicy", "config": {"name": n}}` -> n, everywhere in the tree."""
    items = tree.items() if isinstance(tree, dict) else \
        enumerate(tree) if isinstance(tree, list) else ()
    for key, value in list(items):
        if isinstance(value, dict) and value.get("class_name") == "DTypePolicy" and \
                isinstance(value.get("config"), dict):
            tree[key] = value["config"]["name"]
        else:
            _plain_dtype_names(value)


def _input_layer_batch_input_shape(tree):
    _renamed_config_key(tree, "InputLayer", "batch_shape", "batch_input_shape")


def _leaky_relu_alpha(tree):
    _renamed_config_key(tree, "LeakyReLU", "negative_slope", "alpha")


def _renamed_config_key(tree, class_name, old, new):
    """`config[old]` becomes `config[new]` in every `class_name` entry of the tree."""
    if isinstance(tree, list):
        for item in tree:
            _renamed_config_key(item, class_name, old, new)
    elif isinstance(tree, dict):
        config = tree.get("config")
        if tree.get("class_name") == class_name and isinstance(config, dict) and old in config:
            config[new] = config.pop(old)
        for value in tree.values():
            _renamed_config_key(value, class_name, old, new)


def _is_operation(entry):
    return str(entry.get("module") or "").startswith("keras.src.ops")


def _graph_nodes_as_tf_keras(entry, model):
    """A functional model's nodes in tf.keras' form; a Sequential's nested models likewise
    (called only when `_tree_both_read`: a functional graph then holds no nested model)."""
    if is_sequential(model):
        layer_entries = [e for e in entry["config"]["layers"] if e.get("class_name") !=
                         "InputLayer"]
        for layer_entry, layer in zip(layer_entries, model.layers):
            _nested(layer_entry, layer)
        return
    if not is_functional(model):
        return
    layer_entries = entry["config"]["layers"]
    tf_keras_layers = serialization.functional_config(model, serialize=lambda layer: {})
    for layer_entry, tf_keras_layer in zip(layer_entries, tf_keras_layers["layers"]):
        layer_entry["inbound_nodes"] = tf_keras_layer["inbound_nodes"]
    # (input_layers / output_layers: Keras 3's bare single reference reads in tf_keras too)
    entry["config"]["input_layers"] = _single_bare(tf_keras_layers["input_layers"])
    entry["config"]["output_layers"] = _single_bare(tf_keras_layers["output_layers"])


def _nested(layer_entry, layer):
    if isinstance(layer, Model) and isinstance(layer_entry.get("config"), dict):
        _graph_nodes_as_tf_keras(layer_entry, layer)


def _tree_both_read(entry, model):
    """Whether every graph of the model (a Sequential's nested models' too) has tf_keras
    nodes that Keras 3 reads: otherwise the whole file keeps Keras 3's nodes."""
    if is_sequential(model):
        layer_entries = [e for e in entry["config"]["layers"] if e.get("class_name") !=
                         "InputLayer"]
        return all(_tree_both_read(layer_entry, layer)
                   for layer_entry, layer in zip(layer_entries, model.layers)
                   if isinstance(layer, Model) and isinstance(layer_entry.get("config"), dict))
    if is_functional(model):
        return _nodes_both_read(entry["config"]["layers"], model)
    return True


_ONLY_KERAS3_READS = ("Lambda", "MultiHeadAttention")


def _nodes_both_read(layer_entries, model):
    """Whether tf_keras' nodes of this graph read in Keras 3 too: no nested model, no Keras 3
    operation, no layer whose config only Keras 3 reads, and every call takes its tensors
    in its first argument (a tensor or a list of them) with no tensor among its keywords."""
    if any(isinstance(layer, Model) for layer in model.layers):
        return False
    for layer_entry in layer_entries:
        if _is_operation(layer_entry) or layer_entry.get("class_name") in _ONLY_KERAS3_READS:
            return False
        for node in layer_entry.get("inbound_nodes") or ():
            if not isinstance(node, dict):
                continue
            arguments = node.get("args") or []
            if len(arguments) > 1 or _holds_tensor(node.get("kwargs") or {}):
                return False
    return True


def _holds_tensor(tree):
    if isinstance(tree, dict):
        return tree.get("class_name") == "__keras_tensor__" or \
            any(_holds_tensor(value) for value in tree.values())
    if isinstance(tree, (list, tuple)):
        return any(_holds_tensor(item) for item in tree)
    return False


def _single_bare(refs):
    if isinstance(refs, list) and len(refs) == 1 and serialization._is_ref(refs[0]):
        return refs[0]
    return refs
