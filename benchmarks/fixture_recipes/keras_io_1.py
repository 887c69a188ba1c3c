"""Fixtures of the keras.io examples sweep (fid-kio1): image_dataset_from_directory with every
`interpolation` tf.image.resize offers, as image_classification_from_scratch / DCGAN load
their pictures. Run with the peer venv:

    TF_CPP_MIN_LOG_LEVEL=3 /work/peers/bin/python benchmarks/fixture_recipes/keras_io_1.py --peer

Writes tests/fixtures/keras_io_1/pets/<class>/<n>.png (small noise pictures of odd sizes,
encoded by tf.io.encode_png) and tests/fixtures/keras_io_1/resized.npz."""
import os

import numpy as np

import peer

METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
           "mitchellcubic")
IMAGE_SIZE = (5, 8)
SIZES = ((7, 11), (13, 6), (9, 9))


def write_pictures(tf, root):
    rng = np.random.RandomState(0)
    for class_name in ("cat", "dog"):
        os.makedirs(os.path.join(root, class_name), exist_ok=True)
        for n, (height, width) in enumerate(SIZES):
            pixels = rng.randint(0, 256, (height, width, 3)).astype("uint8")
            with open(os.path.join(root, class_name, f"{n}.png"), "wb") as f:
                f.write(tf.io.encode_png(pixels).numpy())


def all_images(keras, root, **kwargs):
    ds = keras.utils.image_dataset_from_directory(root, image_size=IMAGE_SIZE, shuffle=False,
                                                  batch_size=None, **kwargs)
    images, labels = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return np.stack(images), np.stack(labels)


def main():
    peer.require_peer()
    import tensorflow as tf
    import tf_keras as keras
    out = peer.fixture_dir("keras_io_1")
    root = os.path.join(out, "pets")
    write_pictures(tf, root)
    arrays = {}
    for method in METHODS:
        arrays[method], arrays["labels"] = all_images(keras, root, interpolation=method)
        arrays[method + "_crop"], _ = all_images(keras, root, interpolation=method,
                                                 crop_to_aspect_ratio=True)
    picture = np.random.RandomState(1).uniform(0, 255, (2, 9, 7, 3)).astype("float32")
    arrays["smart_resize_input"] = picture
    for method in ("bicubic", "area"):
        arrays["smart_resize_" + method] = np.asarray(keras.preprocessing.image.smart_resize(
            picture, IMAGE_SIZE, interpolation=method))
    np.savez_compressed(os.path.join(out, "resized.npz"), **arrays)


if __name__ == "__main__":
    main()
