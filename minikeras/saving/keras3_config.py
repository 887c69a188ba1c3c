"""Translating model configs between minikeras (tf.keras 2.x form) and Keras 3's `config.json`.

Keras 3 wraps every object as `{"module", "class_name", "config", "registered_name"}` (layers
also carry `build_config`), writes dtypes as `DTypePolicy` objects, gives `InputLayer` a
`batch_shape`, and describes functional inbound nodes as `{"args": [...], "kwargs": {...}}` with
`__keras_tensor__` entries. Reading accepts both the Keras 3 and the tf.keras forms.
"""
import copy
import inspect

from ..core.nest import flatten
from ..models import serialization
from ..models.training import Model
from ..models.model_kind import is_functional, is_sequential
from ..engine.base_layer import Layer
from ..layers.core.lambda_layer import Lambda
from ..engine.keras_tensor import KerasTensor
from ..core.nest import map_structure
from .. import optimizers
from ..core.registry import builtin_objects

# Keys Keras 3 adds to configs that minikeras' (Keras 2) classes do not take, with the value
# that means "feature unused". Any other value cannot be honoured and is an error.
_KERAS3_ONLY_KEYS = {"quantization_config": None, "optional": False, "lora_rank": None,
                     "lora_alpha": None, "input_axes": None, "output_axes": None,
                     "loss_scale_factor": None, "gradient_accumulation_steps": None,
                     "use_gate": False, "sliding_window": None, "rms_scaling": False,
                     "shared_object_id": "any"}


def _policy(dtype):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype},
            "registered_name": None}


# --- minikeras -> Keras 3 -----------------------------------------------------------------------
def _layer_config_v3(layer):
    if isinstance(layer, Lambda):   # Keras 3 keeps named functions by name
        config = copy.deepcopy(layer.get_config(functions_by_name=True))
    else:
        config = copy.deepcopy(layer.get_config())
    if type(layer).__name__ == "InputLayer":
        config["batch_shape"] = list(config.pop("batch_input_shape"))
        return config
    config.pop("batch_input_shape", None)
    config.pop("rng_type", None)      # tf.keras' TF random generator choice: no Keras 3 key
    if hasattr(layer, "keras3_config"):     # a layer whose Keras 3 config differs
        config = layer.keras3_config(config)
    if isinstance(config.get("dtype"), str):
        config["dtype"] = _policy(config["dtype"])
    _drop_time_major(config)
    return config


def _drop_time_major(config):
    """Keras 3's recurrent layers have no `time_major` (nested ones included: a Bidirectional's
    or a TimeDistributed's `layer`); the default False is dropped, True cannot be written."""
    if not isinstance(config, dict):
        return
    if "time_major" in config and "return_sequences" in config:
        if config["time_major"]:
            raise ValueError("Keras 3 has no `time_major` recurrent layers: a model with "
                             "time_major=True cannot be saved in the .keras format.")
        del config["time_major"]
    for value in config.values():
        if isinstance(value, dict):
            _drop_time_major(value.get("config", value))


def _wrap(obj, config, module):
    registered = serialization._GLOBAL_CUSTOM_NAMES.get(type(obj))
    return {"module": module if registered is None else type(obj).__module__,
            "class_name": type(obj).__name__, "config": config, "registered_name": registered}


def _keras_tensor(tensor, conversion):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(tensor.shape), "dtype": str(tensor.dtype),
                       "keras_history": serialization._tensor_ref(tensor, conversion)}}


def serialize_layer(layer):
    if isinstance(layer, Model):
        return serialize_model(layer, top_level=False)
    entry = _wrap(layer, _layer_config_v3(layer), "keras.layers")
    if type(layer).__name__ == "MultiHeadAttention":
        return _multi_head_attention_v3(layer, entry)
    build_shape = getattr(layer, "_build_input_shape", None)
    # Keras 3 records a build config only for layers with their own `build`.
    if layer.built and build_shape is not None and type(layer).build is not Layer.build:
        entry["build_config"] = {"input_shape": _jsonable_shape(build_shape)}
    if layer.built and hasattr(layer, "keras3_build_config"):
        entry["build_config"] = layer.keras3_build_config()
    return entry


