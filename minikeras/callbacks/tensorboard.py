"""`keras.callbacks.TensorBoard`: scalars, weight histograms and the Keras model graph in
TensorBoard event files (`<log_dir>/train` and `<log_dir>/validation`), as tf.keras 2.x
writes them, with a writer of its own (`event_file.py`) instead of TensorFlow's."""
import logging
import os

import numpy as np

from ..core.tensor import as_array
from ..optimizers.schedules import LearningRateSchedule
from . import event_file
from .callback import Callback

_LEGACY_KWARGS = ("write_grads", "embeddings_layer_names", "embeddings_data", "batch_size")


class TensorBoard(Callback):
    """Write training logs for TensorBoard.

    Per epoch, `epoch_<metric>` scalars go to `<log_dir>/train` and the validation metrics
    (without their `val_` prefix) to `<log_dir>/validation`, with the epoch as step; every
    evaluation adds `evaluation_<metric>_vs_iterations` at the optimizer's step. With
    `update_freq='batch'` (or an integer N) `batch_<metric>` is written every N batches;
    `histogram_freq=N` writes a histogram of every weight every N epochs; `write_graph`
    writes the model's JSON config (TensorBoard's Keras graph view).

    Example:

        model.fit(x, y, epochs=5, callbacks=[keras.callbacks.TensorBoard(log_dir="logs")])
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None, **kwargs):
        super().__init__()
        _check_legacy_kwargs(kwargs)
        if write_images:
            raise NotImplementedError("TensorBoard(write_images=True) is not supported by "
                                      "minikeras: weight images are not written.")
        if embeddings_freq:
            raise NotImplementedError("TensorBoard(embeddings_freq=...) is not supported by "
                                      "minikeras: the projector's checkpoints need TensorFlow.")
        if profile_batch not in (0, None, (0, 0), [0, 0]):
            raise NotImplementedError("TensorBoard(profile_batch=...) is not supported by "
                                      "minikeras: there is no TensorFlow profiler to trace.")
        if not (update_freq in ("batch", "epoch") or
                (isinstance(update_freq, int) and update_freq > 0)):
            raise ValueError("`update_freq` must be 'batch', 'epoch' or a positive integer. "
                             f"Received: update_freq={update_freq}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0

    def _writer(self, kind):
        if kind not in self._writers:
            self._writers[kind] = event_file.EventFileWriter(os.path.join(self.log_dir, kind))
        return self._writers[kind]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "iterations"):
            return None
        return int(np.asarray(as_array(optimizer.iterations)))

    # --- hooks --------------------------------------------------------------------------------
    def set_model(self, model):
        super().set_model(model)
        if self.write_graph and hasattr(model, "to_json"):
            try:
                config = model.to_json()
            except (NotImplementedError, TypeError, ValueError):
                return   # a subclassed model without get_config: tf.keras writes no graph
            self._writer("train").write(0, [event_file.keras_model_value("keras", config)])

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0

    def on_train_batch_end(self, batch, logs=None):
        self._global_train_batch += 1
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        step = self._iterations()
        step = self._global_train_batch if step is None else step
        self._writer("train").write(step, [event_file.scalar_value("batch_" + name, value)
                                           for name, value in _numbers(logs)])

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = [(name, value) for name, value in _numbers(logs) if not name.startswith("val_")]
        validation = [(name[4:], value) for name, value in _numbers(logs)
                      if name.startswith("val_")]
        schedule = getattr(getattr(self.model, "optimizer", None), "_learning_rate", None)
        if isinstance(schedule, LearningRateSchedule):
            train.append(("learning_rate", float(np.asarray(as_array(
                schedule(self._iterations()))))))
        if train:
            self._writer("train").write(epoch, [event_file.scalar_value("epoch_" + name, value)
                                                for name, value in train])
        if validation:
            self._writer("validation").write(
                epoch, [event_file.scalar_value("epoch_" + name, value)
                        for name, value in validation])
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    def on_test_end(self, logs=None):
        step = self._iterations()
        values = [event_file.scalar_value(f"evaluation_{name}_vs_iterations", value)
                  for name, value in _numbers(logs)]
        if step is not None and values:
            self._writer("validation").write(step, values)

    def on_train_end(self, logs=None):
        self._close_writers()

    def _log_weights(self, epoch):
        values = []
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.name.replace(":", "_") + "/histogram"
                values.append(event_file.histogram_value(name, np.asarray(as_array(weight))))
        if values:
            self._writer("train").write(epoch, values)


def _numbers(logs):
    """(name, float) for the scalar entries of `logs`."""
    for name, value in (logs or {}).items():
        array = np.asarray(as_array(value)) if value is not None else None
        if array is not None and array.size == 1 and array.dtype.kind in "biuf":
            yield name, float(array.reshape(()))


def _check_legacy_kwargs(kwargs):
    """Keras 2.x arguments tf.keras 2.x accepts and ignores with a warning."""
    unknown = set(kwargs) - set(_LEGACY_KWARGS)
    if unknown:
        raise ValueError(f"Unrecognized arguments in `TensorBoard` Callback: {unknown}. "
                         f"Supported kwargs are: {list(_LEGACY_KWARGS)}")
    if kwargs.get("write_grads", False):
        logging.warning("`write_grads` will be ignored in TensorFlow 2.0 for the `TensorBoard` "
                        "Callback.")
    if kwargs.get("batch_size", False):
        logging.warning("`batch_size` is no longer needed in the `TensorBoard` Callback and "
                        "will be ignored in TensorFlow 2.0.")
    if kwargs.get("embeddings_layer_names", False):
        logging.warning("`embeddings_layer_names` is not supported in TensorFlow 2.0. Instead, "
                        "all `Embedding` layers will be visualized.")
    if kwargs.get("embeddings_data", False):
        logging.warning("`embeddings_data` is not supported in TensorFlow 2.0. Instead, all "
                        "`Embedding` variables will be visualized.")
