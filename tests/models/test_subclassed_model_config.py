"""`get_config` of subclassed models as tf.keras 2.21 returns it: the construction arguments
(with name/trainable/dtype only when `__init__` takes `**kwargs`), `{}` as the base of a
subclass' own `get_config` (so `from_config` of such a config works), `{}` with a warning for
arguments that are not str/int/float/bool/None. Facts: tests/fixtures/auto_config
(peer_recipes/fid2/probe_model_config.py)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers

with open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "auto_config",
                       "probe_model_config_tf_keras.json")) as f:
    FACTS = json.load(f)


class WithKwargs(keras.Model):
    def __init__(self, units=4, depth=2, **kwargs):
        super().__init__(**kwargs)
        self.head = layers.Dense(units)

    def call(self, x):
        return self.head(x)


class NoKw(keras.Model):
    def __init__(self, units):
        super().__init__()
        self.units = units
        self.head = layers.Dense(units)

    def call(self, x):
        return self.head(x)


class OwnConfig(NoKw):
    def get_config(self):
        return {**super().get_config(), "units": self.units}


class NonSerial(keras.Model):
    def __init__(self, fn=None, **kwargs):
        super().__init__(**kwargs)
        self.fn = fn
        self.head = layers.Dense(2)

    def call(self, x):
        return self.head(x)


def test_default_configs_hold_the_construction_arguments():
    assert WithKwargs(units=3, name="wk").get_config() == FACTS["with_kwargs"]
    assert WithKwargs(3).get_config() == FACTS["with_kwargs_positional"]
    assert NoKw(3).get_config() == FACTS["no_kwargs"]


def test_an_own_get_config_extends_an_empty_base_and_round_trips(tmp_path):
    assert OwnConfig(3).get_config() == FACTS["own_config"]
    assert OwnConfig.from_config(OwnConfig(3).get_config()).units == \
        FACTS["own_config_from_config"]
    model = OwnConfig(3)
    x = np.ones((2, 5), np.float32)
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "own.keras")
    loaded = keras.models.load_model(tmp_path / "own.keras",
                                     custom_objects={"OwnConfig": OwnConfig})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6)


@pytest.mark.parametrize("make, fact", [(lambda: NonSerial(fn=lambda t: t), "non_serializable"),
                                        (lambda: WithKwargs(units=np.int64(3)),
                                         "array_argument")])
def test_other_argument_values_give_an_empty_config_with_a_warning(make, fact):
    with pytest.warns(UserWarning, match="non-serializable objects"):
        assert make().get_config() == FACTS[fact] == {}
