"""MultiHeadAttention against a NumPy einsum reference of tf.keras' computation (weights laid out
as its EinsumDense sub-layers), masks, gradients, config and weight names."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from gradcheck import check_gradients


def reference(layer, query, value, key=None, mask=None):
    """tf.keras' MultiHeadAttention in einsum form (float64)."""
    key = value if key is None else key
    wq, bq, wk, bk, wv, bv, wo, bo = [w.astype(np.float64) for w in layer.get_weights()]
    q = np.einsum("abc,cde->abde", query, wq) + bq
    k = np.einsum("abc,cde->abde", key, wk) + bk
    v = np.einsum("abc,cde->abde", value, wv) + bv
    q = q / np.sqrt(layer._key_dim)
    scores = np.einsum("aecd,abcd->acbe", k, q)            # (B, H, T, S)
    if mask is not None:
        scores = scores + (1.0 - mask[:, None].astype(np.float64)) * -1e9
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    scores /= scores.sum(-1, keepdims=True)
    heads = np.einsum("acbe,aecd->abcd", scores, v)        # (B, T, H, Dv)
    return np.einsum("abcd,cde->abe", heads, wo) + bo, scores


def test_weights_as_tf_keras_lays_them_out():
    layer = layers.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=5, output_shape=4)
    layer(np.ones((1, 2, 6), "float32"), np.ones((1, 3, 7), "float32"),
          key=np.ones((1, 3, 8), "float32"))
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("multi_head_attention/query/kernel:0", (6, 3, 2)),
        ("multi_head_attention/query/bias:0", (3, 2)),
        ("multi_head_attention/key/kernel:0", (8, 3, 2)),
        ("multi_head_attention/key/bias:0", (3, 2)),
        ("multi_head_attention/value/kernel:0", (7, 3, 5)),
        ("multi_head_attention/value/bias:0", (3, 5)),
        ("multi_head_attention/attention_output/kernel:0", (3, 5, 4)),
        ("multi_head_attention/attention_output/bias:0", (4,))]


def test_matches_the_einsum_reference_with_masks():
    rng = np.random.RandomState(0)
    query = rng.randn(2, 5, 6).astype("float32")
    value = rng.randn(2, 7, 4).astype("float32")
    key = rng.randn(2, 7, 3).astype("float32")
    mask = rng.rand(2, 5, 7) > 0.3
    layer = layers.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=5,
                                      bias_initializer="random_normal")
    output, scores = layer(query, value, key=key, attention_mask=mask,
                           return_attention_scores=True)
    expected_output, expected_scores = reference(layer, query, value, key, mask)
    np.testing.assert_allclose(output.numpy(), expected_output, atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), expected_scores, atol=1e-6)
    assert output.dtype == np.float32
    causal = layer(query, value, key=key, use_causal_mask=True).numpy()
    np.testing.assert_allclose(causal, reference(layer, query, value, key,
                                                 np.tril(np.ones((2, 5, 7))))[0], atol=1e-5)


def test_padding_mask_of_an_embedding_reaches_the_attention():
    tokens = np.array([[3, 4, 5, 0, 0]])
    inputs = keras.Input((5,))
    embedded = layers.Embedding(10, 4, mask_zero=True)(inputs)
    attention = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    model = keras.Model(inputs, attention(embedded, embedded, return_attention_scores=True)[1])
    scores = model.predict(tokens, verbose=0)
    assert scores.shape == (1, 2, 5, 5)
    np.testing.assert_allclose(scores[0, :, :3, 3:], 0.0, atol=1e-7)  # padded keys ignored
    np.testing.assert_allclose(scores[0, :, :3, :3].sum(-1), 1.0, rtol=1e-6)


def test_gradients(float64):
    rng = np.random.RandomState(1)
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, bias_initializer="random_normal")
    query, value = rng.randn(2, 3, 4), rng.randn(2, 4, 5)
    layer(query, value)
    check_gradients(lambda q, v: layer(q, v), [query, value], rtol=1e-4, atol=1e-7,
                    extra_variables=layer.trainable_weights)


def test_config_round_trip_and_symbolic_shapes():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.1, output_shape=7)
    query, value = keras.Input((4, 6)), keras.Input((5, 8))
    output, scores = layer(query, value, return_attention_scores=True)
    assert output.shape == (None, 4, 7) and scores.shape == (None, 2, 4, 5)
    config = layer.get_config()
    assert config["query_shape"] == (None, 4, 6) and config["value_shape"] == (None, 5, 8)
    clone = layers.MultiHeadAttention.from_config(config)
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    assert clone.get_config() == config


def test_arguments_it_cannot_honour():
    with pytest.raises(TypeError, match="value"):
        layers.MultiHeadAttention(num_heads=2, key_dim=2)(np.ones((1, 2, 3), "float32"))


@pytest.mark.parametrize("extension", ["h5", "keras"])
def test_saved_models_reload_and_keep_keras3_weight_paths(tmp_path, extension):
    import zipfile
    import h5py
    query, value = keras.Input((4, 6)), keras.Input((3, 5))
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=3,
                                         bias_initializer="random_normal")(query, value)
    model = keras.Model([query, value], layers.Add()([attended, query]))
    rng = np.random.RandomState(2)
    data = [rng.rand(2, 4, 6).astype("float32"), rng.rand(2, 3, 5).astype("float32")]
    path = str(tmp_path / f"model.{extension}")
    model.save(path)
    np.testing.assert_array_equal(keras.models.load_model(path).predict(data, verbose=0),
                                  model.predict(data, verbose=0))
    if extension == "keras":
        with zipfile.ZipFile(path) as archive:
            archive.extract("model.weights.h5", tmp_path)
        with h5py.File(tmp_path / "model.weights.h5") as weights:
            group = weights["layers/multi_head_attention"]
            # as Keras 3.15 writes it (tests/fixtures/diff_sweep/attention_files/mha_k3.keras),
            # plus hard links under tf_keras 2.21's names (tests/saving/test_resume_interop.py)
            keras3 = ["_dropout_layer", "_softmax", "key_dense", "output_dense", "query_dense",
                      "value_dense", "vars"]
            tf_keras = ["_key_dense", "_output_dense", "_query_dense", "_value_dense"]
            assert sorted(group) == sorted(keras3 + tf_keras)
            assert group["output_dense/vars/0"].shape == (2, 3, 6)
