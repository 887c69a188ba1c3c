"""`keras.datasets.fashion_mnist`: 28x28 grayscale images of 10 kinds of clothing."""
import gzip
import os

import numpy as np

from ._cache import ORIGIN_FOLDER
from ..utils.file_utils import get_file

FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")


def _read_idx(path, header_bytes):
    with gzip.open(path, "rb") as handle:
        return np.frombuffer(handle.read(), np.uint8, offset=header_bytes)


def load_data(cache_dir=None):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (n, 28, 28) and labels (n,) from
    the four gzipped IDX files in `~/.keras/datasets/fashion-mnist/`.

    License: Copyright (c) 2017 Zalando SE, MIT license."""
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(name, origin=ORIGIN_FOLDER + name, cache_subdir=subdir,
                      cache_dir=cache_dir) for name in FILES]
    y_train = _read_idx(paths[0], 8)
    x_train = _read_idx(paths[1], 16).reshape(len(y_train), 28, 28)
    y_test = _read_idx(paths[2], 8)
    x_test = _read_idx(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
