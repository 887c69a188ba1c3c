"""A model built after `set_random_seed` starts from tf.keras' own weights: tf_keras 2.21 gives
each unseeded initializer a seed from the seed generator at its first call and draws with
tf's stateless Philox, which `core.philox` replays. Fixtures: tests/fixtures/seeded_session/
(benchmarks/fixture_recipes/seeded_session.py, run with tf_keras 2.21)."""
import json
import os
import warnings

import numpy as np
import pytest

import minikeras as keras

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "seeded_session")


def _expected():
    with open(os.path.join(FIXTURES, "fit.json")) as handle:
        facts = json.load(handle)
    return facts, np.load(os.path.join(FIXTURES, "weights.npz"))


def _build_models():
    """The recipe's two models, built the same way (the order of first calls matters)."""
    layers = keras.layers
    inputs = keras.Input((8, 6))
    x = layers.Conv1D(4, 3, kernel_initializer="he_normal")(inputs)
    x = layers.LSTM(5, return_sequences=True)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(7, activation="relu", kernel_initializer="lecun_normal",
                     bias_initializer="random_uniform")(x)
    outputs = layers.Dense(3, activation="softmax", kernel_initializer="glorot_normal")(x)
    functional = keras.Model(inputs, outputs)
    sequential = keras.Sequential([
        layers.Embedding(20, 4, input_length=5),
        layers.GRU(3),
        layers.Dense(6, kernel_initializer="he_uniform", bias_initializer="truncated_normal"),
        layers.Dense(2, kernel_initializer="random_normal",
                     bias_initializer=keras.initializers.VarianceScaling(
                         0.5, "fan_out", "untruncated_normal")),
        layers.Dense(2, kernel_initializer="lecun_uniform")])
    sequential.build()
    return functional, sequential


@pytest.fixture
def seeded_models():
    facts, _ = _expected()
    keras.backend.clear_session()
    keras.utils.set_random_seed(facts["seed"])
    return _build_models()


def test_initial_weights_are_tf_keras_own(seeded_models):
    _, arrays = _expected()
    for prefix, model in zip(("functional", "sequential"), seeded_models):
        weights = model.get_weights()
        for index, weight in enumerate(weights):
            # Orthogonal's QR is ours (float64), the rest is tf's draw bit for bit
            np.testing.assert_allclose(weight, arrays[f"{prefix}_{index}"], rtol=0, atol=1e-6,
                                       err_msg=f"{prefix} weight {index}")


def test_fit_without_shuffle_gives_tf_keras_losses(seeded_models):
    facts, arrays = _expected()
    functional, _ = seeded_models
    functional.compile("adam", "sparse_categorical_crossentropy")
    history = functional.fit(arrays["x"], arrays["y"], batch_size=16, epochs=3, verbose=0,
                             shuffle=False)
    np.testing.assert_allclose(history.history["loss"], facts["loss"], rtol=2e-5)


def test_the_same_seed_builds_the_same_weights_again(seeded_models):
    first = [w.copy() for model in seeded_models for w in model.get_weights()]
    keras.utils.set_random_seed(_expected()[0]["seed"])
    again = [w for model in _build_models() for w in model.get_weights()]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_an_unseeded_instance_called_again_replays_its_values_and_warns():
    keras.utils.set_random_seed(3)
    init = keras.initializers.GlorotUniform()
    first = init((4, 5)).numpy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = init((4, 5)).numpy()
        other_dtype = init((4, 5), dtype="float64").numpy()
    np.testing.assert_array_equal(first, second)
    assert other_dtype.dtype == np.float64 and other_dtype.shape == (4, 5)
    assert sum("called multiple times" in str(w.message) for w in caught) == 2
    # a fresh instance picks the next seed, so its values differ
    assert not np.array_equal(first, keras.initializers.GlorotUniform()((4, 5)).numpy())
