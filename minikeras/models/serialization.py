"""Model configs in the tf.keras 2.x format: Sequential, Functional and subclassed models,
`to_json` / `model_from_json`, `clone_model`, and the training config of compiled models.

A functional config lists every layer with its `inbound_nodes`; a node is a list with one
entry per input tensor, `[layer_name, node_index, tensor_index, call_kwargs]`:

    {"name": "model", "trainable": true,
     "layers": [{"class_name": "InputLayer", "config": {...}, "name": "input_1",
                 "inbound_nodes": []},
                {"class_name": "Dense", "config": {...}, "name": "dense",
                 "inbound_nodes": [[["input_1", 0, 0, {}]]]}],
     "input_layers": [["input_1", 0, 0]], "output_layers": [["dense", 0, 0]]}
"""
import contextlib
import copy
import inspect
import json
import threading
import warnings

import numpy as np

from ..core.nest import flatten, map_structure
from ..core.tensor import Tensor
from ..engine.base_layer import AUTO_CONFIG_TYPES
from ..engine.keras_tensor import KerasTensor
from ..core.version import __version__
from ..core.serialization import (UnknownClassError, names_builtin_class, overrides_build_config,
                                  unknown_object_message)
from ..core.registry import (
    _GLOBAL_CUSTOM_NAMES, builtin_objects, custom_object_scope, get_registered_object,
)
from ..layers.core.lambda_layer import Lambda
from ..layers.core.lambda_serialization import trusting_functions_written_here
from ..engine.tf_op_layer import TFOpLambda
from ..layers.core.input_layer import InputLayer
from ..layers.serialization import build_from_config
from .. import losses, metrics, optimizers
from .model_kind import is_functional


# Safe mode (refuse Lambda bytecode) is on unless a scope or `enable_unsafe_deserialization`
# turns it off.
_SAFE_MODE_DEFAULT = [True]


class _SafeMode(threading.local):
    def __init__(self):
        self.value = None

    def current(self):
        return _SAFE_MODE_DEFAULT[0] if self.value is None else self.value


_safe_mode = _SafeMode()


def enable_unsafe_deserialization():
    """Allow Lambda bytecode everywhere from now on (tf.keras'
    `keras.__internal__.enable_unsafe_deserialization`); only for files you trust."""
    _SAFE_MODE_DEFAULT[0] = False


@contextlib.contextmanager
def safe_mode_scope(value):
    """Within the block, safe mode is `value` (None: leave it as it is)."""
    previous = _safe_mode.value
    _safe_mode.value = previous if value is None else bool(value)
    try:
        yield
    finally:
        _safe_mode.value = previous


# --- the model classes ------------------------------------------------------------------------
def _model_class(name):
    """`Model`, `Functional` or `Sequential` from the registry: this config code sits below the
    model classes (their get_config/from_config call it), so it does not import them."""
    return builtin_objects("layers")[name]


# --- naming ---------------------------------------------------------------------------------
def model_class_name(model):
    """`Sequential`, `Functional` (a `Model(inputs, outputs)`), or the registered class name."""
    cls = type(model)
    if cls in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[cls]
    if cls.__name__ == "Model" and is_functional(model):
        return "Functional"
    return cls.__name__


def class_name_of(obj):
    cls = type(obj)
    return _GLOBAL_CUSTOM_NAMES.get(cls, cls.__name__)


class _LegacyEntries(threading.local):
    def __init__(self):
        self.on = False


_legacy_entries = _LegacyEntries()


@contextlib.contextmanager
def legacy_layer_entries():
    """Within this scope model configs list layers in the legacy form `{"class_name",
    "config"}`, the form tf.keras writes into `.h5` files."""
    previous = _legacy_entries.on
    _legacy_entries.on = True
    try:
        yield
    finally:
        _legacy_entries.on = previous


# tf.keras' own (non-exported) module of its op layers, written in configs
_TF_OP_LAYER_MODULE = "tf_keras.src.layers.core.tf_op_layer"


