"""`keras.callbacks.experimental`: the TF 2.3-2.7 path of `BackupAndRestore`, deprecated in
tf.keras and kept for the scripts that still use it."""
import warnings

from .backup_and_restore import BackupAndRestore as _BackupAndRestore


class BackupAndRestore(_BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` under its old experimental name (with a warning)."""

    def __init__(self, backup_dir, **kwargs):
        warnings.warn("`tf.keras.callbacks.experimental.BackupAndRestore` endpoint is deprecated "
                      "and will be removed in a future release. Please use "
                      "`tf.keras.callbacks.BackupAndRestore`.", stacklevel=2)
        super().__init__(backup_dir=backup_dir, **kwargs)
