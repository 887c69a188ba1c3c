"""keras.utils.to_categorical against tf.keras 2.21 fixtures; set_random_seed."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

with open(fixture_path("functions", "utils.json")) as _handle:
    UTILS = json.load(_handle)
ARRAYS = np.load(fixture_path("functions", "arrays.npz"))

LABELS = ARRAYS["labels"]                     # [0, 3, 1, 2, 3]
INPUTS = {
    "to_categorical_default": ((LABELS,), {}),
    "to_categorical_num_classes": ((LABELS,), {"num_classes": 6}),
    "to_categorical_column": ((LABELS.reshape(-1, 1),), {}),
    "to_categorical_2d": ((np.array([[0, 1], [2, 1]]),), {}),
}


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_to_categorical_fixtures(name):
    args, kwargs = INPUTS[name]
    out = keras.utils.to_categorical(*args, **kwargs)
    assert out.dtype == np.dtype(UTILS["dtypes"][name])
    np.testing.assert_array_equal(out, np.asarray(UTILS[name]))
    assert out.shape == np.asarray(UTILS[name]).shape


def test_to_categorical_variants():
    assert keras.utils.to_categorical([1, 0], 3, dtype="int32").dtype == np.int32
    out = keras.utils.to_categorical(np.array([2.0, 0.0]))  # float labels
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0]])
    assert keras.utils.to_categorical(3, 5).shape == (5,)
    assert keras.utils.to_categorical(np.zeros((2, 3, 1), int), 4).shape == (2, 3, 4)
    out = keras.utils.to_categorical(np.array([], dtype=int), 3)
    assert out.shape == (0, 3)
    with pytest.raises((ValueError, IndexError)):
        keras.utils.to_categorical([0, 5], 3)


def test_set_random_seed_reproduces_runs():
    def run():
        model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,)),
                                  keras.layers.Dropout(0.5), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        x = np.random.rand(16, 3).astype(np.float32)
        model.fit(x, x[:, :1], epochs=2, verbose=0)
        return [w.copy() for w in model.get_weights()]
    keras.utils.set_random_seed(42)
    a = run()
    keras.backend.clear_session()
    keras.utils.set_random_seed(42)
    b = run()
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    with pytest.raises(ValueError, match="integer"):
        keras.utils.set_random_seed(1.5)


def test_warmstart_embedding_matrix_copies_shared_terms(tmp_path):
    base = np.arange(12, dtype=np.float32).reshape(4, 3)
    vocabulary_file = tmp_path / "new.txt"
    vocabulary_file.write_text("unk\nc\nzz\na\n")
    matrix = keras.utils.warmstart_embedding_matrix(
        np.array(["unk", "a", "b", "c"]), str(vocabulary_file), base,
        new_embeddings_initializer=keras.initializers.Constant(-1.0))
    np.testing.assert_array_equal(matrix, np.stack([base[0], base[3], -np.ones(3), base[1]]))
    assert matrix.dtype == np.float32


def test_warmstart_embedding_matrix_bad_vocabularies(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        keras.utils.warmstart_embedding_matrix(["a"], str(tmp_path / "missing.txt"),
                                               np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match="at least one token"):
        keras.utils.warmstart_embedding_matrix([], ["a"], np.zeros((1, 2), np.float32))
