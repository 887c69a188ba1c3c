"""MultiHeadAttention: scaled dot-product attention over several heads (tf.keras 2.x)."""
import math

import numpy as np

from ... import constraints, initializers, ops, regularizers
from ...core.random import make_rng
from ...core.tensor import as_array
from ...engine.argument_checks import positive_int
from ...engine.base_layer import Layer, shape_of
from ...engine.keras_tensor import KerasTensor

# What tf.keras' masked softmax adds to the scores of masked positions (float32).
_MASKED_SCORE = -1e9


class MultiHeadAttention(Layer):
    """`softmax(Q K^T / sqrt(key_dim)) V` for each of `num_heads` heads, the heads projected
    back to the query's last dimension (or `output_shape`).

    Weights, as tf.keras creates them (its EinsumDense sub-layers): `query/kernel`
    (query_dim, heads, key_dim) and `query/bias` (heads, key_dim); `key/*` and `value/*` alike
    (the value ones with `value_dim`); `attention_output/kernel` (heads, value_dim, out) and
    `attention_output/bias` (out,). Called as `layer(query, value, key=None,
    attention_mask=None, return_attention_scores=False, training=None,
    use_causal_mask=False)`; masks of the query/value/key tensors are applied too.

    Example:
    >>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> layer(np.ones((3, 5, 8), "float32"), np.ones((3, 7, 6), "float32")).shape
    (3, 5, 8)
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 softmax_robust_masking=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._seed = seed   # Keras 3's argument: the seed of the attention dropout
        # tf.keras keeps the activity regularizer in its config without applying it.
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._softmax_robust_masking = bool(softmax_robust_masking)
        self.supports_masking = True
        self._num_heads = positive_int(num_heads, "num_heads", "MultiHeadAttention")
        self._key_dim = positive_int(key_dim, "key_dim", "MultiHeadAttention")
        self._value_dim = positive_int(value_dim, "value_dim", "MultiHeadAttention") \
            if value_dim is not None else self._key_dim
        if not 0 <= dropout < 1:
            raise ValueError(f"Invalid value received for argument `dropout`. Expected a float "
                             f"value in [0, 1). Received: dropout={dropout}")
        self._dropout = dropout
        self._use_bias = use_bias
        if output_shape is not None and not isinstance(output_shape, int):
            output_shape = tuple(output_shape)
            if len(output_shape) != 1:
                raise NotImplementedError("MultiHeadAttention(output_shape=...) with more than "
                                          "one dimension is not supported by minikeras.")
            output_shape = output_shape[0]
        self._output_shape = output_shape
        if attention_axes is not None:
            axes = (attention_axes,) if isinstance(attention_axes, int) else tuple(attention_axes)
            if axes not in ((1,), (-2,)):
                raise NotImplementedError(
                    "MultiHeadAttention(attention_axes=...) other than the sequence axis of "
                    f"3-D inputs is not supported by minikeras. Received: {attention_axes}")
            attention_axes = axes
        self._attention_axes = attention_axes
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self._query_shape = self._key_shape = self._value_shape = None
        self._dropout_rng = None

    # --- weights ------------------------------------------------------------------------------
    def _projection(self, name, kernel_shape, bias_shape):
        """A sub-layer holding a kernel and a bias, each initializer a fresh copy (tf.keras'
        EinsumDense sub-layers; Keras 3 stores them as `<name>_dense` objects)."""
        return _Projection(self.name, name, kernel_shape, bias_shape if self._use_bias else None,
                           _copy(self._kernel_initializer), _copy(self._bias_initializer),
                           self._kernel_regularizer, self._bias_regularizer,
                           self._kernel_constraint, self._bias_constraint, dtype=self._dtype.name)

    def _build_from_signature(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3:
                raise NotImplementedError(
                    f"MultiHeadAttention on {len(shape)}-D `{name}` inputs (shape {shape}) is not "
                    "supported by minikeras: inputs are (batch, sequence, features).")
        self._query_shape, self._value_shape, self._key_shape = \
            tuple(query_shape), tuple(value_shape), tuple(key_shape)
        heads = self._num_heads
        # public attribute names: the paths of Keras 3's weights file
        self.query_dense = self._projection("query", (query_shape[-1], heads, self._key_dim),
                                            (heads, self._key_dim))
        self.key_dense = self._projection("key", (key_shape[-1], heads, self._key_dim),
                                          (heads, self._key_dim))
        self.value_dense = self._projection("value", (value_shape[-1], heads, self._value_dim),
                                            (heads, self._value_dim))
        self.output_dense = self._projection("attention_output",
                                             (heads, self._value_dim, self._output_dim()),
                                             (self._output_dim(),))
        self.built = True

    def _output_dim(self):
        return self._output_shape if self._output_shape is not None else self._query_shape[-1]

    def build(self, input_shape):
        """Weights are made on the first call, from the query, value and key shapes."""

    def __call__(self, query, value=None, key=None, **kwargs):
        if value is None:
            raise TypeError("MultiHeadAttention.call() missing 1 required positional argument: "
                            "'value'")
        if not self.built:
            self._build_from_signature(shape_of(query), shape_of(value),
                                       None if key is None else shape_of(key))
        if key is not None:
            kwargs["key"] = key
        return super().__call__(query, value, **kwargs)

    # --- computation --------------------------------------------------------------------------
    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False,
             training=None, use_causal_mask=False):
        key = value if key is None else key
        query, value, key = (self._convert_input(t) for t in (query, value, key))
        mask = self._attention_mask(query, value, key, attention_mask, use_causal_mask)
        q = self._project(query, self.query_dense, self._key_dim)     # (B, H, T, Dk)
        k = self._project(key, self.key_dense, self._key_dim)         # (B, H, S, Dk)
        v = self._project(value, self.value_dense, self._value_dim)   # (B, H, S, Dv)
        q = ops.multiply(q, np.asarray(1.0 / math.sqrt(float(self._key_dim)), q.dtype))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))       # (B, H, T, S)
        if mask is not None and self._softmax_robust_masking:
            keep = np.broadcast_to(mask[:, None, :, :], scores.shape)
            scores = ops.where(keep, scores, np.asarray(_MASKED_SCORE, scores.dtype))
        elif mask is not None:   # tf.keras' Softmax adds a large negative number
            adder = (1.0 - mask[:, None, :, :].astype(scores.dtype)) * _MASKED_SCORE
            scores = ops.add(scores, adder.astype(scores.dtype))
        scores = ops.softmax(scores, axis=-1)
        attended = scores
        if training and self._dropout > 0:
            if self._dropout_rng is None and self._seed is not None:
                self._dropout_rng = make_rng(self._seed)
            rng = self._dropout_rng if self._dropout_rng is not None else make_rng(None)
            attended = ops.dropout(scores, self._dropout, rng)
        heads = ops.matmul(attended, v)                               # (B, H, T, Dv)
        output = self._combine(heads)
        if return_attention_scores:
            return output, scores
        return output

    def _project(self, x, projection, depth):
        """(B, L, D) -> (B, H, L, depth) through a (D, H, depth) kernel and (H, depth) bias."""
        kernel, bias = projection.kernel, projection.bias
        batch, length, dim = x.shape
        flat = ops.reshape(x, (batch * length, dim))
        out = ops.matmul(flat, ops.reshape(kernel, (dim, self._num_heads * depth)))
        out = ops.reshape(out, (batch, length, self._num_heads, depth))
        if bias is not None:
            out = ops.add(out, bias)
        return ops.transpose(out, (0, 2, 1, 3))

    def _combine(self, heads):
        """(B, H, T, Dv) -> (B, T, out) through the (H, Dv, out) kernel."""
        kernel, bias = self.output_dense.kernel, self.output_dense.bias
        batch, _, length, depth = heads.shape
        flat = ops.reshape(ops.transpose(heads, (0, 2, 1, 3)),
                           (batch * length, self._num_heads * depth))
        out = ops.matmul(flat, ops.reshape(kernel, (self._num_heads * depth, -1)))
        out = ops.reshape(out, (batch, length, -1))
        if bias is not None:
            out = ops.add(out, bias)
        return out

    def _attention_mask(self, query, value, key, attention_mask, use_causal_mask):
        """tf.keras' rule: the explicit (B, T, S) mask AND the query/value/key masks AND the
        causal mask, as a boolean array (None when nothing is masked)."""
        mask = None
        parts = []
        query_mask = getattr(query, "_keras_mask", None)
        if query_mask is not None:
            parts.append(np.asarray(as_array(query_mask)).astype(bool)[:, :, None])
        for tensor in (value, key):
            tensor_mask = getattr(tensor, "_keras_mask", None)
            if tensor_mask is not None:
                parts.append(np.asarray(as_array(tensor_mask)).astype(bool)[:, None, :])
        if use_causal_mask:
            length_q, length_v = query.shape[1], value.shape[1]
            parts.append(np.tril(np.ones((1, length_q, length_v), bool)))
        if attention_mask is not None:
            parts.append(np.asarray(as_array(attention_mask)).astype(bool))
        for part in parts:
            mask = part if mask is None else mask & part
        if mask is not None:
            mask = np.broadcast_to(mask, (query.shape[0], query.shape[1], value.shape[1]))
        return mask

    # --- shapes and config --------------------------------------------------------------------
    def compute_output_shape(self, query_shape):
        return tuple(query_shape[:-1]) + (self._output_dim() if self._query_shape is not None
                                          else query_shape[-1],)

    def _infer_outputs(self, args, kwargs):
        query = args[0]
        output = KerasTensor(self.compute_output_shape(query.shape), dtype=self._dtype)
        if not kwargs.get("return_attention_scores"):
            return output
        value = args[1] if len(args) > 1 else kwargs.get("value")
        scores = KerasTensor((query.shape[0], self._num_heads, query.shape[1], value.shape[1]),
                             dtype=self._dtype)
        return output, scores

    def compute_mask(self, inputs, mask=None):
        query_mask = getattr(inputs, "_keras_mask", None)
        if isinstance(mask, (list, tuple)):
            return mask[0]
        return mask if mask is not None else query_mask

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self._num_heads, "key_dim": self._key_dim,
            "value_dim": self._value_dim, "dropout": self._dropout, "use_bias": self._use_bias,
            "output_shape": self._output_shape, "attention_axes": self._attention_axes,
            "kernel_initializer": initializers.serialize(self._kernel_initializer),
            "bias_initializer": initializers.serialize(self._bias_initializer),
            "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self._bias_regularizer),
            "activity_regularizer": regularizers.serialize(self._activity_regularizer),
            "kernel_constraint": constraints.serialize(self._kernel_constraint),
            "bias_constraint": constraints.serialize(self._bias_constraint),
            "query_shape": self._query_shape, "key_shape": self._key_shape,
            "value_shape": self._value_shape,
            "softmax_robust_masking": self._softmax_robust_masking,
        })
        return config

    def keras3_config(self, config):
        """The `.keras` form: Keras 3 has the shapes in `build_config` and no robust masking."""
        if config.pop("softmax_robust_masking", False):
            raise ValueError("Keras 3 has no `softmax_robust_masking`: this MultiHeadAttention "
                             "cannot be saved in the .keras format.")
        for key in ("query_shape", "key_shape", "value_shape"):
            config.pop(key, None)
        return config

    def keras3_build_config(self):
        return {"shapes_dict": {"query_shape": list(self._query_shape),
                                "value_shape": list(self._value_shape),
                                "key_shape": list(self._key_shape)}}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        query_shape = config.pop("query_shape", None)
        key_shape = config.pop("key_shape", None)
        value_shape = config.pop("value_shape", None)
        layer = cls(**config)
        if None not in (query_shape, value_shape):
            layer._build_from_signature(tuple(query_shape), tuple(value_shape),
                                        None if key_shape is None else tuple(key_shape))
        return layer


class _Projection(Layer):
    """The kernel and bias of one of MultiHeadAttention's projections, named as tf.keras
    names them (`<attention layer>/<name>/kernel:0`)."""

    def __init__(self, scope, name, kernel_shape, bias_shape, kernel_initializer,
                 bias_initializer, kernel_regularizer, bias_regularizer, kernel_constraint,
                 bias_constraint, **kwargs):
        super().__init__(name=name, **kwargs)
        self.kernel = self._weight(scope, "kernel", kernel_shape, kernel_initializer,
                                   kernel_regularizer, kernel_constraint)
        self.bias = None if bias_shape is None else self._weight(
            scope, "bias", bias_shape, bias_initializer, bias_regularizer, bias_constraint)
        self.built = True

    def _weight(self, scope, kind, shape, initializer, regularizer, constraint):
        variable = self.add_weight(kind, shape=shape, initializer=initializer,
                                   regularizer=regularizer, constraint=constraint,
                                   trainable=True)
        variable._handle_name = f"{scope}/{self.name}/{kind}"
        variable.name = variable._handle_name + ":0"
        return variable


def _copy(initializer):
    """A fresh initializer of the same class and config."""
    if hasattr(initializer, "get_config"):
        return type(initializer).from_config(initializer.get_config())
    return initializer

