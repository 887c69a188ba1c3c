"""Callbacks: hooks into fit/evaluate/predict (`keras.callbacks`)."""
import numpy as np

from .utils.progbar import Progbar


class Callback:
    """Base class: override any `on_*` hook. `self.model` is set by fit/evaluate/predict."""

    def __init__(self):
        self.model = None
        self.params = {}
        self.validation_data = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass


class CallbackList:
    """Calls every hook of a list of callbacks in order."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        self.callbacks = list(callbacks or [])
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if add_history:
            self.history = next((c for c in self.callbacks if isinstance(c, History)), None)
            if self.history is None:
                self.history = History()
                self.callbacks.append(self.history)
        self.model = model
        for callback in self.callbacks:
            if model is not None:
                callback.set_model(model)
            callback.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def _call(self, hook, *args):
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def __getattr__(self, hook):
        if hook.startswith("on_"):
            return lambda *args, **kwargs: self._call(hook, *args, *kwargs.values())
        raise AttributeError(hook)


class History(Callback):
    """Records the logs of every epoch in `history` (a dict of lists); returned by fit."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints Keras' progress bar (verbose=1) or one line per epoch (verbose=2)."""

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        if count_mode != "steps":
            raise ValueError(f"Unknown `count_mode`: {count_mode}. Expected 'steps'.")
        self._bar = None
        self._mode = "train"

    def _verbose(self):
        return self.params.get("verbose", 1)

    def _new_bar(self, steps):
        self._bar = Progbar(steps, verbose=self._verbose(), stateful_metrics=_ALL_STATEFUL())

    def on_train_begin(self, logs=None):
        self._mode = "train"

    def on_epoch_begin(self, epoch, logs=None):
        if self._verbose():
            epochs = self.params.get("epochs", 1)
            print(f"Epoch {epoch + 1}/{epochs}")
        self._new_bar(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None and self._verbose() == 1:
            self._bar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None and self._verbose():
            self._bar.update(self.params.get("steps") or self._bar._seen, list((logs or {}).items()),
                             finalize=True)

    def on_test_begin(self, logs=None):
        if self._mode != "train" or self.model is None or not getattr(self.model, "_in_fit", False):
            self._mode = "test"
            self._new_bar(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if self._mode == "test" and self._bar is not None and self._verbose() == 1:
            self._bar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_test_end(self, logs=None):
        if self._mode == "test" and self._bar is not None and self._verbose():
            self._bar.update(self.params.get("steps") or self._bar._seen,
                             list((logs or {}).items()), finalize=True)

    def on_predict_begin(self, logs=None):
        self._mode = "predict"
        self._new_bar(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        if self._bar is not None and self._verbose() == 1:
            self._bar.update(batch + 1, finalize=False)

    def on_predict_end(self, logs=None):
        if self._bar is not None and self._verbose():
            self._bar.update(self.params.get("steps") or self._bar._seen, finalize=True)


class _ALL_STATEFUL(set):
    """Every logged value is already an epoch-to-date mean: show it as is."""

    def __contains__(self, item):
        return True


class LambdaCallback(Callback):
    """A callback built from plain functions, e.g. `LambdaCallback(on_epoch_end=f)`."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None,
                 on_batch_end=None, on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_batch_begin=on_batch_begin, on_batch_end=on_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end, **kwargs)
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
