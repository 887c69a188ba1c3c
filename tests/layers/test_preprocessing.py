"""Image preprocessing layers: TF's projective-transform sampling (reference written pixel by
pixel from the kernel's definition), closed-form rotations/shifts/flips, tf.image.resize
values, randomness only in training, gradients, configs, errors."""
import math

import numpy as np
import pytest

import minikeras as keras
from gradcheck import check_gradients
from minikeras.ops.image import projective_transform, random_flip, resize, rotation_transforms

L = keras.layers


# --- a scalar re-statement of TensorFlow's ImageProjectiveTransformV3 kernel ----------------
def _map_coordinate(c, n, mode):
    if mode == "constant":
        return c
    if mode == "nearest":
        return min(max(c, 0.0), n - 1.0)
    if c < 0:
        if n <= 1:
            c = 0.0
        elif mode == "reflect":
            c = 2 * n * int(-c / (2 * n)) + c
            c = c + 2 * n if c < -n else -c - 1
        else:  # wrap
            c += n * (int(-c / (n - 1)) + 1)
    elif c > n - 1:
        if n <= 1:
            c = 0.0
        elif mode == "reflect":
            c -= 2 * n * int(c / (2 * n))
            if c >= n:
                c = 2 * n - c - 1
        else:
            c -= n * int(c / (n - 1))
    return min(max(c, 0.0), n - 1.0)


def _reference_transform(images, transforms, interpolation, mode, fill):
    n, h, w, ch = images.shape
    out = np.zeros_like(images, dtype=np.float64)

    def read(b, y, x):
        return images[b, y, x] if 0 <= y < h and 0 <= x < w else np.full(ch, fill)
    for b in range(n):
        a0, a1, a2, b0, b1, b2, c0, c1 = transforms[b]
        for oy in range(h):
            for ox in range(w):
                k = c0 * ox + c1 * oy + 1
                if k == 0:
                    out[b, oy, ox] = fill
                    continue
                x = _map_coordinate((a0 * ox + a1 * oy + a2) / k, w, mode)
                y = _map_coordinate((b0 * ox + b1 * oy + b2) / k, h, mode)
                if interpolation == "nearest":
                    out[b, oy, ox] = read(b, int(math.floor(abs(y) + 0.5) * np.sign(y)),
                                          int(math.floor(abs(x) + 0.5) * np.sign(x)))
                    continue
                y0, x0 = math.floor(y), math.floor(x)
                top = (x0 + 1 - x) * read(b, y0, x0) + (x - x0) * read(b, y0, x0 + 1)
                bottom = (x0 + 1 - x) * read(b, y0 + 1, x0) + (x - x0) * read(b, y0 + 1, x0 + 1)
                out[b, oy, ox] = (y0 + 1 - y) * top + (y - y0) * bottom
    return out