def _multi_head_attention_v3(layer, entry):
    """Keras 3 keeps MultiHeadAttention's input shapes in `build_config["shapes_dict"]`, not in
    its config, and has no `softmax_robust_masking`."""
    config = entry["config"]
    shapes = {key: config.pop(key, None) for key in ("query_shape", "value_shape", "key_shape")}
    if config.pop("softmax_robust_masking", False):
        raise ValueError("Keras 3 has no `softmax_robust_masking`: a MultiHeadAttention with "
                         "softmax_robust_masking=True cannot be saved in the .keras format.")
    if shapes["query_shape"] is not None:
        shapes_dict = {"query_shape": _jsonable_shape(shapes["query_shape"]),
                       "value_shape": _jsonable_shape(shapes["value_shape"])}
        if shapes["key_shape"] is not None and shapes["key_shape"] != shapes["value_shape"]:
            shapes_dict["key_shape"] = _jsonable_shape(shapes["key_shape"])
        entry["build_config"] = {"shapes_dict": shapes_dict}
    return entry


def _jsonable_shape(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_jsonable_shape(s) for s in shape]
    return None if shape is None else [None if d is None else int(d) for d in shape]


def _functional_config_v3(model):
    conversion = serialization._kept_node_indices(model)
    model_nodes = {id(node) for node in model._nodes_in_order}
    layers = []
    for layer in model.layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        nodes = []
        for node in layer._inbound_nodes:
            if id(node) not in model_nodes or node.is_input:
                continue
            convert = (lambda t: _keras_tensor(t, conversion) if isinstance(t, KerasTensor) else t)
            nodes.append({"args": map_structure(convert, list(node.call_args)),
                          "kwargs": map_structure(convert, dict(node.call_kwargs))})
        entry["inbound_nodes"] = nodes
        layers.append(entry)
    config = serialization.functional_config(model, serialize=lambda layer: {})
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": config["input_layers"], "output_layers": config["output_layers"]}


def serialize_model(model, top_level=True):
    """The Keras 3 `config.json` content for a model."""
    if is_sequential(model):
        config = {"name": model.name, "trainable": model.trainable,
                  "dtype": _policy(model.dtype),
                  "layers": ([serialize_layer(model._input_layer)] if model._input_layer else [])
                  + [serialize_layer(layer) for layer in model.layers]}
        entry = _wrap(model, config, "keras")
    elif is_functional(model):
        entry = _wrap(model, _functional_config_v3(model), "keras")
        entry["class_name"] = serialization.model_class_name(model).split(">")[-1]
        if entry["class_name"] == "Functional":
            # Keras 3 finds its Functional class only under its full module path.
            entry["module"] = "keras.src.models.functional"
            entry["registered_name"] = "Functional"
    else:
        entry = _wrap(model, model.get_config(), type(model).__module__)
    if entry["class_name"] == "Functional":
        # A functional model is built when it is made: Keras 3 records no build shape.
        entry["build_config"] = {"input_shape": None}
    else:
        build_shape = getattr(model, "_build_input_shape", None)
        if build_shape is None and getattr(model, "inputs", None):
            build_shape = model.inputs[0].shape if len(model.inputs) == 1 else \
                [t.shape for t in model.inputs]
        if build_shape is not None:
            entry["build_config"] = {"input_shape": _jsonable_shape(build_shape)}
    if top_level and getattr(model, "_is_compiled", False):
        entry["compile_config"] = compile_config(model)
    return entry


