"""Where the published weight files live: Keras' cache `$KERAS_HOME/models/` (default
`~/.keras/models/`) first, then `keras.utils.get_file` downloads them into that cache when the
network allows (atomically, with the md5 check when the file's hash is published).

A file already in the cache is used as it is: it may be a user's own copy, placed there by
hand on a machine without network access.
"""
import os

from ..utils.file_utils import get_file, keras_cache_dir

CACHE_SUBDIR = "models"


def cache_path(file_name):
    return os.path.join(keras_cache_dir(), CACHE_SUBDIR, file_name)


def fetch(file_name, origin, what="the weights", file_hash=None):
    """The local path of `file_name`, downloaded from `origin` when it is not cached."""
    path = cache_path(file_name)
    if os.path.exists(path):
        return path
    try:
        return get_file(file_name, origin, cache_subdir=CACHE_SUBDIR, file_hash=file_hash)
    except (OSError, ValueError) as error:
        raise FileNotFoundError(
            f"Cannot load {what}: {file_name} is not in Keras' cache and downloading it failed "
            f"({error}). Download it from {origin} and put it at {path} (or pass the path of "
            "your copy as `weights=`).") from None