def _module_and_registered_name(layer):
    """tf.keras 2.13+: exported Keras classes give their public module and no registered name;
    any other class its Python module and its registered name (`Custom>Name`, or the class
    name when unregistered)."""
    cls = type(layer)
    Model = _model_class("Model")
    module = None if cls.__module__ == "__main__" else cls.__module__    # a script's class
    if cls in _GLOBAL_CUSTOM_NAMES:
        return module, _GLOBAL_CUSTOM_NAMES[cls]
    if isinstance(layer, TFOpLambda):
        return _TF_OP_LAYER_MODULE, cls.__name__
    builtin = builtin_objects("layers").get(cls.__name__) is cls
    if builtin and isinstance(layer, Model):
        return "keras", None
    if builtin:
        return "keras.layers", None
    return module, cls.__name__


def _build_config(layer):
    if isinstance(layer, InputLayer) or not getattr(layer, "built", False):
        return None
    if overrides_build_config(layer):
        config = layer.get_build_config()
        return None if config is None else json.loads(json.dumps(config, default=json_default))
    shape = getattr(layer, "_build_input_shape", None)
    if shape is None:
        return None
    return {"input_shape": json.loads(json.dumps(shape, default=json_default))}


def serialize_layer(layer):
    """tf.keras 2.13+'s entry `{"module", "class_name", "config", "registered_name",
    "build_config"}`; `{"class_name", "config"}` inside `legacy_layer_entries()` (`.h5`)."""
    Model = _model_class("Model")
    class_name = model_class_name(layer) if isinstance(layer, Model) else class_name_of(layer)
    if _legacy_entries.on:
        return {"class_name": class_name, "config": layer.get_config()}
    module, registered_name = _module_and_registered_name(layer)
    if isinstance(layer, Model) and registered_name is None:
        class_name = type(layer).__name__ if class_name != "Functional" else class_name
    entry = {"module": module, "class_name": class_name, "config": layer.get_config(),
             "registered_name": registered_name}
    build_config = _build_config(layer)
    if build_config is not None:
        entry["build_config"] = build_config
    return entry


# --- looking classes up -------------------------------------------------------------------------
def _builtin_layer_classes():
    """Layer classes by name: `keras.layers`, TFOpLambda and the model classes (all registered)."""
    return {name: obj for name, obj in builtin_objects("layers").items() if isinstance(obj, type)}


def lookup_class(class_name, custom_objects=None, registered_name=None, kind="layer",
                 new_format=False, module=None):
    """The class a config entry names. Unknown: tf.keras 2.13+'s TypeError for an entry of
    its current form (with "module": `.keras` files, `to_json`, `get_config`), its legacy
    ValueError otherwise (`.h5` files, older JSON)."""
    if names_builtin_class(module, registered_name) and class_name in _builtin_layer_classes():
        return _builtin_layer_classes()[class_name]
    for name in (registered_name, class_name):
        if not name:
            continue
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        found = get_registered_object(name, custom_objects)
        if found is not None:
            return found
    builtin = _builtin_layer_classes().get(class_name)
    if builtin is not None:
        return builtin
    if new_format:
        raise UnknownClassError(
            f"Cannot deserialize object of type `{class_name}`. If `{class_name}` is a custom "
            "class, please register it using the "
            "`@keras.saving.register_keras_serializable()` decorator.")
    raise ValueError(unknown_object_message(kind, class_name))


def deserialize_layer(config, custom_objects=None):
    """A layer (or model) from `{"class_name": ..., "config": ...}`."""
    Model = _model_class("Model")
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Improper config format for a layer: {config!r}. Expecting a dict with "
                         "'class_name' and 'config' keys.")
    class_name = config["class_name"]
    cls = lookup_class(class_name, custom_objects, config.get("registered_name"),
                       new_format="module" in config, module=config.get("module"))
    layer_config = config.get("config", {})
    with custom_object_scope(custom_objects or {}):
        if isinstance(cls, type) and issubclass(cls, Model):
            if class_name in ("Functional", "Model") or _is_functional_config(layer_config):
                return functional_from_config(layer_config, custom_objects, cls=cls)
            if hasattr(cls, "from_config") and "custom_objects" in \
                    inspect.signature(cls.from_config).parameters:
                return cls.from_config(layer_config, custom_objects=custom_objects)
            return _subclassed_from_config(cls, layer_config)
        if isinstance(cls, type) and issubclass(cls, Lambda):
            return cls.from_config(layer_config, custom_objects=custom_objects,
                                   safe_mode=_safe_mode.current())
        if not hasattr(cls, "from_config"):
            raise TypeError(f"{class_name} has no `from_config` method: it cannot be deserialized.")
        layer = cls.from_config(layer_config)
    if overrides_build_config(layer, "build_from_config"):
        # a user's layer restoring its own state: tf.keras hands it the saved build config
        # before the layer is called
        build_from_config(layer, config.get("build_config"))
    return layer


