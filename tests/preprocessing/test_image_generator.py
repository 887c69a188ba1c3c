"""ImageDataGenerator behaviour beyond the fixtures: closed forms, Keras' rules and errors."""
import os
import sys
import warnings

import numpy as np
import pytest
from PIL import Image, ImageEnhance

import minikeras as keras
from minikeras.preprocessing import image as kimage
from minikeras.preprocessing.image import ImageDataGenerator


def rand_images(n=6, h=5, w=7, c=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, h, w, c)).astype("float32")


# --- transforms ---------------------------------------------------------------------------
def test_channels_first_transform_equals_channels_last_transposed():
    x = rand_images(1)[0]
    params = {"theta": 17.0, "tx": 1.0, "ty": -0.5, "shear": 5.0, "zx": 0.9, "zy": 1.1,
              "flip_horizontal": 1, "flip_vertical": 1, "channel_shift_intensity": 9.0,
              "brightness": 0.7}
    last = ImageDataGenerator().apply_transform(x.copy(), params)
    first = ImageDataGenerator(data_format="channels_first").apply_transform(
        x.transpose(2, 0, 1).copy(), params)
    np.testing.assert_allclose(first.transpose(1, 2, 0), last, atol=1e-4)


def test_pure_shift_with_integer_offsets_is_a_translation():
    x = rand_images(1, 6, 8, 1)[0]
    out = ImageDataGenerator(fill_mode="constant", cval=-1.0).apply_transform(x, {"tx": 2,
                                                                                 "ty": 1})
    # output(i, j) = input(i + 1, j + 2): since tf.keras swaps the matrix axes, `tx` (drawn
    # from height_shift_range) moves columns and `ty` moves rows, as the fixtures show
    np.testing.assert_allclose(out[:5, :6], x[1:, 2:], atol=1e-4)
    assert np.all(out[5:] == -1.0) and np.all(out[:, 6:] == -1.0)


def test_brightness_is_pillows_enhance_on_8bit_pixels():
    x = rand_images(1)[0]
    out = ImageDataGenerator().apply_transform(x, {"brightness": 1.3})
    pil = ImageEnhance.Brightness(Image.fromarray(x.astype("uint8"), "RGB")).enhance(1.3)
    np.testing.assert_array_equal(out, np.asarray(pil, dtype="float32"))
    closed_form = np.clip(np.floor(np.float32(1.3) * x.astype("uint8").astype("float32")), 0, 255)
    np.testing.assert_array_equal(out, closed_form)


def test_brightness_on_signed_images_is_scaled_and_mapped_back():
    x = np.random.default_rng(1).uniform(-1, 1, (4, 5, 3)).astype("float32")
    out = ImageDataGenerator().apply_transform(x, {"brightness": 1.0})
    low, high = x.min(), x.max()
    eight_bit = ((x - low) / (high - low) * 255).astype("uint8").astype("float32")
    np.testing.assert_allclose(out, eight_bit / 255 * (high - low) + low, atol=1e-6)


def test_channel_shift_clips_to_the_images_range():
    x = rand_images(1)[0]
    out = kimage.apply_channel_shift(x, 40.0, channel_axis=2)
    np.testing.assert_allclose(out, np.clip(x + 40.0, x.min(), x.max()))


def test_integer_shift_range_draws_choice_then_sign():
    gen = ImageDataGenerator(width_shift_range=3, height_shift_range=[1, 2])
    params = gen.get_random_transform((5, 7, 3), seed=5)
    np.random.seed(5)
    tx = np.random.choice([1, 2]) * np.random.choice([-1, 1])
    ty = np.random.choice(3) * np.random.choice([-1, 1])
    assert (params["tx"], params["ty"]) == (tx, ty)


def test_random_helpers_draw_like_the_generator():
    x = rand_images(1)[0]
    np.random.seed(3)
    out = kimage.random_rotation(x, 20, row_axis=0, col_axis=1, channel_axis=2)
    np.random.seed(3)
    theta = np.random.uniform(-20, 20)
    np.testing.assert_array_equal(
        out, ImageDataGenerator().apply_transform(x, {"theta": theta}))


