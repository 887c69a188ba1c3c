"""keras.layers.Wrapper: the base of TimeDistributed, Bidirectional and users' wrappers."""
import numpy as np
import pytest

import minikeras as keras


class Doubled(keras.layers.Wrapper):
    def call(self, inputs):
        return 2 * self.layer(inputs)


def test_builtin_wrappers_are_wrappers():
    assert isinstance(keras.layers.TimeDistributed(keras.layers.Dense(2)), keras.layers.Wrapper)
    assert isinstance(keras.layers.Bidirectional(keras.layers.LSTM(2)), keras.layers.Wrapper)


def test_custom_wrapper_owns_the_inner_weights_and_computes():
    inner = keras.layers.Dense(3, kernel_initializer="ones", bias_initializer="ones")
    wrapper = Doubled(inner)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    out = np.asarray(wrapper(x))
    np.testing.assert_allclose(out, 2 * (x @ np.ones((4, 3), np.float32) + 1))
    assert [w.shape for w in wrapper.trainable_weights] == [(4, 3), (3,)]


def test_custom_wrapper_trains_in_a_model():
    model = keras.Sequential([keras.Input((4,)), Doubled(keras.layers.Dense(1))])
    model.compile("sgd", "mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(np.ones((8, 4), np.float32), np.zeros((8, 1), np.float32), verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_config_round_trip_keeps_the_inner_layer():
    wrapper = Doubled(keras.layers.Dense(5, activation="relu", name="inner"), name="outer")
    config = wrapper.get_config()
    assert config["layer"]["class_name"] == "Dense"
    clone = Doubled.from_config(config)
    assert clone.name == "outer" and clone.layer.units == 5 and clone.layer.name == "inner"


def test_non_layer_is_refused():
    with pytest.raises(ValueError, match="Please initialize `Doubled` layer"):
        Doubled("dense")
