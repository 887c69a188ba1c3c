"""`keras.wrappers`: the scikit-learn wrappers of Keras 2 / tf.keras 2.x."""
from . import scikit_learn  # noqa: F401
