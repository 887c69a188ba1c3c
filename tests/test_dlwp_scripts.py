"""Whole "Deep Learning with Python" notebook scripts (both editions) run with minikeras and
compared with tf_keras 2.21 (fid-dlwp sweep): what differed, pinned with closed forms or with
facts the peer recorded (tests/fixtures/dlwp/, benchmarks/fixture_recipes/dlwp.py)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "dlwp")


def _facts():
    with open(os.path.join(FIXTURES, "dlwp_facts.json")) as handle:
        return json.load(handle)


def test_k_function_gives_python_numbers_for_scalar_outputs():
    """tf.keras' eager K.function hands a scalar back as a Python float (arrays stay NumPy
    arrays)."""
    inputs = keras.Input((3,))
    outputs = layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")(inputs)
    fetch = K.function([inputs], [K.mean(outputs), outputs, K.sum(outputs, axis=1)])
    loss_value, full, sums = fetch([np.ones((2, 3), "float32")])
    assert [type(loss_value).__name__, type(full).__name__] == \
        _facts()["function_result_types"]
    assert loss_value == 3.0
    assert full.shape == (2, 2) and full.dtype == np.float32
    np.testing.assert_allclose(sums, [6.0, 6.0])
    single = K.function([inputs], K.max(outputs))(np.ones((1, 3), "float32"))
    assert type(single) is float and single == 3.0


def test_k_function_with_k_gradients_gives_numpy_scalars_as_graph_mode():
    """DLwP 5.4 / 8.2 / 8.3 print the loss of a K.function built with K.gradients, which
    tf.keras runs only with eager execution off: there the scalar is an np.float32."""
    with open(os.path.join(FIXTURES, "dlwp_graph_facts.json")) as handle:
        expected = json.load(handle)["function_result_types"]
    inputs = keras.Input((3,))
    outputs = layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")(inputs)
    loss = K.mean(outputs)
    fetch = K.function([inputs], [loss, outputs, K.gradients(loss, inputs)[0]])
    values = fetch([np.ones((2, 3), "float32")])
    assert [type(value).__name__ for value in values] == expected
    assert values[0] == np.float32(3.0)
    np.testing.assert_allclose(values[2], np.full((2, 3), 0.5))   # d mean / d x = 2 / 4


LEGACY_OPTIMIZERS = {
    "rmsprop_clipvalue": lambda: keras.optimizers.legacy.RMSprop(
        learning_rate=0.0008, clipvalue=1.0, decay=1e-8),
    "adam_clipnorm": lambda: keras.optimizers.legacy.Adam(clipnorm=2.0),
    "sgd_plain": lambda: keras.optimizers.legacy.SGD(0.1, momentum=0.9),
}


@pytest.mark.parametrize("case", sorted(LEGACY_OPTIMIZERS))
def test_legacy_optimizer_config_keys_in_tf_keras_order(case):
    """DLwP 8.5 prints the GAN's RMSprop(lr, clipvalue, decay) config: the clipping entry comes
    right after the name, before the learning rate, as tf.keras' base class puts it."""
    expected = _facts()["legacy_config_order"][case]
    optimizer = LEGACY_OPTIMIZERS[case]()
    assert list(optimizer.get_config()) == expected["before"]
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer, "mse")
    model.train_on_batch(np.array([[1.0, 2.0]], "float32"), np.array([[1.0]], "float32"))
    assert list(optimizer.get_config()) == expected["after"]


def test_inferred_sequential_relaxes_its_input_shape_for_other_sizes():
    """tf.keras: a Sequential built from its first data (no Input, no input_shape) called on
    data of other sizes makes the differing dimensions None instead of refusing them."""
    stack = keras.Sequential([layers.Dense(4), layers.Dense(2)])
    assert stack(np.zeros((2, 2, 8), "float32")).shape == (2, 2, 2)
    longer = np.random.default_rng(0).normal(size=(3, 5, 8)).astype("float32")
    out = np.asarray(stack(longer))
    (k1, b1), (k2, b2) = (layer.get_weights() for layer in stack.layers)
    np.testing.assert_allclose(out, (longer @ k1 + b1) @ k2 + b2, rtol=1e-5, atol=1e-6)
    assert stack.input_shape == (None, None, 8)
    explicit = keras.Sequential([layers.Dense(4, input_shape=(2, 8))])
    with pytest.raises(ValueError, match="incompatible"):
        explicit(np.zeros((3, 5, 8), "float32"))      # a given input shape stays as given


class _TransformerBlock(layers.Layer):
    """DLwP 2nd ed. 11.3's TransformerEncoder shape: a Sequential made in __init__ without an
    input shape, called inside `call` on sequences of unknown length."""

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dense_proj = keras.Sequential([layers.Dense(2 * dim, activation="relu"),
                                            layers.Dense(dim)])

    def call(self, inputs):
        return inputs + self.dense_proj(inputs)


def test_custom_layer_calling_a_deferred_sequential_on_unknown_lengths():
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(20, 8)(inputs)
    block = _TransformerBlock(8)
    outputs = block(x)
    assert outputs.shape == (None, None, 8)
    assert block.dense_proj.input_shape == (None, None, 8)
    model = keras.Model(inputs, outputs)
    for length in (3, 7):
        tokens = np.arange(2 * length).reshape(2, length) % 20
        embedded = model.layers[1].get_weights()[0][tokens]
        (k1, b1), (k2, b2) = (layer.get_weights() for layer in block.dense_proj.layers)
        expected = embedded + np.maximum(embedded @ k1 + b1, 0) @ k2 + b2
        np.testing.assert_allclose(model.predict(tokens, verbose=0), expected, rtol=1e-5,
                                   atol=1e-6)


def test_get_vocabulary_entries_are_numpy_scalars_as_in_tf_keras():
    """DLwP 2nd ed. 11.2 prints the adapted vocabulary: tf.keras gives np.str_ tokens (special
    string tokens stay str) and np.int64 integer entries, so the list prints the same."""
    expected = _facts()["vocabulary_types"]

    def types(vocabulary):
        return [type(token).__name__ for token in vocabulary]
    adapted = layers.TextVectorization()
    adapted.adapt(["b a a", "c"])
    assert types(adapted.get_vocabulary()) == expected["text_adapted"]
    assert types(adapted.get_vocabulary(include_special_tokens=False)) == \
        expected["text_adapted_plain"]
    assert repr(adapted.get_vocabulary()) == expected["adapted_repr"]
    assert types(layers.TextVectorization(vocabulary=["x", "y"]).get_vocabulary()) == \
        expected["text_given"]
    ngrams = layers.TextVectorization(output_mode="multi_hot", ngrams=2)
    ngrams.adapt(["b a a", "c"])
    assert types(ngrams.get_vocabulary()) == expected["text_ngrams"]
    strings = layers.StringLookup()
    strings.adapt(["b", "a", "a"])
    assert types(strings.get_vocabulary()) == expected["string_adapted"]
    integers = layers.IntegerLookup()
    integers.adapt([3, 1, 1])
    assert types(integers.get_vocabulary()) == expected["integer_adapted"]
    given = layers.IntegerLookup(vocabulary=[5, 7], mask_token=0)
    assert types(given.get_vocabulary()) == expected["integer_given"]
    adapted.set_vocabulary(["q", "r"])
    assert types(adapted.get_vocabulary()) == expected["text_set"]
