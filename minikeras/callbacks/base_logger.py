"""`keras.callbacks.BaseLogger` (Keras 1/2): epoch averages of per-batch logs."""
from .callback import Callback


class BaseLogger(Callback):
    """Averages, over the epoch's samples, the batch logs that carry a batch `size`, and writes
    the averages into the epoch logs. `fit` already reports epoch means (its metrics are
    stateful), and its batch logs carry no `size`, so in a plain `fit` this changes nothing; it
    serves loops that pass `size` in their own batch logs, as Keras 1 did.

    Example:

        logger = keras.callbacks.BaseLogger(stateful_metrics=["accuracy"])
    """

    def __init__(self, stateful_metrics=None):
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or [])
        self.seen = 0
        self.totals = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.totals = {}

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        size = logs.get("size", 0)
        self.seen += size * logs.get("num_steps", 1)
        for name, value in logs.items():
            if name in self.stateful_metrics:
                self.totals[name] = value
            else:
                self.totals[name] = self.totals.get(name, 0) + value * size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        names = (self.params or {}).get("metrics", list(self.totals))
        for name in names:
            if name in self.stateful_metrics and name in self.totals:
                logs[name] = self.totals[name]
            elif name in self.totals and self.seen:
                logs[name] = self.totals[name] / self.seen
