"""Embedding's table gradient when the ids touch few rows of a large table (imdb_fasttext's
bigram vocabulary): summed per distinct id, then placed; the same bits as the table-sized sum."""
import numpy as np

from minikeras.ops import embedding


def table_sized_sum(ids, rows, num_rows):
    width = rows.shape[1]
    cells = (ids[:, None] * width + np.arange(width)).reshape(-1)
    total = np.bincount(cells, weights=rows.reshape(-1), minlength=num_rows * width)
    return total.reshape(num_rows, width).astype(rows.dtype)


def test_few_rows_route_gives_the_table_sized_sum_bit_for_bit():
    rng = np.random.default_rng(0)
    num_rows, width = 200_000, 12
    ids = rng.integers(0, num_rows, (64, 30))
    ids[:, ::5] = 7                          # many repeats of one id, summed in order
    grad = rng.standard_normal((64, 30, width)).astype(np.float32)
    assert num_rows * width >= embedding._FEW_ROWS_CELLS and 4 * ids.size < num_rows
    got = embedding.scatter_rows(ids, grad, num_rows)
    want = table_sized_sum(ids.reshape(-1), grad.reshape(-1, width), num_rows)
    assert got.dtype == np.float32 and got.shape == (num_rows, width)
    np.testing.assert_array_equal(got, want)
    reference = np.zeros((num_rows, width))
    np.add.at(reference, ids.reshape(-1), grad.reshape(-1, width).astype(np.float64))
    np.testing.assert_allclose(got, reference, rtol=1e-6, atol=1e-5)


def test_embedding_layer_gradient_on_a_large_vocabulary():
    import minikeras as keras
    rng = np.random.default_rng(1)
    layer = keras.layers.Embedding(150_000, 16)
    ids = rng.integers(0, 150_000, (8, 20))
    ids[:, 0] = 3
    with keras.backend.GradientTape() as tape:
        out = layer(ids)
        loss = keras.backend.sum(out * np.arange(16, dtype=np.float32))
    grad = np.asarray(tape.gradient(loss, layer.embeddings))
    expected = np.zeros((150_000, 16), np.float32)
    np.add.at(expected, ids.reshape(-1), np.broadcast_to(np.arange(16, dtype=np.float32),
                                                         (ids.size, 16)))
    np.testing.assert_array_equal(grad, expected)
