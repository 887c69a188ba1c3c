"""Models through Python's `pickle` and `copy`, as tf.keras 2.21 does (its
`saving/pickle_utils.py`): a built model travels as the bytes of a `.keras` archive, so the copy
is a fresh model with the same config, weights and compile state, sharing nothing with the
original."""
import os
import shutil
import tempfile

from . import keras_v3

_ARCHIVE_NAME = "model.keras"


def model_to_bytes(model):
    """The bytes of `model.save('model.keras')` (zipfile needs a real path: a temporary one)."""
    directory = tempfile.mkdtemp()
    try:
        path = os.path.join(directory, _ARCHIVE_NAME)
        keras_v3.save_model(model, path)
        with open(path, "rb") as archive:
            return archive.read()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def model_from_bytes(data):
    """The model `model_to_bytes` wrote. Unsafe deserialization (Lambda code) is allowed, as
    tf.keras' `deserialize_model_from_bytecode` allows it: the bytes came from a pickle."""
    directory = tempfile.mkdtemp()
    try:
        path = os.path.join(directory, _ARCHIVE_NAME)
        with open(path, "wb") as archive:
            archive.write(data)
        return keras_v3.load_model(path, safe_mode=False)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
