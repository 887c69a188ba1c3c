"""Demo: train a Keras-style MLP on the shipped UCI digits and report hold-out accuracy.

Run with `python -m minikeras.demo`.
"""
import time

import numpy as np

import minikeras as keras
from minikeras import layers


def main(epochs=40, verbose=2):
    keras.utils.set_random_seed(1)
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    x_train = x_train.reshape(-1, 64).astype("float32") / 16.0
    x_test = x_test.reshape(-1, 64).astype("float32") / 16.0
    y_train_cat = keras.utils.to_categorical(y_train, 10)
    y_test_cat = keras.utils.to_categorical(y_test, 10)

    model = keras.Sequential([
        layers.Dense(128, activation="relu", input_shape=(64,)),
        layers.Dropout(0.2, noise_shape=None, seed=1),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    start = time.time()
    model.fit(x_train, y_train_cat, batch_size=32, epochs=epochs, validation_split=0.1,
              verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test_cat, verbose=0)
    predictions = model.predict(x_test, verbose=0)
    agree = float(np.mean(np.argmax(predictions, axis=1) == y_test))
    print(f"test loss {loss:.4f} - test accuracy {accuracy:.4f} "
          f"(predict agrees: {agree:.4f}) - trained in {time.time() - start:.1f}s")
    return accuracy


if __name__ == "__main__":
    main()
