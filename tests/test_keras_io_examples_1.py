"""keras.io examples sweep (fid-kio1): what the vision / generative examples load and compute,
compared with tf_keras 2.21 (fixtures from benchmarks/fixture_recipes/keras_io_1.py)."""
import os

import numpy as np
import pytest

import minikeras as keras

pytest.importorskip("PIL")

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "keras_io_1")
PICTURES = os.path.join(FIXTURES, "pets")
METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
           "mitchellcubic")


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(FIXTURES, "resized.npz")) as data:
        return dict(data)


def all_images(**kwargs):
    ds = keras.utils.image_dataset_from_directory(PICTURES, image_size=(5, 8), shuffle=False,
                                                  batch_size=None, **kwargs)
    images, labels = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return np.stack(images), np.stack(labels)


@pytest.mark.parametrize("method", METHODS)
def test_image_dataset_interpolations_match_tf(expected, method):
    # tf_keras accepts every tf.image.resize method (bicubic and lanczos overshoot [0, 255])
    images, labels = all_images(interpolation=method)
    assert images.dtype == expected[method].dtype   # uint8 for nearest, else float32
    np.testing.assert_array_equal(labels, expected["labels"])
    np.testing.assert_allclose(images, expected[method], rtol=0, atol=2e-3)
    cropped, _ = all_images(interpolation=method, crop_to_aspect_ratio=True)
    np.testing.assert_allclose(cropped, expected[method + "_crop"], rtol=0, atol=2e-3)


@pytest.mark.parametrize("method", ("bicubic", "area"))
def test_smart_resize_interpolations_match_tf(expected, method):
    out = keras.preprocessing.image.smart_resize(expected["smart_resize_input"], (5, 8),
                                                 interpolation=method)
    np.testing.assert_allclose(out, expected["smart_resize_" + method], rtol=0, atol=2e-3)


def test_unknown_interpolation_is_refused():
    with pytest.raises(NotImplementedError, match="Value not recognized for `interpolation`"):
        keras.utils.image_dataset_from_directory(PICTURES, interpolation="sinc")


# tf_keras 2.21's message (recorded with the peer): the keras.io VAE / GAN subclasses define
# train_step but no call, so predict, evaluate and direct calls end here.
UNIMPLEMENTED_CALL = (
    "Exception encountered when calling layer 'vae' (type VAE).\n\nUnimplemented "
    "`tf.keras.Model.call()`: if you intend to create a `Model` with the Functional API, please "
    "provide `inputs` and `outputs` arguments. Otherwise, subclass `Model` with an overridden "
    "`call()` method.")


def test_model_without_call_raises_tf_keras_message():
    class VAE(keras.Model):
        def __init__(self):
            super().__init__(name="vae")
            self.dense = keras.layers.Dense(2)

    model = VAE()
    model.compile(optimizer="adam")
    x = np.zeros((2, 3), "float32")
    for attempt in (lambda: model(x), lambda: model.predict(x, verbose=0),
                    lambda: model.evaluate(x, verbose=0)):
        with pytest.raises(NotImplementedError) as error:
            attempt()
        assert UNIMPLEMENTED_CALL in str(error.value)
