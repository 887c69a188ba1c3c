"""keras.utils.pad_sequences / normalize against tf.keras 2.21 fixtures; Sequence."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

with open(fixture_path("functions", "utils.json")) as _handle:
    UTILS = json.load(_handle)
ARRAYS = np.load(fixture_path("functions", "arrays.npz"))
SEQUENCES = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]


@pytest.mark.parametrize("pad", [keras.utils.pad_sequences,
                                 keras.preprocessing.sequence.pad_sequences])
def test_pad_sequences_fixtures(pad):
    out = pad(SEQUENCES)
    assert out.dtype == np.dtype(UTILS["dtypes"]["pad_sequences_default"])
    np.testing.assert_array_equal(out, UTILS["pad_sequences_default"])
    out = pad(SEQUENCES, maxlen=4, padding="post", truncating="post", value=-1)
    assert out.dtype == np.dtype(UTILS["dtypes"]["pad_sequences_post_maxlen"])
    np.testing.assert_array_equal(out, UTILS["pad_sequences_post_maxlen"])


def test_pad_sequences_variants():
    out = keras.utils.pad_sequences(SEQUENCES, maxlen=2)             # 'pre' truncation
    np.testing.assert_array_equal(out, [[2, 3], [4, 5], [9, 10]])
    out = keras.utils.pad_sequences([[0.5], []], maxlen=3, dtype="float32", value=-1.0)
    np.testing.assert_array_equal(out, [[-1, -1, 0.5], [-1, -1, -1]])
    assert out.dtype == np.float32
    vectors = [np.ones((2, 3)), np.full((1, 3), 2.0)]                # items of shape (3,)
    out = keras.utils.pad_sequences(vectors, dtype="float32")
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[1], [[0, 0, 0], [2, 2, 2]])
    out = keras.utils.pad_sequences([["a", "bc"], ["d"]], dtype=object, value="")
    assert out.tolist() == [["a", "bc"], ["", "d"]]


def test_pad_sequences_errors_in_keras_words():
    with pytest.raises(ValueError, match='Padding type "middle" not understood'):
        keras.utils.pad_sequences(SEQUENCES, padding="middle")
    with pytest.raises(ValueError, match='Truncating type "middle" not understood'):
        keras.utils.pad_sequences(SEQUENCES, truncating="middle")
    with pytest.raises(ValueError, match="`sequences` must be a list of iterables"):
        keras.utils.pad_sequences([1, 2])
    with pytest.raises(ValueError, match="is not compatible with `value`'s type"):
        keras.utils.pad_sequences(SEQUENCES, value="x")
    with pytest.raises(ValueError, match="is different from expected shape"):
        keras.utils.pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


def test_normalize_fixtures():
    x = ARRAYS["m"]
    out = keras.utils.normalize(x)
    assert out.dtype == np.dtype(UTILS["dtypes"]["normalize_l2_last"])
    np.testing.assert_allclose(out, UTILS["normalize_l2_last"], rtol=1e-6, atol=1e-7)
    out = keras.utils.normalize(x, axis=0, order=1)
    assert out.dtype == np.dtype(UTILS["dtypes"]["normalize_l1_axis0"])
    np.testing.assert_allclose(out, UTILS["normalize_l1_axis0"], rtol=1e-6, atol=1e-7)
    zero_row = keras.utils.normalize(np.array([[0.0, 0.0], [3.0, 4.0]], np.float32))
    np.testing.assert_allclose(zero_row, [[0, 0], [0.6, 0.8]])    # zero norms left alone


def test_sequence_base_class():
    class Squares(keras.utils.Sequence):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return np.array([index ** 2])
    assert [int(batch[0]) for batch in Squares()] == [0, 1, 4]
    with pytest.raises(NotImplementedError):
        keras.utils.Sequence()[0]


def test_unpack_and_pack_x_y_sample_weight():
    x, y, sw = np.ones(2), np.zeros(2), np.ones(2)
    assert keras.utils.unpack_x_y_sample_weight((x, y))[2] is None
    assert keras.utils.unpack_x_y_sample_weight([x, y, sw])[2] is sw
    assert keras.utils.unpack_x_y_sample_weight(x)[0] is x
    assert keras.utils.pack_x_y_sample_weight(x) is x
    assert keras.utils.pack_x_y_sample_weight(x, y) == (x, y)
    with pytest.raises(ValueError, match="Data is expected to be in format"):
        keras.utils.unpack_x_y_sample_weight((x, y, sw, sw))
