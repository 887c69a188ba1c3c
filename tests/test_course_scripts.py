"""Patterns of the Coursera Deep Learning Specialization and TensorFlow Developer certificate
Keras scripts (fid-dls sweep), against tf_keras 2.21's numbers in
tests/fixtures/course_scripts/course_facts.json (benchmarks/fixture_recipes/course_scripts.py)
or closed forms. The builders are tests/fixtures/course_scripts/course_models.py."""
import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras.core import philox
from fixtures.course_scripts import course_models as cm

FACTS_PATH = os.path.join(os.path.dirname(__file__), "fixtures", "course_scripts",
                          "course_facts.json")


@pytest.fixture(scope="module")
def facts():
    with open(FACTS_PATH) as f:
        return json.load(f)


@pytest.fixture(autouse=True)
def fresh_session():
    K.clear_session()
    yield
    K.clear_session()


# --- seeded initializers draw tf's stateless Philox numbers -----------------------------------
@pytest.mark.parametrize("name, make, shape", cm.SEEDED_INITIALIZERS,
                         ids=[case[0] for case in cm.SEEDED_INITIALIZERS])
def test_seeded_initializers_give_tf_keras_values(facts, name, make, shape):
    expected = np.asarray(facts["seeded_initializers"][name], np.float32)
    values = np.asarray(make(keras.initializers)(shape))
    assert values.dtype == np.float32 and values.shape == tuple(shape)
    # uniform draws are bit-exact; normal ones go through float32 log/sin/cos (an ulp or two)
    np.testing.assert_allclose(values, expected, rtol=0, atol=2e-6 * max(1.0, np.abs(expected).max()))


def test_seeded_layer_kernel_is_tf_keras_glorot_uniform(facts):
    dense = keras.layers.Dense(5, kernel_initializer=keras.initializers.glorot_uniform(seed=0))
    dense.build((None, 3))
    np.testing.assert_array_equal(dense.get_weights()[0],
                                  np.asarray(facts["seeded_initializers"]["glorot_uniform_0"],
                                             np.float32))


def test_seeded_initializer_repeats_and_other_dtypes_keep_numpy_draws():
    init = keras.initializers.GlorotUniform(seed=3)
    np.testing.assert_array_equal(np.asarray(init((4, 4))), np.asarray(init((4, 4))))
    assert np.asarray(init((4, 4), dtype="float64")).dtype == np.float64


def test_truncated_normal_takes_values_within_two_from_each_group_run():
    # every value inside (-2, 2); groups of 4 read from counter runs 256 apart, so the first
    # group's values do not depend on the size of the request
    small = philox.stateless_truncated_normal((4,), (5, 0))
    large = philox.stateless_truncated_normal((4000,), (5, 0))
    assert np.abs(large).max() < 2
    np.testing.assert_array_equal(small, large[:4])
    assert abs(float(large.mean())) < 0.1 and abs(float(large.std()) - 0.8796) < 0.05


def test_residual_blocks_match_the_notebook_numbers(facts):
    outputs = cm.residual_block_outputs(keras)
    for name, value in outputs.items():
        expected = np.asarray(facts["residual_blocks"][name], np.float32)
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5, err_msg=name)


# --- the shared LSTM decoder loop of the NMT / jazz notebooks ----------------------------------
def test_rnn_layer_called_with_inputs_keyword_equals_positional_call():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 1, 3)).astype(np.float32)
    h = rng.normal(size=(2, 4)).astype(np.float32)
    lstm = keras.layers.LSTM(4, return_state=True)
    by_keyword = lstm(inputs=x, initial_state=[h, h])
    positional = lstm(x, initial_state=[h, h])
    for a, b in zip(by_keyword, positional):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_shared_lstm_loop_model_matches_tf_keras(facts):
    fact = facts["shared_lstm_loop"]
    model = cm.shared_lstm_loop_model(keras)
    assert [layer.name for layer in model.layers] == fact["layers"]
    assert list(model.output_names) == fact["output_names"]
    model.set_weights([np.asarray(w, np.float32) for w in fact["weights"]])
    x, a0 = (np.asarray(fact[k], np.float32) for k in ("x", "a0"))
    c0 = np.zeros_like(a0)
    predictions = model.predict([x, a0, c0], verbose=0)
    for ours, theirs in zip(predictions, fact["predictions"]):
        np.testing.assert_allclose(ours, np.asarray(theirs, np.float32), atol=1e-6)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    targets = [np.asarray(t, np.float32) for t in fact["targets"]]
    history = model.fit([x, a0, c0], targets, epochs=2, batch_size=3, shuffle=False, verbose=0)
    assert list(history.history) == list(fact["history"])
    for key, values in fact["history"].items():
        np.testing.assert_allclose(history.history[key], values, atol=1e-5, err_msg=key)


# --- automatic names of layers made while a functional model is built --------------------------
def test_layers_made_inside_a_functional_call_do_not_use_up_names(facts):
    assert cm.names_after_layers_made_inside_calls(keras) == facts["names_inside_calls"]


# --- files from tf.keras ----------------------------------------------------------------------
def test_compiled_untrained_tf_keras_h5_loads_without_optimizer_warning():
    # tf.keras writes `optimizer_weights/iteration:0` alone for a compiled model never trained
    # and restores it silently; the model then trains
    path = os.path.join(os.path.dirname(FACTS_PATH), "compiled_untrained.tk.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = keras.models.load_model(path)
    assert int(np.asarray(model.optimizer.iterations)) == 0
    model.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    assert int(np.asarray(model.optimizer.iterations)) == 1


# --- Keras 2 module paths through an importer that aliases `keras` -----------------------------
class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`coursekeras.X` is `minikeras.X`: how a `keras` name can be pointed at minikeras."""

    def find_spec(self, name, path=None, target=None):
        if name.startswith("coursekeras."):
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("minikeras" + spec.name[len("coursekeras"):])

    def exec_module(self, module):
        pass


def test_keras2_experimental_preprocessing_path_imports_through_an_alias():
    # the MobileNetV2 notebook: `from tensorflow.keras.layers.experimental.preprocessing
    # import RandomFlip, RandomRotation`
    finder = _AliasFinder()
    sys.meta_path.insert(0, finder)
    sys.modules["coursekeras"] = keras
    try:
        module = importlib.import_module("coursekeras.layers.experimental.preprocessing")
        assert module.RandomFlip is keras.layers.RandomFlip
        assert module.RandomRotation is keras.layers.RandomRotation
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == "coursekeras" or n.startswith("coursekeras.")]:
            del sys.modules[name]
