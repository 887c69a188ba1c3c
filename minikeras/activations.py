"""Activation functions, by name or as functions (`keras.activations`)."""
import numpy as np

from . import ops
from .core import dispatch
from .core.serialization import deserialize_object, serialize_keras_object
from .core.registry import builtin_objects, register_builtins
from .core.registry import get_custom_object, get_registered_name, get_registered_object

register_builtins("activations", globals())   # names looked up by `deserialize_keras_object`


def softmax(x, axis=-1):
    """Softmax over `axis`. The result remembers its logits (`_keras_logits`), so a following
    crossentropy loss is computed from the logits, as tf.keras does."""
    reject_1d_softmax(x)
    out = ops.softmax(x, axis=axis)
    out._keras_logits = x
    return out


def reject_1d_softmax(x):
    """tf.keras 2's `activations.softmax` and `K.softmax` refuse a tensor of rank 0 or 1."""
    shape = x.shape if hasattr(x, "shape") else np.shape(x)
    if len(shape) <= 1:
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D. Received input: {x}")


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    return ops.relu(x, negative_slope=alpha, max_value=max_value, threshold=threshold)


def relu6(x):
    """`min(max(x, 0), 6)`."""
    return ops.relu(x, max_value=6.0)


def log_softmax(x, axis=-1):
    """`x - logsumexp(x, axis)`."""
    return ops.log_softmax(x, axis=axis)


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope)


def tanh(x):
    return ops.tanh(x)


def sigmoid(x):
    out = ops.sigmoid(x)
    out._keras_logits = x
    return out


def hard_sigmoid(x):
    """Keras 2's `clip(0.2 * x + 0.5, 0, 1)` (Keras 3 changed the slope to 1/6)."""
    return ops.nn.keras2_hard_sigmoid(x)


def keras3_hard_sigmoid(x):
    """Keras 3's `hard_sigmoid`, `relu6(x + 3) / 6`: what a layer read from a Keras 3 `.keras`
    file with activation 'hard_sigmoid' computes (written back to `.keras` files under that
    name). `hard_sigmoid` stays Keras 2's."""
    return ops.hard_sigmoid(x)


def linear(x):
    return x


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def selu(x):
    return ops.selu(x)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def exponential(x):
    return ops.exp(x)


def swish(x):
    """`x * sigmoid(x)` (tf.nn.silu, with its gradient)."""
    return ops.silu(x)


def silu(x):
    """`x * sigmoid(x)`: swish under tf.nn's name (tf.nn.silu is tf.nn.swish, so tf.keras
    serializes it, and the name "silu", as "swish")."""
    return swish(x)


def relu6(x):
    """`min(max(x, 0), 6)` (tf.nn.relu6, which tf.keras' `get("relu6")` returns)."""
    return ops.relu(x, max_value=6.0)


def log_softmax(x, axis=-1):
    """`x - log(sum(exp(x), axis))` (tf.nn.log_softmax, reachable by name in tf.keras)."""
    return ops.log_softmax(x, axis=axis)


def mish(x):
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


def gelu(x, approximate=False):
    """Gaussian error linear unit; exact (erf) unless `approximate=True` (tanh form). Keras 2's
    default; `keras.ops.gelu` defaults to the approximation, as Keras 3."""
    return ops.gelu(x, approximate=approximate)


# --- Keras 3 activations (not in tf.keras 2.x; here so Keras 3 scripts and files find them) ---
# The formulas live in `ops/nn_ops.py` (Keras 3's `keras.ops` names).
def celu(x, alpha=1.0):
    """`max(x, 0) + alpha * expm1(min(x, 0) / alpha)` (Keras 3)."""
    return ops.celu(x, alpha)


def glu(x, axis=-1):
    """Gated linear unit `a * sigmoid(b)`, `a, b` the two halves of `x` along `axis` (Keras 3)."""
    return ops.glu(x, axis)


def hard_tanh(x):
    """`clip(x, -1, 1)` (Keras 3)."""
    return ops.hard_tanh(x)


