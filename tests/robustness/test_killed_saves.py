"""kill -9 during `save` and during ModelCheckpoint: the file on disk is always the old one or
the new one, complete (never half written), and the next save removes the killed save's
temporary file. A few trials by default; many under `--slow=all`."""
import glob
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import minikeras as keras
from kill_worker import model_with_seed, save, train_with_backup, weights_checksum

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FILES = ["w.h5", "w.weights.h5", "m.h5", "m.keras"]


def start_worker(*args):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, os.path.join(HERE, "kill_worker.py"), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    line = process.stdout.readline()
    if line.strip() != b"ready":
        process.kill()
        pytest.fail(f"worker did not start: {process.stderr.read().decode()[-2000:]}")
    return process


def kill_after(process, seconds):
    time.sleep(seconds)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()


def load_weights_of(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if os.path.basename(path).startswith("m."):
            return keras.models.load_model(path).get_weights()
        model = model_with_seed(99)
        model.load_weights(path)
        return model.get_weights()


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def leftovers(path):
    return glob.glob(os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.*.tmp"))


def kill_during_save(tmp_path, name, delay):
    path = str(tmp_path / name)
    old = model_with_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save(old, path)
    new = model_with_seed(2)
    kill_after(start_worker("save", path, "2"), delay)
    found = load_weights_of(path)
    assert same(found, old.get_weights()) or same(found, new.get_weights()), \
        "the file is neither the old nor the new model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save(old, path)
    assert leftovers(path) == []


@pytest.mark.parametrize("name", FILES)
def test_kill_during_save_leaves_old_or_new_file(tmp_path, name):
    kill_during_save(tmp_path, name, delay=0.3 + 0.1 * FILES.index(name))


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_kill_during_save_many_trials(tmp_path, name):
    for trial, delay in enumerate(np.random.default_rng(7).uniform(0.05, 1.5, 12)):
        (tmp_path / str(trial)).mkdir()
        kill_during_save(tmp_path / str(trial), name, delay)


def kill_during_checkpoint(tmp_path, name, delay):
    path = str(tmp_path / name)
    process = start_worker("checkpoint", path)
    deadline = time.time() + 60
    while not os.path.exists(path) and time.time() < deadline:   # a first checkpoint exists
        time.sleep(0.05)
    kill_after(process, delay)
    weights = load_weights_of(path)       # complete: loads without error
    assert all(np.all(np.isfinite(w)) for w in weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save(model_with_seed(3), path)
    assert leftovers(path) == []


@pytest.mark.parametrize("name", ["w.weights.h5", "m.keras"])
def test_kill_during_model_checkpoint_leaves_a_complete_file(tmp_path, name):
    kill_during_checkpoint(tmp_path, name, delay=0.4)


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_kill_during_model_checkpoint_many_trials(tmp_path, name):
    for trial, delay in enumerate(np.random.default_rng(50).uniform(0.05, 1.0, 8)):
        (tmp_path / str(trial)).mkdir()
        kill_during_checkpoint(tmp_path / str(trial), name, delay)


class _StopAtFirstBatch(keras.callbacks.Callback):
    """Records where the resumed fit starts and its weights there, then stops it."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.start = (self.epoch, batch, weights_checksum(self.model))
        self.model.stop_training = True


@pytest.mark.parametrize("save_freq", ["epoch", "3"])
def test_kill_during_backup_and_restore_resumes_at_the_last_backup(tmp_path, save_freq):
    """SIGKILL a fit mid-epoch: the next fit starts where the last backup on disk was made
    (tf.keras: the next epoch after an epoch backup; the next batch after a batch backup, the
    next epoch after the epoch's last batch) with exactly the weights backed up there."""
    directory = str(tmp_path / "backup")
    process = start_worker(f"backup-{save_freq}", directory)
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(directory, "training_state.npz")) and \
            time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    out = process.stdout.read()     # through the reader: keeps what readline() buffered
    process.stdout.close()
    process.stderr.close()
    reported = [line.split() for line in out.decode().splitlines() if line.startswith("backup")]
    steps = 256 // 32
    expected = []
    for _, epoch, batch, checksum in reported[-2:]:     # the last one may not be on disk yet
        epoch, batch = int(epoch), int(batch)
        resume = (epoch + 1, 0) if batch in (-1, steps - 1) else (epoch, batch + 1)
        expected.append(resume + (checksum,))
    probe = _StopAtFirstBatch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_with_backup(model_with_seed(5), directory,
                          save_freq if save_freq == "epoch" else int(save_freq), [probe])
    assert probe.start in expected, (probe.start, expected)
