"""Callbacks: hooks into fit/evaluate/predict (`keras.callbacks`), with tf.keras 2.x behaviour.

    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2,
                                         restore_best_weights=True)
    history = model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[stop])
"""
import collections
import csv
import logging
import os
import re

import numpy as np

from ..core.tensor import Tensor
from .progbar import Progbar

logger = logging.getLogger("minikeras")


def _print_msg(message):
    print(message, flush=True)


def _get_lr(optimizer):
    """The optimizer's current learning rate as a float32 scalar (`backend.get_value(lr)`)."""
    lr = optimizer.learning_rate
    return np.float32(lr.data if isinstance(lr, Tensor) else lr)


def _set_lr(optimizer, value):
    optimizer.learning_rate = float(value.data if isinstance(value, Tensor) else value)


def _monitor_op_for(mode, monitor, name):
    """np.less or np.greater from `mode`; 'auto' looks at the metric's name."""
    if mode not in ("auto", "min", "max"):
        logger.warning("%s mode %s is unknown, fallback to auto mode.", name, mode)
        mode = "auto"
    if mode == "min":
        return np.less
    if mode == "max":
        return np.greater
    return None


# --- base ------------------------------------------------------------------------------------
class Callback:
    """Base class: override any `on_*` hook. `self.model` and `self.params` (`verbose`,
    `epochs`, `steps`) are set by fit/evaluate/predict.

    Example:

        class PrintLoss(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                print(epoch, logs["loss"])
    """

    def __init__(self):
        self.validation_data = None
        self.model = None
        self.params = {}

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_batch_begin(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_begin`."""

    def on_batch_end(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_end`."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch (fit only)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with the epoch's metrics (and `val_*` ones)."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before a batch of `evaluate` (and of the validation inside fit)."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after a batch of `evaluate`, with the metrics so far."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a batch of `predict`."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after a batch of `predict`; `logs['outputs']` holds its outputs."""

    def on_train_begin(self, logs=None):
        """Called at the beginning of fit."""

    def on_train_end(self, logs=None):
        """Called at the end of fit with the last epoch's logs."""

    def on_test_begin(self, logs=None):
        """Called at the beginning of evaluate or validation."""

    def on_test_end(self, logs=None):
        """Called at the end of evaluate or validation with its metrics."""

    def on_predict_begin(self, logs=None):
        """Called at the beginning of predict."""

    def on_predict_end(self, logs=None):
        """Called at the end of predict."""


class CallbackList:
    """Calls a hook on every callback in order; fit adds `History` then `ProgbarLogger` at
    the end unless the list already holds one.

    Example:

        callbacks = keras.callbacks.CallbackList([my_callback], model=model)
        callbacks.on_train_begin()
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        self.callbacks = list(callbacks) if callbacks else []
        self._add_default_callbacks(add_history, add_progbar)
        self.model = None
        self.params = {}
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def _add_default_callbacks(self, add_history, add_progbar):
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next((c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger(count_mode="steps")
            self.callbacks.append(self._progbar)

    @property
    def history(self):
        return self._history

    def append(self, callback):
        self.callbacks.append(callback)

    def set_params(self, params):
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def set_model(self, model):
        self.model = model
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def __iter__(self):
        return iter(self.callbacks)

    def _call(self, hook, *args, logs=None):
        # One fresh dict per hook call, shared by the callbacks of that call: a callback that
        # adds a key (ReduceLROnPlateau's 'lr') shows it to the callbacks after it (History).
        logs = dict(logs) if logs else {}
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs=logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=logs)


# --- always-present callbacks ------------------------------------------------------------------
class History(Callback):
    """Records every epoch's logs in `history` (a dict of lists); fit returns it.

    Example:

        history = model.fit(x, y, epochs=3, verbose=0)
        history.history["loss"]      # three values
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints Keras' progress bar (verbose=1) or one line per epoch (verbose=2). Validation
    inside fit is silent. Counting is per step (`count_mode='samples'` is the TF1 path; here
    it counts steps too).

    Example:

        model.fit(x, y, callbacks=[keras.callbacks.ProgbarLogger(count_mode="steps")])
    """

    def __init__(self, count_mode="samples", stateful_metrics=None):
        super().__init__()
        if count_mode not in ("samples", "steps"):
            raise ValueError(f"Unknown `count_mode`: {count_mode}. Expected values are "
                             "[\"samples\", \"steps\"]")
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params["verbose"]
        self.epochs = params["epochs"]
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            _print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._batch_update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._batch_update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._batch_update_progbar(batch, None)   # predictions are not shown

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self):
        # The model's metrics are already epoch-to-date means: shown as they are.
        if self.model is not None:
            self.stateful_metrics |= {m.name for m in self.model.metrics}
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose,
                                   stateful_metrics=self.stateful_metrics, unit_name="step")
        self.progbar.stateful_metrics = self.stateful_metrics

    def _batch_update_progbar(self, batch, logs=None):
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize_progbar(self, logs):
        if self.progbar is None:
            self._maybe_init_progbar()
        if self.target is None:   # generator of unknown length: known after the first epoch
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)


# --- stopping ------------------------------------------------------------------------------------
class TerminateOnNaN(Callback):
    """Stops training as soon as a batch loss is NaN or infinite.

    Example:

        model.fit(x, y, callbacks=[keras.callbacks.TerminateOnNaN()])
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            _print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


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


# --- checkpoints -----------------------------------------------------------------------------------
class ModelCheckpoint(Callback):
    """Saves the model (or only its weights) after every epoch or every `save_freq` batches.

    `filepath` may hold `str.format` fields filled with `epoch` (1-based), `batch` and the
    logs, e.g. `'w.{epoch:02d}-{val_loss:.2f}.h5'`. With `save_best_only`, saves only when
    `monitor` improves on the best so far (`initial_value_threshold` to start from).

    Example:

        checkpoint = keras.callbacks.ModelCheckpoint("best.weights.h5", monitor="val_loss",
                                                     save_best_only=True, save_weights_only=True)
        model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[checkpoint])
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", options=None,
                 initial_value_threshold=None, **kwargs):
        super().__init__()
        if options is not None:
            raise NotImplementedError("ModelCheckpoint(options=...) (TensorFlow checkpoint/"
                                      "SavedModel options) is not supported by minikeras.")
        self.monitor = monitor
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.epochs_since_last_save = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._current_epoch = 0
        self.best = initial_value_threshold
        self.load_weights_on_restart = kwargs.pop("load_weights_on_restart", False)
        if self.load_weights_on_restart:
            logger.warning("`load_weights_on_restart` argument is deprecated. Please use "
                           "`model.load_weights()` for loading weights before the start of "
                           "`model.fit()`.")
        if "period" in kwargs:
            logger.warning("`period` argument is deprecated. Please use `save_freq` to specify "
                           "the frequency in number of batches seen.")
        self.period = kwargs.pop("period", 1)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {list(kwargs)}")
        self.monitor_op = _monitor_op_for(mode, monitor, "ModelCheckpoint")
        if self.monitor_op is None:
            maximize = "acc" in monitor or monitor.startswith("fmeasure")
            self.monitor_op = np.greater if maximize else np.less
        if self.best is None:
            self.best = np.inf if self.monitor_op is np.less else -np.inf
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are "
                             "\"epoch\" or integer")

    def on_train_begin(self, logs=None):
        if self.load_weights_on_restart:
            path = self._get_most_recently_modified_file_matching_pattern(self.filepath)
            if path is not None and os.path.exists(path):
                try:
                    self.model.load_weights(path)
                except (IOError, ValueError) as error:
                    raise ValueError(f"Error loading file from {path}. Reason: {error}")

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_since_last_save += 1
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:   # a new epoch started
            added = batch + 1
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        if not (isinstance(self.save_freq, int) or self.epochs_since_last_save >= self.period):
            return
        self.epochs_since_last_save = 0
        filepath = self._get_file_path(epoch, batch, logs)
        dirname = os.path.dirname(filepath)
        if dirname and not os.path.exists(dirname):
            os.makedirs(dirname)
        if os.path.isdir(filepath):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. Filepath "
                          f"used is an existing directory: {filepath}")
        if not self.save_best_only:
            if self.verbose > 0:
                _print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            self._save_handler(filepath)
            return
        current = logs.get(self.monitor)
        if current is None:
            logger.warning("Can save best model only with %s available, skipping.", self.monitor)
        elif self.monitor_op(current, self.best):
            if self.verbose > 0:
                _print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} "
                           f"to {current:.5f}, saving model to {filepath}")
            self.best = current
            self._save_handler(filepath)
        elif self.verbose > 0:
            _print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                       f"{self.best:.5f}")

    def _save_handler(self, filepath):
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _get_file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as error:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {error}")

    def _get_most_recently_modified_file_matching_pattern(self, pattern):
        """The newest file whose name matches `pattern` (format fields as wildcards); ties go
        to the largest file name."""
        dir_name = os.path.dirname(pattern)
        base_regex = "^" + re.sub(r"{.*}", r".*", os.path.basename(pattern)) + "$"
        latest_time, latest_path, n_latest, largest = 0, None, 0, None
        if os.path.exists(dir_name or "."):
            for name in os.listdir(dir_name or "."):
                if not re.match(base_regex, name):
                    continue
                path = os.path.join(dir_name, name)
                mod_time = os.path.getmtime(path)
                if largest is None or path > largest:
                    largest = path
                if mod_time > latest_time:
                    latest_time, latest_path, n_latest = mod_time, path, 1
                elif mod_time == latest_time:
                    n_latest += 1
        return latest_path if n_latest == 1 else largest


class BackupAndRestore(Callback):
    """Backs up weights, optimizer state and epoch at the end of every epoch; a later fit with
    the same `backup_dir` resumes after the last backed-up epoch. The backup is deleted when
    training completes (`delete_checkpoint`).

    Example:

        backup = keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
        model.fit(x, y, epochs=10, callbacks=[backup])   # interrupted? run it again
    """

    _FILE = "training_state.npz"

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True,
                 save_before_preemption=False):
        super().__init__()
        if save_before_preemption:
            raise NotImplementedError("BackupAndRestore(save_before_preemption=True) needs "
                                      "tf.distribute preemption handling, not in minikeras.")
        if save_freq != "epoch":
            raise NotImplementedError("BackupAndRestore(save_freq=<int>) is not supported by "
                                      "minikeras: backups are made at the end of each epoch.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.save_before_preemption = save_before_preemption

    @property
    def _path(self):
        return os.path.join(self.backup_dir, self._FILE)

    def on_train_begin(self, logs=None):
        if not os.path.exists(self._path):
            return
        with np.load(self._path) as state:
            weights = [state[f"w{i}"] for i in range(int(state["n_weights"]))]
            slots = [state[f"o{i}"] for i in range(int(state["n_optimizer"]))]
            epoch = int(state["epoch"])
        optimizer = self.model.optimizer
        if slots and len(optimizer.get_weights()) != len(slots):
            # The optimizer makes its slots on its first step: a step of zero gradients
            # creates them; weights and slots are overwritten right after.
            variables = self.model.trainable_weights
            optimizer.apply_gradients(zip([np.zeros_like(v.data) for v in variables], variables))
        if slots:
            optimizer.set_weights(slots)
        self.model.set_weights(weights)
        self.model._initial_epoch_from_backup = epoch + 1

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        weights = self.model.get_weights()
        slots = self.model.optimizer.get_weights() if self.model.optimizer is not None else []
        arrays = {f"w{i}": w for i, w in enumerate(weights)}
        arrays.update({f"o{i}": s for i, s in enumerate(slots)})
        temporary = os.path.join(self.backup_dir, "tmp_" + self._FILE)
        np.savez(temporary, epoch=epoch, n_weights=len(weights), n_optimizer=len(slots), **arrays)
        os.replace(temporary, self._path)   # never leave a half-written backup

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self._path):
            os.remove(self._path)


# --- learning rate ----------------------------------------------------------------------------
class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch to `schedule(epoch, lr)` (or
    `schedule(epoch)`); logs it as 'lr'.

    Example:

        def schedule(epoch, lr):
            return lr if epoch < 10 else lr * 0.9
        model.fit(x, y, epochs=15, callbacks=[keras.callbacks.LearningRateScheduler(schedule)])
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "lr"):
            raise ValueError('Optimizer must have a "lr" attribute.')
        try:   # new API: schedule(epoch, lr)
            lr = float(_get_lr(self.model.optimizer))
            lr = self.schedule(epoch, lr)
        except TypeError:   # old API: schedule(epoch)
            lr = self.schedule(epoch)
        if not isinstance(lr, (Tensor, float, np.float32, np.float64)):
            raise ValueError(f'The output of the "schedule" function should be float. Got: {lr}')
        if isinstance(lr, Tensor) and lr.data.dtype.kind != "f":
            raise ValueError(f"The dtype of `lr` Tensor should be float. Got: {lr.data.dtype}")
        _set_lr(self.model.optimizer, lr)
        if self.verbose > 0:
            _print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                       f"{lr}.")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["lr"] = _get_lr(self.model.optimizer)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` has not improved (by more than
    `min_delta`) for `patience` epochs; waits `cooldown` epochs after a reduction; never goes
    below `min_lr`. Logs the learning rate of the epoch as 'lr'.

    Example:

        reduce = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5)
        model.fit(x, y, validation_split=0.2, callbacks=[reduce])
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0, **kwargs):
        super().__init__()
        self.monitor = monitor
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Got {factor}")
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            logger.warning("`epsilon` argument is deprecated and will be removed, use "
                           "`min_delta` instead.")
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {list(kwargs)}")
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self.best = 0
        self.mode = mode
        self.monitor_op = None
        self._reset()

    def _reset(self):
        """Resets the wait and cooldown counters and the best value."""
        if self.mode not in ("auto", "min", "max"):
            logger.warning("Learning rate reduction mode %s is unknown, fallback to auto mode.",
                           self.mode)
            self.mode = "auto"
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["lr"] = _get_lr(self.model.optimizer)
        current = logs.get(self.monitor)
        if current is None:
            logger.warning("Learning rate reduction is conditioned on metric `%s` which is not "
                           "available. Available metrics are: %s", self.monitor,
                           ",".join(list(logs.keys())))
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _get_lr(self.model.optimizer)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _set_lr(self.model.optimizer, new_lr)
                    if self.verbose > 0:
                        _print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning "
                                   f"rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0


# --- logging ----------------------------------------------------------------------------------
class CSVLogger(Callback):
    """Streams epoch results to a CSV file: `epoch` first, then the sorted log keys (with the
    `val_` columns even before the first validation, filled with 'NA').

    Example:

        model.fit(x, y, epochs=5, callbacks=[keras.callbacks.CSVLogger("training.log")])
    """

    def __init__(self, filename, separator=",", append=False):
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None
        super().__init__()

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r") as handle:
                    self.append_header = not bool(len(handle.readline()))
            mode = "a"
        else:
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
            # With validation_freq > 1 the first epoch has no `val_` keys: add them now so
            # that they are columns of the file.
            if not any(key.startswith("val_") for key in self.keys):
                self.keys.extend(["val_" + key for key in self.keys])
        if not self.writer:
            class CustomDialect(csv.excel):
                delimiter = self.sep
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=CustomDialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self.csv_file.close()
        self.writer = None


def _csv_value(value):
    is_zero_dim_array = isinstance(value, np.ndarray) and value.ndim == 0
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not is_zero_dim_array:
        return f"\"[{', '.join(map(str, value))}]\""
    return value


class LambdaCallback(Callback):
    """A callback built from plain functions: `on_epoch_begin/end(epoch, logs)`,
    `on_batch_begin/end(batch, logs)`, `on_train_begin/end(logs)`; other hooks by keyword.

    Example:

        print_epoch = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None,
                 on_batch_end=None, on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_batch_begin=on_batch_begin, on_batch_end=on_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end)
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


# --- not available without TensorFlow / a server ------------------------------------------------
class RemoteMonitor(Callback):
    """Streams epoch logs to a server (not available in minikeras)."""

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        raise NotImplementedError("keras.callbacks.RemoteMonitor is not supported by minikeras "
                                  "(it posts to an HTTP server); use LambdaCallback or CSVLogger.")


class TensorBoard(Callback):
    """TensorBoard event files (not available in minikeras: they need TensorFlow's writer)."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None, **kwargs):
        super().__init__()
        raise NotImplementedError("keras.callbacks.TensorBoard is not supported by minikeras "
                                  "(TensorBoard event files need TensorFlow's summary writer); "
                                  "use CSVLogger or History instead.")
