"""Attention and AdditiveAttention against NumPy references of tf.keras' formulas."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from gradcheck import check_gradients


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def attend(scores, value, keep=None, query_mask=None):
    if keep is not None:
        scores = scores - 1e9 * (~keep)
    weights = softmax(scores)
    out = weights @ value
    if query_mask is not None:
        out = out * query_mask[..., None]
    return out, weights


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    return [rng.randn(2, 4, 5).astype("float32"), rng.randn(2, 6, 5).astype("float32"),
            rng.randn(2, 6, 5).astype("float32")]


def test_dot_attention_with_scale_and_causal_mask(data):
    query, value, key = data
    layer = layers.Attention(use_scale=True)
    layer([query, value, key])
    layer.set_weights([np.array(1.5, "float32")])
    out, weights = layer([query, value, key], return_attention_scores=True,
                         use_causal_mask=True)
    keep = np.tril(np.ones((4, 6), bool))[None]
    expected, expected_weights = attend(1.5 * query @ key.transpose(0, 2, 1), value, keep)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=1e-6)
    assert [w.name for w in layer.weights] == ["attention/scale:0"]


def test_concat_scores_and_additive_attention(data):
    query, value, key = data
    concat = layers.Attention(score_mode="concat", use_scale=True)
    concat([query, value, key])
    concat.set_weights([np.array(0.5, "float32"), np.array(2.0, "float32")])
    summed = np.tanh(0.5 * (query[:, :, None] + key[:, None])).sum(-1)
    np.testing.assert_allclose(concat([query, value, key]).numpy(),
                               attend(2.0 * summed, value)[0], atol=1e-5)
    additive = layers.AdditiveAttention()
    additive([query, value, key])
    scale = additive.get_weights()[0]
    assert scale.shape == (5,) and additive.weights[0].name == "additive_attention/scale:0"
    scores = (scale * np.tanh(query[:, :, None] + key[:, None])).sum(-1)
    np.testing.assert_allclose(additive([query, value, key]).numpy(), attend(scores, value)[0],
                               atol=1e-5)


def test_masks_of_query_and_value(data):
    query_tokens = np.array([[1, 2, 0], [3, 0, 0]])
    value_tokens = np.array([[4, 5, 6, 0], [7, 8, 0, 0]])
    embedding = layers.Embedding(10, 3, mask_zero=True)
    query_in, value_in = keras.Input((3,)), keras.Input((4,))
    attended = layers.Attention()([embedding(query_in), embedding(value_in)])
    model = keras.Model([query_in, value_in], attended)
    table = embedding.get_weights()[0]
    q, v = table[query_tokens], table[value_tokens]
    expected = attend(q @ v.transpose(0, 2, 1), v, (value_tokens != 0)[:, None, :],
                      (query_tokens != 0).astype("float32"))[0]
    np.testing.assert_allclose(model.predict([query_tokens, value_tokens], verbose=0), expected,
                               atol=1e-6)


def test_gradients(float64):
    rng = np.random.RandomState(3)
    layer = layers.AdditiveAttention()
    query, value = rng.randn(2, 3, 4), rng.randn(2, 5, 4)
    layer([query, value])
    check_gradients(lambda q, v: layer([q, v]), [query, value], rtol=1e-4, atol=1e-7,
                    extra_variables=layer.trainable_weights)


def test_config_shapes_and_errors():
    layer = layers.Attention(use_scale=True, score_mode="concat", dropout=0.2)
    clone = layers.Attention.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    out, scores = layers.AdditiveAttention()([keras.Input((4, 6)), keras.Input((7, 6))],
                                             return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 4, 7)
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="general")
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Attention()(np.ones((1, 2, 3), "float32"))
