"""keras.utils.image_dataset_from_directory: tf.keras' indexing, shuffling, labels and
tf.image.resize / PNG decoding rules, checked with closed forms on images the test writes."""
import os

import numpy as np
import pytest
from PIL import Image

import minikeras as keras

SIZE = (4, 6)


def make_tree(root, counts=(("cats", 3), ("dogs", 2), ("owls", 1))):
    rng = np.random.default_rng(0)
    images = {}
    for cls, n in counts:
        os.makedirs(os.path.join(root, cls))
        for i in range(n):
            pixels = rng.integers(0, 256, SIZE + (3,), dtype=np.uint8)
            path = os.path.join(root, cls, f"img{i}.png")
            Image.fromarray(pixels, "RGB").save(path)
            images[path] = pixels
    with open(os.path.join(root, counts[0][0], "notes.txt"), "w") as handle:
        handle.write("not an image")
    return images


def test_sorted_index_seeded_shuffle_and_int_labels(tmp_path, capsys):
    images = make_tree(str(tmp_path))
    ds = keras.utils.image_dataset_from_directory(str(tmp_path), image_size=SIZE, batch_size=4,
                                                  seed=7)
    assert capsys.readouterr().out == "Found 6 files belonging to 3 classes.\n"
    assert ds.class_names == ["cats", "dogs", "owls"]
    ordered = sorted(images)
    expected_paths = list(ordered)
    np.random.RandomState(7).shuffle(expected_paths)
    assert ds.file_paths == expected_paths
    x, y = ds[0]
    assert x.dtype == np.float32 and x.shape == (4,) + SIZE + (3,)
    assert y.dtype == np.int32
    classes = {"cats": 0, "dogs": 1, "owls": 2}
    np.testing.assert_array_equal(
        y, [classes[os.path.basename(os.path.dirname(p))] for p in expected_paths[:4]])
    for image, path in zip(x, expected_paths):   # same size: no resampling at all
        np.testing.assert_array_equal(image, images[path])
    assert len(ds) == 2 and len(ds[1][0]) == 2


def half_pixel_bilinear(image, out_h, out_w):
    """tf.image.resize(bilinear): source coordinate (i + 0.5) * in / out - 0.5."""
    def taps(n_in, n_out):
        src = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        low = np.floor(src)
        frac = src - low
        low_index = np.clip(low, 0, n_in - 1).astype(int)
        return low_index, np.clip(low + 1, 0, n_in - 1).astype(int), frac
    r0, r1, fr = taps(image.shape[0], out_h)
    c0, c1, fc = taps(image.shape[1], out_w)
    img = image.astype(np.float64)
    top = img[r0][:, c0] * (1 - fc)[None, :, None] + img[r0][:, c1] * fc[None, :, None]
    bottom = img[r1][:, c0] * (1 - fc)[None, :, None] + img[r1][:, c1] * fc[None, :, None]
    return top * (1 - fr)[:, None, None] + bottom * fr[:, None, None]


def test_bilinear_and_nearest_resize_follow_tf_image_resize(tmp_path):
    images = make_tree(str(tmp_path), counts=(("only", 1),))
    (path, pixels), = images.items()
    ds = keras.utils.image_dataset_from_directory(str(tmp_path), image_size=(7, 3),
                                                  shuffle=False, label_mode=None)
    np.testing.assert_allclose(ds[0][0], half_pixel_bilinear(pixels, 7, 3), atol=1e-3)
    nearest = keras.utils.image_dataset_from_directory(
        str(tmp_path), image_size=(8, 3), shuffle=False, label_mode=None,
        interpolation="nearest")[0][0]
    assert nearest.dtype == np.uint8   # tf.image.resize keeps the dtype for nearest
    rows = np.floor((np.arange(8) + 0.5) * 4 / 8).astype(int)
    cols = np.floor((np.arange(3) + 0.5) * 6 / 3).astype(int)
    np.testing.assert_array_equal(nearest, pixels[rows][:, cols])


