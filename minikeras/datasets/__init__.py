"""`keras.datasets`: the Keras datasets, read from Keras' cache (`~/.keras/datasets/`) and
downloaded with `keras.utils.get_file` when missing; `digits` ships with the package."""
from . import digits  # noqa: F401
from . import boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters  # noqa