def compile_config(model):
    training = serialization.training_config(model, built_metrics=False)
    optimizer = model.optimizer
    optimizer_entry = optimizers.serialize(optimizer) if optimizer is not None else None
    return {"optimizer": optimizer_entry, "loss": training["loss"],
            "loss_weights": training["loss_weights"], "metrics": training["metrics"],
            "weighted_metrics": training["weighted_metrics"], "run_eagerly": False,
            "steps_per_execution": 1, "jit_compile": False}


# --- Keras 3 -> minikeras -------------------------------------------------------------------------
def _strip_keras3_keys(config, where):
    for key, unused in _KERAS3_ONLY_KEYS.items():
        if key in config:
            value = config[key]
            if unused != "any" and value != unused:
                raise NotImplementedError(f"{where} uses '{key}={value!r}', a Keras 3 feature "
                                          "that minikeras does not support.")
            del config[key]


# Keras 3 operation "layers" (`keras.src.ops.*`) in functional configs, as the TF symbol of
# the TFOpLambda that computes the same (Keras 3 records `Embedding(mask_zero=True)`'s mask,
# `inputs != 0`, as a NotEqual node).
_KERAS3_OPERATIONS = {"NotEqual": "math.not_equal", "Equal": "math.equal",
                      "Add": "__operators__.add", "Subtract": "math.subtract",
                      "Multiply": "math.multiply", "Divide": "math.truediv",
                      "TrueDivide": "math.truediv", "Power": "math.pow",
                      "Negative": "math.negative", "Absolute": "math.abs",
                      "Matmul": "linalg.matmul", "LogicalOr": "math.logical_or",
                      "LogicalAnd": "math.logical_and"}


def _operation_as_tf_op(entry):
    """A Keras 3 operation node -> the tf.keras TFOpLambda entry: the first argument is the
    tensor, the second the `y` (or matmul's `b`) keyword of the call."""
    symbol = _KERAS3_OPERATIONS[entry["class_name"]]
    name = entry.get("name") or entry["config"].get("name")
    nodes = []
    for node in entry.get("inbound_nodes", []):
        args, kwargs = list(node.get("args", [])), dict(node.get("kwargs", {}))
        if len(args) > 1:
            kwargs["b" if symbol == "linalg.matmul" else "y"] = args[1]
        nodes.append({"args": args[:1], "kwargs": kwargs})
    return {"class_name": "TFOpLambda", "name": name, "inbound_nodes": nodes,
            "config": {"name": name, "trainable": True, "dtype": "float32",
                       "function": symbol}}


def normalize(obj, where="config"):
    """Rewrite a Keras 3 config tree into the tf.keras form minikeras' classes take."""
    if isinstance(obj, list):
        return [normalize(item, where) for item in obj]
    if not isinstance(obj, dict):
        return obj
    if obj.get("class_name") == "DTypePolicy" and isinstance(obj.get("config"), dict):
        return obj["config"].get("name", "float32")
    if obj.get("class_name") == "__keras_tensor__":
        return list(obj["config"]["keras_history"])
    if obj.get("class_name") in _KERAS3_OPERATIONS and \
            str(obj.get("module", "")).startswith("keras.src.ops"):
        obj = _operation_as_tf_op(obj)
    result = {key: normalize(value, where) for key, value in obj.items()}
    if "class_name" in result and isinstance(result.get("config"), dict):
        inner = result["config"]
        _strip_keras3_keys(inner, f"{result['class_name']} '{inner.get('name', '')}'")
        if result["class_name"] == "InputLayer" and "batch_shape" in inner:
            inner["batch_input_shape"] = inner.pop("batch_shape")
        if result["class_name"] == "Sequential" and isinstance(inner.get("layers"), list):
            inner["layers"] = serialization.with_first_layer_input_shape(inner["layers"])
        if "inbound_nodes" in result:
            keep_structure = result["class_name"] in ("TFOpLambda", "SlicingOpLambda")
            result["inbound_nodes"] = [_tf_op_node_v2(node) if keep_structure
                                       else _node_v2(node, result["class_name"])
                                       for node in result["inbound_nodes"]]
    return result


