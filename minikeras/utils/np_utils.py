"""Array helpers: `to_categorical`, `to_ordinal`, `normalize`."""
import numpy as np

from ..core import config


def to_categorical(y, num_classes=None, dtype="float32"):
    """Class indices -> one-hot rows. A trailing axis of size 1 is dropped first, as Keras does.

    Example:
    >>> to_categorical([0, -1], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    y = np.array(y, dtype="int64")
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.reshape(-1)
    if not num_classes:          # tf.keras: None and 0 both mean "from the labels"
        if not y.size:
            raise ValueError("`to_categorical` cannot infer `num_classes` from an empty array of "
                             "labels: pass `num_classes`.")
        num_classes = int(np.max(y)) + 1
    # No range check, as tf.keras: NumPy's indexing wraps a negative label (-1 is the last
    # class) and raises its IndexError for a label out of range.
    categorical = np.zeros((y.shape[0], num_classes), dtype=dtype)
    categorical[np.arange(y.shape[0]), y] = 1
    return categorical.reshape(input_shape + (num_classes,))


def to_ordinal(y, num_classes=None, dtype="float32"):
    """Class indices -> ordinal rows: label k gives k ones then zeros, `num_classes - 1` wide.

    Example:
    >>> to_ordinal([0, 2], num_classes=3)
    array([[0., 0.],
           [1., 1.]], dtype=float32)
    """
    y = np.array(y, dtype="int64")
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.reshape(-1)
    if not num_classes:
        num_classes = int(np.max(y)) + 1
    ordinal = (np.arange(num_classes - 1)[None, :] < y[:, None]).astype(dtype)
    return ordinal.reshape(input_shape + (num_classes - 1,))


def normalize(x, axis=-1, order=2):
    """Divide by the `order`-norm along `axis` (zero norms left as 1)."""
    x = np.asarray(x)
    norms = np.atleast_1d(np.linalg.norm(x, order, axis))
    norms[norms == 0] = 1
    return (x / np.expand_dims(norms, axis)).astype(x.dtype if x.dtype.kind == "f" else config.floatx())
