"""A custom layer without `get_config` gets tf.keras 2.21's automatic config: the arguments it
was made with (str, int, float, bool, None), the base keys only when its `__init__` takes
`**kwargs`; other argument values make `get_config` raise. Facts:
tests/fixtures/auto_config (peer_recipes/fid2/probe_autoconfig.py)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers

with open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "auto_config",
                       "probe_autoconfig_tf_keras.json")) as f:
    FACTS = json.load(f)


class NoConfig(layers.Layer):
    def __init__(self, units, scale=1.5, **kw):
        super().__init__(**kw)
        self.units = units
        self.scale = scale

    def call(self, x):
        return x * self.scale


class WithKwargs(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, x):
        return x


class PositionalKw(layers.Layer):
    def __init__(self, units, *, act="relu", **kw):
        super().__init__(**kw)
        self.units = units

    def call(self, x):
        return x


def test_configs_hold_the_construction_arguments():
    assert NoConfig(3, name="nc").get_config() == FACTS["noconfig_get_config"]
    assert NoConfig(units=4, scale=2.0, name="nc2", dtype="float64").get_config() == \
        FACTS["noconfig_kw_get_config"]
    assert PositionalKw(2, act="tanh", name="pk").get_config() == FACTS["positional_kw"]
    assert WithKwargs(5, name="wk").get_config() == FACTS["kwargs_get_config"]
    config = json.loads(json.dumps(WithKwargs(2, input_shape=(3,)).get_config()))
    assert config == FACTS["kwargs_input_shape"]


@pytest.mark.parametrize("make", [lambda: NoConfig(np.int64(3), scale=np.float32(2.0)),
                                  lambda: NoConfig(lambda t: t)])
def test_other_argument_values_cannot_be_configured(make):
    with pytest.raises(NotImplementedError, match="non-serializable argument values"):
        make().get_config()


def test_models_of_such_layers_clone_and_reload():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, WithKwargs(3, name="wk")(inputs))
    assert [layer.name for layer in keras.models.clone_model(model).layers][1:] == \
        FACTS["kwargs_clone_name"][1:]
    inputs = keras.Input((3,))
    model = keras.Model(inputs, NoConfig(3, scale=2.0, name="nc")(inputs))
    x = np.ones((2, 3), np.float32)
    reloaded = keras.models.model_from_json(model.to_json(),
                                            custom_objects={"NoConfig": NoConfig})
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), 2 * x)
    clone = keras.models.clone_model(model)
    assert [type(layer).__name__ for layer in clone.layers] == ["InputLayer", "NoConfig"]
    assert clone.layers[1].scale == 2.0
