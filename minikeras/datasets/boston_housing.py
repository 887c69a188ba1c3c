"""`keras.datasets.boston_housing`: 13 features of 506 Boston suburbs and the median price."""
import numpy as np

from ._cache import fetch

FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113, cache_dir=None):
    """`(x_train, y_train), (x_test, y_test)`: the samples shuffled with
    `np.random.RandomState(seed)`, the last `test_split` fraction for testing."""
    assert 0 <= test_split < 1
    path = fetch(path, FILE_HASH, cache_dir, origin_name="boston_housing.npz")
    with np.load(path, allow_pickle=True) as f:
        x, y = f["x"], f["y"]
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    split = int(len(x) * (1 - test_split))
    return (np.array(x[:split]), np.array(y[:split])), (np.array(x[split:]), np.array(y[split:]))
