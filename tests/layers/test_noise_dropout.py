"""SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout: statistics in
training, identity at inference, seeds, closed-form gradients, configs, errors."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.core.tensor import Tensor

L = keras.layers
ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


def _normal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _grad_of_sum(layer, x):
    """d sum(layer(x, training=True)) / dx, and the output of that same call."""
    t = Tensor(x)
    with keras.GradientTape() as tape:
        tape.watch(t)
        out = layer(t, training=True)
        total = keras.ops.sum(out)
    return tape.gradient(total, t).numpy(), out.numpy()


ALL = [lambda: L.GaussianNoise(0.5), lambda: L.GaussianDropout(0.3), lambda: L.AlphaDropout(0.2),
       lambda: L.SpatialDropout1D(0.4), lambda: L.SpatialDropout2D(0.4),
       lambda: L.SpatialDropout3D(0.4)]
RANKS = {"SpatialDropout1D": 3, "SpatialDropout2D": 4, "SpatialDropout3D": 5}


def _input_for(layer, n=4):
    rank = RANKS.get(type(layer).__name__, 2)
    return _normal((n,) + (3,) * (rank - 1))


@pytest.mark.parametrize("make", ALL)
def test_identity_at_inference_and_in_predict(make):
    layer = make()
    x = _input_for(layer)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    model = keras.Sequential([keras.Input(x.shape[1:]), make()])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert not np.array_equal(layer(x, training=True).numpy(), x)


@pytest.mark.parametrize("make", ALL)
def test_seeded_layers_are_deterministic(make):
    config = make().get_config()
    config.pop("name")
    config["seed"] = 7
    first, second = type(make()).from_config(dict(config)), type(make()).from_config(dict(config))
    x = _input_for(first)
    out_first = first(x, training=True).numpy()
    np.testing.assert_array_equal(out_first, second(x, training=True).numpy())
    assert not np.array_equal(out_first, first(x, training=True).numpy())   # fresh noise


@pytest.mark.parametrize("make", ALL)
def test_config_round_trip_and_output_shape(make):
    layer = make()
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    assert layer.compute_output_shape((None, 3, 3)) == (None, 3, 3)


def test_config_keys_follow_tf_keras():
    assert set(L.SpatialDropout2D(0.1, data_format="channels_first").get_config()) == \
        {"name", "trainable", "dtype", "rate", "noise_shape", "seed"}
    assert set(L.AlphaDropout(0.1, noise_shape=(None, 1)).get_config()) == \
        {"name", "trainable", "dtype", "rate", "seed"}
    assert L.GaussianNoise(0.2, seed=3).get_config()["stddev"] == 0.2


def test_gaussian_noise_statistics_and_gradient():
    x = _normal((200, 500))
    grad, out = _grad_of_sum(L.GaussianNoise(0.5), x)
    noise = out - x
    assert abs(noise.mean()) < 0.005 and abs(noise.std() - 0.5) < 0.005
    assert out.dtype == np.float32
    np.testing.assert_array_equal(grad, 1)


def test_gaussian_dropout_statistics_and_gradient():
    x = np.full((200, 500), 2.0, np.float32)
    grad, out = _grad_of_sum(L.GaussianDropout(0.3), x)
    noise = out / 2.0
    assert abs(noise.mean() - 1) < 0.005
    assert abs(noise.var() - 0.3 / 0.7) < 0.01
    np.testing.assert_allclose(grad, noise, rtol=1e-6)


def test_alpha_dropout_keeps_zero_mean_unit_variance_and_affine_values():
    rate = 0.2
    x = _normal((400, 500))
    grad, out = _grad_of_sum(L.AlphaDropout(rate), x)
    assert abs(out.mean()) < 0.01 and abs(out.var() - 1) < 0.01
    a = ((1 - rate) * (1 + rate * ALPHA_P ** 2)) ** -0.5
    b = -a * ALPHA_P * rate
    dropped = grad == 0
    assert abs(dropped.mean() - rate) < 0.005
    np.testing.assert_allclose(out[dropped], a * ALPHA_P + b, rtol=1e-5)
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad[~dropped], a, rtol=1e-6)


def test_alpha_dropout_noise_shape_shares_decisions():
    layer = L.AlphaDropout(0.5, noise_shape=(None, 1, 4))
    grad, _ = _grad_of_sum(layer, _normal((50, 6, 4)))
    assert np.all(grad == grad[:, :1, :])


@pytest.mark.parametrize("layer_cls,shape,kept_axes", [
    (L.SpatialDropout1D, (300, 5, 8), (0, 2)),
    (L.SpatialDropout2D, (300, 4, 5, 8), (0, 3)),
    (L.SpatialDropout3D, (300, 2, 3, 4, 8), (0, 4)),
])
def test_spatial_dropout_drops_whole_channels(layer_cls, shape, kept_axes):
    rate = 0.4
    x = np.abs(_normal(shape)) + 0.1
    grad, out = _grad_of_sum(layer_cls(rate), x)
    mask = grad                      # d out / d x is the dropout mask itself
    spatial = tuple(a for a in range(len(shape)) if a not in kept_axes)
    # one decision per (sample, channel): constant over the spatial axes
    assert np.all(mask.min(axis=spatial) == mask.max(axis=spatial))
    np.testing.assert_allclose(np.unique(mask), [0, 1 / (1 - rate)], rtol=1e-6)
    assert abs((mask == 0).mean() - rate) < 0.05
    np.testing.assert_allclose(out, x * mask, rtol=1e-6)


def test_spatial_dropout_channels_first():
    x = np.ones((200, 6, 3, 3), np.float32)
    out = L.SpatialDropout2D(0.5, data_format="channels_first")(x, training=True).numpy()
    assert np.all(out.min(axis=(2, 3)) == out.max(axis=(2, 3)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="Expected a float value between 0 and 1. "
                                         "Received: rate=1.5"):
        L.GaussianDropout(1.5)
    with pytest.raises(ValueError, match="Received: rate=-0.1"):
        L.AlphaDropout(-0.1)
    with pytest.raises(ValueError, match="Received: stddev=-1"):
        L.GaussianNoise(-1)
    with pytest.raises(ValueError, match='`data_format` must be "channels_last" or '
                                         '"channels_first". Received: data_format=nhwc.'):
        L.SpatialDropout2D(0.5, data_format="nhwc")
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        L.SpatialDropout2D(0.5)(np.ones((2, 3, 3), np.float32))
    with pytest.raises(TypeError, match="Keyword argument not understood"):
        L.GaussianNoise(0.1, bogus=1)