# --- fit / standardize ------------------------------------------------------------------
def test_fit_closed_forms_and_augment_rounds():
    x = rand_images(8)
    gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True,
                             rescale=0.5)
    gen.fit(x)
    np.testing.assert_allclose(gen.mean.ravel(), (x * 0.5).mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(gen.std.ravel(), (x * 0.5).std(axis=(0, 1, 2)), rtol=1e-4)
    augmented = ImageDataGenerator(featurewise_center=True, horizontal_flip=True)
    augmented.fit(x, augment=True, rounds=2, seed=4)
    np.random.seed(4)
    copies = [augmented.random_transform(img) for _ in range(2) for img in x]
    np.testing.assert_allclose(augmented.mean.ravel(), np.mean(copies, axis=(0, 1, 2)),
                               rtol=1e-5)


def test_zca_whitened_fit_data_has_identity_covariance():
    x = np.random.default_rng(2).normal(size=(200, 2, 2, 3)).astype("float32")
    gen = quiet(zca_whitening=True, zca_epsilon=1e-9)
    gen.fit(x)
    white = gen.standardize(x.copy()).reshape(200, -1)
    np.testing.assert_allclose(white.T @ white / 200, np.eye(12), atol=1e-4)


def test_standardize_warns_when_not_fitted():
    gen = ImageDataGenerator(featurewise_center=True)
    with pytest.warns(UserWarning, match="hasn't been fit on any training data"):
        gen.standardize(rand_images(1))


def test_preprocessing_function_runs_first():
    gen = ImageDataGenerator(preprocessing_function=lambda im: im + 1.0, rescale=2.0)
    np.testing.assert_allclose(gen.standardize(np.zeros((2, 2, 1), "float32")), 2.0)


def quiet(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ImageDataGenerator(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"zoom_range": [0.5, 1.0, 2.0]}, "`zoom_range` should be a float or a tuple"),
    ({"brightness_range": 0.5}, "`brightness_range should be tuple or list of two floats"),
    ({"validation_split": 1.5}, "`validation_split` must be strictly between 0 and 1"),
    ({"data_format": "channels_middle"}, '`data_format` should be `"channels_last"`'),
    ({"fill_mode": "mirror"}, "`fill_mode` should be one of"),
    ({"interpolation_order": 7}, "`interpolation_order`"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImageDataGenerator(**kwargs)


def test_fit_wants_rank_4():
    with pytest.raises(ValueError, match="Input to `.fit\\(\\)` should have rank 4"):
        ImageDataGenerator(featurewise_center=True).fit(np.zeros((3, 4, 4)))


def test_missing_scipy_raises_keras_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(ImportError, match="Image transformations require SciPy. Install SciPy."):
        ImageDataGenerator().apply_transform(rand_images(1)[0], {"theta": 10})


def test_missing_pil_raises_keras_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="Could not import PIL.Image. The use of `load_img`"):
        kimage.load_img("nowhere.png")


# --- NumpyArrayIterator ---------------------------------------------------------------------
def test_flow_outputs_sample_weights_and_extra_inputs():
    x, y, sw = rand_images(5), np.arange(5), np.linspace(0.1, 0.5, 5)
    extra = np.arange(10).reshape(5, 2)
    inputs, labels, weights = ImageDataGenerator().flow((x, extra), y, sample_weight=sw,
                                                         batch_size=5, shuffle=False)[0]
    np.testing.assert_array_equal(inputs[0], x)
    np.testing.assert_array_equal(inputs[1], extra)
    np.testing.assert_array_equal(labels, y)
    np.testing.assert_array_equal(weights, sw)


def test_flow_subsets_split_at_the_validation_fraction():
    x, y = rand_images(10), np.array([0, 1] * 5)
    gen = ImageDataGenerator(validation_split=0.3)
    val = gen.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    train = gen.flow(x, y, batch_size=10, shuffle=False, subset="training")
    np.testing.assert_array_equal(val[0][0], x[:3])
    np.testing.assert_array_equal(train[0][0], x[3:])
    with pytest.raises(ValueError, match="different number of classes"):
        gen.flow(x, np.array([0] * 3 + [1] * 7), subset="training")
    with pytest.raises(ValueError, match="Invalid subset name"):
        gen.flow(x, y, subset="test")


def test_flow_errors_in_keras_words():
    gen = ImageDataGenerator()
    with pytest.raises(ValueError, match="`x` \\(images tensor\\) and `y` \\(labels\\)"):
        gen.flow(rand_images(3), np.arange(4))
    with pytest.raises(ValueError, match="should have rank 4"):
        gen.flow(np.zeros((3, 4, 4)))


def test_getitem_is_reproducible_with_a_seed_and_epochs_reshuffle():
    x = rand_images(8)
    gen = ImageDataGenerator(rotation_range=30, horizontal_flip=True)
    first = gen.flow(x, np.arange(8), batch_size=4, seed=7)
    second = gen.flow(x, np.arange(8), batch_size=4, seed=7)
    a, b = first[1], second[1]
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="Asked to retrieve element 2"):
        first[2]


