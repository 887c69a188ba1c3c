"""Identity and UnitNormalization (tf.keras 2.x): closed forms, gradients, configs."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from gradcheck import check_layer_gradients


@pytest.mark.parametrize("axis", [-1, 1, [1, 2]])
def test_unit_normalization_divides_by_the_norm_over_the_axes(axis):
    x = np.random.RandomState(0).randn(2, 3, 4).astype("float32")
    x[1] = 0.0                                    # a zero sample stays zero (norm floor 1e-12)
    out = layers.UnitNormalization(axis=axis)(x).numpy()
    axes = tuple(axis) if isinstance(axis, list) else axis
    norm = np.sqrt(np.maximum((x.astype(np.float64) ** 2).sum(axis=axes, keepdims=True), 1e-12))
    np.testing.assert_allclose(out, x / norm, rtol=1e-6, atol=1e-7)
    assert out.dtype == np.float32


def test_unit_normalization_gradients_config_and_bad_axis(float64):
    layer = layers.UnitNormalization(axis=[1, 2])
    check_layer_gradients(layer, np.random.RandomState(1).randn(2, 3, 2))
    assert layers.UnitNormalization.from_config(layer.get_config()).axis == [1, 2]
    with pytest.raises(ValueError, match="Invalid value for `axis`"):
        layers.UnitNormalization(axis=3)(np.ones((2, 3)))
    with pytest.raises(TypeError, match="expected an int or a list/tuple"):
        layers.UnitNormalization(axis="last")


def test_identity_returns_its_inputs_in_a_model():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Identity()(inputs))
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert layers.Identity.from_config(layers.Identity(name="skip").get_config()).name == "skip"
