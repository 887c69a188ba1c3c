"""`keras.datasets.cifar10`: 32x32 colour images of 10 classes (50000 train, 10000 test)."""
import os

import numpy as np

from .cifar import finish, load_batch
from ..utils.file_utils import get_file

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def load_data(cache_dir=None):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (n, 32, 32, 3) (channels first
    under that image data format) and uint8 labels (n, 1), from the batches extracted in
    `~/.keras/datasets/cifar-10-batches-py/` (downloaded and extracted when missing)."""
    path = get_file("cifar-10-batches-py", origin=ORIGIN, untar=True, file_hash=FILE_HASH,
                    cache_dir=cache_dir)
    parts = [load_batch(os.path.join(path, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([data for data, _ in parts])
    y_train = np.concatenate([np.asarray(labels) for _, labels in parts])
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    return finish(x_train, y_train, x_test, y_test, label_dtype="uint8")