def test_grayscale_uses_libpng_weights_and_crop_to_aspect_ratio(tmp_path):
    images = make_tree(str(tmp_path), counts=(("only", 1),))
    (path, pixels), = images.items()
    gray = keras.utils.image_dataset_from_directory(str(tmp_path), image_size=SIZE,
                                                    color_mode="grayscale", shuffle=False)
    rgb = pixels.astype(np.uint32)
    expected = (9797 * rgb[..., 0] + 19234 * rgb[..., 1] + 3737 * rgb[..., 2]) >> 15
    np.testing.assert_array_equal(gray[0][0][0, :, :, 0], expected)
    square = keras.utils.image_dataset_from_directory(
        str(tmp_path), image_size=(4, 4), crop_to_aspect_ratio=True, shuffle=False)
    np.testing.assert_array_equal(square[0][0][0], pixels[:, 1:5])   # centred 4x4 crop


def test_label_modes_and_subsets(tmp_path, capsys):
    make_tree(str(tmp_path))
    categorical = keras.utils.image_dataset_from_directory(
        str(tmp_path), image_size=SIZE, label_mode="categorical", shuffle=False, batch_size=6)
    np.testing.assert_array_equal(categorical[0][1], np.eye(3)[[0, 0, 0, 1, 1, 2]])
    with pytest.raises(ValueError, match='label_mode="binary"`, there must be exactly 2'):
        keras.utils.image_dataset_from_directory(str(tmp_path), label_mode="binary")
    train, val = keras.utils.image_dataset_from_directory(
        str(tmp_path), image_size=SIZE, validation_split=0.34, subset="both", seed=1)
    everything = keras.utils.image_dataset_from_directory(str(tmp_path), image_size=SIZE,
                                                          seed=1)
    assert train.file_paths == everything.file_paths[:4]
    assert val.file_paths == everything.file_paths[4:]
    assert "Using 4 files for training." in capsys.readouterr().out
    with pytest.raises(ValueError, match="you must provide a `seed` argument"):
        keras.utils.image_dataset_from_directory(str(tmp_path), validation_split=0.2,
                                                 subset="training")
    with pytest.raises(NotImplementedError, match="Value not recognized"):
        keras.utils.image_dataset_from_directory(str(tmp_path), interpolation="sinc")


def test_explicit_labels_and_fit(tmp_path, capsys):
    make_tree(str(tmp_path))
    ds = keras.utils.image_dataset_from_directory(
        str(tmp_path), labels=[0, 1, 0, 1, 1, 0], label_mode="binary", image_size=SIZE,
        batch_size=3, shuffle=False)
    np.testing.assert_array_equal(ds[0][1], [[0], [1], [0]])
    assert ds[0][1].dtype == np.float32
    as_int = keras.utils.image_dataset_from_directory(
        str(tmp_path), labels=[0, 1, 0, 1, 1, 0], image_size=SIZE, shuffle=False)
    assert as_int[0][1].dtype == np.int32 and as_int.class_names == [0, 1]
    model = keras.Sequential([keras.layers.Rescaling(1 / 255, input_shape=SIZE + (3,)),
                              keras.layers.Flatten(), keras.layers.Dense(1, "sigmoid")])
    model.compile("adam", "binary_crossentropy")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_smart_resize_crops_the_centre_then_resizes():
    batch = np.random.default_rng(5).uniform(0, 255, (2, 6, 10, 3)).astype("float32")
    out = keras.preprocessing.image.smart_resize(batch, (6, 6))   # crop only: 6x6 centre
    np.testing.assert_array_equal(out, batch[:, :, 2:8])
    single = keras.utils.smart_resize(batch[0], (3, 3))
    np.testing.assert_allclose(single, half_pixel_bilinear(batch[0][:, 2:8], 3, 3), atol=1e-3)
    with pytest.raises(ValueError, match="Expected `size` to be a tuple of 2 integers"):
        keras.utils.smart_resize(batch, (3,))
