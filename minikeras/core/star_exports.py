"""`__all__` of the public modules: what `from keras.layers import *` binds.

tf.keras' public modules are generated API files holding the public names and the public
submodules only. Ours also hold the subpackages they are built from (`layers.recurrent`,
`layers.core`, `layers.activations`, `callbacks.history`, `optimizers.adam`, ...) and the
modules their code uses (`np`, `random`, `json`, `warnings`). Without `__all__`, a star import
would bind those too: `import random; from keras.backend import *` would replace the user's
`random`, `from keras import activations` followed by `from keras.layers import *` would give
the layer subpackage, and Keras 1 code calling `recurrent.GRU(...)` after a star import would
run where tf.keras raises NameError."""
import types


def public_names(namespace, submodules=(), bound_later=()):
    """The names a star import of this module binds: the public non-module names, plus the
    public submodules tf.keras' star import binds too (`optimizers.legacy`, ...). `bound_later`
    are public submodules the package `__init__` attaches once this module has loaded
    (`layers.experimental`, one of the Keras 2 module paths)."""
    names = [name for name, value in namespace.items()
             if not name.startswith("_") and not isinstance(value, types.ModuleType)]
    names.extend(name for name in submodules if name in namespace)
    names.extend(bound_later)
    return sorted(names)
