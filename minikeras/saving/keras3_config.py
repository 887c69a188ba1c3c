"""Translating model configs between minikeras (tf.keras 2.x form) and Keras 3's `config.json`.

Keras 3 wraps every object as `{"module", "class_name", "config", "registered_name"}` (layers
also carry `build_config`), writes dtypes as `DTypePolicy` objects, gives `InputLayer` a
`batch_shape`, and describes functional inbound nodes as `{"args": [...], "kwargs": {...}}` with
`__keras_tensor__` entries. Reading accepts both the Keras 3 and the tf.keras forms.

What the two versions disagree on, learned by loading each library's files in the other
(tests/saving/test_file_zoo.py): Keras 3 refuses config keys it does not know
(`_KERAS2_ONLY_KEYS`, optimizer `jit_compile`), renamed a few arguments (`_KERAS3_RENAMED`),
counts a nested model's calls from 0 where tf.keras counts from 1, passes RNN states as
`initial_state=` instead of folding them into the inputs, records arithmetic and some masks as
operations (`keras.src.ops.*`) instead of TFOpLambda layers, writes Lambda functions and losses
in its own form, and computes `hard_sigmoid` otherwise (a warning when such a file is written).
"""
import copy
import inspect
import re
import warnings

from ..core.nest import flatten
from ..models import serialization
from ..models.training import Model
from ..models.model_kind import is_functional, is_sequential
from ..engine.base_layer import Layer
from ..layers.core.lambda_layer import Lambda
from ..layers.recurrent.base_rnn import RNN
from ..engine.keras_tensor import KerasTensor
from ..engine.tf_op_layer import (keras3_operation_arguments, keras_op_for_operation,
                                  operation_class_name)
from .keras3_operations import OPERATION_CONFIG_ARGUMENTS, OPERATION_MODULES
from ..core.nest import map_structure
from .. import optimizers
from ..core.registry import builtin_objects, custom_object_scope, get_registered_object
from ..core.config import dtype_name
from ..core.serialization import overrides_build_config

# Keys Keras 3 adds to configs that minikeras' (Keras 2) classes do not take, with the value
# that means "feature unused". Any other value cannot be honoured and is an error.
_KERAS3_ONLY_KEYS = {"quantization_config": None, "optional": False, "lora_rank": None,
                     "lora_alpha": None, "input_axes": None, "output_axes": None,
                     "loss_scale_factor": None, "gradient_accumulation_steps": None,
                     "use_gate": False, "sliding_window": None, "rms_scaling": False,
                     "shared_object_id": "any"}
# Keys of tf.keras 2 configs that Keras 3's classes refuse, with the value that means "feature
# unused" ("any": the argument has no effect in that class, e.g. a SeparableConv's `kernel_*`
# inherited from Conv). Another value cannot be written to a `.keras` file.
_UNUSED_SEPARABLE = {"groups": 1, "kernel_initializer": "any", "kernel_regularizer": "any",
                     "kernel_constraint": "any"}
_UNUSED_SPATIAL_DROPOUT = {"noise_shape": None, "trainable": "any"}
_KERAS2_ONLY_KEYS = {
    "Conv1DTranspose": {"groups": 1}, "Conv2DTranspose": {"groups": 1},
    "Conv3DTranspose": {"groups": 1}, "DepthwiseConv1D": {"groups": 1},
    "DepthwiseConv2D": {"groups": 1}, "SeparableConv1D": _UNUSED_SEPARABLE,
    "SeparableConv2D": _UNUSED_SEPARABLE, "SpatialDropout1D": _UNUSED_SPATIAL_DROPOUT,
    "SpatialDropout2D": _UNUSED_SPATIAL_DROPOUT, "SpatialDropout3D": _UNUSED_SPATIAL_DROPOUT,
    "Discretization": {"trainable": "any"},     # no weights to train
}
# tf.keras 2 optimizer config keys Keras 3's optimizers refuse.
_KERAS2_OPTIMIZER_KEYS = ("jit_compile", "is_legacy_optimizer")
# Arguments Keras 3 renamed: {class: {Keras 3 name: tf.keras 2 name}}.
_KERAS3_RENAMED = {"LeakyReLU": {"negative_slope": "alpha"}}


def _policy(dtype):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype},
            "registered_name": None}


# --- minikeras -> Keras 3 -----------------------------------------------------------------------
def _layer_config_v3(layer):
    if isinstance(layer, Lambda):   # Keras 3 keeps named functions by name
        config = _lambda_config_v3(copy.deepcopy(layer.get_config(functions_by_name=True)))
    else:
        config = copy.deepcopy(layer.get_config())
    if type(layer).__name__ == "InputLayer":
        config["batch_shape"] = list(config.pop("batch_input_shape"))
        return config
    if hasattr(layer, "keras3_config"):     # a layer whose Keras 3 config differs
        config = layer.keras3_config(config)
    _drop_time_major(config)
    return _class_config_v3(type(layer).__name__, config, layer.name)


# A wrapper's layers (TimeDistributed's and Bidirectional's `layer`, Bidirectional's
# `backward_layer`) are nested entries of its config: they take the same translation.
_NESTED_LAYER_KEYS = ("layer", "backward_layer")


