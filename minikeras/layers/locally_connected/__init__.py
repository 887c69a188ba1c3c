"""Locally-connected (unshared-weight convolution) layers; `keras.layers.locally_connected`
holds both, as in tf.keras."""
from .locally_connected1d import LocallyConnected1D  # noqa: F401
from .locally_connected2d import LocallyConnected2D  # noqa: F401
