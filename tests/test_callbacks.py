"""keras.callbacks: every hook, and each callback's effect on a real fit."""
import csv
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.callbacks import Callback


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32) + 0.3).astype(np.float32)
    return x, y


def model(lr=0.01, momentum=0.0):
    keras.utils.set_random_seed(5)
    net = keras.Sequential([layers.Dense(6, activation="tanh", input_shape=(4,)), layers.Dense(1)])
    net.compile(keras.optimizers.SGD(lr, momentum=momentum), "mse")
    return net


class Script(Callback):
    """Overwrites `key` in the epoch logs with scripted values (the logs dict is shared with
    the callbacks after it, as in tf.keras) and records the weights of every epoch."""

    def __init__(self, values, key="val_loss"):
        super().__init__()
        self.values, self.key, self.weights = values, key, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())


def fit(net, callbacks, epochs, **kwargs):
    x, y = data()
    return net.fit(x, y, batch_size=16, epochs=epochs, verbose=0, shuffle=False,
                   callbacks=callbacks, **kwargs)


# --- the hooks -----------------------------------------------------------------------------------
class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if name.startswith("on_") and callable(attr):
            def record(*args, **kwargs):
                self.calls.append((name,) + tuple(a for a in args if isinstance(a, int)))
                return attr(*args, **kwargs)
            return record
        return attr


def test_hooks_are_called_in_tf_keras_order():
    net = model()
    recorder = Recorder()
    x, y = data(32)
    net.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x[:8], y[:8]),
            callbacks=[recorder])
    assert recorder.params == {"verbose": 0, "epochs": 2, "steps": 2}
    assert recorder.model is net
    epoch = lambda e: [("on_epoch_begin", e),
                       ("on_train_batch_begin", 0), ("on_batch_begin", 0),
                       ("on_train_batch_end", 0), ("on_batch_end", 0),
                       ("on_train_batch_begin", 1), ("on_batch_begin", 1),
                       ("on_train_batch_end", 1), ("on_batch_end", 1),
                       ("on_test_begin",), ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
                       ("on_test_end",), ("on_epoch_end", e)]
    assert recorder.calls == [("on_train_begin",)] + epoch(0) + epoch(1) + [("on_train_end",)]
    recorder.calls.clear()
    net.evaluate(x, y, batch_size=32, verbose=0, callbacks=[recorder])
    assert recorder.calls == [("on_test_begin",), ("on_test_batch_begin", 0),
                              ("on_test_batch_end", 0), ("on_test_end",)]
    recorder.calls.clear()
    net.predict(x, batch_size=32, verbose=0, callbacks=[recorder])
    assert recorder.calls == [("on_predict_begin",), ("on_predict_batch_begin", 0),
                              ("on_predict_batch_end", 0), ("on_predict_end",)]


def test_logs_passed_to_the_hooks():
    net = model()
    x, y = data(32)
    seen = {}
    spy = keras.callbacks.LambdaCallback(
        on_batch_end=lambda batch, logs: seen.setdefault("batch", dict(logs)),
        on_epoch_end=lambda epoch, logs: seen.setdefault("epoch", dict(logs)),
        on_train_end=lambda logs: seen.setdefault("train_end", dict(logs)),
        on_test_end=lambda logs: seen.setdefault("test_end", dict(logs)),
        on_predict_batch_end=lambda batch, logs: seen.setdefault("predict", logs))
    history = net.fit(x, y, batch_size=16, epochs=1, verbose=0, validation_split=0.25,
                      callbacks=[spy])
    assert set(seen["batch"]) == {"loss"}
    assert seen["epoch"] == {"loss": history.history["loss"][0],
                             "val_loss": history.history["val_loss"][0]}
    assert seen["train_end"] == seen["epoch"]
    assert seen["test_end"]["loss"] == history.history["val_loss"][0]
    net.predict(x, verbose=0, callbacks=[spy])
    np.testing.assert_allclose(seen["predict"]["outputs"].numpy(), net.predict(x, verbose=0))


def test_stop_training_from_a_callback_ends_the_epoch_and_the_fit():
    net = model()
    batches = []

    class StopAfterTwoBatches(Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)
            if batch == 1:
                self.model.stop_training = True
    history = fit(net, [StopAfterTwoBatches()], epochs=5)
    assert batches == [0, 1] and len(history.history["loss"]) == 1
    assert not fit(net, [], epochs=1).model.stop_training   # fit resets the flag


