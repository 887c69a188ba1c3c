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
from . import wrappers  # noqa: F401
from . import mixed_precision  # noqa: F401
from . import random  # noqa: F401  (Keras 3 `keras.random`)
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


def _keep_keras2_module_paths():
    """Keras 2 scripts import from module paths that Keras later folded into packages
    (`keras.layers.advanced_activations`, `keras.utils.generic_utils`, `keras.objectives`...).
    Each such path is a module holding the public names of the namespace they moved to;
    a path that is already a package here (`layers.convolutional`) gains those names."""
    import importlib
    import sys
    import types
    for old, sources in _KERAS2_MODULES.items():
        public = {}
        for source in (sources,) if isinstance(sources, str) else sources:
            namespace = importlib.import_module(f"{__name__}.{source}")
            public.update({name: value for name, value in vars(namespace).items()
                           if not name.startswith("_") and
                           not isinstance(value, types.ModuleType)})
        full_name = f"{__name__}.{old}"
        module = sys.modules.get(full_name)
        if module is None:
            module = types.ModuleType(full_name, f"Keras 2 module path: the names of "
                                                 f"`{__name__}.{source}`.")
            # a package (empty __path__): an importer aliasing `keras.X` to `minikeras.X`
            # imports `keras.layers.experimental.preprocessing` through its parent
            module.__path__ = []
            sys.modules[full_name] = module
            parent, _, leaf = full_name.rpartition(".")
            setattr(importlib.import_module(parent), leaf, module)
        for name, value in public.items():
            if not hasattr(module, name):
                setattr(module, name, value)
    for old, (source, name) in _KERAS2_PRIVATE_NAMES.items():
        setattr(sys.modules[f"{__name__}.{old}"], name,
                getattr(importlib.import_module(f"{__name__}.{source}"), name))


_KERAS2_MODULES = {
    **{f"layers.{family}": "layers" for family in (
        "core", "convolutional", "pooling", "recurrent", "normalization", "embeddings", "noise",
        "advanced_activations", "wrappers", "convolutional_recurrent", "merge", "local")},
    "utils.generic_utils": "utils", "engine.input_layer": "layers",
    "utils.data_utils": "utils",    # `from keras.utils.data_utils import get_file`
    # Keras 2.2 custom layers: `from keras.engine import Layer, InputSpec` / `engine.topology`
    "engine": ("layers", "models"), "engine.topology": ("layers", "models"),
    "engine.network": "models", "objectives": "losses",
    # tf.keras 2.2 - 2.5 (keras.io examples): `layers.experimental.preprocessing.Rescaling`
    "layers.experimental": "layers", "layers.experimental.preprocessing": "layers",
}
# Private names Keras 2 scripts import from those paths (`from keras.layers.merge import _Merge`).
_KERAS2_PRIVATE_NAMES = {"layers.merge": ("layers.merging.base_merge", "_Merge")}
_keep_keras2_module_paths()

# `from keras import *` binds tf.keras' public modules and names, not our internal floors
# (`core`, `engine`, `ops`) nor the Keras 3 `random` module over the user's `import random`.
from .core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), (
    "activations", "applications", "backend", "callbacks", "constraints", "datasets",
    "initializers", "layers", "losses", "metrics", "mixed_precision", "models", "optimizers",
    "preprocessing", "regularizers", "saving", "utils"))