def _node_v2(node, class_name=None):
    """`{"args": [...], "kwargs": {...}}` -> `[[name, node, tensor, kwargs], ...]`; positional
    arguments after the first join the kwargs under the layer's parameter names (as tf.keras
    writes `MultiHeadAttention(q, v)`: `{"value": [...]}`)."""
    if not isinstance(node, dict):
        return node
    args, kwargs = node.get("args", []), dict(node.get("kwargs", {}))
    first = args[0] if args else kwargs.pop("inputs", [])
    if len(args) > 1:
        names = _call_parameter_names(class_name)
        if len(names) < len(args) - 1:
            raise ValueError(f"Cannot read a call of layer class {class_name!r} with "
                             f"{len(args)} positional arguments.")
        kwargs = {**dict(zip(names, args[1:])), **kwargs}
    refs = _collect_refs(first)
    return [ref[:3] + [kwargs] for ref in refs]


def _call_parameter_names(class_name):
    """The names of a built-in layer's `call` parameters after its first input."""
    cls = builtin_objects("layers").get(class_name)
    if not isinstance(cls, type):
        return []
    return list(inspect.signature(cls.call).parameters)[2:]      # skip self and the input


def _tf_op_node_v2(node):
    """A TFOpLambda call `{"args": [x], "kwargs": {...}}` -> tf.keras' bare entry
    `[name, node, tensor, kwargs]`, or `["_CONSTANT_VALUE", -1, value, kwargs]` when the first
    argument is a constant (the `2` of `2 - x`)."""
    if not isinstance(node, dict):
        return node
    args, kwargs = node.get("args", []), dict(node.get("kwargs", {}))
    first = args[0] if args else kwargs.pop("inputs", None)
    if serialization._is_ref(first):
        return first[:3] + [kwargs]
    return [serialization._CONSTANT_VALUE, -1, first, kwargs]


def _collect_refs(structure):
    if isinstance(structure, list) and len(structure) == 3 and isinstance(structure[0], str) \
            and isinstance(structure[1], int):
        return [structure]
    if isinstance(structure, (list, tuple)):
        refs = []
        for item in structure:
            refs.extend(_collect_refs(item))
        return refs
    if isinstance(structure, dict):
        return _collect_refs(flatten(structure))
    return []


def deserialize_model(config, custom_objects=None, safe_mode=True):
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("The '.keras' file's config.json does not describe a model: expected a "
                         f"dict with a 'class_name', got {type(config).__name__}.")
    entry = normalize({k: v for k, v in config.items()
                       if k not in ("compile_config", "build_config")})
    model = serialization.deserialize_model(entry, custom_objects, safe_mode=safe_mode)
    build_shape = (config.get("build_config") or {}).get("input_shape")
    if not model.built and build_shape is not None:
        shape = [tuple(s) for s in build_shape] if build_shape and \
            isinstance(build_shape[0], list) else tuple(build_shape)
        model.build(shape)
    return model


def compile_from_config(model, config, custom_objects=None):
    optimizer = config.get("optimizer")
    if isinstance(optimizer, dict):
        optimizer = normalize(optimizer)
        optimizer = {"class_name": optimizer.get("class_name"),
                     "config": optimizer.get("config", {})}
    training = {"optimizer_config": optimizer if isinstance(optimizer, dict) else None,
                "loss": normalize(config.get("loss")), "metrics": normalize(config.get("metrics")),
                "weighted_metrics": normalize(config.get("weighted_metrics")),
                "loss_weights": config.get("loss_weights")}
    if isinstance(optimizer, str):
        model.compile(optimizer=optimizer, loss=training["loss"], metrics=training["metrics"],
                      weighted_metrics=training["weighted_metrics"],
                      loss_weights=training["loss_weights"])
        return
    serialization.compile_from_training_config(model, training, custom_objects)