def _images(shape=(3, 5, 6, 2), seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


# --- the transform op -----------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_projective_transform_matches_tf_kernel_definition(mode, interpolation):
    images = _images()
    rng = np.random.default_rng(1)
    transforms = np.concatenate([
        rotation_transforms(np.array([0.7, -2.0], np.float32), 5.0, 6.0),
        # a large shift and shear: coordinates far outside the image on both sides
        np.array([[1.3, 0.4, -9.5, -0.2, 0.9, 7.25, 0.0, 0.0]], np.float32)])
    transforms[:2, 2] += rng.uniform(-4, 4, 2).astype(np.float32)
    got = projective_transform(images, transforms, interpolation, mode, 0.5).numpy()
    expected = _reference_transform(images, transforms, interpolation, mode, 0.5)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_projective_transform_gradient(float64):
    transforms = np.concatenate([rotation_transforms(np.array([0.4]), 4.0, 5.0),
                                 np.array([[1, 0, -1.5, 0, 1, 0.7, 0, 0]])])

    def fn(images):
        return projective_transform(images, transforms, "bilinear", "reflect", 0.0)
    check_gradients(fn, [np.random.default_rng(2).random((2, 4, 5, 2))])


def test_projective_transform_gradient_constant_nearest(float64):
    transforms = np.array([[1, 0, -1.6, 0, 1, 0.8, 0, 0]])

    def fn(images):
        return projective_transform(images, transforms, "nearest", "constant", 3.0)
    check_gradients(fn, [np.random.default_rng(3).random((1, 4, 4, 1))])


# --- rotation / translation / zoom: closed forms -------------------------------------------------
def test_quarter_and_half_turns_are_exact_rotations():
    x = _images((4, 5, 5, 2))
    quarter = L.RandomRotation((0.25, 0.25))(x, training=True).numpy()
    np.testing.assert_allclose(quarter, np.rot90(x, axes=(1, 2)), atol=1e-5)  # counter-clockwise
    half = L.RandomRotation((-0.5, -0.5), interpolation="nearest")(x, training=True).numpy()
    np.testing.assert_array_equal(half, x[:, ::-1, ::-1])
    rect = _images((2, 4, 7, 1))
    np.testing.assert_allclose(L.RandomRotation((0.5, 0.5))(rect, training=True).numpy(),
                               rect[:, ::-1, ::-1], atol=1e-5)


@pytest.mark.parametrize("mode,first_rows", [("constant", lambda x: np.full_like(x[:, :2], 0.25)),
                                             ("reflect", lambda x: x[:, [1, 0]]),
                                             ("wrap", lambda x: x[:, [3, 4]]),
                                             ("nearest", lambda x: x[:, [0, 0]])])
def test_two_row_shift_down_with_each_fill_mode(mode, first_rows):
    x = _images((2, 5, 4, 3))
    layer = L.RandomTranslation((0.4, 0.4), 0.0, fill_mode=mode, fill_value=0.25)
    out = layer(x, training=True).numpy()
    np.testing.assert_allclose(out[:, 2:], x[:, :-2], atol=1e-6)
    np.testing.assert_allclose(out[:, :2], first_rows(x), atol=1e-6)


def test_translation_shifts_left_by_width_fraction():
    x = _images((1, 3, 8, 1))
    out = L.RandomTranslation(0.0, (-0.25, -0.25), fill_mode="constant")(x, training=True)
    np.testing.assert_allclose(out.numpy()[:, :, :6], x[:, :, 2:], atol=1e-6)
    np.testing.assert_array_equal(out.numpy()[:, :, 6:], 0)


def test_zoom_in_by_half_samples_the_centre():
    x = _images((1, 5, 5, 1))
    out = L.RandomZoom((-0.5, -0.5), interpolation="nearest")(x, training=True).numpy()
    # zoom factor 0.5 about the centre (2, 2): output pixel i samples input 1 + i / 2
    rows = np.floor(np.abs(1 + np.arange(5) / 2) + 0.5).astype(int)
    np.testing.assert_array_equal(out[0, :, :, 0], x[0][np.ix_(rows, rows)][:, :, 0])


# --- randomness: training only, one transform per image, seeds --------------------------------
RANDOM_LAYERS = [lambda seed=None: L.RandomFlip(seed=seed),
                 lambda seed=None: L.RandomTranslation(0.3, 0.3, seed=seed),
                 lambda seed=None: L.RandomRotation(0.2, seed=seed),
                 lambda seed=None: L.RandomZoom(0.3, seed=seed)]


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_random_layers_identity_at_inference_random_in_training(make):
    x = np.repeat(_images((1, 8, 8, 3)), 16, axis=0)
    np.testing.assert_array_equal(make()(x, training=False).numpy(), x)
    model = keras.Sequential([keras.Input((8, 8, 3)), make()])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    out = make()(x, training=True).numpy()
    assert out.shape == x.shape and out.dtype == np.float32
    distinct = {out[i].tobytes() for i in range(len(out))}
    assert len(distinct) > 1                       # one sampled transform per image


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_random_layers_deterministic_with_seed(make):
    x = _images((6, 8, 8, 3))
    a, b = make(seed=5), make(seed=5)
    np.testing.assert_array_equal(a(x, training=True).numpy(), b(x, training=True).numpy())
    np.testing.assert_array_equal(a(x[0], training=True).numpy().shape, (8, 8, 3))  # unbatched


def test_random_flip_statistics_and_modes():
    x = np.repeat(_images((1, 4, 5, 2)), 2000, axis=0)
    out = L.RandomFlip("horizontal_and_vertical")(x, training=True).numpy()
    kinds = {"same": x[0], "h": x[0][:, ::-1], "v": x[0][::-1], "hv": x[0][::-1, ::-1]}
    counts = {k: sum(np.array_equal(o, v) for o in out) for k, v in kinds.items()}
    assert sum(counts.values()) == 2000
    for count in counts.values():
        assert abs(count / 2000 - 0.25) < 0.04
    horizontal = L.RandomFlip("horizontal")(x[:200], training=True).numpy()
    assert all(np.array_equal(o, x[0]) or np.array_equal(o, x[0][:, ::-1]) for o in horizontal)
    vertical = L.RandomFlip("vertical")(x[:200], training=True).numpy()
    assert all(np.array_equal(o, x[0]) or np.array_equal(o, x[0][::-1]) for o in vertical)


def test_translation_amounts_stay_within_factor():
    x = np.zeros((400, 21, 21, 1), np.float32)
    x[:, 10, 10] = 1
    out = L.RandomTranslation((-0.2, 0.1), (0.0, 0.3), interpolation="nearest",
                              fill_mode="constant")(x, training=True).numpy()
    rows, cols = np.nonzero(out[..., 0].max(axis=2))[1], np.nonzero(out[..., 0].max(axis=1))[1]
    assert rows.min() >= 10 - 0.2 * 21 - 1 and rows.max() <= 10 + 0.1 * 21 + 1
    assert cols.min() >= 10 - 1 and cols.max() <= 10 + 0.3 * 21 + 1
    assert rows.max() - rows.min() >= 4 and cols.max() - cols.min() >= 4


def test_flip_gradient(float64):
    flips = (np.array([True, False, True]), np.array([True, True, False]))
    check_gradients(lambda x: random_flip(x, *flips), [_images((3, 2, 3, 2)).astype(np.float64)])


def test_augmentation_model_trains_and_predicts_deterministically():
    rng = np.random.default_rng(0)
    x = rng.random((64, 6, 6, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")
    model = keras.Sequential([keras.Input((6, 6, 1)), L.Rescaling(2.0, offset=-1.0),
                              L.RandomFlip(seed=1), L.RandomRotation(0.05, seed=2),
                              L.Flatten(), L.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.02), "binary_crossentropy")
    losses = model.fit(x, y, epochs=10, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


# --- Rescaling, Resizing, CenterCrop ----------------------------------------------------------
def test_rescaling_ints_to_floats():
    out = L.Rescaling(1.0 / 127.5, offset=-1)(np.array([[0, 255], [51, 204]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), np.array([[0, 255], [51, 204]]) / 127.5 - 1,
                               rtol=1e-6)


def test_resize_bilinear_half_pixel_values():
    x = np.array([0.0, 1.0], np.float32).reshape(1, 1, 2, 1)
    out = L.Resizing(1, 4)(x).numpy().reshape(-1)
    np.testing.assert_allclose(out, [0.0, 0.25, 0.75, 1.0])       # tf.image.resize values
    down = L.Resizing(1, 2)(np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1)).numpy()
    np.testing.assert_allclose(down.reshape(-1), [0.5, 2.5])


def _reference_resize_axis(values, out_size, interpolation):
    """tf.image.resize along one axis, one output at a time (half-pixel centres)."""
    n = len(values)
    scale = n / out_size
    out = []
    for i in range(out_size):
        if interpolation == "nearest":
            out.append(values[min(int(math.floor((i + 0.5) * scale)), n - 1)])
            continue
        src = (i + 0.5) * scale - 0.5
        low, high = max(math.floor(src), 0), min(math.ceil(src), n - 1)
        lerp = src - math.floor(src)
        out.append(values[low] + (values[high] - values[low]) * lerp)
    return np.array(out)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("size", [(3, 7), (9, 4)])
def test_resizing_matches_reference(interpolation, size):
    x = _images((2, 5, 6, 3))
    got = L.Resizing(*size, interpolation=interpolation)(x).numpy()
    expected = np.apply_along_axis(_reference_resize_axis, 1, x, size[0], interpolation)
    expected = np.apply_along_axis(_reference_resize_axis, 2, expected, size[1], interpolation)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert L.Resizing(*size).compute_output_shape((None, 5, 6, 3)) == (None,) + size + (3,)


def test_resizing_crop_to_aspect_ratio_and_unbatched():
    x = _images((1, 4, 8, 1))
    out = L.Resizing(4, 4, crop_to_aspect_ratio=True)(x).numpy()
    np.testing.assert_allclose(out, x[:, :, 2:6], atol=1e-6)     # centred 4x4 window, no scaling
    assert L.Resizing(2, 3)(x[0]).shape == (2, 3, 1)


def test_resize_gradient(float64):
    for interpolation in ("bilinear", "nearest"):
        check_gradients(lambda x: resize(x, 3, 5, interpolation),
                        [_images((2, 4, 3, 2)).astype(np.float64)])


def test_center_crop():
    x = _images((2, 7, 6, 1))
    np.testing.assert_array_equal(L.CenterCrop(4, 4)(x).numpy(), x[:, 1:5, 1:5])
    np.testing.assert_array_equal(L.CenterCrop(3, 6)(x[0]).numpy(), x[0, 2:5])
    small = L.CenterCrop(8, 8)(x).numpy()                       # smaller input: resized
    assert small.shape == (2, 8, 8, 1)
    assert L.CenterCrop(3, 2).compute_output_shape((None, 7, 6, 1)) == (None, 3, 2, 1)


# --- configs and errors -------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [
    lambda: L.Rescaling(0.5, 1.0), lambda: L.RandomFlip("vertical", seed=3),
    lambda: L.RandomTranslation((-0.1, 0.2), 0.3, fill_mode="wrap", seed=1, fill_value=2.0),
    lambda: L.RandomRotation(0.1, fill_mode="constant", interpolation="nearest"),
    lambda: L.RandomZoom(0.2, (-0.1, 0.1)), lambda: L.Resizing(4, 5, "nearest", True),
    lambda: L.CenterCrop(3, 4)])
def test_config_round_trip(layer):
    layer = layer()
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    assert layer.compute_output_shape((None, 8, 8, 3))[0] is None


def test_config_keys_follow_tf_keras():
    assert list(L.RandomTranslation(0.1, 0.2).get_config())[3:] == [
        "rng_type", "height_factor", "width_factor", "fill_mode", "fill_value", "interpolation", "seed"]
    assert list(L.RandomRotation(0.1).get_config())[3:] == [
        "rng_type", "factor", "fill_mode", "fill_value", "interpolation", "seed"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="received an unknown mode argument diagonal"):
        L.RandomFlip("diagonal")
    with pytest.raises(ValueError, match=r"`height_factor` argument must have values between "
                                         r"\[-1, 1\]. Received: height_factor=1.5"):
        L.RandomTranslation(1.5, 0.1)
    with pytest.raises(ValueError, match="`width_factor` cannot have upper bound less than "
                                         "lower bound"):
        L.RandomTranslation(0.1, (0.3, 0.1))
    with pytest.raises(ValueError, match="`factor` argument cannot have a negative value"):
        L.RandomRotation(-0.2)
    with pytest.raises(NotImplementedError, match="Unknown `fill_mode` mirror"):
        L.RandomRotation(0.2, fill_mode="mirror")
    with pytest.raises(NotImplementedError, match="Unknown `interpolation` cubic"):
        L.RandomZoom(0.2, interpolation="cubic")
    # tf_keras 2.21 image_utils.get_interpolation: a NotImplementedError
    with pytest.raises(NotImplementedError, match="Value not recognized for `interpolation`: "
                                                  "cubic"):
        L.Resizing(2, 2, interpolation="cubic")
    with pytest.raises(ValueError, match="expects a 3D"):
        L.RandomFlip()(np.zeros((2, 3)), training=True)


# --- RandomCrop, RandomContrast, RandomBrightness, RandomHeight, RandomWidth (training) ------
def test_random_crop_takes_a_window_in_training():
    x = np.arange(2 * 6 * 7 * 1, dtype="float32").reshape(2, 6, 7, 1)
    out = L.RandomCrop(3, 4, seed=2)(x, training=True).numpy()
    windows = [x[:, i:i + 3, j:j + 4] for i in range(4) for j in range(4)]
    assert any(np.array_equal(out, w) for w in windows)


def test_random_contrast_keeps_channel_means_and_bounds():
    x = np.random.default_rng(0).uniform(50, 200, (3, 5, 5, 2)).astype("float32")
    out = L.RandomContrast(0.5, seed=1)(x, training=True).numpy()
    np.testing.assert_allclose(out.mean(axis=(1, 2)), x.mean(axis=(1, 2)), rtol=1e-4)
    ratio = (out - out.mean(axis=(1, 2), keepdims=True)) / (x - x.mean(axis=(1, 2), keepdims=True))
    assert 0.5 <= ratio.min() and ratio.max() <= 1.5 and np.ptp(ratio) < 1e-3   # one factor


def test_random_brightness_shifts_each_image_within_range():
    x = np.full((4, 3, 3, 3), 0.5, "float32")
    out = L.RandomBrightness(0.2, value_range=(0, 1), seed=1)(x, training=True).numpy()
    deltas = out - x
    assert np.all(np.abs(deltas) <= 0.2 + 1e-6)
    np.testing.assert_allclose(deltas, deltas[:, :1, :1, :1] * np.ones_like(deltas), atol=1e-6)
    with pytest.raises(ValueError, match="range"):
        L.RandomBrightness(1.5)


def test_random_height_and_width_resize_one_axis():
    x = np.zeros((2, 10, 8, 1), "float32")
    height = L.RandomHeight((-0.2, 0.3), seed=1)(x, training=True).shape
    width = L.RandomWidth(0.25, seed=1)(x, training=True).shape
    assert 8 <= height[1] <= 13 and height[2] == 8
    assert 6 <= width[2] <= 10 and width[1] == 10
    assert L.RandomHeight(0.2).compute_output_shape((None, 10, 8, 1)) == (None, None, 8, 1)


def test_category_encoding_modes_weights_and_errors():
    ids = np.array([[0, 2, 2], [1, 1, 3]])
    counts = L.CategoryEncoding(4, output_mode="count")(ids, count_weights=np.full((2, 3), 0.5))
    np.testing.assert_array_equal(counts.numpy(), [[0.5, 0, 1, 0], [0, 1, 0, 0.5]])
    assert L.CategoryEncoding(4)(np.array([1, 3])).shape == (4,)          # 1-D: one sample
    assert L.CategoryEncoding(4, output_mode="one_hot")(np.array([1, 3])).shape == (2, 4)
    with pytest.raises(ValueError, match="0 <= values < num_tokens"):
        L.CategoryEncoding(3)(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="count_weights"):
        L.CategoryEncoding(3)(np.array([[0]]), count_weights=np.ones((1, 1)))


def test_discretization_buckets_and_refuses_adapt():
    layer = L.Discretization(bin_boundaries=[0.0, 1.0])
    out = layer(np.array([[-2.0, 0.0, 0.99, 1.0, 5.0]], "float32"))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), [[0, 1, 1, 2, 2]])    # boundary -> upper bucket
    multi = L.Discretization(bin_boundaries=[0.0], output_mode="multi_hot")
    np.testing.assert_array_equal(multi(np.array([[-1.0, -2.0]])).numpy(), [[1, 0]])
    with pytest.raises(ValueError, match="initialized with `bin_boundaries`"):
        layer.adapt(np.ones((4, 1)))       # tf.keras: adapt only with num_bins
    with pytest.raises(ValueError, match="Both `num_bins` and `bin_boundaries`"):
        L.Discretization(bin_boundaries=[0.0], num_bins=3)
