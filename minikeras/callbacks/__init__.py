"""Callbacks: hooks into fit/evaluate/predict (`keras.callbacks`), with tf.keras 2.x behaviour.

    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2,
                                         restore_best_weights=True)
    history = model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[stop])
"""
from .callback import Callback  # noqa: F401
from .callback_list import CallbackList  # noqa: F401
from .history import History  # noqa: F401
from .base_logger import BaseLogger  # noqa: F401
from .progbar_logger import ProgbarLogger  # noqa: F401
from .terminate_on_nan import TerminateOnNaN  # noqa: F401
from .early_stopping import EarlyStopping  # noqa: F401
from .model_checkpoint import ModelCheckpoint  # noqa: F401
from .backup_and_restore import BackupAndRestore  # noqa: F401
from . import experimental  # noqa: F401
from .learning_rate_scheduler import LearningRateScheduler  # noqa: F401
from .reduce_lr_on_plateau import ReduceLROnPlateau  # noqa: F401
from .csv_logger import CSVLogger  # noqa: F401
from .lambda_callback import LambdaCallback  # noqa: F401
from .remote_monitor import RemoteMonitor  # noqa: F401
from .tensorboard import TensorBoard  # noqa: F401

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ("experimental",))
