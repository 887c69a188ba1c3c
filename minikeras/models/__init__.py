"""`keras.models`: model classes, whole-model saving/loading, configs and cloning."""
from .training import Model  # noqa: F401
from .functional import Functional  # noqa: F401
from .sequential import Sequential  # noqa: F401
from . import experimental  # noqa: F401
from .serialization import model_from_json as _from_json, model_from_config as _from_config, clone_model as _clone


def save_model(model, filepath, overwrite=True, include_optimizer=True, save_format=None,
               **kwargs):
    """Same as `model.save(filepath, ...)`."""
    from ..saving import save_model as _save
    return _save(model, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                 save_format=save_format, **kwargs)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, **kwargs):  # noqa: A002
    """A model saved with `model.save()`: a `.keras` archive or a legacy `.h5` file."""
    from ..saving import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode,
                 **kwargs)


def model_from_yaml(yaml_string, custom_objects=None):
    """Removed in tf.keras 2.6: raises as tf.keras does."""
    raise RuntimeError("Method `model_from_yaml()` has been removed due to security risk of "
                       "arbitrary code execution. Please use `Model.to_json()` and "
                       "`model_from_json()` instead.")


def model_from_json(json_string, custom_objects=None, safe_mode=None):
    """The (uncompiled, freshly initialised) model described by `model.to_json()`. A Lambda
    stored as bytecode is refused unless safe mode is off (`safe_mode=False`).

    Keras 3's `to_json()` is read too (tf.keras 2 cannot), as its `.keras` files are."""
    from ..saving import keras3_model_from_json
    model = keras3_model_from_json(json_string, custom_objects, safe_mode)
    if model is not None:
        return model
    return _from_json(json_string, custom_objects=custom_objects, safe_mode=safe_mode)


def model_from_config(config, custom_objects=None):
    """The model described by `{"class_name": ..., "config": ...}`."""
    return _from_config(config, custom_objects=custom_objects)


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and new weights (layers rebuilt from configs)."""
    return _clone(model, input_tensors=input_tensors, clone_function=clone_function)

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ("experimental",))
