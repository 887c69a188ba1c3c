"""`get_shape()` of symbolic and concrete tensors: Keras 2 code (the Gulli & Pal book's
style transfer prints `input_tensor.get_shape()`; `x.get_shape().as_list()` is common) gets
what tf.keras 2.21 gives (tests/fixtures/tensor_shape/tf_get_shape.json)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras.core.tensor_shape import TensorShape

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "tensor_shape", "tf_get_shape.json")


def _cases():
    return {"input_none_3": lambda: keras.Input((3,)),
            "input_4_none_2": lambda: keras.Input((None, 2), batch_size=4),
            "variable_2x3": lambda: K.variable(np.zeros((2, 3))),
            "constant_5": lambda: K.constant(np.zeros(5)),
            "dense_output": lambda: keras.layers.Dense(7)(keras.Input((3,)))}


@pytest.mark.parametrize("name", sorted(_cases()))
def test_get_shape_answers_as_tf_keras(name):
    expected = json.load(open(FIXTURE))[name]
    shape = _cases()[name]().get_shape()
    assert str(shape) == expected["str"]
    assert repr(shape) == expected["repr"]
    assert shape.as_list() == expected["as_list"]
    assert shape.rank == expected["rank"] and shape.ndims == expected["ndims"]
    assert shape.num_elements() == expected["num_elements"]
    assert shape.is_fully_defined() == expected["is_fully_defined"]
    if len(shape) > 1:
        assert shape[1] == expected["item1"]


def test_get_shape_is_the_shape_tuple():
    x = keras.Input((5, 2))
    assert x.get_shape() == x.shape == (None, 5, 2)
    assert isinstance(x.get_shape(), TensorShape) and isinstance(x.get_shape(), tuple)
    assert K.int_shape(x) == tuple(x.get_shape())


BUILD_FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "tensor_shape",
                             "tf_build_input_shape.json")


def test_custom_layer_build_receives_tensor_shapes_as_tf_keras():
    """A user layer's `build` may call `input_shape.as_list()` (tf.keras 2 hands it TensorShapes)."""
    seen = {}

    class Probe(keras.layers.Layer):
        def __init__(self, tag, **kwargs):
            super().__init__(**kwargs)
            self.tag = tag

        def build(self, input_shape):
            as_list = ([s.as_list() for s in input_shape] if isinstance(input_shape, list)
                       else input_shape.as_list())
            seen[self.tag] = {"repr": repr(input_shape), "type": type(input_shape).__name__,
                              "as_list": as_list}
            super().build(input_shape)

        def call(self, x):
            return x[0] if isinstance(x, list) else x

    Probe("functional")(keras.Input((3,)))
    keras.Sequential([Probe("sequential", input_shape=(4, 2))])
    Probe("two_inputs")([keras.Input((3,)), keras.Input((5,))])
    assert seen == json.load(open(BUILD_FIXTURE))
