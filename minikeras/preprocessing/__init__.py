"""`keras.preprocessing` (Keras 2 utilities)."""
from . import sequence  # noqa: F401
