"""`trainable` is read at compile time (tf.keras 2.x semantics), the pattern every Keras 2 GAN
example relies on."""
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers


def snapshot(model):
    return [np.array(w) for w in model.get_weights()]


def changed(before, model):
    return [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]


def dcgan(latent=3, features=4):
    generator = keras.Sequential([layers.Dense(6, activation="relu", input_shape=(latent,)),
                                  layers.Dense(features)], name="generator")
    discriminator = keras.Sequential([layers.Dense(5, activation="relu",
                                                   input_shape=(features,)),
                                      layers.Dense(1, activation="sigmoid")],
                                     name="discriminator")
    discriminator.compile(keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    discriminator.trainable = False
    z = keras.Input((latent,))
    combined = keras.Model(z, discriminator(generator(z)))
    combined.compile(keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    return generator, discriminator, combined


def test_dcgan_discriminator_trains_through_its_own_train_on_batch():
    rng = np.random.default_rng(0)
    generator, discriminator, combined = dcgan()
    real = rng.normal(size=(8, 4)).astype("float32")
    z = rng.normal(size=(8, 3)).astype("float32")
    fake = generator.predict(z, verbose=0)
    losses = []
    for _ in range(3):
        before = snapshot(discriminator)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            losses.append(discriminator.train_on_batch(
                np.concatenate([real, fake]), np.r_[np.ones(8), np.zeros(8)].astype("float32")))
        assert all(changed(before, discriminator))      # trained with its compile-time flags
        assert not discriminator.trainable              # and frozen again afterwards
        assert all(not layer.trainable for layer in discriminator.layers)
        disc_before, gen_before = snapshot(discriminator), snapshot(generator)
        combined.train_on_batch(z, np.ones((8, 1), np.float32))
        assert not any(changed(disc_before, discriminator))   # frozen inside the combined model
        assert all(changed(gen_before, generator))
    assert losses[-1] < losses[0]
    assert len(combined.trainable_weights) == 4 and len(discriminator.trainable_weights) == 0


def test_acgan_two_outputs_and_fit():
    """ACGAN: the discriminator has a real/fake head and a class head; fit() follows the same
    rule as train_on_batch()."""
    image = keras.Input((4,))
    hidden = layers.Dense(6, activation="relu")(image)
    discriminator = keras.Model(image, [layers.Dense(1, activation="sigmoid", name="fake")(hidden),
                                        layers.Dense(3, activation="softmax", name="aux")(hidden)])
    discriminator.compile("sgd", loss=["binary_crossentropy", "sparse_categorical_crossentropy"])
    discriminator.trainable = False
    noise, label = keras.Input((2,)), keras.Input((1,))
    generated = layers.Dense(4)(layers.Concatenate()([noise, label]))
    combined = keras.Model([noise, label], discriminator(generated))
    combined.compile("sgd", loss=["binary_crossentropy", "sparse_categorical_crossentropy"])
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4)).astype("float32")
    targets = [np.ones((6, 1), np.float32), np.array([0, 1, 2, 0, 1, 2])]
    before = snapshot(discriminator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        discriminator.fit(x, targets, epochs=1, verbose=0)
    assert all(changed(before, discriminator))
    before = snapshot(discriminator)
    combined.fit([rng.normal(size=(6, 2)).astype("float32"), np.ones((6, 1), np.float32)],
                 targets, verbose=0)
    assert not any(changed(before, discriminator))


def test_change_after_compile_takes_effect_at_next_compile_with_warning():
    model = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    model.trainable = False
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    before = snapshot(model)
    with pytest.warns(UserWarning, match="Discrepancy between trainable weights and collected "
                                         "trainable weights"):
        model.train_on_batch(x, y)
    assert all(changed(before, model))       # still trains: compiled while trainable
    assert not model.trainable
    model.compile("sgd", "mse")              # now the freeze counts
    before = snapshot(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")       # states agree: no warning
        model.train_on_batch(x, y)
    assert not any(changed(before, model))
