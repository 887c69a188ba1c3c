"""`keras.models`: model classes and whole-model loading."""
from .engine.training import Model  # noqa: F401
from .engine.functional import Functional  # noqa: F401
from .engine.sequential import Sequential  # noqa: F401


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, **kwargs):  # noqa: A002
    from .saving import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def model_from_json(json_string, custom_objects=None):
    from .saving.serialization import model_from_json as _from_json
    return _from_json(json_string, custom_objects=custom_objects)


def clone_model(model, input_tensors=None, clone_function=None):
    from .saving.serialization import clone_model as _clone
    return _clone(model, input_tensors=input_tensors, clone_function=clone_function)
