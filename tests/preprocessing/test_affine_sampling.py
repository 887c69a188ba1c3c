"""The batched NumPy warp of `ImageDataGenerator.flow` against SciPy's `affine_transform`
(what keras-preprocessing calls per channel per image) and against the per-image route."""
import numpy as np
import pytest

from minikeras.preprocessing.image import ImageDataGenerator
from minikeras.preprocessing.image.affine_sampling import affine_sample

ndimage = pytest.importorskip("scipy.ndimage")

FILL_MODES = ("nearest", "constant", "reflect", "wrap")


def scipy_reference(images, matrices, offsets, order, fill_mode, cval):
    return np.stack([
        np.stack([ndimage.affine_transform(image[..., c], matrix, offset, order=order,
                                           mode=fill_mode, cval=cval)
                  for c in range(image.shape[-1])], axis=-1)
        for image, matrix, offset in zip(images, matrices, offsets)])


def random_case(rng, kind, batch=3):
    """(images, matrices, offsets) of a random size, for one kind of transform."""
    rows, cols, channels = rng.integers(1, 10), rng.integers(1, 10), rng.integers(1, 4)
    images = (rng.standard_normal((batch, rows, cols, channels)) * 5).astype(np.float32)
    if kind == "integer_shift":
        return images, np.tile(np.eye(2), (batch, 1, 1)), rng.integers(-12, 12, (batch, 2))
    if kind == "shift":
        return images, np.tile(np.eye(2), (batch, 1, 1)), rng.uniform(-12, 12, (batch, 2))
    if kind == "zoom":
        matrices = np.zeros((batch, 2, 2))
        matrices[:, [0, 1], [0, 1]] = rng.uniform(0.3, 3, (batch, 2))
        return images, matrices, rng.uniform(-6, 6, (batch, 2))
    return images, rng.uniform(-2.5, 2.5, (batch, 2, 2)), rng.uniform(-25, 25, (batch, 2))


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("kind", ["integer_shift", "shift", "zoom", "general"])
def test_matches_scipy_at_order_one(fill_mode, kind):
    rng = np.random.default_rng(len(fill_mode) * 7 + len(kind))
    for _ in range(25):
        images, matrices, offsets = random_case(rng, kind)
        cval = float(rng.uniform(-3, 3))
        got = affine_sample(images, matrices, offsets, 1, fill_mode, cval)
        want = scipy_reference(images, matrices, offsets, 1, fill_mode, cval)
        assert got.dtype == np.float32 and got.shape == images.shape
        if kind == "integer_shift":
            # weights 1 and 0: the pixels themselves, bit for bit
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("kind", ["shift", "zoom", "general"])
def test_matches_scipy_bit_for_bit_at_order_zero(fill_mode, kind):
    rng = np.random.default_rng(len(fill_mode) * 5 + len(kind))
    for _ in range(25):
        images, matrices, offsets = random_case(rng, kind)
        np.testing.assert_array_equal(
            affine_sample(images, matrices, offsets, 0, fill_mode, 1.5),
            scipy_reference(images, matrices, offsets, 0, fill_mode, 1.5))


def test_points_on_and_near_the_edges():
    # coordinates exactly on the last pixel, a hair below 0 (SciPy's reflect keeps -in - 1
    # above -1) and far outside (several periods of reflect / wrap)
    images = np.arange(2 * 5 * 4 * 1, dtype=np.float32).reshape(2, 5, 4, 1)
    offsets = np.array([[4.0, 3.0], [-1e-16, -40.25]])
    matrices = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 9.5]]])
    for mode in FILL_MODES:
        for order in (0, 1):
            np.testing.assert_allclose(
                affine_sample(images, matrices, offsets, order, mode, -2.0),
                scipy_reference(images, matrices, offsets, order, mode, -2.0),
                rtol=1e-6, atol=1e-5)


def test_float64_images_stay_float64():
    images = np.random.default_rng(0).random((2, 6, 5, 2))
    matrices, offsets = np.tile(np.eye(2), (2, 1, 1)), np.array([[0.3, -1.7], [2.2, 0.1]])
    got = affine_sample(images, matrices, offsets, 1, "reflect", 0.0)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, scipy_reference(images, matrices, offsets, 1, "reflect",
                                                    0.0), rtol=1e-12, atol=1e-12)


def test_orders_above_one_are_refused():
    with pytest.raises(ValueError, match="spline orders"):
        affine_sample(np.zeros((1, 3, 3, 1), np.float32), np.eye(2)[None], np.zeros((1, 2)), 3)


# --- ImageDataGenerator.flow: batched route against the per-image route ------------------
class PerImage(ImageDataGenerator):
    """The same generator forced onto the per-image SciPy route."""

    def _can_augment_batch(self, images):
        return False


def flow_batches(generator_class, x, kwargs, batches=3, seed=3):
    generator = generator_class(**kwargs)
    if kwargs.get("featurewise_center"):
        generator.fit(x)
    np.random.seed(11)
    iterator = generator.flow(x, np.arange(len(x)), batch_size=4, seed=seed)
    out = [next(iterator) for _ in range(batches)]
    return out, np.random.random()


@pytest.mark.parametrize("kwargs", [
    dict(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True),
    dict(width_shift_range=[-2, 1, 3], height_shift_range=2, fill_mode="wrap"),
    dict(rotation_range=30, zoom_range=0.2, shear_range=10, fill_mode="reflect",
         vertical_flip=True),
    dict(rotation_range=45, fill_mode="constant", cval=-3.0, channel_shift_range=5.0,
         rescale=0.5, featurewise_center=True),
    dict(zoom_range=[0.5, 1.5], width_shift_range=0.3, data_format="channels_first"),
    dict(rotation_range=20, interpolation_order=0, fill_mode="nearest"),
    dict(horizontal_flip=True, samplewise_center=True),
])
def test_flow_batches_match_the_per_image_route(kwargs):
    x = np.random.default_rng(0).uniform(0, 255, (10, 9, 7, 3)).astype("float32")
    if kwargs.get("data_format") == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    batched, after_batched = flow_batches(ImageDataGenerator, x, kwargs)
    per_image, after_per_image = flow_batches(PerImage, x, kwargs)
    for (bx, by), (px, py) in zip(batched, per_image):
        np.testing.assert_array_equal(by, py)
        assert bx.dtype == px.dtype
        np.testing.assert_allclose(bx, px, rtol=1e-6, atol=1e-3)
    # the same draws from NumPy's global state, in the same number
    assert after_batched == after_per_image


def test_user_code_keeps_the_per_image_route():
    # a preprocessing function drawing from np.random between two images' draws, and a
    # spline order the NumPy sampler lacks, keep SciPy image by image: the same bits
    def noisy(image):
        return image + np.random.random()
    x = np.random.default_rng(1).uniform(0, 255, (8, 6, 6, 3)).astype("float32")
    for kwargs in (dict(rotation_range=30, preprocessing_function=noisy),
                   dict(rotation_range=30, interpolation_order=3)):
        assert not ImageDataGenerator(**kwargs)._can_augment_batch(x)
        batched, _ = flow_batches(ImageDataGenerator, x, kwargs)
        per_image, _ = flow_batches(PerImage, x, kwargs)
        for (bx, _), (px, _) in zip(batched, per_image):
            np.testing.assert_array_equal(bx, px)


def test_half_precision_generators_keep_the_per_image_route():
    x = np.zeros((2, 5, 5, 3), np.float16)
    assert not ImageDataGenerator(rotation_range=10, dtype="float16")._can_augment_batch(x)
    assert ImageDataGenerator(rotation_range=10)._can_augment_batch(x.astype(np.float32))
