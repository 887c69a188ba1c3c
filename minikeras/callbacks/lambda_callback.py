"""`keras.callbacks.LambdaCallback`."""
from .callback import Callback


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
