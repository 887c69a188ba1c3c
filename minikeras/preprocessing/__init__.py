"""`keras.preprocessing` (Keras 2 utilities): image augmentation, text and sequences."""
from . import image  # noqa: F401
from . import sequence  # noqa: F401
from . import text  # noqa: F401
from ..utils.image_dataset import image_dataset_from_directory  # noqa: F401
from ..utils.timeseries_dataset import timeseries_dataset_from_array  # noqa: F401
from ..utils.text_dataset import text_dataset_from_directory  # noqa: F401

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ("image", "sequence", "text"))