def test_history_and_callback_list():
    net = model()
    history = fit(net, [], epochs=3)
    assert history is net.history and history.epoch == [0, 1, 2]
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 3}
    mine = keras.callbacks.History()
    callbacks = keras.callbacks.CallbackList([mine], add_history=True, add_progbar=True,
                                             model=net, verbose=0, epochs=1, steps=1)
    assert callbacks.callbacks[0] is mine and isinstance(callbacks.callbacks[1],
                                                         keras.callbacks.ProgbarLogger)
    assert fit(net, [mine], epochs=2) is mine


# --- EarlyStopping ---------------------------------------------------------------------------------
def test_early_stopping_stops_after_patience_and_restores_best_weights(capsys):
    net = model()
    script = Script([1.0, 0.8, 0.9, 0.85, 0.7, 0.6])
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    history = fit(net, [script, stop], epochs=6)
    assert len(history.history["loss"]) == 4 and stop.stopped_epoch == 3
    assert stop.best == 0.8 and stop.best_epoch == 1
    for restored, best in zip(net.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(restored, best)
    assert capsys.readouterr().out.splitlines() == [
        "Epoch 4: early stopping", "Restoring model weights from the end of the best epoch: 2."]


def test_early_stopping_on_a_flat_loss_stops_after_patience_plus_one_epochs():
    history = fit(model(lr=0.0), [keras.callbacks.EarlyStopping(monitor="loss", patience=3)],
                  epochs=10)
    assert len(history.history["loss"]) == 4      # the tf.keras docstring example


def test_early_stopping_min_delta_mode_baseline_and_start_from_epoch():
    def stopped_after(values, **kwargs):
        key = kwargs.pop("key", "val_loss")
        stop = keras.callbacks.EarlyStopping(monitor=key, **kwargs)
        return len(fit(model(), [Script(values, key), stop], epochs=len(values))
                   .history["loss"])
    values = [1.0, 0.99, 0.98, 0.97, 0.96, 0.95]
    assert stopped_after(values, patience=1) == 6
    assert stopped_after(values, patience=1, min_delta=0.05) == 2
    accuracy = [0.5, 0.6, 0.55, 0.58, 0.7, 0.9]
    assert stopped_after(accuracy, key="val_accuracy", patience=2) == 4    # auto -> max
    assert stopped_after(accuracy, key="val_accuracy", patience=2, mode="min") == 3
    rising = [0.9, 0.95, 0.97, 0.99, 1.0, 1.1]
    assert stopped_after(rising, patience=2) == 3
    assert stopped_after(rising, patience=2, baseline=0.5) == 2   # baseline never beaten
    assert stopped_after(rising, patience=2, start_from_epoch=2) == 5


def test_early_stopping_restores_best_weights_even_without_stopping():
    net = model()
    script = Script([0.5, 0.4, 0.45])
    fit(net, [script, keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)],
        epochs=3)
    for restored, best in zip(net.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(restored, best)


# --- ModelCheckpoint -------------------------------------------------------------------------------
class SavedWeights:
    """Stands in for model.save_weights/save: writes the weights with NumPy and records them."""

    def __init__(self, net):
        self.net, self.saved = net, {}

    def __call__(self, filepath, overwrite=True, **kwargs):
        weights = self.net.get_weights()
        np.save(filepath + ".npy", np.asarray(weights[0]))
        os.replace(filepath + ".npy", filepath)
        self.saved[os.path.basename(filepath)] = weights


def test_model_checkpoint_formats_names_and_saves_every_epoch(tmp_path, capsys):
    net = model()
    writer = net.save_weights = SavedWeights(net)
    path = str(tmp_path / "ckpt" / "w.{epoch:02d}-{val_loss:.2f}.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_weights_only=True, verbose=1)
    script = Script([0.5, 0.4, 0.456])
    fit(net, [script, checkpoint], epochs=3)
    names = ["w.01-0.50.h5", "w.02-0.40.h5", "w.03-0.46.h5"]
    assert sorted(os.listdir(tmp_path / "ckpt")) == names
    for epoch, name in enumerate(names):
        for saved, expected in zip(writer.saved[name], script.weights[epoch]):
            np.testing.assert_array_equal(saved, expected)
    assert f"Epoch 1: saving model to {tmp_path}/ckpt/w.01-0.50.h5" in capsys.readouterr().out


def test_model_checkpoint_save_best_only_and_threshold(tmp_path, capsys):
    net = model()
    writer = net.save_weights = SavedWeights(net)
    path = str(tmp_path / "best.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_best_only=True,
                                                 save_weights_only=True, verbose=1)
    script = Script([0.5, 0.4, 0.45, 0.3])
    fit(net, [script, checkpoint], epochs=4)
    for saved, best in zip(writer.saved["best.h5"], script.weights[3]):
        np.testing.assert_array_equal(saved, best)
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to 0.50000, saving model to" in out
    assert "Epoch 3: val_loss did not improve from 0.40000" in out
    saves = []
    net.save_weights = lambda filepath, overwrite=True: saves.append(filepath)
    path = str(tmp_path / "{epoch}.h5")
    fit(net, [Script([0.5, 0.4, 0.45, 0.3]),
              keras.callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True,
                                              initial_value_threshold=0.42)], epochs=4)
    assert [os.path.basename(p) for p in saves] == ["2.h5", "4.h5"]
    saves.clear()
    fit(net, [Script([0.5, 0.6, 0.55], "val_accuracy"),
              keras.callbacks.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True,
                                              save_weights_only=True)], epochs=3)
    assert [os.path.basename(p) for p in saves] == ["1.h5", "2.h5"]    # auto -> max for acc


