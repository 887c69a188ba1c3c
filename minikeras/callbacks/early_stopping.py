"""`keras.callbacks.EarlyStopping`."""
import numpy as np

from ._utils import logger, _monitor_op_for, _print_msg
from .callback import Callback


class EarlyStopping(Callback):
    """Stops training when `monitor` has not improved for `patience` epochs.

    `min_delta`: smallest change counted as an improvement; `mode`: 'min', 'max' or 'auto'
    (max for names ending in acc/accuracy/auc); `baseline`: the waiting counter only restarts
    on epochs that also beat it; `restore_best_weights`: at the end of training, set the weights
    of the best epoch; `start_from_epoch`: epochs of warm-up ignored.

    Example:

        stop = keras.callbacks.EarlyStopping(monitor="loss", patience=3)
        model.fit(x, y, epochs=10, callbacks=[stop])
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = start_from_epoch
        self.monitor_op = _monitor_op_for(mode, monitor, "EarlyStopping")
        if self.monitor_op is None:
            maximize = monitor.endswith(("acc", "accuracy", "auc"))
            self.monitor_op = np.greater if maximize else np.less
        if self.monitor_op is np.less:
            self.min_delta *= -1

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf if self.monitor_op is np.less else -np.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Restore the weights after the first epoch if no progress is ever made.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Only restart the wait when beating both the baseline and the previous best.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print_msg("Restoring model weights from the end of the best epoch: "
                           f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            logger.warning("Early stopping conditioned on metric `%s` which is not available. "
                           "Available metrics are: %s", self.monitor, ",".join(list(logs.keys())))
        return value

    def _is_improvement(self, monitor_value, reference_value):
        return self.monitor_op(monitor_value - self.min_delta, reference_value)
