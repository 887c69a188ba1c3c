"""`keras.datasets.cifar100`: 32x32 colour images of 100 classes (20 superclasses)."""
import os

from .cifar import finish, load_batch
from ..utils.file_utils import get_file

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
FILE_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"


def load_data(label_mode="fine", cache_dir=None):
    """`(x_train, y_train), (x_test, y_test)` as `cifar10.load_data`, with the 'fine' (100
    classes) or 'coarse' (20 superclasses) labels."""
    if label_mode not in ["fine", "coarse"]:
        raise ValueError('`label_mode` must be one of `"fine"`, `"coarse"`. Received: '
                         f"label_mode={label_mode}.")
    path = get_file("cifar-100-python", origin=ORIGIN, untar=True, file_hash=FILE_HASH,
                    cache_dir=cache_dir)
    x_train, y_train = load_batch(os.path.join(path, "train"), label_key=label_mode + "_labels")
    x_test, y_test = load_batch(os.path.join(path, "test"), label_key=label_mode + "_labels")
    return finish(x_train, y_train, x_test, y_test)
