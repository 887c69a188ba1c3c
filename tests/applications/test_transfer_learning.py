"""Transfer learning with an application on the shipped digits, the Keras guide's recipe:
a pretrained MobileNet (alpha 0.25) base is frozen, a new head is trained on few labels, then
the whole model is fine-tuned with the BatchNormalization layers kept in inference mode; it
beats the same head trained on raw pixels (about 15 s of CPU).

No ImageNet file on an offline machine: the "pretrained" weights come from a short run on
1000 digits (all ten classes), saved with save_weights and loaded back through the
application's `weights=<path>`. The new task is odd/even on 60 other images, scored on the
held-out split, so the head and the labels it learns are new."""
import numpy as np

import minikeras as keras

SIZE = 32              # MobileNet's minimum input size: the 8x8 digits upscaled 4x
SOURCE = slice(0, 1000)
TARGET = slice(1000, 1060)


def _images(digits):
    """uint8 pixel counts 0..16 (n, 8, 8) -> RGB (n, 32, 32, 3) in MobileNet's [-1, 1]."""
    x = np.kron(digits.astype(np.float32), np.ones((4, 4), np.float32)) * (255.0 / 16.0)
    return keras.applications.mobilenet.preprocess_input(np.repeat(x[..., None], 3, axis=-1))


def _mobilenet(weights):
    return keras.applications.MobileNet(alpha=0.25, include_top=False, weights=weights,
                                        input_shape=(SIZE, SIZE, 3), pooling="avg")


def _pretrain(x, y, path):
    base = _mobilenet(weights=None)
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            # A short run: the moving statistics must follow faster than ImageNet's 0.99.
            layer.momentum = 0.9
    model = keras.Sequential([base, keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    base.save_weights(path)


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))


def _batch_norm_statistics(model):
    return [w.numpy().copy() for w in model.weights if "moving" in w.name]


def test_frozen_base_new_head_then_fine_tuning_beats_raw_pixels(tmp_path):
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    weights_path = str(tmp_path / "pretrained_mobilenet.h5")
    _pretrain(_images(x_train[SOURCE]), y_train[SOURCE], weights_path)

    keras.backend.clear_session()
    x_target, y_target = _images(x_train[TARGET]), y_train[TARGET] % 2
    x_eval, y_eval = _images(x_test), y_test % 2
    base = _mobilenet(weights=weights_path)
    base.trainable = False
    inputs = keras.Input((SIZE, SIZE, 3))
    features = base(inputs, training=False)      # BN in inference mode, also once unfrozen
    outputs = keras.layers.Dense(2, activation="softmax")(features)
    model = keras.Model(inputs, outputs)

    frozen = [w.numpy().copy() for w in base.weights]
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(x_target, y_target, epochs=40, batch_size=16, verbose=0)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(frozen, base.weights))
    head_accuracy = _accuracy(model, x_eval, y_eval)

    base.trainable = True
    statistics = _batch_norm_statistics(base)
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
    model.fit(x_target, y_target, epochs=3, batch_size=16, verbose=0)
    assert not np.array_equal(frozen[0], base.weights[0].numpy())    # the base did learn
    for before, after in zip(statistics, _batch_norm_statistics(base)):
        np.testing.assert_array_equal(before, after)                 # BN stayed in inference
    tuned_accuracy = _accuracy(model, x_eval, y_eval)

    raw = keras.Sequential([keras.layers.Flatten(input_shape=(SIZE, SIZE, 3)),
                            keras.layers.Dense(2, activation="softmax")])
    raw.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    raw.fit(x_target, y_target, epochs=40, batch_size=16, verbose=0)
    raw_accuracy = _accuracy(raw, x_eval, y_eval)

    print(f"head {head_accuracy:.3f}, fine-tuned {tuned_accuracy:.3f}, raw {raw_accuracy:.3f}")
    assert head_accuracy > raw_accuracy + 0.03
    assert tuned_accuracy > raw_accuracy + 0.03