def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0 (Keras 3)."""
    return ops.hard_shrink(x, threshold)


def soft_shrink(x, threshold=0.5):
    """`x - threshold` above `threshold`, `x + threshold` below `-threshold`, else 0 (Keras 3)."""
    return ops.soft_shrink(x, threshold)


def tanh_shrink(x):
    """`x - tanh(x)` (Keras 3)."""
    return ops.tanh_shrink(x)


def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value` (Keras 3)."""
    return ops.threshold(x, threshold, default_value)


def log_sigmoid(x):
    """`log(sigmoid(x)) = -softplus(-x)` (Keras 3)."""
    return ops.log_sigmoid(x)


def sparse_plus(x):
    """0 for `x <= -1`, `(x + 1)^2 / 4` for `-1 < x < 1`, `x` above (Keras 3)."""
    return ops.sparse_plus(x)


def sparse_sigmoid(x):
    """0 for `x <= -1`, 1 for `x >= 1`, `(x + 1) / 2` between (Keras 3)."""
    return ops.sparse_sigmoid(x)


def squareplus(x, b=4):
    """`(x + sqrt(x^2 + b)) / 2` (Keras 3)."""
    return ops.squareplus(x, b)


def hard_silu(x):
    """`x * relu6(x + 3) / 6`: x times Keras 3's hard sigmoid (slope 1/6, not Keras 2's 0.2)."""
    return ops.hard_silu(x)


# tf.keras records an activation called on a KerasTensor as TFOpLambda layers (the handler
# in backend/symbolic_functions.py builds them): HOML2 ch15's `keras.activations.relu(z)`
dispatch.dispatch_all(globals(), "activations")
hard_swish = hard_silu


_ACTIVATIONS = {fn.__name__: fn for fn in (
    softmax, relu, leaky_relu, tanh, sigmoid, hard_sigmoid, linear, elu, selu, softplus,
    softsign, exponential, swish, mish, gelu, silu, relu6, log_softmax,
    celu, glu, hard_tanh, hard_shrink, soft_shrink, tanh_shrink, threshold, log_sigmoid,
    sparse_plus, sparse_sigmoid, squareplus, hard_silu, keras3_hard_sigmoid)}
_ACTIVATIONS["hard_swish"] = hard_silu
_ACTIVATIONS["silu"] = swish        # (tf.keras' get("silu") is tf.nn.swish)


_ACTIVATION_LAYERS = ("ReLU", "Softmax", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU")


def get(identifier):
    """A name, a serialized dict, a callable or None (-> linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        custom = get_custom_object(identifier)
        if custom is not None:
            return custom
        if identifier not in _ACTIVATIONS:
            found = get_registered_object(identifier)
            if found is None and identifier in _ACTIVATION_LAYERS:
                # tf.keras also looks among the advanced activation layers: 'ReLU' -> ReLU()
                return builtin_objects("layers")[identifier]()
            if found is None:
                raise ValueError(f"Unknown activation function '{identifier}' cannot be "
                                 "deserialized.")
            return found
        return _ACTIVATIONS[identifier]
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation function identifier: {identifier}")


def serialize(activation):
    if isinstance(activation, str):
        # tf.keras serializes functions only: a name is refused with this message
        raise ValueError(
            f"Unknown activation function '{activation}' cannot be serialized due to invalid "
            "function name. Make sure to use an activation name that matches the references "
            "defined in activations.py or use `@keras.saving.register_keras_serializable()` "
            f"to register any custom activations. config={activation}")
    if activation is silu:
        return "swish"
    name = getattr(activation, "__name__", None)
    if name in _ACTIVATIONS and _ACTIVATIONS[name] is activation:
        return name
    if hasattr(activation, "get_config"):
        # an activation object (a ReLU layer): tf.keras' full serialized form
        return serialize_keras_object(activation)
    return get_registered_name(activation)


def deserialize(config, custom_objects=None):
    if isinstance(config, dict):
        layers = builtin_objects("layers")
        return deserialize_object(config, {name: layers[name] for name in _ACTIVATION_LAYERS},
                                  custom_objects, "activation function")
    return get(config) if not custom_objects or config not in custom_objects else custom_objects[config]

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from .core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ())
