"""`__all__` of the public modules: what `from keras.layers import *` binds.

tf.keras' public modules are generated API files holding the public names and the public
submodules only. Ours also hold the subpackages they are built from (`layers.recurrent`,
`layers.core`, `layers.activations`, `callbacks.history`, `optimizers.adam`, ...) and the
modules their code uses (`np`, `random`, `json`, `warnings`). Without `__all__`, a star import
would bind those too: `import random; from keras.backend import *` would replace the user's
`random`, `from keras import activations` followed by `from keras.layers import *` would give
the layer subpackage, and Keras 1 code calling `recurrent.GRU(...)` after a star import would
run where tf.keras raises NameError.

`__all__` is computed when a star import asks for it (a module `__getattr__`, PEP 562), so
names appended to a module later (the shared `__init__` files grow by appending) and those the
package attaches afterwards (`layers.experimental`) are in it."""
import types


def public_names(namespace, submodules=()):
    """The names a star import of this module binds: the public non-module names, plus the
    public submodules tf.keras' star import binds too (`optimizers.legacy`, ...)."""
    names = [name for name, value in namespace.items()
             if not name.startswith("_") and not isinstance(value, types.ModuleType)]
    names.extend(name for name in submodules if name in namespace)
    return sorted(names)


def star_exports(namespace, submodules=()):
    """The module `__getattr__` answering `__all__` with `public_names` of the module's
    current namespace (other missing names raise the usual AttributeError)."""
    def __getattr__(name):
        if name == "__all__":
            return public_names(namespace, submodules)
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    return __getattr__
