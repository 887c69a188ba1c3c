"""API patterns of the public Keras 2 example scripts (keras-team/keras `examples/`, keras.io),
each as a tiny model with its expected behaviour: closed forms, shapes, Keras semantics."""
import importlib
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers


# --- Keras 2 module paths ---------------------------------------------------------------------
@pytest.mark.parametrize("path, name, expected", [
    ("layers.advanced_activations", "LeakyReLU", layers.LeakyReLU),
    ("layers.convolutional", "Conv2DTranspose", layers.Conv2DTranspose),
    ("layers.core", "Dense", layers.Dense),
    ("layers.recurrent", "LSTM", layers.LSTM),
    ("layers.normalization", "BatchNormalization", layers.BatchNormalization),
    ("layers.embeddings", "Embedding", layers.Embedding),
    ("layers.merge", "concatenate", layers.concatenate),
    ("layers.wrappers", "TimeDistributed", layers.TimeDistributed),
    ("layers.noise", "GaussianNoise", layers.GaussianNoise),
    ("utils.generic_utils", "Progbar", keras.utils.Progbar),
    ("engine.topology", "Layer", layers.Layer),
    ("objectives", "binary_crossentropy", keras.losses.binary_crossentropy),
])
def test_keras2_module_paths_hold_the_moved_names(path, name, expected):
    module = importlib.import_module(f"minikeras.{path}")
    assert getattr(module, name) is expected


def test_keras2_module_path_keeps_its_submodules():
    from minikeras.layers.convolutional import conv2d   # the package's own module is untouched
    assert conv2d.Conv2D is layers.Conv2D


# --- keras.optimizers.rmsprop(lr=..., decay=...) (Keras 2.0 - 2.2) ------------------------------
def test_lower_case_optimizer_is_the_legacy_class_with_time_decay():
    opt = keras.optimizers.sgd(lr=0.1, decay=1.0)
    assert isinstance(opt, keras.optimizers.legacy.SGD)
    variable = keras.Variable(np.zeros(2, "float32"))
    for _ in range(2):   # lr / (1 + decay * t): 0.1 then 0.05
        opt.apply_gradients([(np.ones(2, "float32"), variable)])
    np.testing.assert_allclose(variable.numpy(), [-0.15, -0.15], rtol=1e-6)
    assert type(keras.optimizers.rmsprop(lr=1e-4, decay=1e-6)) is keras.optimizers.legacy.RMSprop
    from minikeras.optimizers.adam import Adam   # still a module for imports
    assert Adam is keras.optimizers.Adam


# --- data of another dtype goes through the input layer's cast ---------------------------------
def test_sequential_casts_boolean_one_hot_data_like_its_input_layer():
    model = keras.Sequential([layers.LSTM(4, input_shape=(5, 3)), layers.Dense(3)])
    x = np.random.RandomState(0).rand(6, 5, 3) > 0.5
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, model.predict(x.astype("float32"), verbose=0))
    model.compile("adam", "mse")
    assert np.isfinite(model.train_on_batch(x, np.zeros((6, 3))))


# --- Sequential.predict_classes / predict_proba (tf.keras <= 2.5) ------------------------------
def test_predict_classes_is_argmax_or_threshold():
    x = np.random.RandomState(1).randn(7, 4).astype("float32")
    multi = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    binary = keras.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(4,))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(multi.predict_classes(x),
                                      multi.predict(x, verbose=0).argmax(-1))
        classes = binary.predict_classes(x)
        np.testing.assert_array_equal(multi.predict_proba(x), multi.predict(x, verbose=0))
    assert classes.dtype == np.int32 and classes.shape == (7, 1)
    np.testing.assert_array_equal(classes, (binary.predict(x, verbose=0) > 0.5).astype("int32"))
    with pytest.warns(UserWarning, match="predict_classes"):
        multi.predict_classes(x)


# --- GAN: trainable toggled after compile (mnist_acgan, dcgan) ---------------------------------
def test_gan_discriminator_frozen_only_inside_the_combined_model():
    discriminator = keras.Sequential([layers.Dense(1, input_shape=(3,), kernel_initializer="ones")])
    discriminator.compile("sgd", "mse")
    discriminator.trainable = False
    generator = keras.Sequential([layers.Dense(3, input_shape=(2,), kernel_initializer="ones")])
    combined = keras.Sequential([generator, discriminator])
    combined.compile("sgd", "mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 1), "float32")
    # d compiled while trainable: mse of 3 ones -> loss 9, gradient 2 * 3 * 1 per weight
    assert discriminator.train_on_batch(x, y) == pytest.approx(9.0)
    np.testing.assert_allclose(discriminator.get_weights()[0], 1 - 0.01 * 6, rtol=1e-6)
    frozen = discriminator.get_weights()[0].copy()
    generator_before = generator.get_weights()[0].copy()
    combined.train_on_batch(np.ones((4, 2), "float32"), y)
    np.testing.assert_array_equal(discriminator.get_weights()[0], frozen)
    assert not np.allclose(generator.get_weights()[0], generator_before)
