"""What the processes that test_adversarial_round5.py forks and kills run: saves of a model
over and over, a fit with BackupAndRestore, or one save killed at a chosen moment
(`kill_at`)."""
import os
import signal

import numpy as np

import minikeras as keras
from minikeras.core import durable


def model_with_seed(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.layers.Dense(64, input_shape=(32,)),
                              keras.layers.Dense(8)])
    model.compile(keras.optimizers.Adam(), "mse")
    model.train_on_batch(np.ones((2, 32), "float32"), np.ones((2, 8), "float32"))
    return model


def save_forever(model, path, kind):
    while True:
        if kind == "savedmodel":
            model.save(path)
        else:
            model.save_weights(path)


def backup_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 32)).astype("float32")
    return x, np.tanh(x[:, :8] * 2)


def train_with_backup(directory, save_freq, epochs=8):
    """8 epochs of Adam with BackupAndRestore (nothing random after the seed: shuffle off)."""
    model = model_with_seed(7)
    x, y = backup_data()
    model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(directory, save_freq=save_freq)])
    return model


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at(moment, target):
    """Make this process SIGKILL itself at `moment` of its next save of `target`:
    `after-first-rename` (just after `target` itself is renamed: the old directory moved
    aside), `after-swap` (just after the new directory took its place in one step)."""
    if moment == "after-first-rename":
        rename = os.rename

        def rename_then_die(source, destination, *args, **kwargs):
            rename(source, destination, *args, **kwargs)
            if os.path.abspath(source) == target:
                die()
        os.rename = rename_then_die
    elif moment == "after-swap":
        exchange = durable.exchange_paths

        def exchange_then_die(first, second):
            if exchange(first, second):
                die()
            return False
        durable.exchange_paths = exchange_then_die
    else:
        raise ValueError(moment)
