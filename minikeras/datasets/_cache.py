"""Where the Keras datasets come from: Keras' cache, filled by `get_file` when missing."""
import numpy as np

from ..utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def fetch(path, file_hash, cache_dir=None, origin_name=None, **kwargs):
    """The local path of a file of tf.keras' dataset bucket (downloaded once)."""
    origin = ORIGIN_FOLDER + (origin_name or path)
    return get_file(path, origin=origin, file_hash=file_hash, cache_dir=cache_dir, **kwargs)


def object_array(sequences):
    """A 1-D object array of lists (np.array would make a 2-D array of equal-length lists)."""
    out = np.empty(len(sequences), dtype=object)
    out[:] = sequences
    return out
