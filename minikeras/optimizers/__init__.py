"""Optimizers with tf.keras 2.x (>= 2.11) defaults and update rules."""
import types
import warnings

import numpy as np

from .base import Optimizer  # noqa: F401
from .sgd import SGD
from .rmsprop import RMSprop
from .adagrad import Adagrad
from .adadelta import Adadelta
from .adam import Adam, AdamW
from .adamax import Adamax
from .nadam import Nadam
from .ftrl import Ftrl
from .lion import Lion
from .adafactor import Adafactor
from . import schedules  # noqa: F401
from . import loss_scale_optimizer
from . import legacy  # noqa: F401
from . import adadelta, adagrad, adam, adamax, nadam, rmsprop, sgd
from ..core.serialization import deserialize_object, serialize_keras_object, unknown_object_message
from ..core.registry import register_builtins

register_builtins("optimizers", globals())   # names looked up by `deserialize_keras_object`

# tf.keras 2.9 - 2.10 scripts reach the same classes as `keras.optimizers.experimental.X`.
experimental = types.SimpleNamespace(SGD=SGD, RMSprop=RMSprop, Adagrad=Adagrad,
                                     Adadelta=Adadelta, Adam=Adam, AdamW=AdamW, Adamax=Adamax,
                                     Nadam=Nadam, Ftrl=Ftrl, Lion=Lion, Adafactor=Adafactor,
                                     Optimizer=Optimizer)



class _CallableOptimizerModule(types.ModuleType):
    """Keras 2.0 - 2.2 named each optimizer in lower case too (`keras.optimizers.rmsprop(lr=1e-4,
    decay=1e-6)`), with that era's semantics: calling the module builds the legacy class."""

    def __call__(self, *args, **kwargs):
        return self._keras2_class(*args, **kwargs)


for _module, _legacy_class in ((sgd, legacy.SGD), (rmsprop, legacy.RMSprop),
                               (adagrad, legacy.Adagrad), (adadelta, legacy.Adadelta),
                               (adam, legacy.Adam), (adamax, legacy.Adamax),
                               (nadam, legacy.Nadam)):
    _module.__class__ = _CallableOptimizerModule
    _module._keras2_class = _legacy_class



def _keras2_decay_goes_to_legacy(current_class, legacy_class):
    """`RMSprop(learning_rate=1e-4, decay=1e-6)`, as Keras 2.3 and tf.keras <= 2.10 scripts
    write it (cifar10_cnn), builds the legacy class, whose `decay` is that era's
    `lr / (1 + decay * iterations)`; tf.keras >= 2.11 rejects the argument instead."""
    def __new__(cls, *args, **kwargs):
        if cls is current_class and kwargs.get("decay") is not None:
            warnings.warn(f"`decay` is not an argument of the current "
                          f"keras.optimizers.{cls.__name__} (tf.keras >= 2.11); building "
                          f"keras.optimizers.legacy.{cls.__name__}, whose `decay` is the "
                          "Keras 2 learning-rate time decay.", stacklevel=2)
            return object.__new__(legacy_class)
        return object.__new__(cls)
    current_class.__new__ = __new__


for _current, _legacy_class in ((SGD, legacy.SGD), (RMSprop, legacy.RMSprop),
                                (Adagrad, legacy.Adagrad), (Adadelta, legacy.Adadelta),
                                (Adam, legacy.Adam), (Adamax, legacy.Adamax),
                                (Nadam, legacy.Nadam), (Ftrl, legacy.Ftrl)):
    _keras2_decay_goes_to_legacy(_current, _legacy_class)

_CLASSES = {cls.__name__: cls for cls in (SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax,
                                          Nadam, Ftrl, Lion, Adafactor)}
# tf.keras resolves names case-insensitively ('adam', 'rmsprop', 'sgd', 'adamw', ...).
_BY_LOWER_NAME = {name.lower(): cls for name, cls in _CLASSES.items()}
REGISTERED_PREFIX = "Custom>"
# read from files (tf_keras' `.h5` training configs name LossScaleOptimizerV3 unprefixed),
# not made by `get`
_WRAPPER_CLASSES = {"LossScaleOptimizer": loss_scale_optimizer.LossScaleOptimizer,
                    "LossScaleOptimizerV3": loss_scale_optimizer.LossScaleOptimizerV3}


def serialize(optimizer, use_legacy_format=False):
    """`{'module': 'keras.optimizers', 'class_name', 'config', 'registered_name'}`."""
    if use_legacy_format:
        return {"class_name": registered_class_name(optimizer), "config": optimizer.get_config()}
    module = "keras.optimizers.legacy" if isinstance(optimizer, legacy.LegacyOptimizer) \
        else "keras.optimizers"
    entry = serialize_keras_object(optimizer, module)
    # tf.keras' new format holds Python numbers where `get_config()` has NumPy scalars
    entry["config"] = {key: value.item() if isinstance(value, np.generic) else value
                       for key, value in entry["config"].items()}
    return entry


def builtin_class_name(class_name):
    """`Adam` for `Custom>Adam`: tf.keras >= 2.11 registers its own optimizers under the
    `Custom` package and writes that name into `training_config`."""
    if isinstance(class_name, str) and class_name.startswith(REGISTERED_PREFIX):
        plain = class_name[len(REGISTERED_PREFIX):]
        if plain.lower() in _BY_LOWER_NAME:
            return plain
    return class_name


def registered_class_name(optimizer):
    """The class name tf.keras writes for `optimizer` in a legacy `.h5` `training_config`."""
    name = type(optimizer).__name__
    return REGISTERED_PREFIX + name if _CLASSES.get(name) is type(optimizer) else name


def deserialize(config, custom_objects=None, use_legacy_format=False, **kwargs):
    """An optimizer from `{'class_name': ..., 'config': ...}` (class names in any case;
    `Custom>Adam` as tf.keras >= 2.11 writes it is `Adam`)."""
    if isinstance(config, dict):
        name = builtin_class_name(config.get("class_name", ""))
        if not (custom_objects and name in custom_objects) and name.lower() in _BY_LOWER_NAME:
            return _BY_LOWER_NAME[name.lower()].from_config(dict(config.get("config", {})))
    return deserialize_object(config, {**_CLASSES, **_WRAPPER_CLASSES}, custom_objects,
                              "optimizer")


loss_scale_optimizer.INNER_CODEC.update(serialize=serialize, deserialize=deserialize)


def get(identifier, **kwargs):
    """An optimizer from an instance, a name ('adam'), or a config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_LOWER_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(unknown_object_message("optimizer", identifier))
        return cls()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ("experimental", "legacy", "schedules"))
