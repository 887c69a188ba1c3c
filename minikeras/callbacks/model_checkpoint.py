"""`keras.callbacks.ModelCheckpoint`."""
import os
import re

import numpy as np

from ._utils import logger, _monitor_op_for, _print_msg
from .callback import Callback


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
        if kwargs:   # tf.keras' ModelCheckpoint takes and ignores them (old Keras arguments)
            logger.warning(f"ModelCheckpoint ignores the keyword arguments {sorted(kwargs)}, as "
                           "tf.keras does.")
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
            if path is not None and (os.path.exists(path) or os.path.isfile(path + ".index")):
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
        # As tf.keras, a directory is refused only by the formats that write one file there
        # (`.h5`, `.keras`): a SavedModel is written into it, a TF checkpoint beside it.
        try:
            if self.save_weights_only:
                self.model.save_weights(filepath, overwrite=True)
            else:
                self.model.save(filepath, overwrite=True)
        except IsADirectoryError:
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. Filepath "
                          f"used is an existing directory: {filepath}") from None

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
        latest_checkpoint = _latest_tf_checkpoint(dir_name or ".")
        if latest_checkpoint is not None and \
                re.match(base_regex, os.path.basename(latest_checkpoint)):
            return latest_checkpoint     # TF checkpoints are prefixes, not files (as tf.keras)
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


def _latest_tf_checkpoint(directory):
    """The prefix the `checkpoint` state file of `directory` names (what
    `tf.train.latest_checkpoint` returns), when its index exists; else None."""
    try:
        with open(os.path.join(directory, "checkpoint"), encoding="utf8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        match = re.match(r'\s*model_checkpoint_path:\s*"((?:[^"\\]|\\.)*)"\s*$', line)
        if match:
            name = re.sub(r"\\(.)", r"\1", match.group(1))
            prefix = name if os.path.isabs(name) else os.path.join(directory, name)
            return prefix if os.path.isfile(prefix + ".index") else None
    return None
