"""MultiHeadAttention, Attention, AdditiveAttention, GroupNormalization, UnitNormalization and
Identity: gradients against finite differences (float64), masks, configs, errors. Their
forward numbers, weights and configs are compared with tf.keras in
tests/diff_sweep/test_layers_vs_tf_keras.py."""
import numpy as np
import pytest

import minikeras as keras
from gradcheck import check_gradients, check_layer_gradients

L = keras.layers


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_multi_head_attention_gradients(float64):
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2, output_shape=4)
    query, value = _x(2, 3, 5), _x(2, 4, 5, seed=1)
    layer(query, value)
    check_gradients(lambda q, v: layer(q, v), [query, value], rtol=1e-5, atol=1e-7,
                    extra_variables=layer.trainable_weights)


def test_multi_head_attention_keras_masks_and_scores():
    embedded = L.Embedding(10, 4, mask_zero=True)
    tokens = np.array([[3, 4, 0, 0], [5, 0, 0, 0]])
    x = embedded(tokens)
    layer = L.MultiHeadAttention(num_heads=1, key_dim=2)
    out, scores = layer(x, x, return_attention_scores=True)
    scores = scores.numpy()
    # padded keys get no weight; the output keeps the query's mask
    np.testing.assert_allclose(scores[0, 0, :2, 2:], 0, atol=1e-6)
    np.testing.assert_allclose(scores[1, 0, 0, 1:], 0, atol=1e-6)
    np.testing.assert_array_equal(out._keras_mask, tokens != 0)
    causal = layer(x, x, use_causal_mask=True, return_attention_scores=True)[1].numpy()
    # rows of real queries (fully masked rows spread evenly, as in tf.keras)
    np.testing.assert_allclose(np.triu(causal[0, 0, :2, :2], 1), 0, atol=1e-6)


def test_multi_head_attention_config_builds_the_weights():
    layer = L.MultiHeadAttention(2, 3, name="mha")
    layer(np.ones((1, 4, 5), "float32"), np.ones((1, 6, 5), "float32"))
    clone = L.MultiHeadAttention.from_config(layer.get_config())
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    with pytest.raises(TypeError, match="value"):
        L.MultiHeadAttention(2, 3)(np.ones((1, 4, 5), "float32"))


@pytest.mark.parametrize("make", [
    lambda: L.Attention(use_scale=True), lambda: L.Attention(score_mode="concat"),
    lambda: L.AdditiveAttention()])
def test_dense_attention_gradients(float64, make):
    check_layer_gradients(make(), [_x(2, 3, 4), _x(2, 5, 4, seed=1)])


def test_dense_attention_masks():
    q, v = np.ones((1, 2, 3), "float32"), np.arange(12, dtype="float32").reshape(1, 4, 3)
    out = L.Attention()([q, v], mask=[np.array([[True, False]]),
                                      np.array([[True, True, False, False]])]).numpy()
    scores = q[0, 0] @ v[0, :2].T                  # only the two unmasked values count
    weights = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose(out[0, 0], weights @ v[0, :2], rtol=1e-5)
    np.testing.assert_array_equal(out[0, 1], 0)
    with pytest.raises(ValueError, match="list of inputs"):
        L.Attention()(q)
    with pytest.raises(ValueError, match="score_mode"):
        L.Attention(score_mode="dotty")


@pytest.mark.parametrize("make, shape", [
    (lambda: L.GroupNormalization(groups=2), (2, 3, 4)),
    (lambda: L.GroupNormalization(groups=-1, axis=1, center=False), (2, 4, 3)),
    (lambda: L.UnitNormalization(axis=[1, 2]), (2, 3, 4))])
def test_normalization_gradients(float64, make, shape):
    check_layer_gradients(make(), _x(*shape))


def test_group_normalization_errors_and_identity():
    with pytest.raises(ValueError, match="cannot be more than"):
        L.GroupNormalization(groups=8)(np.ones((1, 4), "float32"))
    with pytest.raises(ValueError, match="must be a multiple"):
        L.GroupNormalization(groups=3)(np.ones((1, 4), "float32"))
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(L.Identity()(x), x)


@pytest.mark.parametrize("equation, output_shape, bias_axes, shape", [
    ("abc,cd->abd", (None, 3), "d", (2, 4, 5)),
    ("...b,bc->...c", 4, "c", (2, 3, 5)),
    ("abc...,cd->abd...", (None, 2), None, (2, 3, 4, 2))])
def test_einsum_dense_gradients(float64, equation, output_shape, bias_axes, shape):
    check_layer_gradients(L.EinsumDense(equation, output_shape, bias_axes=bias_axes), _x(*shape))


def test_einsum_dense_errors():
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        L.EinsumDense("ab->b", 3)(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="Bias dimension 'x'"):
        L.EinsumDense("ab,bc->ac", 3, bias_axes="x")(np.ones((2, 3), "float32"))


def test_einsum_dense_output_shape_reads_shared_sizes():
    layer = L.EinsumDense("abc,cd->abd", output_shape=(None, 3), bias_axes="d")
    assert layer.compute_output_shape((None, 4, 6)) == (None, 4, 3)
    assert L.EinsumDense("...b,bc->...c", 5).compute_output_shape((None, 2, 7, 3)) == (None, 2, 7, 5)


def test_multi_head_attention_refuses_other_feature_sizes():
    layer = L.MultiHeadAttention(2, 3)
    layer(np.ones((1, 4, 5), "float32"), np.ones((1, 6, 5), "float32"))
    with pytest.raises(ValueError, match="built for a value of shape"):
        layer(np.ones((1, 4, 5), "float32"), np.ones((1, 6, 7), "float32"))
