"""Embedding: lookup, scatter-add gradient, mask_zero, shapes, configs, errors, training."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from gradcheck import check_layer_gradients
from minikeras.ops.embedding import scatter_rows


def _scatter_reference(ids, grad, rows):
    out = np.zeros((rows, grad.shape[-1]), np.float64)
    for i, row in enumerate(ids.reshape(-1)):        # plain loop: an obviously right reference
        out[row] += grad.reshape(-1, grad.shape[-1])[i]
    return out


def test_fixture_case_int32_input():
    cases = [c for c in json.load(open(fixture_path("layers", "cases.json")))
             if c["class"] == "Embedding"]
    arrays = np.load(fixture_path("layers", "cases.npz"))
    assert cases, "the tf.keras fixture has an Embedding case"
    for case in cases:
        x = arrays[f"{case['name']}/input/0"]
        assert x.dtype == np.int32
        layer = keras.layers.Embedding(**case["kwargs"])
        layer(x)
        layer.set_weights([arrays[f"{case['name']}/w/0"]])
        np.testing.assert_allclose(layer(x).numpy(), arrays[f"{case['name']}/out"],
                                   rtol=1e-4, atol=1e-5)


def test_forward_matches_numpy_rows():
    layer = keras.layers.Embedding(7, 3)
    ids = np.array([[0, 6, 2], [2, 2, 5]])
    out = layer(ids)
    table = layer.get_weights()[0]
    assert out.dtype == np.float32 and out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.numpy(), table[ids])
    assert [w.name for w in layer.weights] == ["embedding/embeddings:0"]
    assert np.all(np.abs(table) <= 0.05)          # 'uniform' = RandomUniform(-0.05, 0.05)


def test_float_ids_are_truncated_to_int32_like_tf_keras():
    layer = keras.layers.Embedding(5, 2)
    layer(np.array([[1]]))
    table = layer.get_weights()[0]
    np.testing.assert_array_equal(layer(np.array([[1.7, 3.2]], "float32")).numpy(),
                                  table[[[1, 3]]])


@pytest.mark.parametrize("vocab,n_ids", [(6, 10), (300, 4000)])   # one-hot GEMM, bincount
def test_scatter_rows_both_paths_match_a_loop(vocab, n_ids):
    rng = np.random.default_rng(1)
    ids = rng.integers(0, vocab, (n_ids // 5, 5))
    ids[0, :3] = 2                                    # repeated ids accumulate
    grad = rng.standard_normal(ids.shape + (4,)).astype(np.float32)
    got = scatter_rows(ids, grad, vocab)
    assert got.dtype == np.float32 and got.shape == (vocab, 4)
    np.testing.assert_allclose(got, _scatter_reference(ids, grad, vocab), rtol=1e-5, atol=1e-5)


def test_gradient_matches_finite_differences(float64):
    layer = keras.layers.Embedding(5, 3)
    ids = np.array([[0, 4, 4], [1, 4, 2]])
    check_layer_gradients(layer, ids)


def test_mask_zero_emits_mask():
    layer = keras.layers.Embedding(5, 2, mask_zero=True)
    ids = np.array([[3, 0, 1], [0, 0, 2]])
    out = layer(ids)
    np.testing.assert_array_equal(out._keras_mask.numpy(), ids != 0)
    assert layer.compute_mask(ids).numpy().tolist() == (ids != 0).tolist()
    assert keras.layers.Embedding(5, 2).compute_mask(ids) is None
    assert keras.layers.Embedding(5, 2)(ids)._keras_mask is None


def test_compute_output_shape_without_data():
    assert keras.layers.Embedding(10, 4).compute_output_shape((None, 7)) == (None, 7, 4)
    assert keras.layers.Embedding(10, 4, input_length=7).compute_output_shape((None, None)) \
        == (None, 7, 4)
    assert keras.layers.Embedding(10, 4, input_length=(2, None)).compute_output_shape(
        (None, 2, 5)) == (None, 2, 5, 4)
    with pytest.raises(ValueError, match='"input_length" is 7, but received input has shape'):
        keras.layers.Embedding(10, 4, input_length=7).compute_output_shape((None, 6))


def test_config_round_trip_and_default_batch_input_shape():
    layer = keras.layers.Embedding(10, 4, mask_zero=True, input_length=3,
                                   embeddings_regularizer="l2")
    config = layer.get_config()
    assert config["batch_input_shape"] == (None, 3)
    assert keras.layers.Embedding(10, 4).get_config()["batch_input_shape"] == (None, None)
    assert keras.layers.Embedding(10, 4, input_length=(2, None)).get_config()[
        "batch_input_shape"] == (None, 2, None)
    clone = keras.layers.Embedding.from_config(config)
    assert clone.get_config() == config


def test_bad_arguments():
    with pytest.raises(ValueError, match="Both `input_dim` and `output_dim` should be positive, "
                                         "Received input_dim = 0 and output_dim = 3"):
        keras.layers.Embedding(0, 3)
    with pytest.raises(NotImplementedError, match="sparse"):
        keras.layers.Embedding(3, 3, sparse=True)
    with pytest.raises(ValueError, match=r"indices\[0, 1\] = 9 is not in \[0, 5\)"):
        keras.layers.Embedding(5, 2)(np.array([[1, 9]]))
    with pytest.raises(ValueError, match=r"= -1 is not in \[0, 5\)"):
        keras.layers.Embedding(5, 2)(np.array([[-1, 2]]))


def test_embedding_flatten_dense_trains():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, (256, 6))
    y = (x == 3).any(axis=1).astype("float32")
    model = keras.Sequential([keras.layers.Embedding(20, 8, input_length=6),
                              keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert model.layers[0].get_weights()[0].dtype == np.float32
