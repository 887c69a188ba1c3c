"""models.model_kind: the one place that tells Sequential, functional and subclassed models apart."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.models.model_kind import is_functional, is_sequential, is_subclassed


class Subclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(2)

    def call(self, inputs):
        return self.dense(inputs)


class FunctionalSubclass(keras.Model):
    def __init__(self):
        inputs = keras.Input((3,))
        super().__init__(inputs, layers.Dense(2)(inputs))


def unbuilt_sequential():
    return keras.Sequential([layers.Dense(2)])


def built_sequential():
    return keras.Sequential([layers.Dense(2, input_shape=(3,))])


def functional():
    inputs = keras.Input((3,))
    return keras.Model(inputs, layers.Dense(2)(inputs))


@pytest.mark.parametrize("make_model,kind", [
    (unbuilt_sequential, {"sequential"}),
    (built_sequential, {"sequential", "functional"}),
    (functional, {"functional"}),
    (FunctionalSubclass, {"functional"}),
    (Subclassed, {"subclassed"}),
])
def test_each_model_has_its_kind(make_model, kind):
    model = make_model()
    found = {name for name, check in [("sequential", is_sequential), ("functional", is_functional),
                                      ("subclassed", is_subclassed)] if check(model)}
    assert found == kind


def test_a_subclassed_model_stays_subclassed_once_called():
    model = Subclassed()
    model(np.ones((1, 3), np.float32))
    assert is_subclassed(model) and not is_functional(model) and not is_sequential(model)
