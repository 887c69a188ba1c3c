"""GroupNormalization against a NumPy reference (tf.keras' grouping and moments)."""
import numpy as np
import pytest

from minikeras import layers
from gradcheck import check_layer_gradients


def reference(x, groups, axis, gamma, beta, epsilon=1e-3):
    x = x.astype(np.float64)
    axis = axis % x.ndim
    shape = x.shape
    grouped = x.reshape(shape[:axis] + (groups, shape[axis] // groups) + shape[axis + 1:])
    axes = tuple(a for a in range(1, grouped.ndim) if a != axis)
    mean = grouped.mean(axis=axes, keepdims=True)
    var = grouped.var(axis=axes, keepdims=True)
    normed = ((grouped - mean) / np.sqrt(var + epsilon)).reshape(shape)
    broadcast = [1] * x.ndim
    broadcast[axis] = shape[axis]
    return normed * gamma.reshape(broadcast) + beta.reshape(broadcast)


@pytest.mark.parametrize("groups, axis", [(2, -1), (1, -1), (-1, -1), (5, 1)])
def test_matches_the_reference(groups, axis):
    rng = np.random.RandomState(0)
    x = (rng.randn(2, 5, 4, 6) * 3 + 1).astype("float32")
    layer = layers.GroupNormalization(groups=groups, axis=axis,
                                      gamma_initializer="random_normal",
                                      beta_initializer="random_normal")
    out = layer(x).numpy()
    gamma, beta = layer.get_weights()
    channels = x.shape[axis]
    assert gamma.shape == beta.shape == (channels,)
    expected = reference(x, channels if groups == -1 else groups, axis, gamma, beta)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert [w.name for w in layer.weights] == [f"{layer.name}/gamma:0", f"{layer.name}/beta:0"]


def test_gradients_config_and_errors(float64):
    layer = layers.GroupNormalization(groups=2, gamma_initializer="random_normal")
    check_layer_gradients(layer, np.random.RandomState(1).randn(2, 3, 4), rtol=1e-4)
    clone = layers.GroupNormalization.from_config(layer.get_config())
    assert clone.get_config()["groups"] == 2
    with pytest.raises(ValueError, match="must be a multiple"):
        layers.GroupNormalization(groups=3)(np.ones((1, 4)))
    with pytest.raises(ValueError, match="cannot be more than"):
        layers.GroupNormalization(groups=8)(np.ones((1, 4)))