def _is_functional_config(config):
    return isinstance(config, dict) and "layers" in config and "input_layers" in config \
        and "output_layers" in config


# --- Sequential ---------------------------------------------------------------------------------
def sequential_config(model):
    layer_configs = []
    if model._input_layer is not None:
        layer_configs.append(serialize_layer(model._input_layer))
    layer_configs += [serialize_layer(layer) for layer in model.layers]
    config = {"name": model.name, "layers": copy.deepcopy(layer_configs)}
    if model._input_layer is None and getattr(model, "_build_input_shape", None) is not None:
        config["build_input_shape"] = list(model._build_input_shape)
    return config


def sequential_from_config(cls, config, custom_objects=None):
    """A Sequential model: its layers (an InputLayer first, if any) added in order."""
    if isinstance(config, list):          # Keras 1 style: a bare list of layers
        config = {"layers": config}
    if not isinstance(config, dict) or (config and not isinstance(config.get("layers"), list)):
        # (an empty one is an empty model, as in tf.keras); Keras 3's words
        raise ValueError("A Sequential model configuration must be a dictionary containing the "
                         f"'name' and 'layers' keys. Received: config={config}")
    name = config.get("name")
    model = cls(name=name) if name else cls()
    for layer_config in config.get("layers", []):
        model.add(deserialize_layer(layer_config, custom_objects))
    build_shape = config.get("build_input_shape")
    if not model.built and build_shape is not None and model._input_layer is None:
        model.build(tuple(build_shape))
    if config.get("trainable") is False:
        model.trainable = False
    return model


def with_first_layer_input_shape(layer_configs):
    """Keras 3 files drop `batch_input_shape` from the layer that created the model's input
    (`Dense(2, input_shape=(3,))`); its automatic InputLayer, named `<layer>_input`, still holds
    the shape. Give it back, so the config reads as tf.keras' own after a `.keras` round trip
    (a best guess: `Sequential.build()` names its InputLayer the same way)."""
    if len(layer_configs) < 2 or layer_configs[0].get("class_name") != "InputLayer":
        return layer_configs
    input_config, first = layer_configs[0].get("config", {}), layer_configs[1]
    inner = first.get("config")
    if not isinstance(inner, dict) or "batch_input_shape" in inner or \
            input_config.get("name") != f"{inner.get('name')}_input" or \
            input_config.get("batch_input_shape") is None:
        return layer_configs
    first = dict(first, config=dict(inner, batch_input_shape=tuple(
        input_config["batch_input_shape"])))
    return [layer_configs[0], first] + list(layer_configs[2:])


# --- Functional ---------------------------------------------------------------------------------
def _node_offset(layer):
    """tf.keras gives every functional model (Sequential included) a node of its own, linking
    its inputs to its outputs, before any call: configs count a nested model's calls from 1.
    minikeras keeps no such node, hence this offset."""
    Functional = _model_class("Functional")
    return 1 if isinstance(layer, Functional) else 0


def _kept_node_indices(model):
    """For each layer, map its inbound node index -> index among the nodes of this model."""
    model_nodes = {id(node) for node in model._nodes_in_order}
    conversion = {}
    for layer in model.layers:
        kept = _node_offset(layer)
        for index, node in enumerate(layer._inbound_nodes):
            if id(node) in model_nodes:
                conversion[(id(layer), index)] = kept
                kept += 1
    return conversion


def _tensor_ref(tensor, conversion):
    layer, node_index, tensor_index = tensor._keras_history
    return [layer.name, conversion.get((id(layer), node_index), _node_offset(layer)), tensor_index]


