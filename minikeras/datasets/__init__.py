"""`keras.datasets`: the Keras datasets, read from Keras' cache (`~/.keras/datasets/`) and
downloaded with `keras.utils.get_file` when missing; `digits` ships with the package."""
from . import digits  # noqa: F401
from . import boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters  # noqa

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import public_names as _public_names  # noqa: E402
__all__ = _public_names(globals(), ("boston_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist", "reuters"))
