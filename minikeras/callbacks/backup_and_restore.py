"""`keras.callbacks.BackupAndRestore`."""
import os

import numpy as np

from .callback import Callback


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
