"""The Keras 3 activations against Keras 3.15 outputs (fixtures/keras3_activations.npz), their
gradients against finite differences, and the names `activations.get` resolves."""
import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from gradcheck import check_gradients

FIXTURE = np.load(fixture_path("keras3_activations.npz"))
X = FIXTURE["x"]
ELEMENTWISE = ["celu", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink", "log_sigmoid",
               "sparse_plus", "sparse_sigmoid", "squareplus", "hard_silu", "hard_swish"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_matches_keras3(name):
    out = np.asarray(keras.activations.get(name)(X))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, FIXTURE[name], rtol=1e-6, atol=1e-6)


def test_arguments_match_keras3():
    np.testing.assert_allclose(np.asarray(keras.activations.celu(X, alpha=0.5)),
                               FIXTURE["celu_alpha"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(keras.activations.threshold(X, 0.3, -2.0)),
                               FIXTURE["threshold"])
    np.testing.assert_allclose(np.asarray(keras.activations.glu(FIXTURE["x_even"])),
                               FIXTURE["glu"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(keras.activations.glu(X[:4], axis=0)),
                               FIXTURE["glu_axis0"], rtol=1e-6, atol=1e-7)


def test_glu_needs_an_even_axis():
    with pytest.raises(ValueError, match="divisible by 2"):
        keras.activations.glu(np.ones((2, 3), np.float32))


@pytest.mark.parametrize("name", ELEMENTWISE + ["glu"])
def test_gradients_match_finite_differences(name, float64):
    # points away from the kinks, where the one-sided slopes differ
    x = np.random.default_rng(3).uniform(-2.7, 2.7, (3, 8))
    kinks = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    x[np.min(np.abs(x[..., None] - kinks), axis=-1) < 0.05] += 0.1
    check_gradients(keras.activations.get(name), [x])


def test_a_dense_layer_takes_them_by_name_and_saves_them():
    layer = keras.layers.Dense(3, activation="hard_swish")
    assert layer.get_config()["activation"] == "hard_silu"
    clone = keras.layers.Dense.from_config(layer.get_config())
    assert clone.activation is keras.activations.hard_silu