def test_model_checkpoint_batch_frequency_and_whole_model(tmp_path):
    net = model()
    saves = []
    net.save = lambda filepath, overwrite=True: saves.append(os.path.basename(filepath))
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "{epoch:02d}-{batch:02d}.keras"),
                                                 save_freq=2)
    fit(net, [checkpoint], epochs=2)     # 3 batches per epoch: saves after every 2nd batch
    assert saves == ["01-02.keras", "02-01.keras", "02-03.keras"]
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        fit(net, [keras.callbacks.ModelCheckpoint(str(tmp_path / "{nope}.h5"))], epochs=1)
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        keras.callbacks.ModelCheckpoint("x.h5", save_freq="batch")


def test_model_checkpoint_writes_loadable_weight_files(tmp_path):
    saving = pytest.importorskip("minikeras.saving")
    if not hasattr(saving, "save_weights"):
        pytest.skip("model.save_weights not available yet")
    net = model()
    path = str(tmp_path / "w.{epoch:02d}.h5")
    script = Script([0.3, 0.2])
    fit(net, [script, keras.callbacks.ModelCheckpoint(path, save_weights_only=True)], epochs=2)
    fresh = model()
    fresh.load_weights(str(tmp_path / "w.01.h5"))
    for loaded, saved in zip(fresh.get_weights(), script.weights[0]):
        np.testing.assert_array_equal(loaded, saved)


# --- learning rate ---------------------------------------------------------------------------------
def test_reduce_lr_on_plateau_after_patience_with_cooldown_and_min_lr(capsys):
    def run(values, **kwargs):
        net = model(lr=0.1)
        reduce = keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, **kwargs)
        history = fit(net, [Script(values), reduce], epochs=len(values))
        return history.history["lr"], float(net.optimizer.learning_rate.numpy())
    flat = [1.0] * 7
    lrs, final = run(flat, verbose=1)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rtol=1e-7)
    assert all(isinstance(v, np.float32) for v in lrs)
    assert final == pytest.approx(0.0125)
    assert "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.05" in capsys.readouterr().out
    lrs, _ = run(flat, cooldown=2)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], rtol=1e-7)
    lrs, final = run(flat, min_lr=0.04)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.04, 0.04], rtol=1e-7)
    assert final == pytest.approx(0.04)
    lrs, _ = run([1.0, 0.9, 0.8, 0.79995, 0.7999, 0.79985, 0.7998])   # below min_delta=1e-4
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05], rtol=1e-7)
    with pytest.raises(ValueError, match="does not support a factor >= 1.0"):
        keras.callbacks.ReduceLROnPlateau(factor=1.5)


