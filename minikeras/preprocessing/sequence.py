"""`keras.preprocessing.sequence`: the same `pad_sequences` as `keras.utils`."""
from ..utils.data_utils import pad_sequences  # noqa: F401