def _class_config_v3(class_name, config, name):
    """What Keras 3 needs changed in a layer config, knowing only the class name."""
    config.pop("batch_input_shape", None)
    config.pop("rng_type", None)      # tf.keras' TF random generator choice: no Keras 3 key
    if class_name == "Discretization" and config.get("output_mode", "int") == "int":
        # tf.keras' dtype is the int output's; Keras 3 casts the inputs to its dtype (an int
        # dtype would truncate them before bucketing) and always outputs int32 indices.
        config["dtype"] = "float32"
    if isinstance(config.get("dtype"), dict) and config["dtype"].get("class_name") == "Policy":
        config["dtype"] = config["dtype"]["config"]["name"]   # tf_keras' mixed_float16 Policy
    if isinstance(config.get("dtype"), str):
        config["dtype"] = _policy(config["dtype"])
    for keras3_name, keras2_name in _KERAS3_RENAMED.get(class_name, {}).items():
        if keras2_name in config:
            config[keras3_name] = config.pop(keras2_name)
    for key, unused in _KERAS2_ONLY_KEYS.get(class_name, {}).items():
        if key in config:
            if unused != "any" and config[key] != unused:
                raise ValueError(f"{class_name} '{name}' uses {key}={config[key]!r}, which "
                                 "Keras 3 does not support: it cannot be saved in the .keras "
                                 "format.")
            del config[key]
    if class_name == "BatchNormalization" and isinstance(config.get("axis"), (list, tuple)) \
            and len(config["axis"]) == 1:
        config["axis"] = config["axis"][0]      # Keras 3 takes one int axis
    hard = [key for key, value in config.items()
            if value == "hard_sigmoid" and key.endswith("activation")]
    if hard:
        warnings.warn(f"{class_name} '{name}' uses the 'hard_sigmoid' activation ({hard}): "
                      "Keras 3's hard_sigmoid is relu6(x + 3) / 6, not tf.keras 2's "
                      "clip(0.2 x + 0.5, 0, 1), so Keras 3 will compute other numbers from this "
                      "file (minikeras reads it back unchanged).", stacklevel=6)
    if class_name == "Embedding" and config.get("input_length", 0) is None:
        del config["input_length"]              # Keras 3 accepts it only as deprecated
    for key in _NESTED_LAYER_KEYS:
        nested = config.get(key)
        if isinstance(nested, dict) and isinstance(nested.get("config"), dict) and \
                nested.get("class_name") not in ("Sequential", "Functional", "Model"):
            nested["config"] = _class_config_v3(nested["class_name"], nested["config"],
                                                nested["config"].get("name"))
    return config


def _lambda_config_v3(config):
    """tf.keras' `function` / `function_type` / `module` triples (and output_shape's, mask's)
    -> Keras 3's single values: `{"class_name": "__lambda__", "config": {code, defaults,
    closure}}` for bytecode, `{"class_name": "function", "config": name, "module"}` for a
    named function, the value itself otherwise."""
    for key, type_key, module_key in (("function", "function_type", "module"),
                                      ("output_shape", "output_shape_type", "output_shape_module"),
                                      ("mask", "mask_type", "mask_module")):
        kind, module = config.pop(type_key, None), config.pop(module_key, None)
        if key != "function" and config.get(key, 0) is None:
            del config[key]          # Keras 3 writes no unset output_shape / mask
        if key not in config:
            continue
        value = config[key]
        if kind == "lambda":
            code, defaults, closure = value
            config[key] = {"class_name": "__lambda__", "config": {
                "code": code, "defaults": defaults, "closure": closure}}
        elif kind == "function":
            config[key] = {"module": module, "class_name": "function", "config": value,
                           "registered_name": value}
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
    """Keras' classes under their public `module`; any other class (registered or not) under
    its Python module and its registered name, the class name when unregistered (as Keras 3
    and tf.keras write them: their readers find it by that name in `custom_objects`)."""
    cls = type(obj)
    registered = serialization._GLOBAL_CUSTOM_NAMES.get(cls)
    if registered is None and not cls.__module__.startswith("minikeras."):
        registered = cls.__name__
    if registered is not None:     # no module to import for a script's class: None
        module = None if cls.__module__ == "__main__" else cls.__module__
    return {"module": module, "class_name": cls.__name__, "config": config,
            "registered_name": registered}


def _keras3_ref(tensor, conversion):
    """tf.keras counts a nested model's calls from 1 (`serialization._node_offset`), Keras 3
    from 0."""
    ref = serialization._tensor_ref(tensor, conversion)
    ref[1] -= serialization._node_offset(tensor._keras_history[0])
    return ref


def _dtype_v3(dtype):
    """Keras' name of a tensor dtype ("string", not NumPy's "object", for strings)."""
    return dtype if isinstance(dtype, str) else dtype_name(dtype)


def _keras_tensor(tensor, conversion):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(tensor.shape), "dtype": _dtype_v3(tensor.dtype),
                       "keras_history": _keras3_ref(tensor, conversion)}}