def test_reduced_learning_rate_is_the_one_used_by_the_optimizer():
    x, y = data()
    net = model(lr=0.1)
    fit(net, [Script([1.0, 1.0]), keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1)],
        epochs=2)
    before = net.get_weights()
    grads_net = model(lr=1.0)
    grads_net.set_weights(before)
    grads_net.train_on_batch(x[:16], y[:16])
    gradient = [b - a for b, a in zip(before, grads_net.get_weights())]
    net.train_on_batch(x[:16], y[:16])
    for b, a, g in zip(before, net.get_weights(), gradient):
        np.testing.assert_allclose(b - a, 0.05 * g, rtol=1e-4, atol=1e-7)


def test_learning_rate_scheduler_new_and_old_api(capsys):
    net = model()
    scheduler = keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: lr if epoch < 10 else lr * np.exp(-0.1), verbose=1)
    history = fit(net, [scheduler], epochs=15)
    assert round(float(net.optimizer.learning_rate.numpy()), 5) == 0.00607   # tf.keras docs
    assert history.history["lr"][9] == np.float32(0.01)
    assert "Epoch 11: LearningRateScheduler setting learning rate to" in capsys.readouterr().out
    history = fit(net, [keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))],
                  epochs=3)
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.05, 0.1 / 3], rtol=1e-7)
    with pytest.raises(ValueError, match='The output of the "schedule" function should be float'):
        fit(net, [keras.callbacks.LearningRateScheduler(lambda epoch: 1)], epochs=1)


# --- logging and stopping on NaN -------------------------------------------------------------------
def read_csv(path, delimiter=","):
    with open(path, newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def test_csv_logger_writes_keras_columns(tmp_path):
    path = str(tmp_path / "log.csv")
    net = model()
    net.compile(keras.optimizers.SGD(0.01), "mse", metrics=["mae"])
    history = fit(net, [keras.callbacks.CSVLogger(path)], epochs=3, validation_split=0.25)
    rows = read_csv(path)
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2"]
    for column, key in enumerate(rows[0][1:], start=1):
        assert [float(row[column]) for row in rows[1:]] == history.history[key]
    with open(path, "rb") as handle:
        assert handle.read().count(b"\r\n") == 4          # csv.excel line endings
    fit(net, [keras.callbacks.CSVLogger(path, append=True)], epochs=1, validation_split=0.25)
    assert len(read_csv(path)) == 5 and read_csv(path)[4][0] == "0"


def test_csv_logger_without_validation_and_with_a_separator(tmp_path):
    path = str(tmp_path / "log.tsv")
    fit(model(), [keras.callbacks.CSVLogger(path, separator=";")], epochs=2)
    rows = read_csv(path, delimiter=";")
    assert rows[0] == ["epoch", "loss", "val_loss"]        # tf.keras adds the val_ columns
    assert [row[2] for row in rows[1:]] == ["NA", "NA"]


def test_terminate_on_nan_stops_at_the_bad_batch(capsys):
    x, y = data()
    y[20] = np.nan                      # second batch of 16
    net = model()
    seen = []
    history = net.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False,
                      callbacks=[keras.callbacks.TerminateOnNaN(),
                                 keras.callbacks.LambdaCallback(
                                     on_batch_end=lambda batch, logs: seen.append(batch))])
    assert seen == [0, 1] and len(history.history["loss"]) == 1
    assert np.isnan(history.history["loss"][0])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out


def test_lambda_callback_extra_hooks():
    calls = []
    callback = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("begin"),
        on_test_begin=lambda logs: calls.append("test"))
    fit(model(), [callback], epochs=1, validation_split=0.25)
    assert calls == ["begin", "test"]


