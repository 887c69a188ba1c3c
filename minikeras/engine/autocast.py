"""Mixed precision inside layers: the policy a layer's `dtype` argument names, and tf.keras'
AutoCastVariable reads (a float32 weight is read as float16 while a `mixed_float16` layer runs
its `call`, the gradient flowing back to the float32 variable through the recorded cast)."""
import numpy as np

from ..core import config
from ..core.nest import map_structure
from ..core.tensor import Tensor, Variable
from ..ops import cast
from .dtype_policy import Policy


def layer_policy(dtype):
    """The Policy a layer's `dtype` argument means: None the global policy, a name, a NumPy
    dtype, a Policy or a serialized Policy / Keras 3 DTypePolicy dict."""
    if dtype is None:
        return _supported(Policy(config.dtype_policy_name()))
    if isinstance(dtype, dict):  # a serialized Policy (tf_keras) or DTypePolicy (Keras 3)
        dtype = dtype.get("config", {}).get("name", config.floatx())
    if isinstance(dtype, Policy):
        return _supported(dtype)
    if hasattr(dtype, "name") and not isinstance(dtype, np.dtype):
        dtype = dtype.name
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        return _supported(Policy(dtype))
    return Policy(config.dtype_name(config.numpy_dtype(dtype)))


def _supported(policy):
    """`policy`, unless it computes in bfloat16 (NumPy has no such type)."""
    if policy.compute_dtype == "bfloat16":
        raise NotImplementedError(
            f"The dtype policy {policy.name!r} is not supported by minikeras: NumPy has no "
            "bfloat16 type. Use 'mixed_float16' or 'float32'.")
    return policy


def is_mixed(policy):
    return policy.compute_dtype != policy.variable_dtype


def serialized_policy(policy):
    """A layer config's "dtype": the dtype name of a single-dtype policy, else the Policy as
    tf_keras 2.21 writes it."""
    if not is_mixed(policy):
        return policy.name
    return {"module": "keras.mixed_precision", "class_name": "Policy",
            "config": {"name": policy.name}, "registered_name": None}


def mixed_call(layer, args, kwargs):
    """`layer.call` under a mixed policy: float inputs in the compute dtype, the weights read
    in it (AutoCastVariable), float outputs of a float32-computing layer cast back."""
    first = map_structure(layer._convert_input, args[0])
    args, swapped = _begin_mixed_call(layer, (first,) + tuple(args[1:]))
    try:
        outputs = layer.call(*args, **kwargs)
    finally:
        for owner, attribute, value in swapped:
            object.__setattr__(owner, attribute, value)
    if layer._computes_in_variable_dtype:
        outputs = map_structure(lambda t: _cast_float(t, layer._dtype), outputs)
    return outputs


def _begin_mixed_call(layer, args):
    """Before a mixed layer's `call`: its float weights (and those of the mixed layers it
    holds, which it may call through `.call`) read in the compute dtype, or, for a layer that
    computes in its variable dtype, its float inputs cast up to that. Returns the call
    arguments and the (owner, attribute, weight) triples to put back."""
    if layer._computes_in_variable_dtype:
        first = map_structure(lambda t: _cast_float(t, layer._variable_dtype), args[0])
        return (first,) + tuple(args[1:]), []
    swapped = []
    for sublayer in _mixed_layers_within(layer):
        swapped += [(sublayer, attribute, value)
                    for attribute, value in _read_weights_in_compute_dtype(sublayer)]
    return args, swapped


def _cast_float(value, dtype):
    if isinstance(value, Tensor) and value.dtype.kind == "f" and value.dtype != dtype:
        mask = getattr(value, "_keras_mask", None)
        value = cast(value, dtype)
        if mask is not None:
            value._keras_mask = mask
    return value


def _mixed_layers_within(layer, seen=None):
    """The layer and, depth first, the mixed layers it tracks that read their own weights
    (not graph models: their layers are called as layers)."""
    seen = seen if seen is not None else set()
    seen.add(id(layer))
    found = [layer]
    for sublayer in layer._tracked_layers:
        if id(sublayer) in seen or not sublayer._mixed or sublayer._resets_name_scope or \
                sublayer._computes_in_variable_dtype:
            continue
        found += _mixed_layers_within(sublayer, seen)
    return found


def _read_weights_in_compute_dtype(layer):
    """Replace the layer's float weight attributes (directly or in a list) by recorded casts
    to its compute dtype, as AutoCastVariable reads them inside `call`; returns the
    replaced (attribute, value) pairs."""
    compute = layer._dtype
    swapped = []
    for attribute, value in list(layer.__dict__.items()):
        if isinstance(value, Variable):
            if _casts(value, compute):
                swapped.append((attribute, value))
                object.__setattr__(layer, attribute, cast(value, compute))
        elif type(value) is list and value and any(_casts(v, compute) for v in value):
            swapped.append((attribute, value))
            object.__setattr__(layer, attribute,
                               [cast(v, compute) if _casts(v, compute) else v for v in value])
    return swapped


def _casts(value, compute):
    return isinstance(value, Variable) and value.dtype.kind == "f" and value.dtype != compute