def _keras3_call(layer, args, kwargs):
    """tf.keras folds an RNN's `initial_state` into its inputs (`[sequences, *states]`);
    Keras 3 passes it as the `initial_state` keyword."""
    first = args[0] if args else None
    if isinstance(layer, RNN) and isinstance(first, (list, tuple)) and len(first) > 1 \
            and "initial_state" not in kwargs:
        return [first[0]] + list(args[1:]), {**kwargs, "initial_state": list(first[1:])}
    return args, kwargs


def serialize_layer(layer):
    if isinstance(layer, Model):
        return serialize_model(layer, top_level=False)
    entry = _wrap(layer, _layer_config_v3(layer), "keras.layers")
    if type(layer).__name__ == "MultiHeadAttention":
        return _multi_head_attention_v3(layer, entry)
    build_shape = getattr(layer, "_build_input_shape", None)
    # Keras 3 records a build config only for layers with their own `build`.
    if isinstance(layer, RNN) and _is_shape_list(build_shape):
        build_shape = build_shape[0]      # the sequences (the states go in `initial_state`)
    if layer.built and build_shape is not None and type(layer).build is not Layer.build:
        entry["build_config"] = {"input_shape": _jsonable_shape(build_shape)}
    if layer.built and hasattr(layer, "keras3_build_config"):
        entry["build_config"] = layer.keras3_build_config()
    if layer.built and overrides_build_config(layer):
        entry.pop("build_config", None)
        build_config = layer.get_build_config()
        if build_config is not None:
            entry["build_config"] = _jsonable_build_config(build_config)
    return entry


def _jsonable_build_config(config):
    """A user's build config with its shapes as JSON lists."""
    return {key: _jsonable_shape(value) if key == "input_shape" else value
            for key, value in config.items()}


def _is_shape_list(shape):
    return isinstance(shape, (list, tuple)) and bool(shape) and \
        isinstance(shape[0], (list, tuple))


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
        operation = keras3_operation(layer)
        entry = serialize_layer(layer) if operation is None else operation
        entry["name"] = layer.name
        nodes = []
        for node in layer._inbound_nodes:
            if id(node) not in model_nodes or node.is_input:
                continue
            convert = (lambda t: _keras_tensor(t, conversion) if isinstance(t, KerasTensor) else t)
            args, kwargs = _keras3_call(layer, list(node.call_args), dict(node.call_kwargs))
            if operation is not None:
                args, kwargs = _operation_arguments(layer, args, kwargs)
            nodes.append({"args": map_structure(convert, args),
                          "kwargs": map_structure(convert, kwargs)})
        entry["inbound_nodes"] = nodes
        layers.append(entry)
    config = serialization.functional_config(model, serialize=lambda layer: {})
    offsets = {layer.name: serialization._node_offset(layer) for layer in model.layers}
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": _bare_single_ref(_shift_refs(config["input_layers"], offsets, -1)),
            "output_layers": _bare_single_ref(_shift_refs(config["output_layers"], offsets, -1))}


def _bare_single_ref(refs):
    """Keras 3 writes one input/output as a bare reference (a list of one would make its model
    return a list of one array)."""
    if isinstance(refs, list) and len(refs) == 1 and serialization._is_ref(refs[0]):
        return refs[0]
    return refs


def _shift_refs(structure, offsets, sign):
    """Move the node index of every `[name, node, tensor, ...]` reference to a layer in
    `offsets` by sign * its offset (tf.keras counts a nested model's calls from 1, Keras 3
    from 0)."""
    if serialization._is_ref(structure):
        shifted = list(structure)
        shifted[1] += sign * offsets.get(structure[0], 0)
        return shifted[:3] + [_shift_refs(item, offsets, sign) for item in shifted[3:]]
    if isinstance(structure, list):
        return [_shift_refs(item, offsets, sign) for item in structure]
    if isinstance(structure, dict):
        return {key: _shift_refs(value, offsets, sign) for key, value in structure.items()}
    return structure


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


