"""Keras-style CNNs end to end on the embedded UCI digits (8x8 images, 360 held-out samples)."""
import time

import numpy as np

import minikeras as keras
from minikeras import layers


def digits_cnn():
    return keras.Sequential([
        layers.Conv2D(32, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def train_digits_cnn(epochs):
    """Hold-out accuracy (from predict, checked against evaluate) and training seconds."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    x_train = x_train[..., None].astype("float32") / 16.0
    x_test = x_test[..., None].astype("float32") / 16.0
    model = digits_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, keras.utils.to_categorical(y_train, 10), batch_size=32,
                        epochs=epochs, verbose=0)
    elapsed = time.perf_counter() - start
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test))
    _, reported = model.evaluate(x_test, keras.utils.to_categorical(y_test, 10), verbose=0)
    assert abs(reported - accuracy) < 1e-6
    assert history.history["loss"][-1] < history.history["loss"][0]
    print(f"digits CNN: {epochs} epochs, hold-out accuracy {accuracy:.4f}, {elapsed:.1f}s")
    return accuracy


def test_cnn_learns_digits_to_97_percent():
    # 0.9833 measured, about 6 s on an idle 2-core machine.
    assert train_digits_cnn(epochs=20) >= 0.97