def test_save_to_dir_writes_every_augmented_image(tmp_path):
    x = rand_images(3)
    it = ImageDataGenerator().flow(x, batch_size=3, save_to_dir=str(tmp_path),
                                   save_prefix="aug", save_format="png", shuffle=False)
    next(it)
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 3 and all(n.startswith("aug_") and n.endswith(".png") for n in names)


def test_fit_trains_on_a_flow_iterator():
    x = rand_images(16, 6, 6, 1) / 255.0
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")
    model = keras.Sequential([keras.layers.Flatten(input_shape=(6, 6, 1)),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    gen = ImageDataGenerator(horizontal_flip=True)
    history = model.fit(gen.flow(x, y, batch_size=4, seed=1), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


# --- flow_from_directory ------------------------------------------------------------------
def make_tree(root, counts=(("a", 4), ("b", 2))):
    rng = np.random.default_rng(0)
    for cls, n in counts:
        os.makedirs(os.path.join(root, cls))
        for i in range(n):
            pixels = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
            Image.fromarray(pixels, "RGB").save(os.path.join(root, cls, f"{i}.png"))


@pytest.mark.parametrize("class_mode", ["binary", "sparse", "input", None])
def test_directory_class_modes(tmp_path, class_mode, capsys):
    make_tree(str(tmp_path))
    it = ImageDataGenerator().flow_from_directory(str(tmp_path), target_size=(4, 5),
                                                  class_mode=class_mode, batch_size=6,
                                                  shuffle=False)
    batch = it[0]
    if class_mode is None:
        assert batch.shape == (6, 4, 5, 3)
        return
    x, y = batch
    if class_mode == "input":
        np.testing.assert_array_equal(x, y)
    else:
        np.testing.assert_array_equal(y, [0, 0, 0, 0, 1, 1])
        assert y.dtype == np.float32


def test_directory_subsets_and_grayscale(tmp_path, capsys):
    make_tree(str(tmp_path))
    gen = ImageDataGenerator(validation_split=0.5)
    val = gen.flow_from_directory(str(tmp_path), target_size=(4, 5), subset="validation",
                                  color_mode="grayscale", shuffle=False)
    assert val.filenames == [os.path.join("a", "0.png"), os.path.join("a", "1.png"),
                             os.path.join("b", "0.png")]
    assert val[0][0].shape == (3, 4, 5, 1)
    gray = np.asarray(Image.open(os.path.join(tmp_path, "a", "0.png")).convert("L"))
    np.testing.assert_array_equal(val[0][0][0, :, :, 0], gray)
    with pytest.raises(ValueError, match="Invalid color mode"):
        gen.flow_from_directory(str(tmp_path), color_mode="cmyk")
    with pytest.raises(ValueError, match="Invalid class_mode"):
        gen.flow_from_directory(str(tmp_path), class_mode="onehot")


# --- image files --------------------------------------------------------------------------
def test_save_img_load_img_round_trip(tmp_path):
    pixels = np.random.default_rng(3).integers(0, 256, (6, 4, 3)).astype("float32")
    path = str(tmp_path / "img.png")
    kimage.save_img(path, pixels, scale=False)
    loaded = kimage.img_to_array(kimage.load_img(path))
    np.testing.assert_array_equal(loaded, pixels)
    assert kimage.img_to_array(kimage.load_img(path, color_mode="rgba")).shape == (6, 4, 4)
    first = kimage.img_to_array(kimage.load_img(path), data_format="channels_first")
    np.testing.assert_array_equal(first, pixels.transpose(2, 0, 1))
    small = kimage.load_img(path, target_size=(3, 2), interpolation="bilinear")
    assert small.size == (2, 3)
    with pytest.raises(ValueError, match="Invalid interpolation method"):
        kimage.load_img(path, target_size=(3, 2), interpolation="cubic-ish")


def test_keep_aspect_ratio_crops_the_centre(tmp_path):
    pixels = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3)
    path = str(tmp_path / "tall.png")
    Image.fromarray(pixels).save(path)
    img = kimage.load_img(path, target_size=(2, 2), keep_aspect_ratio=True)
    expected = Image.fromarray(pixels).resize((2, 2), Image.NEAREST, box=[0, 1, 4, 5])
    np.testing.assert_array_equal(np.asarray(img), np.asarray(expected))


def test_array_to_img_scales_to_0_255():
    x = np.array([[[-1.0], [0.0], [1.0]]], dtype="float32")
    img = kimage.array_to_img(x)
    assert img.mode == "L"
    np.testing.assert_array_equal(np.asarray(img), [[0, 127, 255]])
    with pytest.raises(ValueError, match="Unsupported channel number: 2"):
        kimage.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="Expected image array to have rank 3"):
        kimage.array_to_img(np.zeros((2, 2)))


# --- flow_from_dataframe (a dict of columns stands in for a pandas DataFrame) ---------------
def dataframe_tree(root):
    make_tree(root)
    return {"filename": ["a/0.png", "b/1.png", "a/2.png", "a/missing.png", "b/0.png",
                         "a/notes.txt"],
            "class": ["cat", "dog", "cat", "cat", ["cat", "dog"], "dog"],
            "weight": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "target": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]}