def _json_arg(value, conversion):

    def convert(item):
        if isinstance(item, KerasTensor):
            return _tensor_ref(item, conversion)
        if isinstance(item, np.ndarray):
            return item.tolist()
        if isinstance(item, np.generic):
            return item.item()
        if type(item) is Tensor:      # tf.keras writes an eager tensor's values (not a variable)
            return np.asarray(item.data).tolist()
        return item
    return map_structure(convert, value)


def _serialize_node(node, conversion):
    """tf.keras' Node.serialize: one `[name, node, tensor, kwargs]` per tensor of the first
    argument; other positional arguments join the kwargs by their parameter name."""
    args, kwargs = list(node.call_args), dict(node.call_kwargs)
    first = args[0] if args else kwargs.pop("inputs", None)
    if len(args) > 1:
        names = [p for p in inspect.signature(node.layer.call).parameters][1:]
        kwargs = {**dict(zip(names, args[1:])), **kwargs}
    kwargs = _json_arg(kwargs, conversion)
    try:
        json.dumps(kwargs)
    except TypeError:
        raise TypeError(f"Layer {node.layer.name} was passed non-JSON-serializable arguments. "
                        f"Arguments had types: {kwargs}. They cannot be serialized out when "
                        "saving the model.") from None
    if _preserves_input_structure(node.layer):
        return _first_arg_entries(first, kwargs, conversion)
    return [_tensor_ref(t, conversion) + [kwargs] for t in flatten(first)
            if isinstance(t, KerasTensor)]


# tf.keras writes a constant first argument of a TFOpLambda call (the `2` of `2 - x`) as
# `["_CONSTANT_VALUE", -1, value, kwargs]`.
_CONSTANT_VALUE = "_CONSTANT_VALUE"


def _preserves_input_structure(layer):
    """tf.keras' TFOpLambda keeps the structure of its first argument in configs: a single
    tensor is written as a bare `[name, node, tensor, kwargs]` entry, not a list of them."""
    return isinstance(layer, TFOpLambda)


def _first_arg_entries(first, kwargs, conversion):

    def entry(item):
        if isinstance(item, KerasTensor):
            return _tensor_ref(item, conversion) + [kwargs]
        return [_CONSTANT_VALUE, -1, _json_arg(item, conversion), kwargs]
    return map_structure(entry, first)


def _structure_refs(structure, tensors, conversion):
    refs = [_tensor_ref(t, conversion) for t in tensors]
    if isinstance(structure, dict):
        return {key: _tensor_ref(value, conversion) for key, value in structure.items()}
    return refs


def functional_config(model, serialize=None):
    serialize = serialize or serialize_layer
    conversion = _kept_node_indices(model)
    model_nodes = {id(node) for node in model._nodes_in_order}
    layer_configs = []
    for layer in model.layers:
        inbound = [_serialize_node(node, conversion) for node in layer._inbound_nodes
                   if id(node) in model_nodes and not node.is_input]
        entry = serialize(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = inbound
        layer_configs.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": layer_configs,
            "input_layers": _structure_refs(model._nested_inputs, model.inputs, conversion),
            "output_layers": _structure_refs(model._nested_outputs, model.outputs, conversion)}


def _refs_list(refs):
    """`[name, node, tensor]` or a list/dict of them -> list of refs (and the dict keys)."""
    if isinstance(refs, dict):
        return list(refs.values()), list(refs.keys())
    if len(refs) == 3 and isinstance(refs[0], str) and isinstance(refs[1], int):
        return [refs], None
    return list(refs), None


