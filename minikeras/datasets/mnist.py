"""`keras.datasets.mnist`: 28x28 grayscale digits, 60000 training and 10000 test images."""
import numpy as np

from ._cache import fetch

FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz", cache_dir=None):
    """`(x_train, y_train), (x_test, y_test)`: uint8 arrays of shape (n, 28, 28) and (n,),
    read from Keras' cache file `~/.keras/datasets/mnist.npz` (downloaded when missing).

    License: Yann LeCun and Corinna Cortes hold the copyright of the MNIST dataset, a
    derivative of NIST, made available under CC BY-SA 3.0."""
    path = fetch(path, FILE_HASH, cache_dir, origin_name="mnist.npz")
    with np.load(path, allow_pickle=True) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
