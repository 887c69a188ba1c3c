"""`ImageDataGenerator`'s batch path draws every image's parameters at once and shifts and
flips the batch as a whole (`_batch_draws`, `_shift_batch`): the same batches, bit for bit,
as drawing and transforming image by image (the path it replaces, still taken when a draw is
not one double), from the same seeded `np.random` state."""
import numpy as np
import pytest

from minikeras.preprocessing.image import ImageDataGenerator
from minikeras.preprocessing.image import generator as generator_module
from minikeras.preprocessing.image import transforms

SETTINGS = [
    dict(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True),
    dict(width_shift_range=0.1, height_shift_range=0.1, fill_mode="nearest",
         horizontal_flip=True),
    dict(width_shift_range=0.25, fill_mode="constant", cval=0.5, vertical_flip=True),
    dict(height_shift_range=3.5, fill_mode="reflect", horizontal_flip=True,
         vertical_flip=True),
    dict(width_shift_range=0.2, height_shift_range=0.1, fill_mode="wrap", rescale=1 / 255.0,
         featurewise_center=True),
    dict(rotation_range=20, width_shift_range=0.1, zoom_range=0.2, shear_range=5,
         horizontal_flip=True),
    dict(zoom_range=[0.8, 1.1], interpolation_order=0),
    dict(width_shift_range=2, height_shift_range=[-1, 0, 1]),   # integer ranges: choice
    dict(width_shift_range=0.1, channel_shift_range=10.0),       # left image by image
]


def _batches(generator, images, seed, batch_draws):
    np.random.seed(seed)
    out = []
    for _ in range(3):
        batch = images.copy()
        if not batch_draws:
            generator._batch_draws = lambda batch_images: None
        out.append(generator._augment_batch(batch))
    return out


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("settings", SETTINGS)
def test_batch_draws_give_the_image_by_image_batches(settings, data_format):
    rng = np.random.default_rng(3)
    shape = (9, 10, 12, 3) if data_format == "channels_last" else (9, 3, 10, 12)
    images = rng.uniform(0, 255, shape).astype(np.float32)
    generator = ImageDataGenerator(data_format=data_format, **settings)
    generator.fit(images)
    assert generator._can_augment_batch(images)
    batched = _batches(generator, images, 11, True)
    expected = _batches(_fitted(settings, data_format, images), images, 11, False)
    for got, want in zip(batched, expected):
        np.testing.assert_array_equal(got, want)
    # and the global random state moved on by the same draws
    np.random.seed(11)
    _batches(generator, images, 11, True)
    after_batched = np.random.random()
    _batches(_fitted(settings, data_format, images), images, 11, False)
    assert np.random.random() == after_batched


def _fitted(settings, data_format, images):
    generator = ImageDataGenerator(data_format=data_format, **settings)
    generator.fit(images)
    return generator


def test_shift_offsets_are_sampling_matrix_offsets():
    rng = np.random.default_rng(0)
    tx = rng.uniform(-5, 5, 200) * rng.choice([1e-9, 1e-3, 1, 7], 200)
    ty = rng.uniform(-5, 5, 200)
    generator = ImageDataGenerator()
    captured = {}

    def capture(images, matrices, offsets, **kwargs):
        captured["matrices"], captured["offsets"] = np.array(matrices), np.array(offsets)
        return images
    original = generator_module.affine_sampling.affine_sample
    generator_module.affine_sampling.affine_sample = capture
    try:
        generator._shift_batch(np.zeros((200, 31, 18, 1), np.float32), tx, ty)
    finally:
        generator_module.affine_sampling.affine_sample = original
    for i in range(200):
        matrix = transforms.sampling_matrix(0, tx[i], ty[i], 0, 1, 1, 31, 18)
        np.testing.assert_array_equal(captured["matrices"][i], matrix[:2, :2])
        np.testing.assert_array_equal(captured["offsets"][i], matrix[:2, 2])


def test_draw_routes_by_settings():
    images = np.zeros((4, 6, 6, 1), np.float32)
    assert ImageDataGenerator(width_shift_range=2)._batch_draws(images) is None
    assert ImageDataGenerator(brightness_range=(0.5, 1.5))._batch_draws(images) is None
    draws = ImageDataGenerator(width_shift_range=0.5)._batch_draws(images)
    assert sorted(draws) == ["flip_horizontal", "flip_vertical", "ty"]
    assert np.all(np.abs(draws["ty"]) <= 3) and not draws["flip_horizontal"].any()