def functional_from_config(config, custom_objects=None, cls=None, make_layer=None):
    """Rebuild the layer graph: create every layer, then replay its calls in order, deferring a
    call until the tensors it consumes exist."""
    Functional = _model_class("Functional")
    Model = _model_class("Model")
    created, pending = {}, []
    for layer_data in config["layers"]:
        layer = make_layer(layer_data) if make_layer else deserialize_layer(layer_data,
                                                                            custom_objects)
        created[layer_data.get("name", layer.name)] = layer
        pending.append((layer, list(layer_data.get("inbound_nodes", []))))

    def tensor_for(ref):
        name, node_index, tensor_index = ref[0], ref[1], ref[2]
        layer = created.get(name)
        if layer is None:
            raise ValueError(f"Unknown layer '{name}' referenced in the model config.")
        node_index -= _node_offset(layer)
        if node_index >= len(layer._inbound_nodes):
            return None
        return layer._inbound_nodes[node_index].output_tensors[tensor_index]

    progress = True
    while progress and any(nodes for _, nodes in pending):
        progress = False
        for layer, nodes in pending:
            while nodes:
                refs = _node_refs(nodes[0])
                tensors = [tensor_for(ref) for ref in refs if ref[0] != _CONSTANT_VALUE]
                if any(t is None for t in tensors):
                    break
                kwargs = {}
                if refs and len(refs[0]) > 3 and isinstance(refs[0][3], dict):
                    kwargs = _resolve_kwargs(refs[0][3], tensor_for)
                    if _has_unresolved_ref(kwargs):
                        break
                keras3_training = kwargs.pop(KERAS3_TRAINING, None)
                if _preserves_input_structure(layer):
                    inputs = _rebuild_first_arg(nodes[0], tensor_for)
                else:
                    inputs = tensors[0] if len(tensors) == 1 else tensors
                layer(inputs, **kwargs)
                if keras3_training is not None:
                    layer._inbound_nodes[-1].keras3_training = keras3_training
                nodes.pop(0)
                progress = True
    if any(nodes for _, nodes in pending):
        stuck = [layer.name for layer, nodes in pending if nodes]
        raise ValueError(f"Cannot rebuild the model graph from its config: the inputs of layers "
                         f"{stuck} are never produced.")
    input_refs, input_keys = _refs_list(config["input_layers"])
    output_refs, output_keys = _refs_list(config["output_layers"])
    inputs = [tensor_for(ref) for ref in input_refs]
    outputs = [tensor_for(ref) for ref in output_refs]
    if input_keys is not None:
        inputs = dict(zip(input_keys, inputs))
    elif len(inputs) == 1 and _is_single_ref(config["input_layers"]):
        inputs = inputs[0]
    if output_keys is not None:
        outputs = dict(zip(output_keys, outputs))
    elif len(outputs) == 1 and _is_single_ref(config["output_layers"]):
        outputs = outputs[0]
    name = config.get("name")
    if cls is None or cls in (Model, Functional):
        model = Functional(inputs, outputs, name=name)
    else:
        model = cls(inputs=inputs, outputs=outputs, name=name)
    if hasattr(model, "_connect_ancillary_layers"):
        model._connect_ancillary_layers(list(created.values()))
    if config.get("trainable") is False:
        model.trainable = False
    return model


# A Keras 3 node's recorded `training` in the converted config's call kwargs (see
# saving/keras3_config.py): taken off before the call and kept on the node, which the model
# applies only when it is called without a `training` of its own, as Keras 3 does.
KERAS3_TRAINING = "_keras3_training"


def _is_ref(value):
    return isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str) and \
        isinstance(value[1], int) and isinstance(value[2], int)


def _node_refs(node_data):
    """The `[name, node, tensor, kwargs]` entries of one node: usually a list of them, but
    layers that keep their input structure (tf.keras' TFOpLambda) store a bare entry or
    nested lists."""
    if isinstance(node_data, dict):
        node_data = node_data.get("args", [])
    if _is_ref(node_data) or (isinstance(node_data, list) and node_data
                              and node_data[0] == _CONSTANT_VALUE):
        return [node_data]
    refs = []
    for item in node_data:
        refs.extend(_node_refs(item) if isinstance(item, (list, dict)) else [])
    return refs


def _has_unresolved_ref(kwargs):
    """A kwarg (or an item of a list kwarg, e.g. `initial_state=[h]`) still
    `[name, node, tensor]`: its tensor is not produced yet (call later)."""
    def unresolved(value):
        if _is_ref(value):
            return len(value) == 3
        return isinstance(value, (list, tuple)) and any(unresolved(item) for item in value)
    return any(unresolved(value) for value in kwargs.values())


