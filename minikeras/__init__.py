"""minikeras: the Keras 2 API on NumPy.

    import minikeras as keras
    model = keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(64,))])
"""
from .core.version import __version__  # noqa: F401

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
from .models.training import Model  # noqa: F401
from .models.sequential import Sequential  # noqa: F401
from .layers import Input, InputSpec  # noqa: F401
from .backend import GradientTape, Variable  # noqa: F401


def _keep_old_import_paths():
    """Modules that moved to their floor (DESIGN.md) stay importable under their old names, for
    code written before the move. Package code imports the new paths (tests/test_layering.py)."""
    import importlib
    import sys
    for old, new in _MOVED_MODULES.items():
        module = importlib.import_module(f"{__name__}.{new}")
        sys.modules[f"{__name__}.{old}"] = module
        parent, _, leaf = old.rpartition(".")
        setattr(importlib.import_module(f"{__name__}.{parent}"), leaf, module)


_MOVED_MODULES = {
    "backend.tensor": "core.tensor", "backend.config": "core.config",
    "backend.random": "core.random", "saving.registry": "core.registry",
    "utils.serialization": "core.serialization",
    "engine.training": "models.training", "engine.functional": "models.functional",
    "engine.sequential": "models.sequential", "engine.compile_utils": "models.compile_utils",
    "engine.data": "models.data_adapters", "engine.summary": "models.summary",
    "engine.summary_format": "models.summary_format", "saving.serialization": "models.serialization",
    "utils.progbar": "callbacks.progbar", "layers.core.tf_op_layer": "engine.tf_op_layer",
}
_keep_old_import_paths()
