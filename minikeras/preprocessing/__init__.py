"""`keras.preprocessing` (Keras 2 utilities): image augmentation, text and sequences."""
from . import image  # noqa: F401
from . import sequence  # noqa: F401
