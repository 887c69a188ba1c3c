"""`keras.callbacks.Callback`."""


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
