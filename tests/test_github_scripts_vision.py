"""fid-gh1: patterns of Keras 2 vision / generative scripts found on GitHub (DCGAN / WGAN
train_on_batch loops, U-Nets, siamese and triplet nets, transfer learning, autoencoders),
compared with what tf_keras 2.21 does (tests/fixtures/github_vision/, recipe
benchmarks/fixture_recipes/github_vision.py; the cases are in the fixtures' cases.py)."""
import json
import os
import sys
import warnings

import pytest

import minikeras as keras

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "github_vision")
sys.path.insert(0, FIXTURES)
import cases  # noqa: E402

sys.path.remove(FIXTURES)
with open(os.path.join(FIXTURES, "facts.json")) as f:
    FACTS = json.load(f)


def _outcome(case):
    try:
        return ["ok", json.loads(json.dumps(case(keras)))]   # tuples as JSON lists
    except Exception as error:   # the refusal is what is compared
        return [type(error).__name__, str(error)]


def _same_set_order(message):
    """tf.keras prints a Python set of two strings: its order follows the process' hash seed."""
    if not isinstance(message, str):   # the value an "ok" case returned
        return message
    return message.replace("{'channels_first', 'channels_last'}",
                           "{'channels_last', 'channels_first'}")


@pytest.mark.parametrize("name", sorted(cases.ERROR_CASES))
def test_refusals_have_tf_keras_type_and_words(name):
    """Data-format and size arguments of old U-Net / DCGAN scripts: what tf.keras refuses, in
    its words, and what it accepts, with its values."""
    expected_type, expected_message = FACTS["errors"][name]
    got_type, got_message = _outcome(cases.ERROR_CASES[name])
    assert keras.backend.image_data_format() == "channels_last"
    assert got_type == expected_type
    assert _same_set_order(got_message) == _same_set_order(expected_message)


@pytest.mark.parametrize("name", sorted(cases.QUIET_CASES))
def test_values_logs_and_warnings_as_tf_keras(name):
    """tf.keras 2.21 no longer logs "Model was constructed with shape ..." when a built model
    is called on inputs of another shape: nothing is logged or warned, the shapes follow."""
    got = json.loads(json.dumps(cases.QUIET_CASES[name](keras)))
    assert got == FACTS["quiet"][name]


@pytest.mark.parametrize("name", sorted(cases.STATE_CASES))
def test_python_random_after_building_a_model_as_tf_keras(name, monkeypatch):
    """One draw from Python's `random` per unseeded initializer at its first call (none for a
    seeded one or a reused instance), from `set_random_seed`'s own generator once it ran."""
    from minikeras.core import random as core_random
    # the recipe ran each case in a process where `set_random_seed` had not run (conftest
    # calls it before every test): forget its generator
    monkeypatch.setitem(core_random._GLOBAL, "seed_generator", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the reused initializer's warning
        got = cases.STATE_CASES[name](keras)
    assert got == FACTS["state"][name]
