"""`keras.callbacks.History`."""
from .callback import Callback


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
