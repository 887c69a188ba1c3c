"""The UCI optical handwritten digits (8x8 images, 1797 samples), shipped in the package.

Credit: E. Alpaydin, C. Kaynak (Bogazici University), 1998. UCI Machine Learning Repository,
"Optical Recognition of Handwritten Digits", licensed CC BY 4.0.
"""
import gzip
import os

import numpy as np

_PATH = os.path.join(os.path.dirname(__file__), "digits.csv.gz")


def load_data(test_split=0.2, seed=113):
    """`(x_train, y_train), (x_test, y_test)` like `keras.datasets.mnist.load_data()`:
    uint8 images of shape (n, 8, 8) with pixel counts 0..16, and uint8 labels 0..9.
    The split is a fixed shuffle of the samples (the same for the same seed)."""
    if not 0 < test_split < 1:
        raise ValueError(f"`test_split` must be between 0 and 1, received: {test_split}")
    with gzip.open(_PATH, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    images = table[:, :64].reshape(-1, 8, 8).astype(np.uint8)
    labels = table[:, 64].astype(np.uint8)
    order = np.random.default_rng(seed).permutation(len(labels))
    images, labels = images[order], labels[order]
    split = int(len(labels) * (1 - test_split))
    return (images[:split], labels[:split]), (images[split:], labels[split:])
