"""RandomCrop and RandomContrast (tf.keras 2.x augmentation layers): the transformation each
applies, checked against its closed form."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers


def test_random_crop_takes_one_window_for_the_batch_and_resizes_at_inference():
    images = np.arange(2 * 6 * 5 * 1, dtype="float32").reshape(2, 6, 5, 1)
    crop = layers.RandomCrop(4, 3, seed=3)
    out = crop(images, training=True).numpy()
    windows = {(top, left) for top in range(3) for left in range(3)
               if np.array_equal(out, images[:, top:top + 4, left:left + 3])}
    assert len(windows) == 1                       # the same window in every image
    seen = {next(iter(windows))}
    for _ in range(20):
        again = crop(images, training=True).numpy()
        seen |= {(t, left) for t in range(3) for left in range(3)
                 if np.array_equal(again, images[:, t:t + 4, left:left + 3])}
    assert len(seen) > 1                           # the window moves between calls
    # inference: the central 6x4.5 -> aspect 4:3 crop resized, as smart_resize does
    assert crop(images, training=False).shape == (2, 4, 3, 1)
    assert layers.RandomCrop(8, 8)(images, training=True).shape == (2, 8, 8, 1)
    assert layers.RandomCrop.from_config(crop.get_config()).seed == 3


def test_random_contrast_scales_deviations_from_each_channel_mean():
    rng = np.random.RandomState(0)
    images = (rng.rand(3, 4, 5, 2) * 100 + 50).astype("float32")
    out = layers.RandomContrast((0.5, 0.5), seed=7)(images, training=True).numpy()
    mean = images.mean(axis=(1, 2), keepdims=True)
    factors = (out - mean) / (images - mean)
    factor = float(np.median(factors))
    assert 0.5 <= factor <= 1.5
    np.testing.assert_allclose(out, np.clip((images - mean) * factor + mean, 0, 255),
                               rtol=1e-5, atol=1e-3)    # one factor for the whole call
    np.testing.assert_array_equal(layers.RandomContrast(0.3)(images, training=False).numpy(),
                                  images)
    with pytest.raises(ValueError, match="cannot have negative values"):
        layers.RandomContrast(-0.1)


def test_random_brightness_adds_one_offset_per_image_then_clips():
    images = np.random.RandomState(1).uniform(50, 200, (6, 3, 4, 3)).astype("float32")
    out = layers.RandomBrightness(0.2, value_range=(0, 255), seed=5)(images,
                                                                      training=True).numpy()
    unclipped = (out > 0) & (out < 255)
    offsets = [np.unique(np.round((out[i] - images[i])[unclipped[i]], 3)) for i in range(6)]
    assert all(len(o) == 1 for o in offsets)                  # one offset per image
    values = np.array([o[0] for o in offsets])
    assert np.all(np.abs(values) <= 0.2 * 255 + 1e-3) and len(np.unique(values)) == 6
    np.testing.assert_array_equal(layers.RandomBrightness(0.2)(images, training=False).numpy(),
                                  images)
    fixed = layers.RandomBrightness((0.5, 0.5), value_range=(0, 1))
    np.testing.assert_allclose(fixed(np.full((1, 2, 2, 1), 0.25), training=True).numpy(), 0.75)
    with pytest.raises(ValueError, match="range \\[-1.0, 1.0\\]"):
        layers.RandomBrightness(1.5)


def test_random_height_and_width_resize_one_axis_by_the_drawn_factor():
    from minikeras.ops.image import resize
    images = np.random.RandomState(2).rand(2, 8, 6, 3).astype("float32")
    taller = layers.RandomHeight((0.5, 0.5))(images, training=True).numpy()
    np.testing.assert_allclose(taller, resize(images, 12, 6, "bilinear").numpy(), atol=1e-6)
    narrower = layers.RandomWidth((-0.4, -0.4), interpolation="nearest")(images,
                                                                        training=True).numpy()
    assert narrower.shape == (2, 8, 3, 3)               # int(0.6 * 6)
    sizes = {layers.RandomHeight(0.5, seed=s)(images, training=True).shape[1]
             for s in range(8)}
    assert len(sizes) > 1 and all(4 <= h <= 12 for h in sizes)
    np.testing.assert_array_equal(layers.RandomWidth(0.5)(images, training=False).numpy(),
                                  images)
    assert layers.RandomHeight(0.2)(keras.Input((8, 6, 3))).shape == (None, None, 6, 3)
    with pytest.raises(ValueError, match="larger than -1"):
        layers.RandomWidth((-1.5, 0.2))
