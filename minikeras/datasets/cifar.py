"""The CIFAR batch files (Python pickles of `data` (n, 3072) uint8 and label lists)."""
import pickle

import numpy as np

from ..core import config


def load_batch(fpath, label_key="labels"):
    """`(data, labels)` of one CIFAR pickle: data reshaped to (n, 3, 32, 32)."""
    with open(fpath, "rb") as handle:
        batch = pickle.load(handle, encoding="bytes")
    batch = {key.decode("utf8") if isinstance(key, bytes) else key: value
             for key, value in batch.items()}
    data = batch["data"]
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def finish(x_train, y_train, x_test, y_test, label_dtype=None):
    """Keras' final layout: labels (n, 1) (CIFAR-10 stores them as uint8, CIFAR-100 keeps
    NumPy's integer default), images channels last unless configured otherwise."""
    x_train = np.asarray(x_train, dtype="uint8")
    y_train = np.reshape(np.asarray(y_train, dtype=label_dtype), (len(y_train), 1))
    x_test = np.asarray(x_test, dtype=x_train.dtype)
    y_test = np.reshape(np.asarray(y_test, dtype=label_dtype), (len(y_test), 1))
    if config.image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