# --- BackupAndRestore and the unsupported ones ---------------------------------------------------
def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path):
    class Interrupt(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 4:
                raise RuntimeError("Interrupting!")
    uninterrupted = model(momentum=0.9)
    fit(uninterrupted, [], epochs=10)
    net = model(momentum=0.9)
    backup = keras.callbacks.BackupAndRestore(backup_dir=str(tmp_path / "backup"))
    with pytest.raises(RuntimeError, match="Interrupting"):
        fit(net, [backup, Interrupt()], epochs=10)
    net = model(momentum=0.9)            # a fresh process: new weights and optimizer
    history = fit(net, [backup], epochs=10)
    assert len(history.history["loss"]) == 6 and history.epoch == [4, 5, 6, 7, 8, 9]
    for resumed, reference in zip(net.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(resumed, reference, rtol=1e-6, atol=1e-7)
    assert not os.path.exists(tmp_path / "backup" / "training_state.npz")


# tf_keras 2.21, /work/peer_recipes/adversarial/backup_batches.py: BackupAndRestore(save_freq=3)
# on 8 batches per epoch, a fit interrupted at the end of batch B of epoch 1, then resumed:
# the epochs run, the batch indices of each, the epoch losses and the final kernel.
TF_BATCH_BACKUP_RESUMES = {
    4: ({1: [4, 5, 6, 7]}, [0.73797, 0.45868, 0.11459],
        [[-0.53395, 0.10417], [-0.74677, 1.92283], [-0.79742, -0.41572], [-1.23677, -0.28474]]),
    7: ({1: [7]}, [0.50084, 0.36668, 0.13012],
        [[-0.5329, 0.11574], [-0.74761, 1.89445], [-0.75442, -0.40478], [-1.23849, -0.27163]]),
}


@pytest.mark.parametrize("interrupted_batch", sorted(TF_BATCH_BACKUP_RESUMES))
def test_backup_every_n_batches_resumes_mid_epoch_as_tf_keras(tmp_path, interrupted_batch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = x @ rng.standard_normal((4, 2)).astype("float32")
    init = [rng.standard_normal((4, 2)).astype("float32") * 0.1, np.zeros(2, "float32")]

    def fresh():
        net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        net.set_weights(init)
        net.compile(keras.optimizers.SGD(0.05, momentum=0.9), "mse")
        return net

    class Interrupt(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch == interrupted_batch:
                raise RuntimeError("interrupted")

    class Batches(Callback):
        seen = {}

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            self.seen.setdefault(self.epoch, []).append(batch)

    directory = str(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="interrupted"):
        fresh().fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0,
                    callbacks=[keras.callbacks.BackupAndRestore(directory, save_freq=3),
                               Interrupt()])
    net, batches = fresh(), Batches()
    history = net.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0,
                      callbacks=[keras.callbacks.BackupAndRestore(directory, save_freq=3),
                                 batches])
    first_epoch, losses, kernel = TF_BATCH_BACKUP_RESUMES[interrupted_batch]
    assert history.epoch == [1, 2, 3]
    assert batches.seen == {**first_epoch, 2: list(range(8)), 3: list(range(8))}
    np.testing.assert_allclose(history.history["loss"], losses, rtol=2e-4)
    np.testing.assert_allclose(net.get_weights()[0], kernel, atol=2e-4)
    assert not os.path.exists(os.path.join(directory, "training_state.npz"))


@pytest.mark.parametrize("content", [b"garbage", b"PK\x03\x04 truncated zip"])
def test_a_corrupt_backup_is_named(tmp_path, content):
    # was NumPy's "This file contains pickled (object) data..."
    (tmp_path / "training_state.npz").write_bytes(content)
    net = model(momentum=0.9)
    with pytest.raises(ValueError, match="Cannot restore the training state from .*"
                                         "training_state.npz: it is not a complete"):
        fit(net, [keras.callbacks.BackupAndRestore(str(tmp_path))], epochs=1)


def test_backup_and_restore_arguments():
    # tf_keras 2.21: ValueError "Either `save_freq` or `save_before_preemption` must be set."
    with pytest.raises(ValueError, match="Either `save_freq` or `save_before_preemption`"):
        keras.callbacks.BackupAndRestore("b", save_freq=False)
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.BackupAndRestore("b", save_freq="batch")


def test_unsupported_callbacks_say_so():
    with pytest.raises(NotImplementedError, match="write_images"):
        keras.callbacks.TensorBoard(log_dir="logs", write_images=True)
    with pytest.raises(NotImplementedError, match="options"):
        keras.callbacks.ModelCheckpoint("x.h5", options=object())


def test_experimental_backup_and_restore_is_the_callback_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match="deprecated"):
        callback = keras.callbacks.experimental.BackupAndRestore(str(tmp_path / "backup"))
    assert isinstance(callback, keras.callbacks.BackupAndRestore)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[callback])
    assert not (tmp_path / "backup").exists() or not any((tmp_path / "backup").iterdir())
