"""Activation functions, by name or as functions (`keras.activations`)."""
import numpy as np

from . import ops
from .core.tensor import as_array
from .core.serialization import deserialize_object
from .core.registry import register_builtins
from .core.registry import get_registered_name, get_registered_object

register_builtins("activations", globals())   # names looked up by `deserialize_keras_object`


def softmax(x, axis=-1):
    """Softmax over `axis`. The result remembers its logits (`_keras_logits`), so a following
    crossentropy loss is computed from the logits, as tf.keras does."""
    out = ops.softmax(x, axis=axis)
    out._keras_logits = x
    return out


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
    return ops.multiply(x, ops.sigmoid(x))


def silu(x):
    """`x * sigmoid(x)`: swish under tf.nn's name (serialized as "silu", as tf.keras does)."""
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
    """Gaussian error linear unit; exact (erf) unless `approximate=True` (tanh form)."""
    dtype = as_array(x).dtype
    if approximate:
        c = np.asarray(np.sqrt(2 / np.pi), dtype)
        inner = ops.multiply(c, ops.add(x, ops.multiply(np.asarray(0.044715, dtype), ops.power(x, 3))))
        return ops.multiply(ops.multiply(np.asarray(0.5, dtype), x), ops.add(1.0, ops.tanh(inner)))
    scaled = ops.multiply(x, np.asarray(1 / np.sqrt(2), dtype))
    return ops.multiply(ops.multiply(np.asarray(0.5, dtype), x), ops.add(1.0, ops.erf(scaled)))


_ACTIVATIONS = {fn.__name__: fn for fn in (
    softmax, relu, leaky_relu, tanh, sigmoid, hard_sigmoid, linear, elu, selu, softplus,
    softsign, exponential, swish, mish, gelu, silu, relu6, log_softmax)}


def get(identifier):
    """A name, a serialized dict, a callable or None (-> linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _ACTIVATIONS:
            found = get_registered_object(identifier)
            if found is None:
                raise ValueError(f"Unknown activation function '{identifier}' cannot be "
                                 "deserialized. Please ensure you "
                                 "are using a `keras.utils.custom_object_scope` and that this "
                                 "object is included in the scope.")
            return found
        return _ACTIVATIONS[identifier]
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation function identifier: {identifier}")


def serialize(activation):
    name = getattr(activation, "__name__", None)
    if name in _ACTIVATIONS and _ACTIVATIONS[name] is activation:
        return name
    if hasattr(activation, "get_config"):
        return {"class_name": type(activation).__name__, "config": activation.get_config()}
    return get_registered_name(activation)


def deserialize(config, custom_objects=None):
    if isinstance(config, dict):
        return deserialize_object(config, {}, custom_objects, "activation function")
    return get(config) if not custom_objects or config not in custom_objects else custom_objects[config]
