"""`keras.datasets`: the Keras datasets, read from Keras' cache (`~/.keras/datasets/`) and
downloaded with `keras.utils.get_file` when missing; `digits` ships with the package."""
from . import digits  # noqa: F401
from . import boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters  # noqa

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ("boston_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist", "reuters"))
