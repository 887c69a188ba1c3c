"""keras.preprocessing.text against closed forms and Keras' documented rules."""
import hashlib
import json
import math

import numpy as np
import pytest

from minikeras.preprocessing import text
from minikeras.preprocessing.text import Tokenizer, tokenizer_from_json

DOCS = ["The cat sat on the mat.", "The dog ate the cat!", "A dog, a cat; a bird?"]


def fitted(**kwargs):
    tokenizer = Tokenizer(**kwargs)
    tokenizer.fit_on_texts(DOCS)
    return tokenizer


def test_text_to_word_sequence_filters_lowers_and_splits():
    assert text.text_to_word_sequence("This is a sample sentence.") == \
        ["this", "is", "a", "sample", "sentence"]
    assert text.text_to_word_sequence("A-b,,C", filters=",", lower=False, split="-") == \
        ["A", "b", "C"]


def test_hashing_trick_md5_closed_form_and_one_hot_range():
    words = ["hello", "world", "hello"]
    expected = [int(hashlib.md5(w.encode()).hexdigest(), 16) % 9 + 1 for w in words]
    assert text.hashing_trick("Hello world, hello", 10, hash_function="md5") == expected
    indices = text.one_hot("some words to hash here", 5)
    assert len(indices) == 5 and all(1 <= i <= 4 for i in indices)
    assert text.hashing_trick("a b", 7, hash_function=len) == [len("a") % 6 + 1] * 2


def test_word_index_by_count_ties_in_first_appearance_order():
    tokenizer = fitted()
    # counts: the 4, cat 3, a 3, dog 2, then the singletons in order of appearance
    assert list(tokenizer.word_index) == ["the", "cat", "a", "dog", "sat", "on", "mat", "ate",
                                          "bird"]
    assert list(tokenizer.word_index.values()) == list(range(1, 10))
    assert list(tokenizer.word_counts.items())[:3] == [("the", 4), ("cat", 3), ("sat", 1)]
    assert tokenizer.word_docs["the"] == 2 and tokenizer.word_docs["cat"] == 3
    assert tokenizer.index_docs[tokenizer.word_index["dog"]] == 2
    assert tokenizer.document_count == 3
    assert tokenizer.index_word[1] == "the"


def test_oov_token_takes_index_1_and_num_words_limits_sequences():
    tokenizer = fitted(num_words=4, oov_token="<unk>")
    assert tokenizer.word_index["<unk>"] == 1 and tokenizer.word_index["the"] == 2
    # 'dog' has index 5 >= num_words, 'zebra' is unknown: both become <unk>
    assert tokenizer.texts_to_sequences(["the cat dog zebra"]) == [[2, 3, 1, 1]]
    assert tokenizer.sequences_to_texts([[2, 3, 5, 42]]) == ["the cat <unk> <unk>"]
    plain = fitted(num_words=4)
    assert plain.texts_to_sequences(["the cat dog zebra a"]) == [[1, 2, 3]]
    assert list(plain.texts_to_sequences_generator(["cat"])) == [[2]]
    assert plain.sequences_to_texts([[1, 2, 7]]) == ["the cat"]


def test_char_level_and_list_inputs():
    tokenizer = Tokenizer(char_level=True)
    tokenizer.fit_on_texts(["abbb", "Ab"])
    assert tokenizer.word_index == {"b": 1, "a": 2}
    listed = Tokenizer()
    listed.fit_on_texts([["Hello", "World"], ["hello"]])
    assert listed.word_index == {"hello": 1, "world": 2}


@pytest.mark.parametrize("mode", ["binary", "count", "freq", "tfidf"])
def test_texts_to_matrix_modes(mode):
    tokenizer = fitted()
    doc = "the cat the zebra"
    matrix = tokenizer.texts_to_matrix([doc, ""], mode=mode)
    assert matrix.shape == (2, 10) and matrix.dtype == np.float64
    seq = tokenizer.texts_to_sequences([doc])[0]          # [1, 2, 1]: the zebra is unknown
    expected = np.zeros(10)
    for j in set(seq):
        c = seq.count(j)
        expected[j] = {"binary": 1, "count": c, "freq": c / len(seq),
                       "tfidf": (1 + math.log(c)) *
                       math.log(1 + 3 / (1 + tokenizer.index_docs[j]))}[mode]
    np.testing.assert_allclose(matrix[0], expected, rtol=1e-12)
    np.testing.assert_array_equal(matrix[1], 0)


def test_sequences_to_matrix_with_num_words_and_fit_on_sequences():
    tokenizer = Tokenizer(num_words=4)
    tokenizer.fit_on_sequences([[1, 2, 2], [2, 3]])
    assert tokenizer.document_count == 2 and dict(tokenizer.index_docs) == {1: 1, 2: 2, 3: 1}
    matrix = tokenizer.sequences_to_matrix([[1, 2, 2, 9]], mode="tfidf")
    expected = [0, math.log(1 + 2 / 2), (1 + math.log(2)) * math.log(1 + 2 / 3), 0]
    np.testing.assert_allclose(matrix[0], expected)


def test_matrix_errors_in_keras_words():
    with pytest.raises(ValueError, match="Specify a dimension \\(`num_words` argument\\)"):
        Tokenizer().sequences_to_matrix([[1]])
    with pytest.raises(ValueError, match="Fit the Tokenizer on some data before using tfidf"):
        Tokenizer(num_words=3).sequences_to_matrix([[1]], mode="tfidf")
    with pytest.raises(ValueError, match="Unknown vectorization mode"):
        fitted().texts_to_matrix(["cat"], mode="onehot")
    with pytest.raises(TypeError, match="Unrecognized keyword arguments"):
        Tokenizer(num_wordz=3)


def test_json_round_trip_keeps_tables_and_behaviour():
    tokenizer = fitted(num_words=6, oov_token="?")
    restored = tokenizer_from_json(tokenizer.to_json())
    assert json.loads(tokenizer.to_json())["class_name"] == "Tokenizer"
    assert restored.word_index == tokenizer.word_index
    assert restored.index_word == tokenizer.index_word
    assert restored.index_docs == dict(tokenizer.index_docs)
    assert restored.document_count == 3 and restored.num_words == 6
    np.testing.assert_array_equal(restored.texts_to_matrix(DOCS, mode="tfidf"),
                                  tokenizer.texts_to_matrix(DOCS, mode="tfidf"))
