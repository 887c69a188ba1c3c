"""RadialConstraint against tf.keras 2.21 outputs (tests/fixtures/radial_constraint.json)."""
import json
import pathlib

import numpy as np
import pytest

import minikeras as keras

FIXTURE = json.loads((pathlib.Path(__file__).parent / "fixtures" /
                      "radial_constraint.json").read_text())


@pytest.mark.parametrize("size", ["2", "3", "4", "5", "6"])
def test_matches_tf_keras(size):
    w = np.array(FIXTURE[size]["w"], np.float32)
    out = keras.constraints.get("radial_constraint")(w)
    np.testing.assert_array_equal(out, np.array(FIXTURE[size]["out"], np.float32))
    assert out.dtype == np.float32


def test_every_ring_is_constant():
    w = np.random.default_rng(1).standard_normal((7, 7, 1, 1)).astype(np.float32)
    out = keras.constraints.RadialConstraint()(w)[:, :, 0, 0]
    rows, cols = np.indices((7, 7))
    ring = np.maximum(abs(rows - 3), abs(cols - 3))
    for r in range(4):
        assert len(set(out[ring == r].tolist())) == 1


@pytest.mark.parametrize("shape", [(3, 3, 2), (3, 2, 1, 1), (1, 1, 1, 1)])
def test_bad_shapes_raise(shape):
    assert FIXTURE[str(shape)] != "ok"          # tf.keras refuses them too
    with pytest.raises(ValueError):
        keras.constraints.RadialConstraint()(np.ones(shape, np.float32))


def test_used_as_a_kernel_constraint_in_training():
    layer = keras.layers.Conv2D(2, 3, kernel_constraint=keras.constraints.RadialConstraint())
    model = keras.Sequential([keras.Input((6, 6, 1)), layer])
    model.compile("sgd", "mse")
    model.fit(np.random.rand(4, 6, 6, 1).astype("float32"), np.zeros((4, 4, 4, 2), "float32"),
              verbose=0)
    kernel = layer.get_weights()[0]
    np.testing.assert_array_equal(kernel[0, 0], kernel[2, 1])   # same ring, same value
