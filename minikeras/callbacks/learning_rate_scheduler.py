"""`keras.callbacks.LearningRateScheduler`."""
import numpy as np

from ..core.tensor import Tensor
from ._utils import _get_lr, _print_msg, _set_lr
from .callback import Callback


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
