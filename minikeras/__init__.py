"""minikeras: the Keras 2 API on NumPy.

    import minikeras as keras
    model = keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(64,))])
"""
__version__ = "0.1.0"

from . import backend  # noqa: F401
from . import ops  # noqa: F401
from . import activations, initializers, regularizers, constraints  # noqa: F401
from . import losses, metrics, optimizers, callbacks  # noqa: F401
from . import layers  # noqa: F401
from . import models  # noqa: F401
from . import utils  # noqa: F401
from . import preprocessing  # noqa: F401
from . import datasets  # noqa: F401
from . import applications  # noqa: F401
from .engine.training import Model  # noqa: F401
from .engine.sequential import Sequential  # noqa: F401
from .layers import Input, InputSpec  # noqa: F401
from .backend import GradientTape, Variable  # noqa: F401