def _rebuild_first_arg(node_data, tensor_for):
    """The first argument of a structure-preserving (TFOpLambda) call from its entries."""
    if _is_ref(node_data) or (isinstance(node_data, list) and node_data
                              and node_data[0] == _CONSTANT_VALUE):
        if node_data[0] == _CONSTANT_VALUE:
            return node_data[2]
        return tensor_for(node_data)
    return [_rebuild_first_arg(item, tensor_for) for item in node_data]


def _is_single_ref(refs):
    return isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str)


def _resolve_kwargs(kwargs, tensor_for):
    """Call kwargs may reference tensors as `[name, node, tensor]` (a mask), or hold lists of
    such references (Keras 3 writes `initial_state=[h, c]` so), also beside constants
    (`tf.reshape(x, [K.shape(x)[0], 12])` stores `shape=[[name, node, tensor], 12]`)."""
    def resolve(value):
        if _is_ref(value) and len(value) == 3 and isinstance(value[2], int):
            found = tensor_for(value)
            return value if found is None else found
        if isinstance(value, list) and any(_is_ref(item) and len(item) == 3 for item in value):
            return [resolve(item) for item in value]
        return value
    return {key: resolve(value) for key, value in kwargs.items()}


# --- subclassed models --------------------------------------------------------------------------
def subclassed_model_config(model, overridden=False):
    """tf.keras 2.21's `Model.get_config` of a subclassed model: `{}` as the base of a
    subclass' own `get_config` (`overridden`); otherwise the name, trainable and dtype keys
    (only when `__init__` takes `**kwargs`) and the arguments `__init__` was called with, or
    `{}` with a warning when one is not a str, int, float, bool or None."""
    if overridden:
        return {}
    config = {"name": model.name, "trainable": model.trainable, "dtype": model.dtype}
    args, kwargs = getattr(model, "_init_call_args", ((), {}))
    spec = inspect.getfullargspec(type(model).__init__)
    init_kwargs = dict(kwargs)
    init_kwargs.update(zip(spec.args[1:len(args) + 1], args))
    if not all(isinstance(value, AUTO_CONFIG_TYPES) for value in flatten(init_kwargs)):
        warnings.warn("Model's `__init__()` arguments contain non-serializable objects. Please "
                      "implement a `get_config()` method in the subclassed Model for proper "
                      "saving and loading. Defaulting to empty config.", stacklevel=3)
        return {}
    base_keys = set(config)
    config.update(init_kwargs)
    if spec.varkw != "kwargs":
        for key in base_keys - set(spec.args[1:]):
            config.pop(key, None)
    return config


def _subclassed_from_config(cls, config):
    try:
        return cls.from_config(config)
    except TypeError as error:
        slim = {k: v for k, v in config.items() if k not in ("name", "trainable")}
        try:
            return cls(**slim)
        except TypeError:
            raise TypeError(f"Unable to revive model {cls.__name__} from config: {error}. "
                            "Implement `get_config()` and `from_config()` in the subclass.") \
                from None


# --- JSON -----------------------------------------------------------------------------------------
def json_default(obj):
    """`json.dumps(default=...)` for what model configs hold: NumPy values, sets, bytes, objects
    with a config and named functions."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Tensor):   # a variable a symbolic op reads (`v + x`): tf.keras writes its value
        return obj.numpy().tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf8")
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    if callable(obj) and hasattr(obj, "__name__"):
        return obj.__name__
    raise TypeError(f"Unable to serialize {obj!r} to JSON. Unrecognized type {type(obj)}.")


def model_to_json(model, **kwargs):
    payload = {"class_name": model_class_name(model), "config": model.get_config(),
               "keras_version": str(__version__), "backend": "numpy"}
    return json.dumps(payload, default=json_default, **kwargs)


def deserialize_model(config, custom_objects=None, safe_mode=True):
    """A model from `{"class_name", "config"}` (tf.keras format)."""
    Model = _model_class("Model")
    with safe_mode_scope(safe_mode):
        model = deserialize_layer(config, custom_objects)
    if not isinstance(model, Model):
        raise ValueError(f"The config describes a {type(model).__name__}, not a model.")
    return model


def model_from_json(json_string, custom_objects=None, safe_mode=None):
    """The model of `model.to_json()`. Lambda bytecode is refused unless safe mode is off
    (`safe_mode=False`, a `safe_mode_scope(False)` or `enable_unsafe_deserialization()`)."""
    try:
        config = json.loads(json_string)
    except (TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"`model_from_json` expects a JSON string: {error}") from None
    except RecursionError:
        raise ValueError("`model_from_json`: the JSON string is nested too deeply to be a Keras "
                         "model config.") from None
    try:
        return deserialize_model(config, custom_objects, safe_mode=safe_mode)
    except RecursionError:
        raise ValueError("`model_from_json`: the model config is nested too deeply.") from None


def model_from_config(config, custom_objects=None):
    if isinstance(config, list):
        raise TypeError("`model_from_config` expects a dictionary, not a list. Received: "
                        f"config={config}. Did you meant to use `Sequential.from_config(config)`?")
    return deserialize_model(config, custom_objects)


# --- clone_model --------------------------------------------------------------------------------
def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialised weights. A Lambda's
    function is this model's own, so its bytecode round trip is no safe-mode matter (as in
    tf.keras, whose `clone_model` never refuses one)."""
    with trusting_functions_written_here():
        return _clone_model(model, input_tensors, clone_function)