def test_dataframe_categorical_multilabel_weights_and_validation(tmp_path, capsys):
    table = dataframe_tree(str(tmp_path))
    with pytest.warns(UserWarning, match='Found 2 invalid image filename\\(s\\) in x_col="filename"'):
        it = ImageDataGenerator().flow_from_dataframe(
            table, directory=str(tmp_path), weight_col="weight", target_size=(4, 5),
            batch_size=4, shuffle=False)
    assert "Found 4 validated image filenames belonging to 2 classes." in capsys.readouterr().out
    assert it.filenames == ["a/0.png", "b/1.png", "a/2.png", "b/0.png"]
    assert it.class_indices == {"cat": 0, "dog": 1}
    x, y, w = it[0]
    np.testing.assert_array_equal(y, [[1, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(w, [1.0, 2.0, 3.0, 5.0])
    pixels = np.asarray(Image.open(os.path.join(tmp_path, "b", "1.png")), dtype="float32")
    np.testing.assert_array_equal(x[1], pixels)


def test_dataframe_given_classes_keep_their_order_and_filter_rows(tmp_path, capsys):
    table = dataframe_tree(str(tmp_path))
    table["class"][4] = "dog"
    it = ImageDataGenerator().flow_from_dataframe(
        table, directory=str(tmp_path), classes=["dog"], class_mode="sparse",
        target_size=(4, 5), shuffle=False, validate_filenames=False)
    assert it.filenames == ["b/1.png", "b/0.png", "a/notes.txt"]
    assert it.class_indices == {"dog": 0} and it.classes == [0, 0, 0]


def test_dataframe_raw_and_multi_output_targets(tmp_path, capsys):
    table = dataframe_tree(str(tmp_path))
    gen = ImageDataGenerator()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = gen.flow_from_dataframe(table, directory=str(tmp_path), y_col="target",
                                      class_mode="raw", target_size=(4, 5), shuffle=False)
        multi = gen.flow_from_dataframe(table, directory=str(tmp_path),
                                        y_col=["target", "weight"], class_mode="multi_output",
                                        target_size=(4, 5), shuffle=False)
    np.testing.assert_array_equal(raw[0][1], [0.5, 1.5, 2.5, 4.5])
    targets = multi[0][1]
    np.testing.assert_array_equal(targets[0], [0.5, 1.5, 2.5, 4.5])
    np.testing.assert_array_equal(targets[1], [1.0, 2.0, 3.0, 5.0])
    assert "Found 4 validated image filenames." in capsys.readouterr().out


def test_dataframe_errors_in_keras_words(tmp_path):
    table = dataframe_tree(str(tmp_path))
    gen = ImageDataGenerator()
    with pytest.raises(TypeError, match='If class_mode="binary", y_col="class" column values '
                                        'must be strings'):
        gen.flow_from_dataframe(table, directory=str(tmp_path), class_mode="binary")
    with pytest.raises(TypeError, match='If class_mode="multi_output", y_col must be a list'):
        gen.flow_from_dataframe(table, class_mode="multi_output", y_col="target")
    with pytest.raises(TypeError, match="Column weight_col=class must be numeric"):
        gen.flow_from_dataframe(table, weight_col="class", class_mode=None)
    with pytest.raises(TypeError, match="Unrecognized keyword arguments"):
        gen.flow_from_dataframe(table, x_column="filename")
