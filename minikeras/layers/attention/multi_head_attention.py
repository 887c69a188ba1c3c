"""MultiHeadAttention (Vaswani et al., 2017) with tf.keras 2.x's weights, equations and masks."""
import collections.abc
import math
import string

import numpy as np

from ... import constraints, initializers, ops, regularizers
from ...core.dtype_errors import InvalidArgumentError
from ...core.tensor import Tensor
from .scores_output import ScoresOutput
from ...engine.base_layer import Layer, shape_of
from ..activations.softmax import Softmax
from ..core.einsum_dense import EinsumDense
from ..regularization.dropout import Dropout

_LETTERS = string.ascii_lowercase


def _projection_equation(free_dims, bound_dims, output_dims):
    """tf.keras' `_build_proj_equation`: e.g. (2, 1, 2) -> ('abc,cde->abde', 'de', 4)."""
    letters = iter(_LETTERS)
    free = "".join(next(letters) for _ in range(free_dims))
    bound = "".join(next(letters) for _ in range(bound_dims))
    out = "".join(next(letters) for _ in range(output_dims))
    return f"{free}{bound},{bound}{out}->{free}{out}", out, len(free) + len(out)


def _attention_equations(rank, attention_axes):
    """tf.keras' `_build_attention_equation`: the query-key product and the combination."""
    target = _LETTERS[:rank]
    batch_dims = [i for i in range(rank) if i not in attention_axes and i != rank - 1]
    source, offset = "", rank
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += _LETTERS[offset]
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attention_axes] +
                      [source[i] for i in attention_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def _as_tensor(x, dtype):
    """`x` in the layer's float dtype (key and value are autocast as the query is)."""
    if not isinstance(x, Tensor):
        return Tensor(np.asarray(x, dtype))
    return ops.cast(x, dtype) if x.dtype.kind == "f" and x.dtype != dtype else x


class MultiHeadAttention(ScoresOutput, Layer):
    """Projects `query`, `key` (default: `value`) and `value` to `num_heads` heads, attends
    with `softmax(q k / sqrt(key_dim))` over `attention_axes` (default: all but batch, heads
    and features), and projects the heads back. Weights as tf.keras:
    `multi_head_attention/query/kernel:0` (dim, num_heads, key_dim), `query/bias:0`, the same
    for `key` and `value`, then `attention_output/kernel:0` (num_heads, value_dim, dim).

    Example:
    >>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = np.ones((3, 5, 8), "float32")
    >>> layer(x, x).shape
    (3, 5, 8)
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 softmax_robust_masking=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._seed = seed         # Keras 3's argument: the attention dropout's seed
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = dropout
        self._use_bias = use_bias
        self._output_shape = output_shape
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer_config = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self._softmax_robust_masking = softmax_robust_masking
        if attention_axes is not None and not isinstance(attention_axes, collections.abc.Sized):
            attention_axes = (attention_axes,)
        self._attention_axes = attention_axes
        self._built_from_signature = False
        self._query_shape = self._key_shape = self._value_shape = None

    # --- building ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        args, kwargs = self._query_first(args, kwargs)
        value = args[1] if len(args) > 1 else kwargs.get("value")
        key = args[2] if len(args) > 2 else kwargs.get("key")
        _check_value_and_key(shape_of(value), shape_of(value if key is None else key))
        if not self._built_from_signature:
            self._build_from_signature(shape_of(args[0]), shape_of(value),
                                       None if key is None else shape_of(key))
        return super().__call__(*args, **kwargs)

    @staticmethod
    def _query_first(args, kwargs):
        """`layer(query=q, value=v)` as `layer(q, value=v)`: the engine reads its inputs from
        the first positional argument."""
        if not args and "query" in kwargs:
            kwargs = dict(kwargs)
            args = (kwargs.pop("query"),)
        if not args:
            raise TypeError("MultiHeadAttention needs a `query` (and a `value`) to be called.")
        if len(args) < 2 and "value" not in kwargs:
            raise TypeError("MultiHeadAttention.call() missing 1 required positional argument: "
                            "'value'")
        return args, kwargs

    def build(self, input_shape):
        self.built = True     # the weights come from the query/value/key shapes, in __call__

    def _build_from_signature(self, query_shape, value_shape, key_shape=None):
        self._built_from_signature = True
        self._query_shape = tuple(query_shape)
        self._value_shape = tuple(value_shape)
        self._key_shape = self._value_shape if key_shape is None else tuple(key_shape)
        free_dims = len(self._query_shape) - 1
        self.query_dense = self._projection(
            "query", self._query_shape, [self._num_heads, self._key_dim])
        self.key_dense = self._projection(
            "key", self._key_shape, [self._num_heads, self._key_dim])
        self.value_dense = self._projection(
            "value", self._value_shape, [self._num_heads, self._value_dim])
        rank = free_dims + 2       # (batch, ..., heads, channels) after projection
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(self._attention_axes)
        self._dot_product_equation, self._combine_equation, scores_rank = \
            _attention_equations(rank, self._attention_axes)
        norm_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))
        # tf.keras names these sub-layers inside the layer's own name scope: they do not use
        # up the session's automatic names (a later Dropout is still `dropout`)
        self._softmax = Softmax(axis=norm_axes, robust_masking=self._softmax_robust_masking,
                                dtype=self._dtype_policy, name="softmax")
        self._dropout_layer = Dropout(rate=self._dropout, seed=self._seed, dtype=self._dtype_policy,
                                      name="dropout")
        output_shape = self._output_shape or [self._query_shape[-1]]
        if not isinstance(output_shape, collections.abc.Sized):
            output_shape = [output_shape]
        heads_shape = self._query_shape[:-1] + (self._num_heads, self._value_dim)
        self.output_dense = self._sublayer(
            "attention_output", free_dims, 2, list(output_shape), heads_shape)

    def _sublayer(self, name, free_dims, bound_dims, output_dims, input_shape):
        """An EinsumDense projection, built, its weights named under this layer
        (`multi_head_attention/query/kernel:0`) as tf.keras names them."""
        equation, bias_axes, output_rank = _projection_equation(free_dims, bound_dims,
                                                                len(output_dims))
        dense = EinsumDense(equation, [None] * (output_rank - 1 - len(output_dims)) + output_dims,
                            bias_axes=bias_axes if self._use_bias else None, name=name,
                            kernel_initializer=self._fresh(self._kernel_initializer),
                            bias_initializer=self._fresh(self._bias_initializer),
                            kernel_regularizer=self._kernel_regularizer,
                            bias_regularizer=self._bias_regularizer,
                            kernel_constraint=self._kernel_constraint,
                            bias_constraint=self._bias_constraint, dtype=self._dtype_policy)
        dense.build(tuple(input_shape))
        dense._build_input_shape = tuple(input_shape)
        for weight in dense.weights:
            weight.name = f"{self.name}/{weight.name}"
            weight._handle_name = f"{self.name}/{weight._handle_name}"
        return dense

    def _projection(self, name, input_shape, output_dims):
        return self._sublayer(name, len(input_shape) - 1, 1, output_dims, input_shape)

    @staticmethod
    def _fresh(initializer):
        """A copy per sub-projection, as tf.keras makes (same class and config)."""
        if hasattr(initializer, "get_config"):
            return type(initializer).from_config(initializer.get_config())
        return initializer

    # --- computing --------------------------------------------------------------------------
    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False,
             training=None, use_causal_mask=False):
        if key is None:
            key = value
        for what, tensor, built in (("query", query, self._query_shape),
                                    ("value", value, self._value_shape),
                                    ("key", key, self._key_shape)):
            shape = tuple(np.shape(tensor))
            if len(shape) != len(built) or shape[-1] != built[-1]:
                raise ValueError(f"Layer '{self.name}' was built for a {what} of shape {built}; "
                                 f"received a {what} of shape {shape}.")
        self._check_batch_axes(query, value, key)
        attention_mask = self._compute_attention_mask(query, value, key, attention_mask,
                                                      use_causal_mask)
        query = self.query_dense.call(_as_tensor(query, self._dtype))
        key = self.key_dense.call(_as_tensor(key, self._dtype))
        value = self.value_dense.call(_as_tensor(value, self._dtype))
        output, scores = self._compute_attention(query, key, value, attention_mask, training)
        output = self.output_dense.call(output)
        if return_attention_scores:
            return output, scores
        return output

    def _check_batch_axes(self, query, value, key):
        """The axes outside `attention_axes` (and the features) index independent problems:
        tf's einsum refuses a key or value whose sizes there differ from the query's, even a
        size 1 NumPy would broadcast."""
        shapes = [tuple(np.shape(t)) for t in (query, key, value)]
        rank = len(shapes[0])
        attention = {a % rank for a in self._attention_axes}
        for axis in range(rank - 1):
            if axis in attention:
                continue
            for shape in shapes[1:]:
                if shape[axis] != shapes[0][axis]:
                    raise InvalidArgumentError(
                        f"Exception encountered when calling layer '{self.name}' (type "
                        f"MultiHeadAttention). Expected dimension {shape[axis]} at axis {axis} of "
                        f"the key and value shaped {list(shape)} but got dimension "
                        f"{shapes[0][axis]} in the query shaped {list(shapes[0])} [Op:Einsum]")

    def _compute_attention(self, query, key, value, attention_mask=None, training=None):
        dtype = ops.unwrap(query).dtype
        query = ops.multiply(query, np.asarray(1.0 / math.sqrt(float(self._key_dim)), dtype))
        scores = ops.einsum(self._dot_product_equation, key, query)
        scores = self._masked_softmax(scores, attention_mask)
        dropped = self._dropout_layer.call(scores, training=training)
        return ops.einsum(self._combine_equation, dropped, value), scores

    def _masked_softmax(self, scores, attention_mask=None):
        if attention_mask is not None:
            mask = np.asarray(ops.unwrap(attention_mask))
            # the mask lacks the heads axis (and any others): expand in front of the
            # attention axes, as tf.keras does
            axis = -len(self._attention_axes) * 2 - 1
            while mask.ndim < len(scores.shape):
                mask = np.expand_dims(mask, axis)
            scores = self._softmax.call(scores, mask)
            # tf.keras' Softmax layer passes its mask on: the scores returned by
            # `return_attention_scores=True` carry the expanded attention mask
            if isinstance(scores, Tensor):
                scores._keras_mask = Tensor(mask)
            return scores
        return self._softmax.call(scores)

    def _compute_attention_mask(self, query, value, key, attention_mask, use_causal_mask):
        """The query's Keras mask (B, T, 1) & the value's and key's (B, 1, S) & the causal
        mask & `attention_mask`, as tf.keras combines them."""
        auto_mask = None
        query_mask = getattr(query, "_keras_mask", None)
        value_mask = getattr(value, "_keras_mask", None)
        key_mask = getattr(key, "_keras_mask", None) if key is not value else None
        if query_mask is not None:
            auto_mask = np.asarray(ops.unwrap(query_mask), bool)[:, :, None]
        for mask in (value_mask, key_mask):
            if mask is not None:
                mask = np.asarray(ops.unwrap(mask), bool)[:, None, :]
                auto_mask = mask if auto_mask is None else auto_mask & mask
        if use_causal_mask:
            q_length, v_length = query.shape[1], value.shape[1]
            causal = np.tril(np.ones((1, q_length, v_length), bool))
            auto_mask = causal if auto_mask is None else auto_mask & causal
        if auto_mask is not None:
            attention_mask = auto_mask if attention_mask is None else \
                np.asarray(ops.unwrap(attention_mask), bool) & auto_mask
        return attention_mask

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        if value_shape is not None:
            _check_value_and_key(value_shape, value_shape if key_shape is None else key_shape)
        if self._output_shape:
            dims = self._output_shape if isinstance(self._output_shape, collections.abc.Sized) \
                else [self._output_shape]
            return query_shape[:-1] + tuple(dims)
        return query_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self._num_heads,
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes,
            "kernel_initializer": initializers.serialize(self._kernel_initializer),
            "bias_initializer": initializers.serialize(self._bias_initializer),
            "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self._bias_regularizer),
            "activity_regularizer": regularizers.serialize(self._activity_regularizer_config),
            "kernel_constraint": constraints.serialize(self._kernel_constraint),
            "bias_constraint": constraints.serialize(self._bias_constraint),
            "query_shape": self._query_shape,
            "key_shape": self._key_shape,
            "value_shape": self._value_shape,
            "softmax_robust_masking": self._softmax_robust_masking,
        })
        if self._seed is not None:
            config["seed"] = self._seed     # Keras 3's argument (tf.keras 2 has none)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        shapes = [config.pop(k, None) for k in ("query_shape", "key_shape", "value_shape")]
        layer = cls(**config)
        if None not in shapes:
            query_shape, key_shape, value_shape = shapes
            layer._build_from_signature(query_shape, value_shape, key_shape)
        return layer


def _check_value_and_key(value_shape, key_shape):
    """Keys and values pair up position by position (tf.keras' compute_output_shape check;
    its graph fails in an einsum otherwise); an unknown dimension matches any."""
    value_shape, key_shape = tuple(value_shape), tuple(key_shape)
    matching = len(value_shape) == len(key_shape) and all(
        v is None or k is None or v == k for v, k in zip(value_shape[1:-1], key_shape[1:-1]))
    if not matching:
        raise ValueError("All dimensions of `value` and `key`, except the last one, must be "
                         f"equal. Received {value_shape} and {key_shape}")