def _losses_v3(value):
    """tf.keras loss configs -> Keras 3's: no `fn` key, reduction 'auto' is Keras 3's
    'sum_over_batch_size'."""
    if isinstance(value, list):
        return [_losses_v3(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "class_name" not in value or not isinstance(value.get("config"), dict):
        return {key: _losses_v3(item) for key, item in value.items()}
    config = dict(value["config"])
    config.pop("fn", None)
    if config.get("reduction") == "auto":
        config["reduction"] = "sum_over_batch_size"
    return {**value, "config": config}


def compile_config(model):
    training = serialization.training_config(model, built_metrics=False)
    # Keras 3 records the optimizer compile() was given, not the LossScaleOptimizer it wraps
    # it in under mixed_float16 (the optimizer state is the inner one's either way)
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    optimizer_entry = optimizers.serialize(optimizer) if optimizer is not None else None
    if isinstance(optimizer_entry, dict) and isinstance(optimizer_entry.get("config"), dict):
        for key in _KERAS2_OPTIMIZER_KEYS:
            optimizer_entry["config"].pop(key, None)
        schedule = optimizer_entry["config"].get("learning_rate")
        if isinstance(schedule, dict) and isinstance(schedule.get("config"), dict) and \
                schedule["config"].get("name", "") is None:
            # Keras 3 names a schedule (by its class) and refuses name=None
            schedule["config"]["name"] = schedule.get("class_name")
    return {"optimizer": optimizer_entry, "loss": _losses_v3(training["loss"]),
            "loss_weights": training["loss_weights"], "metrics": training["metrics"],
            "weighted_metrics": training["weighted_metrics"], "run_eagerly": False,
            "steps_per_execution": getattr(model, "_steps_per_execution", 1),
            "jit_compile": False}


# --- Keras 3 -> minikeras -------------------------------------------------------------------------
# Keras 3 keys of single classes: its image preprocessing layers take a `data_format`
# (tf.keras 2's work on channels-last images only).
# The geometric ones take "channels_first" too (layers/preprocessing/channels_first.py): the
# key is kept for them ("keep").
_CHANNELS_LAST = {"data_format": ("channels_last", None)}
_ANY_FORMAT = {"data_format": "keep"}
_KERAS3_ONLY_CLASS_KEYS = {name: _ANY_FORMAT for name in (
    "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
    "RandomCrop")}
_KERAS3_ONLY_CLASS_KEYS.update({name: _CHANNELS_LAST for name in (
    "RandomContrast", "RandomBrightness")})
# tf.keras' RandomContrast clips to [0, 255], Keras 3's default value_range; ours takes
# another one as Keras 3 does (and writes it only then).
# Resizing's padding mode is Keras 3's; its fill arguments matter only with it ("any").
_KERAS3_ONLY_CLASS_KEYS["Resizing"] = {**_ANY_FORMAT, "pad_to_aspect_ratio": (False,),
                                       "antialias": (False,), "fill_mode": "any",
                                       "fill_value": "any"}


def _strip_keras3_class_keys(class_name, config, where):
    for key, unused in _KERAS3_ONLY_CLASS_KEYS.get(class_name, {}).items():
        if key in config and unused == "keep":
            if config[key] is None:
                del config[key]
        elif key in config:
            if unused != "any" and config[key] not in unused:
                raise NotImplementedError(f"{where} uses '{key}={config[key]!r}', a Keras 3 "
                                          "feature that minikeras does not support.")
            del config[key]


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
                      "Matmul": "linalg.matmul", "Maximum": "math.maximum",
                      "Minimum": "math.minimum", "LogicalOr": "math.logical_or",
                      "LogicalAnd": "math.logical_and",
                      # reductions: axis and keepdims are in the operation's config
                      "Any": "math.reduce_any", "All": "math.reduce_all",
                      "Sum": "math.reduce_sum", "Mean": "math.reduce_mean",
                      "Max": "math.reduce_max", "Min": "math.reduce_min"}
_REDUCTION_ARGUMENTS = ("axis", "keepdims")
# Operations Keras 3 records for a layer's mask (a Concatenate of masked inputs passes
# `any(concatenate([expand_dims(mask) | zeros_like(x), ...]))` as the next layer's `mask`),
# read as the TF op taking the operation's config arguments as keywords. Never written.
_MASK_OPERATIONS = {"ConvertToTensor": ("convert_to_tensor", ("dtype",)),
                    "ExpandDims": ("expand_dims", ("axis",)),
                    "ZerosLike": ("zeros_like", ("dtype",)),
                    "Concatenate": ("concat", ("axis",))}


# (reductions stay TFOpLambdas: Keras 3 keeps their axis in the operation's config)
_OPERATION_OF_SYMBOL = {symbol: name for name, symbol in _KERAS3_OPERATIONS.items()
                        if name != "Divide" and not symbol.startswith("math.reduce_")}


def keras3_operation(layer):
    """The Keras 3 operation entry of a layer Keras 3 records as an operation node: a
    TFOpLambda whose op Keras 3 has (`x * 2`), a KerasOpLambda (`keras.ops.mean(x, axis=1)`,
    its constructor's arguments in the config as Keras 3 writes them) or a SlicingOpLambda
    (`x[:, 1:]`, Keras 3's GetItem); None for any other layer."""
    kind = type(layer).__name__
    if kind == "SlicingOpLambda":
        return _operation_entry("GetItem", {"name": layer.name})
    if kind == "KerasOpLambda":
        class_name = keras3_operation_class(layer.symbol)
        node = next((n for n in layer._inbound_nodes if not n.is_input), None)
        if class_name is None or node is None:
            return None
        split = _keras_op_split(layer, class_name, node.call_args, node.call_kwargs)
        return None if split is None else _operation_entry(class_name, {"name": layer.name,
                                                                        **split[0]})
    symbol = getattr(layer, "symbol", None)
    if kind != "TFOpLambda" or symbol not in _OPERATION_OF_SYMBOL:
        return None
    class_name = _OPERATION_OF_SYMBOL[symbol]
    return _operation_entry(class_name, {"name": snake_case(class_name)})


def _operation_entry(class_name, config):
    return {"module": f"keras.src.ops.{_OPERATION_MODULE[class_name]}", "class_name": class_name,
            "config": config, "registered_name": class_name}


_OPERATION_MODULE = {name: module for module, names in OPERATION_MODULES.items()
                     for name in names}
_OPERATION_BY_FOLDED_NAME = {name.lower(): name for name in _OPERATION_MODULE}


def keras3_operation_class(function_name):
    """Keras 3's operation class of a `keras.ops` function (`expand_dims` -> `ExpandDims`,
    `allclose` -> `AllClose`), None when Keras 3 has none."""
    short = function_name.rpartition(".")[2]
    class_name = operation_class_name(short)
    if class_name in _OPERATION_MODULE:
        return class_name
    return _OPERATION_BY_FOLDED_NAME.get(short.replace("_", "").lower())


def _keras_op_split(layer, class_name, args, kwargs):
    """A KerasOpLambda call (`first`, keywords) -> (the operation's config arguments, its
    call's positional arguments) as Keras 3 records them: the constructor's arguments (with
    the function's defaults) go to the config, the others in the function's order to the
    node; trailing defaults are left out. None when Keras 3's operation cannot take them."""
    parameters = inspect.signature(layer.function).parameters
    values = {**kwargs, next(iter(parameters)): args[0]}
    config_names = OPERATION_CONFIG_ARGUMENTS.get(class_name, ())
    if any(name not in parameters for name in config_names):
        return None
    config, positional, defaults = {}, [], []
    for name, parameter in parameters.items():
        given = name in values
        value = values.pop(name, parameter.default)
        if name in config_names:
            config[name] = None if value is inspect.Parameter.empty else value
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            positional += list(value) if given else []
        elif parameter.kind is not inspect.Parameter.VAR_KEYWORD:
            if value is inspect.Parameter.empty:
                return None
            positional.append(value)
            defaults.append(not given or _same(value, parameter.default))
    while defaults and defaults[-1] and len(positional) > 1:
        positional.pop()
        defaults.pop()
    return None if values else (config, positional)


def _same(value, default):
    try:
        return bool(value == default) and type(value) is type(default)
    except (TypeError, ValueError):
        return False


def _getitem_key(spec):
    """tf.keras' slice spec -> Keras 3's GetItem key (`__slice__` / `__ellipsis__` objects)."""
    if isinstance(spec, list):
        return [_getitem_key(item) for item in spec]
    if isinstance(spec, dict) and spec.get("class_name") == "__ellipsis__":
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(spec, dict):
        return {"class_name": "__slice__",
                "config": {key: spec.get(key) for key in ("start", "stop", "step")}}
    return spec


def _operation_arguments(layer, args, kwargs):
    """A TFOpLambda, KerasOpLambda or SlicingOpLambda call -> the Keras 3 operation's
    positional arguments and keywords."""
    kind = type(layer).__name__
    if kind == "SlicingOpLambda":
        spec = kwargs.get("slice_spec", args[1] if len(args) > 1 else None)
        key = _getitem_key(spec)
        return [args[0], key], {}
    if kind == "KerasOpLambda":
        class_name = keras3_operation_class(layer.symbol)
        return _keras_op_split(layer, class_name, args, kwargs)[1], {}
    kwargs = {key: value for key, value in kwargs.items() if key != "name"}
    second = kwargs.pop("b" if layer.symbol == "linalg.matmul" else "y", None)
    operands = list(args[:1]) + ([] if layer.symbol in ("math.negative", "math.abs")
                                 else [second])
    return operands + list(args[1:]), kwargs


def snake_case(name):
    """Keras 3 `naming.to_snake_case`: `TrueDivide` -> `true_divide`."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _operation_as_tf_op(entry):
    """A Keras 3 operation node -> the tf.keras TFOpLambda entry: the first argument is the
    tensor, the second the `y` (or matmul's `b`) keyword of the call; a reduction's `axis` and
    `keepdims` (kept in the operation's config by Keras 3) become keywords of the call."""
    name = entry.get("name") or entry["config"].get("name")
    if entry["class_name"] in _MASK_OPERATIONS:
        symbol, arguments = _MASK_OPERATIONS[entry["class_name"]]
        fixed = {key: entry["config"].get(key) for key in arguments}
        nodes = [{"args": list(node.get("args", [])),
                  "kwargs": {**fixed, **dict(node.get("kwargs", {}))}}
                 for node in entry.get("inbound_nodes", [])]
        return {"class_name": "TFOpLambda", "name": name, "inbound_nodes": nodes,
                "config": {"name": name, "trainable": True, "dtype": "float32",
                           "function": symbol}}
    symbol = _KERAS3_OPERATIONS[entry["class_name"]]
    fixed = {key: entry["config"][key] for key in _REDUCTION_ARGUMENTS
             if key in entry["config"]} if symbol.startswith("math.reduce_") else {}
    nodes = []
    for node in entry.get("inbound_nodes", []):
        args, kwargs = list(node.get("args", [])), dict(node.get("kwargs", {}))
        if len(args) > 1:
            kwargs["b" if symbol == "linalg.matmul" else "y"] = args[1]
        # tf.keras records the `name` argument (None) of a binary op's call
        named = {} if symbol in ("math.negative", "math.abs") else {"name": None}
        nodes.append({"args": args[:1], "kwargs": {**fixed, **kwargs, **named}})
    config = {"name": name, "trainable": True, "dtype": "float32", "function": symbol}
    if any(len(_tensor_dtypes(node)) > 1 for node in entry.get("inbound_nodes", [])):
        config["_keras3_promotes_dtypes"] = True     # `float * int`: Keras 3 promotes
    return {"class_name": "TFOpLambda", "name": name, "inbound_nodes": nodes, "config": config}


def _tensor_dtypes(node):
    """The dtypes of the tensors a Keras 3 node's call received (as its config records them)."""
    arguments = list(node.get("args", [])) + list(dict(node.get("kwargs", {})).values())
    return {argument["config"].get("dtype") for argument in arguments
            if isinstance(argument, dict) and argument.get("class_name") == "__keras_tensor__"}


def _operation_as_keras_op(entry):
    """Any other Keras 3 operation node (`keras.ops.exp(x)` in a functional model) -> the
    KerasOpLambda entry of its `keras.ops` function, its config's arguments (`axis`,
    `keepdims`, ...) joined to the call's."""
    class_name = entry["class_name"]
    function = keras_op_for_operation(class_name)
    if function is None:
        raise ValueError(f"Unknown Keras 3 operation {class_name!r} (module "
                         f"{entry.get('module')!r}): no `keras.ops` function computes it.")
    config = dict(entry.get("config", {}))
    name = entry.get("name") or config.get("name")
    config.pop("name", None)
    nodes = []
    for node in entry.get("inbound_nodes", []):
        first, kwargs = keras3_operation_arguments(function, node.get("args", []),
                                                   dict(node.get("kwargs", {})), config)
        nodes.append({"args": [first], "kwargs": kwargs})
    return {"class_name": "KerasOpLambda", "name": name, "inbound_nodes": nodes,
            "config": {"name": name, "trainable": True, "dtype": "float32",
                       "function": function}}


def _get_item_as_slicing_op(entry):
    """Keras 3's `GetItem` node (`x[:, :3]`, the key with `__slice__` entries) -> tf.keras'
    SlicingOpLambda entry (`slice_spec` with `{"start", "stop", "step"}` slices)."""
    def spec(item):
        if isinstance(item, dict) and item.get("class_name") == "__slice__":
            return {key: item["config"].get(key) for key in ("start", "stop", "step")}
        if isinstance(item, dict) and item.get("class_name") == "__ellipsis__":
            return {"class_name": "__ellipsis__"}
        if isinstance(item, list):
            return [spec(i) for i in item]
        return item
    name = entry.get("name") or entry["config"].get("name")
    nodes = [{"args": list(node.get("args", []))[:1],
              "kwargs": {"slice_spec": spec(list(node.get("args", []))[1])}}
             for node in entry.get("inbound_nodes", [])]
    return {"class_name": "SlicingOpLambda", "name": name, "inbound_nodes": nodes,
            "config": {"name": name, "trainable": True, "dtype": "float32",
                       "function": "__operators__.getitem"}}


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
    if str(obj.get("module", "")).startswith("keras.src.ops") and "class_name" in obj:
        if obj["class_name"] in _KERAS3_OPERATIONS or obj["class_name"] in _MASK_OPERATIONS:
            obj = _operation_as_tf_op(obj)
        elif obj["class_name"] == "GetItem":
            obj = _get_item_as_slicing_op(obj)
        else:
            obj = _operation_as_keras_op(obj)
    result = {key: normalize(value, where) for key, value in obj.items()}
    if "class_name" in result and isinstance(result.get("config"), dict):
        inner = result["config"]
        _strip_keras3_keys(inner, f"{result['class_name']} '{inner.get('name', '')}'")
        _strip_keras3_class_keys(result["class_name"], inner,
                                 f"{result['class_name']} '{inner.get('name', '')}'")
        for keras3_name, keras2_name in _KERAS3_RENAMED.get(result["class_name"], {}).items():
            if keras3_name in inner:
                inner[keras2_name] = inner.pop(keras3_name)
        if result["class_name"] in ("StringLookup", "IntegerLookup"):
            _lookup_dtype_v2(result["class_name"], inner)
        if result["class_name"] == "InputLayer" and "batch_shape" in inner:
            inner["batch_input_shape"] = inner.pop("batch_shape")
        if result["class_name"] == "Sequential" and isinstance(inner.get("layers"), list):
            inner["layers"] = serialization.with_first_layer_input_shape(inner["layers"])
        if "inbound_nodes" in result:
            keep_structure = result["class_name"] in ("TFOpLambda", "SlicingOpLambda",
                                                      "KerasOpLambda")
            result["inbound_nodes"] = [_tf_op_node_v2(node) if keep_structure
                                       else _node_v2(node, result["class_name"])
                                       for node in result["inbound_nodes"]]
    return result


def _lookup_dtype_v2(class_name, config):
    """Keras 3 writes its float policy as a lookup layer's dtype whatever it outputs (int64
    indices; strings or ints when inverted); tf.keras' dtype is the output's."""
    dtype = config.get("dtype")
    if not (isinstance(dtype, str) and dtype.startswith(("float", "bfloat"))):
        return
    if config.get("invert"):
        config["dtype"] = "string" if class_name == "StringLookup" else "int64"
    elif config.get("output_mode", "int") == "int":
        config["dtype"] = "int64"


def _node_v2(node, class_name=None):
    """`{"args": [...], "kwargs": {...}}` -> `[[name, node, tensor, kwargs], ...]`; positional
    arguments after the first join the kwargs under the layer's parameter names (as tf.keras
    writes `MultiHeadAttention(q, v)`: `{"value": [...]}`)."""
    if not isinstance(node, dict):
        return node
    args, kwargs = node.get("args", []), dict(node.get("kwargs", {}))
    # Keras 3 records the `training` a layer was called with when the model was built and
    # uses it when the model itself is called without one (`model(x)`), while the model's own
    # `training` overrides it (predict: False); tf.keras would let a recorded value always
    # win. It is kept aside as the node's `keras3_training` (`serialization.KERAS3_TRAINING`).
    training = kwargs.pop("training", None)
    if isinstance(training, bool):
        kwargs[serialization.KERAS3_TRAINING] = training
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
    """The names of a layer's `call` parameters after its first input: a built-in layer, or a
    custom one from `custom_objects` or the registry (keras.io's `LogisticEndpoint(logits,
    targets, sample_weight)` is saved with three positional arguments)."""
    cls = builtin_objects("layers").get(class_name)
    if not isinstance(cls, type):
        cls = get_registered_object(class_name)
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
    if isinstance(first, list) and first and all(serialization._is_ref(r) for r in first):
        return [ref[:3] + [kwargs] for ref in first]     # a list of tensors (`tf.concat`)
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


def _has_keras3_nodes(entry):
    """Whether a model config describes calls as Keras 3 does (`{"args", "kwargs"}` nodes)."""
    if isinstance(entry, dict):
        nodes = entry.get("inbound_nodes")
        if isinstance(nodes, list) and any(isinstance(node, dict) for node in nodes):
            return True
        return any(_has_keras3_nodes(value) for value in entry.values())
    if isinstance(entry, list):
        return any(_has_keras3_nodes(item) for item in entry)
    return False


def is_keras3_model_config(config):
    """Whether a model config is Keras 3's (`model.to_json()` of Keras 3): calls as
    `{"args", "kwargs"}` nodes, or dtypes as `DTypePolicy` objects (a Sequential has no nodes);
    tf.keras 2 writes neither."""
    return _has_keras3_nodes(config) or _has_dtype_policy(config)


def _has_dtype_policy(entry):
    if isinstance(entry, dict):
        if entry.get("class_name") == "DTypePolicy":
            return True
        return any(_has_dtype_policy(value) for value in entry.values())
    if isinstance(entry, list):
        return any(_has_dtype_policy(item) for item in entry)
    return False


def _is_model_entry(entry):
    return isinstance(entry, dict) and isinstance(entry.get("config"), dict) and \
        isinstance(entry["config"].get("layers"), list)


def _count_nested_model_calls_from_one(entry):
    """Keras 3 numbers the calls of a nested model from 0, tf.keras (and minikeras' configs)
    from 1: shift the references to nested models, at every level of nesting."""
    if not _is_model_entry(entry):
        return
    config = entry["config"]
    offsets = {layer.get("name") or layer["config"].get("name"): 1
               for layer in config["layers"] if _is_model_entry(layer)}
    for layer in config["layers"]:
        _count_nested_model_calls_from_one(layer)
        if offsets and "inbound_nodes" in layer:
            layer["inbound_nodes"] = _shift_refs(layer["inbound_nodes"], offsets, 1)
    if offsets and "output_layers" in config:
        config["output_layers"] = _shift_refs(config["output_layers"], offsets, 1)


def _is_operation(entry):
    return str(entry.get("module", "")).startswith("keras.src.ops")


def _layer_names_used(structure, found):
    """The layer names of every `__keras_tensor__` / `[name, node, tensor]` reference."""
    if isinstance(structure, dict):
        if structure.get("class_name") == "__keras_tensor__":
            found.add(structure["config"]["keras_history"][0])
            return found
        for value in structure.values():
            _layer_names_used(value, found)
    elif isinstance(structure, list):
        if serialization._is_ref(structure):
            found.add(structure[0])
        for value in structure:
            _layer_names_used(value, found)
    return found


def _drop_dead_operations(config):
    """Keras 3 records the operations a layer's `compute_mask` ran on symbolic tensors (a
    Concatenate of masked inputs: ConvertToTensor, ExpandDims, ZerosLike, LogicalOr, Any) as
    nodes that lead to no output. Drop every operation nothing reads (nested models too):
    a reloaded model computes its masks itself, as Keras 3's does."""
    inner = config.get("config")
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        return config
    layers = [_drop_dead_operations(entry) for entry in inner["layers"]]
    while True:
        used = _layer_names_used(inner.get("output_layers"), set())
        for entry in layers:
            _layer_names_used(entry.get("inbound_nodes", []), used)
        kept = [entry for entry in layers if not _is_operation(entry) or
                (entry.get("name") or entry["config"].get("name")) in used]
        if len(kept) == len(layers):
            break
        layers = kept
    return {**config, "config": {**inner, "layers": layers}}


# --- hard_sigmoid: Keras 2's clip(0.2 x + 0.5, 0, 1), Keras 3's relu6(x + 3) / 6 -----------------
KERAS3_HARD_SIGMOID = "keras3_hard_sigmoid"     # minikeras' name of Keras 3's function


def hard_sigmoid_is_keras3(metadata):
    """Whether 'hard_sigmoid' in a `.keras` file's configs is Keras 3's: files written by
    Keras 3 (`keras_version` 3.x), or by minikeras for a model using Keras 3's function
    (metadata `"hard_sigmoid": "keras3"`); tf_keras 2.x files and minikeras' other files mean
    Keras 2's."""
    if not isinstance(metadata, dict):
        return False
    if metadata.get("hard_sigmoid") == "keras3":
        return True
    major = str(metadata.get("keras_version", "")).split(".")[0]
    return major.isdigit() and int(major) >= 3


def _map_activations(tree, mapping):
    """Rename activations (values of `*activation` keys, strings or `{"config": name}`
    dicts) throughout a config tree; returns the new tree and the names met."""
    met = set()

    def visit(node):
        if isinstance(node, list):
            return [visit(item) for item in node]
        if not isinstance(node, dict):
            return node
        result = {}
        for key, value in node.items():
            if isinstance(key, str) and key.endswith("activation"):
                name = value.get("config") if isinstance(value, dict) else value
                if isinstance(name, str) and name in mapping:
                    met.add(name)
                    value = {**value, "config": mapping[name]} if isinstance(value, dict) \
                        else mapping[name]
            result[key] = visit(value)
        return result
    return visit(tree), met


def read_keras3_hard_sigmoid(config):
    """A Keras 3 file's 'hard_sigmoid' activations as minikeras' `keras3_hard_sigmoid`."""
    return _map_activations(config, {"hard_sigmoid": KERAS3_HARD_SIGMOID})[0]


def write_keras3_hard_sigmoid(config):
    """`keras3_hard_sigmoid` written as Keras 3's 'hard_sigmoid'; returns the config and
    whether any was written. A model using both functions cannot be written: the file has
    one name for them."""
    config, met = _map_activations(config, {KERAS3_HARD_SIGMOID: "hard_sigmoid",
                                            "hard_sigmoid": "hard_sigmoid"})
    if met == {KERAS3_HARD_SIGMOID, "hard_sigmoid"}:
        raise ValueError("This model uses both Keras 2's 'hard_sigmoid' (clip(0.2 x + 0.5, 0, "
                         "1)) and Keras 3's ('keras3_hard_sigmoid', relu6(x + 3) / 6): the "
                         "'.keras' format has one name for both. Save it as '.h5', or use one "
                         "of them.")
    return config, KERAS3_HARD_SIGMOID in met


def deserialize_model(config, custom_objects=None, safe_mode=True, keras3_hard_sigmoid=False):
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        # (without its `config`, a Sequential would come back empty: every weight ignored)
        raise ValueError("The '.keras' file's config.json does not describe a model: expected a "
                         f"dict with a 'class_name' and a 'config', got "
                         f"{type(config).__name__}"
                         f"{' with keys ' + str(sorted(config)) if isinstance(config, dict) else ''}"
                         ".")
    if keras3_hard_sigmoid:
        config = read_keras3_hard_sigmoid(config)
    with custom_object_scope(custom_objects or {}):     # custom layers' call signatures
        entry = normalize(_drop_dead_operations(
            {k: v for k, v in config.items() if k not in ("compile_config", "build_config")}))
    if _has_keras3_nodes(config):     # tf_keras' own .keras files keep tf.keras 2's nodes
        _count_nested_model_calls_from_one(entry)
    model = serialization.deserialize_model(entry, custom_objects, safe_mode=safe_mode)
    build_shape = (config.get("build_config") or {}).get("input_shape")
    if not model.built and build_shape is not None:
        shape = [tuple(s) for s in build_shape] if build_shape and \
            isinstance(build_shape[0], list) else tuple(build_shape)
        model.build(shape)
    return model


def compile_from_config(model, config, custom_objects=None):
    optimizer = config.get("optimizer")
    if isinstance(optimizer, str):
        optimizer = {"class_name": optimizer, "config": {}}
    if optimizer is not None and not isinstance(optimizer, dict):
        # (was: compiled with RMSprop instead, without a word)
        raise TypeError(f"Could not interpret optimizer identifier: {optimizer}")
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
    else:
        serialization.compile_from_training_config(model, training, custom_objects)
    steps_per_execution = config.get("steps_per_execution")
    if isinstance(steps_per_execution, int) and steps_per_execution > 1:
        model._steps_per_execution = steps_per_execution
