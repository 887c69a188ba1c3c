"""What the `>>>` examples of tf_keras 2.21's API reference show, on minikeras (fid-doctest).

The cases (tests/fixtures/api_examples/cases.py) are plain public-API code run unchanged on
both libraries; facts.json holds tf_keras' answers, written by
benchmarks/fixture_recipes/api_examples.py. Covered: `.numpy()` of 0-d values (NumPy
scalars: round() and formatting work), str()/repr() of tensors and variables, K.arange's
dtypes, K.is_keras_tensor's refusal of non-tensors, K.random_*'s streams (tf's stateful
Philox ops), `Sequential(layer)`, `Metric.merge_state`,
what `update_state` returns,
the legacy optimizers' `minimize` returning the step count, callable learning rates, the
`deserialize("ClassName")` instances, and the advanced activation layers' names as
`activation=` values.
"""
import importlib.util
import json
import pathlib

import numpy as np
import pytest

import minikeras as keras

FOLDER = pathlib.Path(__file__).parent / "fixtures" / "api_examples"
_spec = importlib.util.spec_from_file_location("api_example_cases", FOLDER / "cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
FACTS = json.loads((FOLDER / "facts.json").read_text())


def _assert_same(ours, theirs, where="", atol=1e-6):
    """Equal structures; floats to float32 round-off."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), where
        for key in theirs:
            _assert_same(ours[key], theirs[key], f"{where}.{key}", atol)
    elif isinstance(theirs, list):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), where
        for index, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same(a, b, f"{where}[{index}]", atol)
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-5, abs=atol), where
    else:
        assert ours == theirs, where


def _ours(case):
    keras.backend.clear_session()
    return json.loads(json.dumps(case(keras)))


def _strip_tf(text):
    return text.replace("tf.", "")


@pytest.mark.parametrize("case", [c for c in cases.CASES if c is not cases.tensor_texts],
                         ids=lambda case: case.__name__)
def test_case_matches_tf_keras(case):
    _assert_same(_ours(case), FACTS[case.__name__], case.__name__)


def test_zero_dimensional_numpy_is_a_numpy_scalar():
    facts = _ours(cases.scalar_numpy)
    for label in ("loss", "metric_result", "variable", "learning_rate", "constant"):
        assert facts[label]["type"] == "float32" == FACTS["scalar_numpy"][label]["type"], label
    assert facts["int_constant"]["type"] == "int32"
    # what the examples do with it: round() and format specs
    assert facts["rounded_learning_rate"] == FACTS["scalar_numpy"]["rounded_learning_rate"]
    assert facts["formatted_loss"] == FACTS["scalar_numpy"]["formatted_loss"] == "1.0000"
    assert isinstance(keras.backend.constant(2.0).numpy(), np.float32)


def test_tensor_str_and_repr_follow_tf_print_layout():
    ours = _ours(cases.tensor_texts)
    theirs = FACTS["tensor_texts"]
    assert len(ours) == len(theirs)
    for mine, peer in zip(ours, theirs):
        assert mine["str"] == _strip_tf(peer["str"])
        assert mine["repr"] == _strip_tf(peer["repr"])


def test_variable_numpy_of_a_scalar_is_a_snapshot():
    counter = keras.backend.variable(1.0)
    before = counter.numpy()
    counter.assign_add(2.0)
    assert before == 1.0 and counter.numpy() == 3.0


def test_arange_follows_tf_range_dtypes():
    facts = _ours(cases.arange)
    assert [f["dtype"] for f in facts] == [f["dtype"] for f in FACTS["arange"]]
    assert facts[0]["dtype"] == "float32"      # a float step: tf.range makes floats


def test_legacy_minimize_returns_the_step_count():
    facts = _ours(cases.legacy_minimize)
    for name in ("SGD", "Adam", "RMSprop"):
        assert facts[name]["steps"] == [1, 2]
    assert facts["new_returns"] == "None"      # the new optimizers return nothing


def test_legacy_optimizer_calls_a_callable_learning_rate_every_step():
    facts = _ours(cases.callable_learning_rate)
    _assert_same(facts, FACTS["callable_learning_rate"])
    # the new optimizer read it once: the second step used 0.2 too
    assert facts["sgd"]["trace"] != facts["legacy_sgd"]["trace"]


def test_activation_layer_class_names_as_activations():
    model = keras.Sequential([keras.layers.Dense(2, activation="ReLU", input_shape=(3,))])
    again = keras.Sequential.from_config(model.get_config())
    assert type(again.layers[0].activation).__name__ == "ReLU"
    with pytest.raises(ValueError, match="Unknown activation function 'Relu6'"):
        keras.activations.get("Relu6")


def test_seeded_random_normal_continues_its_stream():
    keras.backend.clear_session()
    first = keras.backend.random_normal((4,), seed=5).numpy()
    second = keras.backend.random_normal((4,), seed=5).numpy()
    assert not np.array_equal(first, second)        # tf: one stream per seed, not a replay
    keras.backend.clear_session()
    np.testing.assert_array_equal(keras.backend.random_normal((4,), seed=5).numpy(), first)
    facts = _ours(cases.random_streams)
    _assert_same(facts, FACTS["random_streams"], "random_streams", atol=1e-6)


def test_unseeded_random_calls_keep_no_stream_state():
    # each unseeded call draws a fresh op seed: a sampling Lambda calling K.random_normal every
    # step must not grow the table of running streams (memory stays flat over a long fit)
    from minikeras.core import random as random_state
    keras.backend.clear_session()
    for _ in range(20):
        keras.backend.random_normal((2, 3))
        keras.backend.random_uniform((2,))
    assert len(random_state._STATEFUL_COUNTERS) == 0
    keras.backend.random_normal((2,), seed=4)
    assert len(random_state._STATEFUL_COUNTERS) == 1
