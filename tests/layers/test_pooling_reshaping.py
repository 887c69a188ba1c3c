"""Pooling, global pooling, cropping, zero padding and upsampling layers."""
import itertools

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from gradcheck import check_layer_gradients

pytestmark = pytest.mark.skipif(not hasattr(keras.layers, "MaxPooling2D"), reason="pooling missing")


def reference_pool(x, pool, strides, padding, mode):
    """Direct definition, channels_last; 'same' averages count only real cells."""
    rank = x.ndim - 2
    if padding == "same":
        pads = []
        for n, p, s in zip(x.shape[1:-1], pool, strides):
            total = max((-(-n // s) - 1) * s + p - n, 0)
            pads.append((total // 2, total - total // 2))
    else:
        pads = [(0, 0)] * rank
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=fill)
    real = np.pad(np.ones(x.shape[1:-1]), pads)
    out_sizes = [(n - p) // s + 1 for n, p, s in zip(xp.shape[1:-1], pool, strides)]
    out = np.zeros((x.shape[0], *out_sizes, x.shape[-1]))
    for pos in itertools.product(*[range(n) for n in out_sizes]):
        window = tuple(slice(o * s, o * s + p) for o, s, p in zip(pos, strides, pool))
        patch = xp[(slice(None),) + window]
        axes = tuple(range(1, rank + 1))
        if mode == "max":
            out[(slice(None),) + pos] = patch.max(axis=axes)
        else:
            out[(slice(None),) + pos] = patch.sum(axis=axes) / real[window].sum()
    return out


POOLS = [(rank, mode, pool, stride, padding)
         for rank in (1, 2, 3) for mode in ("max", "avg")
         for pool, stride in ((2, None), (3, 2), (2, 1))
         for padding in ("valid", "same")]


@pytest.mark.parametrize("rank,mode,pool,stride,padding", POOLS)
def test_pooling_forward_and_shape(rank, mode, pool, stride, padding):
    cls = getattr(layers, f"{'MaxPooling' if mode == 'max' else 'AveragePooling'}{rank}D")
    layer = cls(pool, strides=stride, padding=padding)
    x = np.random.default_rng(rank).standard_normal((2,) + {1: (7,), 2: (7, 6), 3: (5, 4, 5)}[rank] + (3,))
    out = layer(x.astype(np.float32)).numpy()
    expected = reference_pool(x, layer.pool_size, layer.strides, padding, mode)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + out.shape[1:]
    assert layer.strides == (layer.pool_size if stride is None else (stride,) * rank)
    config = layer.get_config()
    assert cls.from_config(config).get_config() == config


def test_pooling_channels_first_equals_channels_last():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32)
    for cls in (layers.MaxPooling2D, layers.AveragePooling2D):
        first = cls(2, padding="same", data_format="channels_first")(x).numpy()
        last = cls(2, padding="same")(np.moveaxis(x, 1, -1)).numpy()
        np.testing.assert_allclose(first, np.moveaxis(last, -1, 1), rtol=1e-6)


def test_max_pool_gradient_goes_to_first_maximum():
    x = np.zeros((1, 2, 2, 1), np.float32)     # every cell ties
    t = keras.backend.Variable(x)
    with keras.GradientTape() as tape:
        out = layers.MaxPooling2D(2)(t)
    grad = tape.gradient(out, t).numpy()
    np.testing.assert_array_equal(grad.ravel(), [1, 0, 0, 0])


@pytest.mark.parametrize("cls,kwargs,shape", [
    ("MaxPooling2D", {"pool_size": 2, "padding": "same"}, (2, 5, 5, 2)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 4, 2)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 1}, (2, 6, 2)),
    ("AveragePooling3D", {"pool_size": 2}, (1, 4, 4, 4, 1)),
    ("GlobalAveragePooling2D", {}, (2, 3, 4, 2)),
    ("GlobalMaxPooling1D", {"keepdims": True}, (2, 5, 3)),
    ("GlobalAveragePooling3D", {"data_format": "channels_first"}, (1, 2, 2, 3, 2)),
    ("Cropping2D", {"cropping": ((1, 0), (0, 2))}, (2, 4, 5, 2)),
    ("ZeroPadding1D", {"padding": (1, 2)}, (2, 3, 2)),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, (1, 3, 2, 2)),
    ("UpSampling3D", {"size": 2}, (1, 2, 2, 2, 1)),
])
def test_gradients(float64, cls, kwargs, shape):
    x = np.random.default_rng(7).standard_normal(shape)
    check_layer_gradients(getattr(layers, cls)(**kwargs), x)


def test_global_pooling_shapes_and_values():
    x = np.random.default_rng(1).standard_normal((2, 4, 3, 5)).astype(np.float32)
    # float32 sums of 12 values of order one: round-off of order 1e-8 (summation order differs)
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x).numpy(),
                               x.astype(np.float64).mean(axis=(1, 2)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(layers.GlobalMaxPooling2D(keepdims=True)(x).numpy(),
                               x.max(axis=(1, 2), keepdims=True))
    assert layers.GlobalAveragePooling2D().compute_output_shape((None, 4, 3, 5)) == (None, 5)
    assert layers.GlobalMaxPooling2D(data_format="channels_first", keepdims=True) \
        .compute_output_shape((None, 5, 4, 3)) == (None, 5, 1, 1)


def test_cropping_padding_upsampling_values():
    x = np.arange(2 * 4 * 5 * 1, dtype=np.float32).reshape(2, 4, 5, 1)
    np.testing.assert_array_equal(layers.Cropping2D(((1, 0), (2, 1)))(x).numpy(), x[:, 1:, 2:4])
    padded = layers.ZeroPadding2D(((1, 0), (0, 2)))(x).numpy()
    assert padded.shape == (2, 5, 7, 1) and padded[:, 0].sum() == 0
    np.testing.assert_array_equal(padded[:, 1:, :5], x)
    up = layers.UpSampling2D((2, 3))(x).numpy()
    np.testing.assert_array_equal(up, np.repeat(np.repeat(x, 2, 1), 3, 2))
    x1 = np.arange(6, dtype=np.float32).reshape(1, 3, 2)
    np.testing.assert_array_equal(layers.UpSampling1D(2)(x1).numpy(), np.repeat(x1, 2, 1))
    assert layers.Cropping1D((1, 1)).compute_output_shape((None, None, 3)) == (None, None, 3)
    assert layers.ZeroPadding3D(1).compute_output_shape((None, 2, 3, 4, 5)) == (None, 4, 5, 6, 5)


def test_bilinear_upsampling_matches_half_pixel_resize():
    x = np.array([[0.0, 1.0], [2.0, 3.0]], np.float32).reshape(1, 2, 2, 1)
    out = layers.UpSampling2D(2, interpolation="bilinear")(x).numpy()[0, :, :, 0]
    # Half-pixel centres: rows of a 2 -> 4 resize sample 0, 0.25, 0.75, 1 of the way.
    row = np.array([0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(out, 2 * row[:, None] + row[None, :], rtol=1e-6)


def test_reshaping_configs_and_errors():
    for layer in (layers.Cropping2D(((1, 2), (3, 4))), layers.ZeroPadding1D(3), layers.UpSampling2D(2),
                  layers.Cropping3D(1), layers.UpSampling1D(3), layers.ZeroPadding2D((1, 2))):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    # tf_keras 2.21 (image_utils.get_interpolation): NotImplementedError "Value not
    # recognized for `interpolation`: cubic. Supported values are: dict_keys([...])"
    with pytest.raises(NotImplementedError, match="Value not recognized for `interpolation`"):
        layers.UpSampling2D(2, interpolation="cubic")
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping2D(((3, 3), (0, 0))).compute_output_shape((None, 4, 4, 1))
    with pytest.raises(ValueError, match="pool_size"):
        layers.MaxPooling2D((2, 2, 2))
