"""Lookup and TextVectorization: bad arguments raise Keras' errors, unsupported ones raise
NotImplementedError naming them; adapt() walks arrays, lists, Sequences and generators;
output shapes and dtypes without data; vocabulary files; set_vocabulary."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.utils import Sequence

SENTENCES = ["The cat sat.", "The dog sat!", "the end", "a cat and a dog"]


@pytest.mark.parametrize("cls, kwargs, error", [
    (layers.StringLookup, {"max_tokens": 1}, "`max_tokens` must be greater than 1"),
    (layers.StringLookup, {"pad_to_max_tokens": True}, "must set `max_tokens`"),
    (layers.StringLookup, {"num_oov_indices": -1}, "greater than or equal to 0"),
    (layers.StringLookup, {"output_mode": "bad"}, "invalid value `bad`"),
    (layers.StringLookup, {"invert": True, "output_mode": "count"}, "must be `'int'` when"),
    (layers.StringLookup, {"idf_weights": [1.0]}, "should only be set if"),
    (layers.StringLookup, {"vocabulary": ["a", "a"]}, "repeated term"),
    (layers.StringLookup, {"vocabulary": ["a", ""], "mask_token": ""}, "reserved mask token"),
    (layers.StringLookup, {"vocabulary": ["a", "b", "c"], "max_tokens": 3},
     "larger than the maximum vocab size"),
    (layers.StringLookup, {"vocabulary": ["a"], "output_mode": "tf_idf"},
     "`idf_weights` must be set"),
    (layers.StringLookup, {"vocabulary": "/no/such/vocabulary.txt"}, "does not exist"),
    (layers.IntegerLookup, {"max_tokens": 1}, "must be greater than 1"),
    (layers.IntegerLookup, {"vocabulary_dtype": "float32"}, "must be an integer dtype"),
    (layers.TextVectorization, {"standardize": "upper"}, "invalid value `upper`"),
    (layers.TextVectorization, {"split": "comma"}, "invalid value `comma`"),
    (layers.TextVectorization, {"output_mode": "one_hot"}, "invalid value `one_hot`"),
    (layers.TextVectorization, {"ngrams": 1.5}, "`ngrams` must be None"),
    (layers.TextVectorization, {"output_mode": "count", "output_sequence_length": 3},
     "must not be set"),
    (layers.TextVectorization, {"dtype": "int32"}, "may only have a dtype of string"),
])
def test_bad_arguments(cls, kwargs, error):
    with pytest.raises(ValueError, match=error):
        cls(**kwargs)


@pytest.mark.parametrize("cls, kwargs, name", [
    (layers.StringLookup, {"output_mode": "multi_hot", "sparse": True}, "sparse"),
    (layers.IntegerLookup, {"output_mode": "count", "sparse": True}, "sparse"),
    (layers.TextVectorization, {"ragged": True}, "ragged"),
    (layers.TextVectorization, {"output_mode": None}, "output_mode=None"),
    (layers.TextVectorization, {"output_mode": "multi_hot", "sparse": True}, "sparse"),
    (layers.StringLookup, {"encoding": "latin-1"}, "encoding"),
])
def test_unsupported_arguments_are_named(cls, kwargs, name):
    with pytest.raises(NotImplementedError, match=name):
        cls(**kwargs)


def test_no_oov_index_refuses_unknown_values():
    layer = layers.StringLookup(vocabulary=["a", "b"], num_oov_indices=0)
    np.testing.assert_array_equal(layer(np.array(["b", "a"])).numpy(), [1, 0])
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layer(np.array(["c"]))


def test_adapt_after_a_given_vocabulary_is_refused():
    layer = layers.StringLookup(vocabulary=["a"])
    with pytest.raises(ValueError, match="Cannot adapt"):
        layer.adapt(np.array(["a", "b"]))


class _Batches(Sequence):
    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        return self.batches[index]


def test_adapt_walks_arrays_lists_sequences_and_generators():
    reference = layers.TextVectorization()
    reference.adapt(np.array(SENTENCES))
    from_list = layers.TextVectorization()
    from_list.adapt(SENTENCES)
    from_sequence = layers.TextVectorization()
    from_sequence.adapt(_Batches([np.array(SENTENCES[:2]), np.array(SENTENCES[2:])]))
    from_generator = layers.TextVectorization()
    from_generator.adapt(np.array([s]) for s in SENTENCES)
    first_steps = layers.TextVectorization()
    first_steps.adapt(_Batches([np.array(SENTENCES[:2]), np.array(SENTENCES[2:])]), steps=1)
    vocabulary = reference.get_vocabulary()
    # the: 3; sat, dog, cat, a: 2 each (ties by token, descending)
    assert vocabulary[:7] == ["", "[UNK]", "the", "sat", "dog", "cat", "a"]
    assert from_list.get_vocabulary() == vocabulary
    assert from_sequence.get_vocabulary() == vocabulary
    assert from_generator.get_vocabulary() == vocabulary
    assert first_steps.get_vocabulary() == ["", "[UNK]", "the", "sat", "dog", "cat"]
    with pytest.raises(ValueError, match="tuple"):
        layers.TextVectorization().adapt(_Batches([(np.array(SENTENCES), np.zeros(4))]))


def test_vocabulary_file_and_set_vocabulary(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("x\ny\nz\n", encoding="utf-8")
    from_file = layers.StringLookup(vocabulary=str(path))
    assert from_file.get_vocabulary() == ["[UNK]", "x", "y", "z"]
    assert from_file.get_config()["vocabulary"] == str(path)
    integers = tmp_path / "ints.txt"
    integers.write_text("7\n3\n", encoding="utf-8")
    assert layers.IntegerLookup(vocabulary=str(integers)).get_vocabulary() == [-1, 7, 3]
    layer = layers.TextVectorization(output_mode="tf_idf")
    layer.set_vocabulary(["cat", "dog"], idf_weights=[0.5, 2.0])
    np.testing.assert_allclose(layer(np.array(["dog dog bird"])).numpy(),
                               [[1.25, 0.0, 4.0]])     # OOV idf: the mean of the given ones


def test_output_shapes_and_dtypes_without_data():
    text = keras.Input(shape=(1,), dtype="string")
    vectorize = layers.TextVectorization(vocabulary=["a", "b"], output_sequence_length=6)
    assert vectorize(text).shape == (None, 6) and vectorize(text).dtype == np.int64
    counts = layers.TextVectorization(vocabulary=["a", "b"], output_mode="count")(text)
    assert counts.shape == (None, 3) and counts.dtype == np.float32    # no mask column
    padded = layers.StringLookup(vocabulary=["a"], output_mode="multi_hot", max_tokens=10,
                                 pad_to_max_tokens=True)(keras.Input(shape=(3,), dtype="string"))
    assert padded.shape == (None, 10)
    one_hot = layers.IntegerLookup(vocabulary=[4, 5], output_mode="one_hot")(
        keras.Input(shape=(), dtype="int64"))
    assert one_hot.shape == (None, 3)
    inverted = layers.StringLookup(vocabulary=["a"], invert=True)(
        keras.Input(shape=(2,), dtype="int64"))
    assert inverted.shape == (None, 2) and inverted.dtype == object
    assert repr(text).endswith("dtype=string (created by layer 'input_1')>")


def test_a_single_string_gives_one_sequence():
    layer = layers.TextVectorization(vocabulary=["cat", "dog"])
    np.testing.assert_array_equal(layer("Dog cat bird").numpy(), [3, 2, 1])


def test_deferred_sequential_builds_a_string_input_for_string_data():
    model = keras.Sequential([
        layers.TextVectorization(vocabulary=["cat", "dog"], output_sequence_length=3),
        layers.Embedding(4, 2)])
    out = model.predict(np.array(["dog cat", "bird"]), verbose=0)
    assert out.shape == (2, 3, 2)
    assert model.inputs[0].dtype == object
    embeddings = model.layers[-1].get_weights()[0]
    np.testing.assert_array_equal(out[0], embeddings[[3, 2, 0]])
    numeric = keras.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="Unsupported object type"):
        numeric.predict(np.array([["a"]]), verbose=0)
