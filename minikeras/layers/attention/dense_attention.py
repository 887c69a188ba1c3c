"""Attention (Luong, dot-product) and AdditiveAttention (Bahdanau), as tf.keras 2.x computes
them: called on `[query, value]` or `[query, value, key]` (batch, steps, dim) tensors."""
import logging
import numbers

import numpy as np

from ... import ops
from ...core.random import make_rng
from ...core.tensor import as_array
from ...engine.base_layer import Layer


class BaseDenseAttention(Layer):
    """`softmax(scores(query, key)) @ value`; masked value steps (and, with
    `use_causal_mask=True`, later steps) get `-1e9` added to their scores, masked query steps
    a zero output."""

    def __init__(self, dropout=0.0, **kwargs):
        if "causal" in kwargs:
            logging.warning("`causal` argument is deprecated. Please use `use_causal_mask` in "
                            "call() method to specify causal masking.")
        self.causal = kwargs.pop("causal", False)
        super().__init__(**kwargs)
        if not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"Invalid value received for argument `dropout`. Expected a float "
                             f"value in [0, 1). Received: dropout={dropout}")
        self.dropout = dropout
        self.supports_masking = True

    def _calculate_scores(self, query, key):
        raise NotImplementedError

    def call(self, inputs, mask=None, training=None, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_call_args(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = mask[0] if mask else None
        value_mask = mask[1] if mask else None
        scores = self._calculate_scores(query, key)                       # (B, Tq, Tv)
        keep = None
        if value_mask is not None:
            keep = np.asarray(as_array(value_mask)).astype(bool)[:, None, :]
        if self.causal or use_causal_mask:
            causal = np.tril(np.ones(scores.shape[-2:], bool))[None]
            keep = causal if keep is None else keep & causal
        if keep is not None:
            scores = ops.subtract(scores, (1.0e9 * (~keep)).astype(scores.dtype))
        weights = ops.softmax(scores, axis=-1)
        attended = weights
        if training and self.dropout > 0:
            attended = ops.dropout(weights, self.dropout, make_rng(None))
        result = ops.matmul(attended, value)
        if query_mask is not None:
            keep_query = np.asarray(as_array(query_mask)).astype(result.dtype)[..., None]
            result = ops.multiply(result, keep_query)
        if return_attention_scores:
            return result, weights
        return result

    def _validate_call_args(self, inputs, mask):
        name = type(self).__name__
        if not isinstance(inputs, list):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely "
                             f"[query, value] or [query, value, key]. Received: {inputs}.")
        if len(inputs) < 2 or len(inputs) > 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely "
                             "[query, value] or [query, value, key]. Received length: "
                             f"{len(inputs)}.")
        if mask:
            if not isinstance(mask, list):
                raise ValueError(f"{name} layer mask must be a list, namely [query_mask, "
                                 f"value_mask]. Received: {mask}.")
            if len(mask) < 2 or len(mask) > len(inputs):
                raise ValueError(f"{name} layer mask must be a list of length 2, namely "
                                 f"[query_mask, value_mask]. Received length: {len(mask)}.")

    def compute_mask(self, inputs, mask=None):
        if mask:
            return mask[0]
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def _infer_outputs(self, args, kwargs):
        outputs = super()._infer_outputs(args, kwargs)
        if not kwargs.get("return_attention_scores"):
            return outputs
        query, value = args[0][0], args[0][1]
        scores = type(outputs)((query.shape[0], query.shape[1], value.shape[1]),
                               dtype=outputs.dtype)
        return outputs, scores

    def get_config(self):
        config = super().get_config()
        config["dropout"] = self.dropout
        return config


class Attention(BaseDenseAttention):
    """Dot-product attention: scores `query @ key^T` (times a learned scalar `scale` with
    `use_scale=True`); `score_mode="concat"`: `concat_score_weight *
    sum(tanh(scale * (query + key)))` over the features.

    Example:
    >>> layer = Attention()
    >>> layer([np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale=False, score_mode="dot", **kwargs):
        super().__init__(**kwargs)
        self.use_scale = use_scale
        self.score_mode = score_mode
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Received: score_mode={score_mode}. Acceptable values are: "
                             '["dot", "concat"]')

    def build(self, input_shape):
        self.scale = self.add_weight("scale", shape=(), initializer="ones", trainable=True) \
            if self.use_scale else None
        self.concat_score_weight = self.add_weight(
            "concat_score_weight", shape=(), initializer="ones", trainable=True) \
            if self.score_mode == "concat" else None
        self.built = True

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.transpose(key, (0, 2, 1)))
            if self.scale is not None:
                scores = ops.multiply(scores, self.scale)
            return scores
        total = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))
        if self.scale is not None:
            total = ops.multiply(self.scale, total)
        return ops.multiply(self.concat_score_weight, ops.sum(ops.tanh(total), axis=-1))

    def get_config(self):
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode})
        return config


class AdditiveAttention(BaseDenseAttention):
    """Additive (Bahdanau) attention: scores `sum(scale * tanh(query + key))` over the
    features, `scale` a learned vector (glorot uniform) with `use_scale=True`.

    Example:
    >>> layer = AdditiveAttention()
    >>> layer([np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale=True, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = use_scale

    def build(self, input_shape):
        dim = input_shape[1][-1]
        self.scale = self.add_weight("scale", shape=(dim,), initializer="glorot_uniform",
                                     trainable=True) if self.use_scale else None
        self.built = True

    def _calculate_scores(self, query, key):
        total = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))
        if self.scale is not None:
            total = ops.multiply(self.scale, total)
        return ops.sum(total, axis=-1)

    def get_config(self):
        config = super().get_config()
        config["use_scale"] = self.use_scale
        return config
