"""Adapted vocabularies in `get_weights()` / `set_weights()` of TextVectorization, StringLookup
and IntegerLookup, against tf_keras 2.21 (tests/fixtures/w2_vocab/vocab_weights.json, written by
benchmarks/fixture_recipes/w2_vocab.py). tf_keras exposes an adapted vocabulary as a weight (bytes strings or
int64, special tokens excluded); in tf_idf mode between the IDF weights and the document count.
tf_keras refuses to write such a layer to a legacy .h5 file, and so does minikeras."""
import json
import os

import numpy as np
import pytest

import minikeras as keras

FIXTURE = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "w2_vocab",
                       "vocab_weights.json")
with open(FIXTURE) as _handle:
    EXPECTED = json.load(_handle)


def _build(case):
    layer = getattr(keras.layers, case["class_name"])(**case["kwargs"])
    if case["adapt"] is not None:
        layer.adapt(case["adapt"])
    return layer


def _describe(weight):
    weight = np.asarray(weight)
    values = [v.decode() if isinstance(v, bytes) else v for v in weight.reshape(-1).tolist()]
    return ("bytes" if weight.dtype == object else str(weight.dtype)), list(weight.shape), values


@pytest.mark.parametrize("name", sorted(EXPECTED["cases"]))
def test_get_weights_match_tf_keras(name):
    case = EXPECTED["cases"][name]
    got = _build(case).get_weights()
    assert len(got) == len(case["weights"])
    for weight, expected in zip(got, case["weights"]):
        dtype, shape, values = _describe(weight)
        assert (dtype, shape) == (expected["dtype"], expected["shape"])
        if dtype == "float32":
            np.testing.assert_allclose(values, expected["values"], rtol=1e-6)
        else:
            assert values == expected["values"]


def test_set_weights_restores_the_vocabulary():
    layer = keras.layers.TextVectorization(max_tokens=6)
    layer.adapt(["a b c", "a b", "a"])
    layer.set_weights([np.array([b"z", b"y"], dtype=object)])
    expected = EXPECTED["set_weights"]
    assert layer.get_vocabulary() == expected["vocabulary"]
    np.testing.assert_array_equal(np.asarray(layer(np.array([["z y q"]]))), expected["call"])


def test_set_weights_copies_an_adapted_vocabulary_between_layers():
    for source, target, data in [
            (keras.layers.StringLookup(), keras.layers.StringLookup(), ["é", "b", "é"]),
            (keras.layers.IntegerLookup(), keras.layers.IntegerLookup(), [3, 4, 3]),
            (keras.layers.TextVectorization(output_mode="tf_idf"),
             keras.layers.TextVectorization(output_mode="tf_idf"), ["a b c", "a b"])]:
        source.adapt(data)
        target.set_weights(source.get_weights())
        assert target.get_vocabulary() == source.get_vocabulary()
        probe = np.array(["a b q"]) if isinstance(source, keras.layers.TextVectorization) \
            else np.array([data])
        np.testing.assert_array_equal(np.asarray(target(probe)), np.asarray(source(probe)))


def test_set_weights_wrong_length_message():
    layer = keras.layers.TextVectorization(max_tokens=6, name="text_vectorization_5")
    layer.adapt(["a b c", "a b", "a"])
    with pytest.raises(ValueError) as info:
        layer.set_weights([])
    assert str(info.value) == EXPECTED["set_weights"]["empty_error"]


def test_adapted_vocabulary_adds_no_params_and_h5_refuses(tmp_path):
    assert EXPECTED["save_weights_h5"].startswith("NotImplementedError")
    layer = keras.layers.TextVectorization(max_tokens=6)
    layer.adapt(["a b c", "a b", "a"])
    inputs = keras.Input((1,), dtype="string")
    model = keras.Model(inputs, keras.layers.Embedding(10, 3)(layer(inputs)))
    assert layer.count_params() == EXPECTED["summary_params"]["text_vectorization"]
    assert model.count_params() == EXPECTED["summary_params"]["model"]
    with pytest.raises(NotImplementedError):
        model.save_weights(str(tmp_path / "refused.h5"))
    assert not os.path.exists(tmp_path / "refused.h5")


def _embedding_model(vectorizer):
    inputs = keras.Input((1,), dtype="string")
    outputs = keras.layers.Embedding(10, 3, name="embedding")(vectorizer(inputs))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("by_name", [False, True])
def test_h5_load_into_an_adapted_vocabulary_is_refused(tmp_path, by_name):
    # tf_keras 2.21 raises NotImplementedError ("Save or restore weights that is not an
    # instance of `tf.Variable` is not supported in h5") when loading .h5 weights into a
    # model whose TextVectorization has an adapted vocabulary: the file cannot restore it.
    path = str(tmp_path / "given.h5")
    _embedding_model(keras.layers.TextVectorization(vocabulary=["a", "b"],
                                                    name="vectorizer")).save_weights(path)
    adapted = keras.layers.TextVectorization(name="vectorizer")
    adapted.adapt(["a b c"])
    model = _embedding_model(adapted)
    with pytest.raises(NotImplementedError, match="adapted vocabulary"):
        model.load_weights(path, by_name=by_name)
    assert adapted.get_vocabulary() == ["", "[UNK]", "c", "b", "a"]


def test_h5_load_by_name_skips_an_adapted_layer_absent_from_the_file(tmp_path):
    path = str(tmp_path / "embedding_only.h5")
    source = keras.Sequential([keras.Input((2,)), keras.layers.Embedding(10, 3,
                                                                         name="embedding")])
    source.save_weights(path)
    adapted = keras.layers.TextVectorization(name="vectorizer")
    adapted.adapt(["a b c"])
    model = _embedding_model(adapted)
    model.load_weights(path, by_name=True)
    np.testing.assert_array_equal(model.get_layer("embedding").get_weights()[0],
                                  source.layers[0].get_weights()[0])