def _clone_model(model, input_tensors, clone_function):
    Sequential = _model_class("Sequential")
    clone_function = clone_function or (lambda layer: type(layer).from_config(layer.get_config()))
    if isinstance(model, Sequential):
        layers = [clone_function(layer) for layer in model.layers]
        if input_tensors is not None:
            tensor = input_tensors[0] if isinstance(input_tensors, (list, tuple)) else input_tensors
            clone = Sequential(name=model.name)
            clone.add(tensor._keras_history[0])
            for layer in layers:
                clone.add(layer)
            return clone
        start = []
        if model._input_layer is not None:
            start = [InputLayer.from_config(model._input_layer.get_config())]
        return Sequential(start + layers, name=model.name)
    if not is_functional(model):
        raise ValueError("Expected `model` argument to be a functional `Model` instance, but got "
                         f"a subclassed model instead: {model}")
    return _clone_functional(model, input_tensors, clone_function)


def _clone_functional(model, input_tensors, clone_function):
    new_layers = {}
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            new_layers[layer.name] = InputLayer.from_config(layer.get_config())
        else:
            new_layers[layer.name] = clone_function(layer)
    if input_tensors is not None:
        given = input_tensors if isinstance(input_tensors, (list, tuple)) else [input_tensors]
        for layer, tensor in zip(model._input_layers, given):
            new_layers[layer.name] = tensor._keras_history[0]
    graph = functional_config(model, serialize=lambda layer: {"class_name": None})
    return functional_from_config(graph, make_layer=lambda entry: new_layers[entry["name"]])


