"""Attention (Luong-style dot product) and AdditiveAttention (Bahdanau-style), tf.keras 2.x."""
import numpy as np

from ... import ops
from ...core.random import make_rng
from .scores_output import ScoresOutput
from ...engine.base_layer import Layer

_PADDING_PENALTY = 1.0e9      # subtracted from masked scores (tf.keras, float32)


class BaseDenseAttention(ScoresOutput, Layer):
    """`softmax(scores(query, key)) @ value` over `[query, value]` or `[query, value, key]`;
    the value's mask (and a causal mask) hide positions, the query's mask zeroes outputs."""

    def __init__(self, dropout=0.0, seed=None, **kwargs):
        self.causal = kwargs.pop("causal", False)   # deprecated: `use_causal_mask` in call()
        super().__init__(**kwargs)
        self.dropout = dropout
        # Keras 3's argument (its files write `seed: null`): the attention dropout's seed.
        self.seed = seed
        self._dropout_rng = None if seed is None else make_rng(seed)
        self.supports_masking = True

    def _calculate_scores(self, query, key):
        raise NotImplementedError

    def call(self, inputs, mask=None, training=None, return_attention_scores=False,
             use_causal_mask=False):
        _validate_call_args(inputs, mask, type(self).__name__)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = mask[0] if mask else None
        value_mask = mask[1] if mask else None
        scores = self._calculate_scores(query, key)
        scores_mask = None
        if value_mask is not None:
            scores_mask = np.asarray(ops.unwrap(value_mask), bool)[..., None, :]
        if self.causal or use_causal_mask:
            q_length, v_length = scores.shape[-2], scores.shape[-1]
            causal = np.tril(np.ones((q_length, v_length), bool))
            scores_mask = causal if scores_mask is None else scores_mask & causal
        result, weights = self._apply_scores(scores, value, scores_mask, training)
        if query_mask is not None:
            keep = np.asarray(ops.unwrap(query_mask), bool)[..., None]
            result = ops.multiply(result, keep.astype(ops.unwrap(result).dtype))
        if return_attention_scores:
            return result, weights
        return result

    def _apply_scores(self, scores, value, scores_mask=None, training=None):
        if scores_mask is not None:
            dtype = ops.unwrap(scores).dtype
            penalty = np.logical_not(scores_mask).astype(dtype) * np.asarray(_PADDING_PENALTY, dtype)
            scores = ops.subtract(scores, penalty)
        weights = ops.softmax(scores, axis=-1)
        if self.dropout > 0 and training:
            weights = ops.dropout(weights, self.dropout, self._dropout_rng or make_rng(None))
        return ops.matmul(weights, value), weights

    def compute_mask(self, inputs, mask=None):
        _validate_call_args(inputs, mask, type(self).__name__)
        if mask and mask[0] is not None:
            return np.asarray(ops.unwrap(mask[0]), bool)
        return None

    def compute_output_shape(self, input_shape):
        _validate_input_shapes(input_shape, type(self).__name__)
        query_shape, value_shape = tuple(input_shape[0]), tuple(input_shape[1])
        return query_shape[:-1] + value_shape[-1:]

    def get_config(self):
        config = super().get_config()
        config["dropout"] = self.dropout
        if self.seed is not None:
            config["seed"] = self.seed      # Keras 3's argument (tf.keras 2 has none)
        return config


def _validate_input_shapes(input_shape, class_name):
    """`call`'s checks, on shapes: a functional model is built from the layer's shape rule
    (and AdditiveAttention's `build`), not by running `call`."""
    if not isinstance(input_shape, (list, tuple)) or \
            not all(isinstance(shape, (list, tuple)) for shape in input_shape):
        raise ValueError(f"{class_name} layer must be called on a list of inputs, namely "
                         f"[query, value] or [query, value, key]. Received: an input of shape "
                         f"{tuple(input_shape)}.")
    _validate_call_args(input_shape, None, class_name)


def _validate_call_args(inputs, mask, class_name):
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"{class_name} layer must be called on a list of inputs, namely "
                         f"[query, value] or [query, value, key]. Received: {inputs}.")
    if len(inputs) < 2 or len(inputs) > 3:
        raise ValueError(f"{class_name} layer accepts inputs list of length 2 or 3, namely "
                         f"[query, value] or [query, value, key]. Received length: {len(inputs)}.")
    if mask:
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{class_name} layer mask must be a list, namely [query_mask, "
                             f"value_mask]. Received: {mask}.")
        if len(mask) < 2 or len(mask) > len(inputs):
            raise ValueError(f"{class_name} layer mask must be a list of length 2, namely "
                             f"[query_mask, value_mask]. Received length: {len(mask)}.")


class Attention(BaseDenseAttention):
    """Dot-product attention: `scores = query @ key^T` (times a learned scalar `scale` with
    `use_scale`); `score_mode="concat"` scores `sum(tanh(query + key))` instead.

    Example:
    >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> Attention()([q, v]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale=False, score_mode="dot", **kwargs):
        super().__init__(**kwargs)
        self.use_scale = use_scale
        self.score_mode = score_mode
        if self.score_mode not in ("dot", "concat"):
            raise ValueError(f"Received: score_mode={score_mode}. Acceptable values are: "
                             "['dot', 'concat']")

    def build(self, input_shape):
        self.scale = self.add_weight("scale", shape=(), initializer="ones", trainable=True) \
            if self.use_scale else None
        self.concat_score_weight = self.add_weight(
            "concat_score_weight", shape=(), initializer="ones", trainable=True) \
            if self.score_mode == "concat" else None
        self.built = True

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.transpose(key, _swap_last_two(len(key.shape))))
            return scores if self.scale is None else ops.multiply(scores, self.scale)
        summed = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))
        if self.scale is not None:
            summed = ops.multiply(self.scale, summed)
        return ops.multiply(self.concat_score_weight, ops.sum(ops.tanh(summed), axis=-1))

    def get_config(self):
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode})
        return config


class AdditiveAttention(BaseDenseAttention):
    """Additive attention: `scores = sum(scale * tanh(query + key))`, `scale` a learned vector
    (glorot uniform) over the features with `use_scale` (the default).

    Example:
    >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> AdditiveAttention()([q, v]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale=True, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = use_scale

    def build(self, input_shape):
        _validate_input_shapes(input_shape, type(self).__name__)
        dim = tuple(input_shape[1])[-1]
        self.scale = self.add_weight("scale", shape=[dim], initializer="glorot_uniform",
                                     trainable=True) if self.use_scale else None
        self.built = True

    def _calculate_scores(self, query, key):
        summed = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))
        if self.scale is not None:
            summed = ops.multiply(self.scale, summed)
        return ops.sum(summed, axis=-1)

    def get_config(self):
        config = super().get_config()
        config["use_scale"] = self.use_scale
        return config


def _swap_last_two(rank):
    axes = list(range(rank))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return axes
