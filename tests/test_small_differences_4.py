"""Small differences from tf.keras 2.21 found by the fid-small4 sweep.

Fixtures in tests/fixtures/small_diffs4/ were written by tf_keras 2.21 with
benchmarks/fixture_recipes/small_diffs4.py; the cases it ran are in
tests/fixtures/small_diffs4/cases.py, run here with minikeras."""
import functools
import importlib.util
import json
import os
import zipfile

import numpy as np
import pytest

import minikeras as keras

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "small_diffs4")


def _load_cases():
    spec = importlib.util.spec_from_file_location("small_diffs4_cases",
                                                  os.path.join(FIXTURES, "cases.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load_cases()


@functools.lru_cache(maxsize=None)
def _ours(name):
    """A case's facts with minikeras (computed once for all its parametrized keys)."""
    return getattr(cases, name)(keras)

with open(os.path.join(FIXTURES, "tf_keras_facts.json")) as _handle:
    TF = json.load(_handle)


def _assert_same(ours, theirs, path=""):
    """Equal structures; numbers to float32 round-off (the seeded normal draws differ from
    TF's by an ulp where NumPy's and Eigen's sin/log round differently)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), path
        for key in theirs:
            _assert_same(ours[key], theirs[key], f"{path}/{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), path
        for index, (mine, peer) in enumerate(zip(ours, theirs)):
            _assert_same(mine, peer, f"{path}[{index}]")
    elif isinstance(theirs, float) and not isinstance(ours, bool):
        assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-6), path
    else:
        assert ours == theirs, path


# --- 1. initializers return tensors ------------------------------------------------------
@pytest.mark.parametrize("key", sorted(TF["initializer_results"]))
def test_initializer_results_and_refusals(key):
    ours = _ours("initializer_results")
    _assert_same(ours[key], TF["initializer_results"][key], key)


def test_initializer_results_handed_on():
    """K.variable / K.eval / set_weights / np.asarray of an initializer's tensor, and layers
    given functions or classes returning arrays or tensors."""
    _assert_same(cases.initializer_uses(keras), TF["initializer_uses"])


def test_initializer_tensor_is_not_an_ndarray():
    value = keras.initializers.GlorotUniform(seed=1)((2, 3))
    assert not isinstance(value, np.ndarray)
    assert isinstance(value.numpy(), np.ndarray) and value.numpy().dtype == np.float32


# --- 2. build configs --------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(TF["build_configs"]))
def test_get_build_config_and_build_from_config(key):
    ours = _ours("build_configs")
    assert ours[key] == TF["build_configs"][key]


def test_a_layer_built_twice_keeps_one_set_of_weights():
    _assert_same(cases.built_twice(keras), TF["built_twice"])


def test_tf_keras_file_with_sub_layers_built_in_build_loads(tmp_path):
    """tf_keras' .keras file of custom layers: one building its sub-layers in build(), one
    serializing its built sub-layer (whose build config then built it twice: duplicate
    weights failed the load), one with its own get/build_from_config (its state was lost)."""
    ours = cases.reloaded_blocks(keras, os.path.join(FIXTURES, "blocks.keras"))
    _assert_same(ours, TF["blocks_reloaded"])


def test_own_build_config_round_trips_through_our_file(tmp_path):
    model = cases.blocks_model(keras)
    path = str(tmp_path / "blocks.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    stateful = config["config"]["layers"][-1]
    assert stateful["build_config"] == {"input_shape": [None, 2], "vocab": ["a", "b", "c"]}
    _assert_same(cases.reloaded_blocks(keras, path), TF["blocks_reloaded"])


# --- 3-4. K.dot / K.batch_dot / K.shape / K.batch_flatten on KerasTensors -----------------
@pytest.mark.parametrize("key", sorted(TF["symbolic_reprs"]))
def test_keras_tensor_reprs_and_static_shapes(key):
    ours = _ours("symbolic_reprs")
    assert ours[key] == TF["symbolic_reprs"][key]


@pytest.fixture(scope="module")
def symbolic_models(tmp_path_factory):
    return cases.symbolic_models(keras, str(tmp_path_factory.mktemp("symbolic")))


@pytest.mark.parametrize("label", sorted(TF["symbolic_models"]))
def test_dot_and_batch_dot_record_tf_ops(symbolic_models, label):
    """Same layers (classes, names, order), summary text, predictions, and round trips
    through get_config and .h5."""
    _assert_same(symbolic_models[label], TF["symbolic_models"][label])


def test_a_shape_tensor_keeps_its_inferred_value_through_ops():
    x = keras.Input((3, 4))
    size = keras.backend.shape(x)[1] * keras.backend.shape(x)[2]
    assert size.inferred_value == [12]
    assert keras.backend.reshape(x, (-1, size)).shape == (None, 12)


# --- 5. keras.backend functions on tensors -------------------------------------------------
@pytest.mark.parametrize("key", sorted(TF["backend_eager"]))
def test_backend_function_values_dtypes_and_errors(key):
    """Integer reductions keep int32 (mean truncates), gather refuses indices out of range,
    resize_images takes every tf.image.resize method, tf's error messages."""
    _assert_same(_ours("backend_eager")[key], TF["backend_eager"][key], key)


def test_ctc_batch_cost_on_keras_tensors():
    """Zero placeholders made it a loss over sequences of length 0 (IndexError)."""
    _assert_same(cases.ctc_on_keras_tensors(keras), TF["ctc_on_keras_tensors"])
