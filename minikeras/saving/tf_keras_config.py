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

Where no spelling serves both, the file follows tf_keras (minikeras is the tf.keras 2 API):
a nested model's calls are numbered from 1 as tf.keras does (Keras 3 counts from 0 and then
fails on the file), call arguments holding tensors (`mask=`, MultiHeadAttention's `value`,
RNN states) stay in tf_keras' nodes (Keras 3 does not resolve them there), a Lambda keeps
tf.keras' `function` / `function_type` / `module` (Keras 3 refuses `function_type`), a
MultiHeadAttention its `query_shape` / `value_shape` / `key_shape` (tf_keras builds it from
them, Keras 3 refuses them), and an optimizer's variables follow tf_keras' order
(`keras_v3._written_variables`). A model whose graph has Keras 3 operations
(arithmetic on tensors, `tf.*` calls: TFOpLambda layers) keeps Keras 3's nodes: tf_keras would
need TFOpLambda entries, which Keras 3 cannot read (not done).
"""
import json

from ..models import serialization
from ..models.serialization import json_default
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
    _graph_nodes_as_tf_keras(entry, model)
    return entry


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
    if isinstance(tree, list):
        for item in tree:
            _input_layer_batch_input_shape(item)
    elif isinstance(tree, dict):
        config = tree.get("config")
        if tree.get("class_name") == "InputLayer" and isinstance(config, dict) and \
                "batch_shape" in config:
            config["batch_input_shape"] = config.pop("batch_shape")
        for value in tree.values():
            _input_layer_batch_input_shape(value)


def _leaky_relu_alpha(tree):
    if isinstance(tree, list):
        for item in tree:
            _leaky_relu_alpha(item)
    elif isinstance(tree, dict):
        config = tree.get("config")
        if tree.get("class_name") == "LeakyReLU" and isinstance(config, dict) and \
                "negative_slope" in config:
            config["alpha"] = config.pop("negative_slope")
        for value in tree.values():
            _leaky_relu_alpha(value)


def _layer_as_tf_keras(layer_entry, layer):
    """The layers whose configs have no spelling both read: tf_keras' (minikeras' own)."""
    class_name = type(layer).__name__
    if class_name not in ("Lambda", "MultiHeadAttention") or \
            layer_entry.get("class_name") != class_name:
        return
    # (a named function by name, as Keras 3: a safe-mode load finds it in custom_objects)
    config = layer.get_config(functions_by_name=True) if class_name == "Lambda" else \
        layer.get_config()
    config = json.loads(json.dumps(config, default=json_default))
    config.pop("batch_input_shape", None)
    layer_entry["config"] = config
    if class_name == "MultiHeadAttention" and config.get("query_shape") is not None:
        layer_entry["build_config"] = {"input_shape": config["query_shape"]}


def _is_operation(entry):
    return str(entry.get("module") or "").startswith("keras.src.ops")


def _graph_nodes_as_tf_keras(entry, model):
    """A functional model's nodes in tf.keras' form (nested models' too); a Sequential's
    nested models likewise."""
    if is_sequential(model):
        layer_entries = [e for e in entry["config"]["layers"] if e.get("class_name") !=
                         "InputLayer"]
        for layer_entry, layer in zip(layer_entries, model.layers):
            _nested(layer_entry, layer)
        return
    if not is_functional(model):
        return
    layer_entries = entry["config"]["layers"]
    for layer_entry, layer in zip(layer_entries, model.layers):
        _nested(layer_entry, layer)
    if entry.get("module") == "keras.src.models.functional":
        entry["module"] = SHARED_FUNCTIONAL_MODULE
    if any(_is_operation(layer_entry) for layer_entry in layer_entries):
        return
    tf_keras_layers = serialization.functional_config(model, serialize=lambda layer: {})
    for layer_entry, tf_keras_layer in zip(layer_entries, tf_keras_layers["layers"]):
        layer_entry["inbound_nodes"] = tf_keras_layer["inbound_nodes"]
    # (input_layers / output_layers: Keras 3's bare single reference reads in tf_keras too; a
    # nested model is referenced by its calls counted from 1, as tf.keras.)
    entry["config"]["input_layers"] = _single_bare(tf_keras_layers["input_layers"])
    entry["config"]["output_layers"] = _single_bare(tf_keras_layers["output_layers"])


def _nested(layer_entry, layer):
    if isinstance(layer, Model) and isinstance(layer_entry.get("config"), dict):
        _graph_nodes_as_tf_keras(layer_entry, layer)
    else:
        _layer_as_tf_keras(layer_entry, layer)


def _single_bare(refs):
    if isinstance(refs, list) and len(refs) == 1 and serialization._is_ref(refs[0]):
        return refs[0]
    return refs