# --- training config ------------------------------------------------------------------------------
def _serialize_compile_value(value):
    """Strings stay strings; functions become their names; objects their configs."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: _serialize_compile_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_compile_value(v) for v in value]
    if isinstance(value, losses.Loss):
        return losses.serialize(value)
    if isinstance(value, metrics.Metric):
        return metrics.serialize(value)
    if hasattr(value, "get_config"):
        return {"class_name": class_name_of(value), "config": value.get_config()}
    if callable(value):
        return _GLOBAL_CUSTOM_NAMES.get(value, getattr(value, "__name__", str(value)))
    return value


def training_config(model, built_metrics=True):
    """tf.keras' `training_config`: the compile arguments, with the metrics as the built
    per-output metric objects once the model has trained (`[[{"class_name":
    "MeanMetricWrapper", ...}]]`), and the optimizer under its registered name
    (`Custom>Adam`)."""
    args = getattr(model, "_compile_args", None) or {"loss": model.loss}
    metrics, weighted = args.get("metrics"), args.get("weighted_metrics")
    container = getattr(model, "compiled_metrics", None)
    if built_metrics and container is not None and container._built:
        metrics = None if metrics is None else _serialize_built_metrics(container._metrics)
        weighted = None if weighted is None else _serialize_built_metrics(
            container._weighted_metrics)
    else:
        metrics, weighted = _serialize_compile_value(metrics), _serialize_compile_value(weighted)
    config = {"loss": _serialize_compile_value(args.get("loss")), "metrics": metrics,
              "weighted_metrics": weighted,
              "loss_weights": _serialize_compile_value(args.get("loss_weights"))}
    optimizer = model.optimizer
    config["optimizer_config"] = {"class_name": optimizers.registered_class_name(optimizer),
                                  "config": optimizer.get_config()} \
        if optimizer is not None else None
    return config


def _serialize_built_metrics(per_output):
    return [[_functions_to_names(metrics.serialize(metric, use_legacy_format=True))
             for metric in output_metrics] for output_metrics in per_output]


def _functions_to_names(config):
    inner = {key: _GLOBAL_CUSTOM_NAMES.get(value, getattr(value, "__name__", value))
             if callable(value) else value for key, value in config["config"].items()}
    return {"class_name": config["class_name"], "config": inner}


def _deserialize_compile_value(value, kind, custom_objects):
    module = losses if kind == "loss" else metrics
    if value is None or isinstance(value, (int, float, bool)):
        return value
    if isinstance(value, str):
        if kind == "metric" and value in ("accuracy", "acc", "crossentropy", "ce"):
            return value
        if custom_objects and value in custom_objects:
            return custom_objects[value]
        return module.get(value) if kind == "loss" else value
    if isinstance(value, dict) and value.get("class_name") == "function":
        # a plain function as tf.keras 2.13+ / Keras 3 write it: its name is the config
        return _deserialize_compile_value(value.get("config"), kind, custom_objects)
    if isinstance(value, dict) and "class_name" in value:
        return module.deserialize(value, custom_objects=custom_objects)
    if isinstance(value, dict):
        return {k: _deserialize_compile_value(v, kind, custom_objects) for k, v in value.items()}
    if isinstance(value, list):
        return [_deserialize_compile_value(v, kind, custom_objects) for v in value]
    return value


def deserialize_optimizer(config, custom_objects=None, legacy_unless_marked=False):
    """An optimizer from its `{"class_name", "config"}`. With `legacy_unless_marked` (legacy
    .h5 files, as tf.keras reads them) a built-in optimizer whose non-empty config lacks
    `is_legacy_optimizer: false` is the pre-2.11 one from `keras.optimizers.legacy`."""
    if config is None:
        return None
    config = dict(config)
    top_level_flag = config.pop("is_legacy_optimizer", None)
    inner = config.get("config") or {}
    class_name = optimizers.builtin_class_name(config.get("class_name"))
    is_legacy = inner.get("is_legacy_optimizer", top_level_flag if top_level_flag is not None
                          else legacy_unless_marked)
    legacy_class = getattr(optimizers.legacy, str(class_name), None)
    if (legacy_unless_marked and inner and is_legacy and legacy_class is not None
            and not (custom_objects and class_name in custom_objects)
            and class_name == config.get("class_name")):
        return legacy_class.from_config(inner)
    cls = None
    if custom_objects and class_name in custom_objects:
        cls = custom_objects[class_name]
    if cls is None:
        cls = get_registered_object(class_name, custom_objects)
    if cls is not None:
        return cls.from_config(config.get("config", {}))
    return optimizers.deserialize({"class_name": class_name, "config": config.get("config", {})},
                                  custom_objects=custom_objects)


def compile_from_training_config(model, config, custom_objects=None, legacy_h5=False):
    with custom_object_scope(custom_objects or {}):
        optimizer = deserialize_optimizer(config.get("optimizer_config"), custom_objects,
                                          legacy_unless_marked=legacy_h5)
        loss = _deserialize_compile_value(config.get("loss"), "loss", custom_objects)
        metrics = _deserialize_compile_value(config.get("metrics"), "metric", custom_objects)
        weighted = _deserialize_compile_value(config.get("weighted_metrics"), "metric",
                                              custom_objects)
        model.compile(optimizer=optimizer if optimizer is not None else "rmsprop", loss=loss,
                      metrics=metrics, weighted_metrics=weighted,
                      loss_weights=config.get("loss_weights"))
        if legacy_h5:
            # tf.keras' `.h5` loader compiles with `from_serialized=True`: the saved metrics keep
            # their names (a multi-output model's `out_a_mae` gets no second prefix)
            model.compiled_metrics._from_serialized = True
