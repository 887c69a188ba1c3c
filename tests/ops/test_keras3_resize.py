"""keras.ops.image.resize with every Keras 3 interpolation against Keras 3.15 (TensorFlow
backend) outputs in `tests/fixtures/keras3_ops/resize_interpolations.npz`
(`peer_recipes/misc/make_k3_resize.py`: a 2x7x9x3 image batch, up- and downsizing)."""
import os

import numpy as np
import pytest

import minikeras as keras
from gradcheck import check_gradients

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_ops",
                       "resize_interpolations.npz")
INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")
SIZES = ((11, 5), (4, 13), (3, 4))


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("size", SIZES)
def test_resize_matches_keras3(interpolation, size):
    fixture = np.load(FIXTURE)
    out = np.asarray(keras.ops.image.resize(fixture["x"], size, interpolation=interpolation))
    expected = fixture[f"{interpolation}_{size[0]}x{size[1]}"]
    assert out.shape == expected.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("interpolation", ("lanczos3", "bicubic", "area"))
def test_resize_gradient(float64, interpolation):
    x = np.random.default_rng(1).random((1, 5, 4, 2))
    check_gradients(lambda t: keras.ops.image.resize(t, (3, 7), interpolation=interpolation),
                    [x], rtol=1e-5, atol=1e-7)
