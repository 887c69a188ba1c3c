"""layers.Normalization (the EfficientNet input layer): adapt() statistics, forward against
the closed form, invert, fixed mean/variance, weights, config, gradients, errors."""
import numpy as np
import pytest

import minikeras as keras
from gradcheck import check_layer_gradients

Normalization = keras.layers.Normalization


def _data(shape=(6, 4, 5, 3), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(2.0, 3.0, shape) * rng.uniform(0.5, 2.0, shape[-1])).astype(np.float32)


def test_adapt_then_normalize_per_channel():
    x = _data()
    layer = Normalization(axis=-1)
    layer.adapt(x)
    mean, var = x.astype(np.float64).mean(axis=(0, 1, 2)), x.astype(np.float64).var(axis=(0, 1, 2))
    np.testing.assert_allclose(layer.adapt_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), var, rtol=1e-5)
    assert int(layer.count.numpy()) == 6 * 4 * 5
    out = layer(x).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var), rtol=1e-4, atol=1e-5)


def test_several_kept_axes_and_invert():
    x = _data((8, 3, 4))
    layer = Normalization(axis=(1, 2))
    layer.adapt(x)
    assert layer.adapt_mean.shape == (3, 4)
    normalized = layer(x).numpy()
    np.testing.assert_allclose(normalized.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(normalized.std(axis=0), 1.0, rtol=1e-4)
    inverse = Normalization(axis=(1, 2), mean=layer.adapt_mean.numpy(),
                            variance=layer.adapt_variance.numpy(), invert=True)
    np.testing.assert_allclose(inverse(normalized).numpy(), x, rtol=1e-4, atol=1e-4)


def test_fixed_statistics_have_no_weights_and_broadcast():
    layer = Normalization(mean=2.0, variance=4.0)
    out = layer(np.array([[0.0, 2.0, 6.0]], np.float32)).numpy()
    np.testing.assert_allclose(out, [[-1.0, 0.0, 2.0]])
    assert layer.weights == []


def test_unadapted_layer_weights_as_in_efficientnet():
    inputs = keras.Input((4, 4, 3))
    layer = Normalization(axis=3)
    layer(inputs)
    assert [(w.name, w.shape, w.dtype, w.trainable) for w in layer.weights] == [
        ("normalization/mean:0", (3,), np.float32, False),
        ("normalization/variance:0", (3,), np.float32, False),
        ("normalization/count:0", (), np.int64, False)]
    x = _data((2, 4, 4, 3))
    np.testing.assert_allclose(layer(x).numpy(), x / np.sqrt(1.0 + 0.0), rtol=1e-6)


def test_config_round_trip_and_output_shape():
    layer = Normalization(axis=(1, 2), mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True,
                          name="norm")
    config = layer.get_config()
    assert config["axis"] == (1, 2) and config["invert"] is True
    assert config["mean"] == [1.0, 2.0]
    clone = Normalization.from_config(config)
    assert clone.get_config() == config
    assert layer.compute_output_shape((None, 3, 2)) == (None, 3, 2)


def test_gradient(float64):
    layer = Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 9.0])
    check_layer_gradients(layer, np.random.default_rng(1).normal(size=(3, 2, 3)))


def test_errors():
    with pytest.raises(ValueError, match="The argument 'axis' may not be 0."):
        Normalization(axis=(0, 1))
    with pytest.raises(ValueError, match="When setting values directly, both `mean` and "
                                         "`variance` must be set. Got mean: 1.0 and variance: "
                                         "None"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match=r"All `axis` values must be in the range \[-ndim, "
                                         r"ndim\). Found ndim: `2`, axis: \(3,\)"):
        Normalization(axis=3)(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="Cannot adapt a Normalization layer whose `mean`"):
        Normalization(mean=0.0, variance=1.0).adapt(np.zeros((2, 3)))
