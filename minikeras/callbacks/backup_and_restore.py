"""`keras.callbacks.BackupAndRestore`."""
import contextlib
import os

import numpy as np

from ..core.durable import remove_abandoned_temporary_files, replaced_through_temporary_file
from .callback import Callback


class BackupAndRestore(Callback):
    """Backs up weights, optimizer state and the training position at the end of every epoch
    (`save_freq="epoch"`) or every `save_freq` batches; a later fit with the same `backup_dir`
    resumes there. The backup is deleted when training completes (`delete_checkpoint`).

    As tf.keras: after an epoch backup the next fit starts at the next epoch; after a batch
    backup it starts in the same epoch at the next batch (the epoch's remaining steps, drawn
    from the start of the data, as tf.keras' data handler does), or at the next epoch when the
    backup was made at the epoch's last batch.

    Example:

        backup = keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
        model.fit(x, y, epochs=10, callbacks=[backup])   # interrupted? run it again
    """

    _FILE = "training_state.npz"
    _OLD_TEMPORARY_FILE = "tmp_training_state.npz"     # what earlier versions wrote first

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True,
                 save_before_preemption=False):
        super().__init__()
        if save_before_preemption:
            raise NotImplementedError("BackupAndRestore(save_before_preemption=True) needs "
                                      "tf.distribute preemption handling, not in minikeras.")
        if not save_freq:
            raise ValueError("Either `save_freq` or `save_before_preemption` must be set.")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or
                                     not isinstance(save_freq, int) or save_freq < 0):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected 'epoch' or a "
                             "positive integer number of batches.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.save_before_preemption = save_before_preemption
        self._batches_count = 0
        self._current_epoch = 0

    @property
    def _path(self):
        return os.path.join(self.backup_dir, self._FILE)

    def on_train_begin(self, logs=None):
        if not os.path.exists(self._path):
            return
        weights, slots, epoch, batch = self._read_backup()
        optimizer = self.model.optimizer
        if slots and len(optimizer.get_weights()) != len(slots):
            # The optimizer makes its slots on its first step: a step of zero gradients
            # creates them; weights and slots are overwritten right after.
            variables = self.model.trainable_weights
            optimizer.apply_gradients(zip([np.zeros_like(v.data) for v in variables], variables))
        if slots:
            optimizer.set_weights(slots)
        self._restore_variables(weights)
        # fit turns (epoch, batch) into where it resumes, knowing the steps per epoch
        self.model._backup_counters = (epoch, batch if self.save_freq != "epoch" else -1)

    def _restore_variables(self, values):
        variables = self.model.weights
        if len(variables) != len(values):
            raise ValueError(f"Cannot restore the training state from {self._path}: it holds "
                             f"{len(values)} weights, the model has {len(variables)}.")
        for variable, value in zip(variables, values):
            if tuple(variable.shape) != value.shape:
                raise ValueError(f"Cannot restore the training state from {self._path}: weight "
                                 f"{variable.name} has shape {tuple(variable.shape)}, the backup "
                                 f"{value.shape}.")
        for variable, value in zip(variables, values):
            variable.assign(value)

    def _read_backup(self):
        """(weights, optimizer slots, epoch, batch) of the backup; a file that is not one (a
        disk filled up, someone else's file) is named, never a NumPy pickling message."""
        try:
            with np.load(self._path, allow_pickle=False) as state:
                weights = [state[f"w{i}"] for i in range(int(state["n_weights"]))]
                slots = [state[f"o{i}"] for i in range(int(state["n_optimizer"]))]
                epoch = int(state["epoch"])
                batch = int(state["batch"]) if "batch" in state.files else -1
        except Exception as error:  # noqa: BLE001 - zipfile, KeyError, ValueError, OSError...
            raise ValueError(f"Cannot restore the training state from {self._path}: it is not a "
                             f"complete BackupAndRestore backup ({type(error).__name__}: "
                             f"{error}). Delete it to start training afresh.") from error
        return weights, slots, epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_count += 1
        if self._batches_count >= self.save_freq:
            self._batches_count = 0
            self._backup(self._current_epoch, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._backup(epoch, -1)

    def _backup(self, epoch, batch):
        os.makedirs(self.backup_dir, exist_ok=True)
        # the variables only: training never changes an adapted vocabulary, which a model's
        # get_weights() also lists (strings would need pickling)
        weights = [np.array(w.data) for w in self.model.weights]
        slots = self.model.optimizer.get_weights() if self.model.optimizer is not None else []
        arrays = {f"w{i}": w for i, w in enumerate(weights)}
        arrays.update({f"o{i}": s for i, s in enumerate(slots)})
        # Never a half-written backup, even after a power cut: the bytes reach the disk before
        # the rename, the rename before training goes on, and Ctrl-C waits for the end. A
        # killed backup leaves a temporary file the next backup (or the end of training) removes.
        self._remove_old_temporary_file()
        with replaced_through_temporary_file(self.backup_dir, self._FILE,
                                             self._path) as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, epoch=epoch, batch=batch, n_weights=len(weights),
                         n_optimizer=len(slots), **arrays)

    def _remove_leftovers(self):
        """Temporary files of backups that were killed midway."""
        remove_abandoned_temporary_files(self.backup_dir, self._FILE)
        self._remove_old_temporary_file()

    def _remove_old_temporary_file(self):
        with contextlib.suppress(OSError):
            os.remove(os.path.join(self.backup_dir, self._OLD_TEMPORARY_FILE))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self._path):
            os.remove(self._path)
        if os.path.isdir(self.backup_dir):
            self._remove_leftovers()


def resume_point(counters, steps_per_epoch):
    """tf.keras' `maybe_load_initial_counters_from_ckpt`: the (epoch, step) a fit resumes at
    from a backup made at `counters = (epoch, batch)` (batch -1: an epoch-end backup)."""
    epoch, batch = counters
    if batch < 0:
        return epoch + 1, 0
    if steps_per_epoch is not None and batch == steps_per_epoch - 1:
        return epoch + 1, 0
    return epoch, batch + 1
