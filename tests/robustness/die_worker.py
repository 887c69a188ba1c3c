"""Run in a subprocess by test_interrupted_writes.py: the process dies (os._exit, as under
kill -9: no cleanup runs) at a chosen point in the middle of writing a file.

`save <path>`: saves a model ("old", seed 1), then dies while saving another over it.
`checkpoint <dir>`: ModelCheckpoint('w.{epoch:02d}.h5') dies while writing epoch 2's file.
`backup <dir>`: BackupAndRestore(save_freq=2) dies while writing its third backup."""
import os
import sys
import warnings

import numpy as np

import minikeras as keras

DIE_AT_WRITE = {"save": 1, "checkpoint": 2, "backup": 3}


def model_with_seed(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


def data():
    x = np.random.default_rng(0).standard_normal((16, 4)).astype("float32")
    return x, x[:, :2] * 2


def save(model, path):
    """A whole model for `.keras` and `m.*` names, the weights otherwise."""
    path = str(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.endswith(".keras") or os.path.basename(path).startswith("m."):
            model.save(path)
        else:
            model.save_weights(path)


def die_during_write(nth):
    """From the `nth` file on, the process dies once the temporary file has some bytes."""
    from minikeras.core import durable
    create = durable.create_temporary_file
    count = [0]

    def create_then_die_later(directory, target_name):
        path = create(directory, target_name)
        count[0] += 1
        if count[0] >= nth:
            with open(path, "wb") as handle:
                handle.write(b"partial")
            os._exit(17)
        return path
    from minikeras.callbacks import backup_and_restore
    from minikeras.saving import file_io
    for module in (durable, file_io, backup_and_restore):
        module.create_temporary_file = create_then_die_later


def main(mode, where):
    warnings.simplefilter("ignore")
    x, y = data()
    if mode == "save":
        save(model_with_seed(1), where)
        die_during_write(DIE_AT_WRITE[mode])
        save(model_with_seed(2), where)
    elif mode == "checkpoint":
        die_during_write(DIE_AT_WRITE[mode])
        checkpoint = keras.callbacks.ModelCheckpoint(os.path.join(where, "w.{epoch:02d}.h5"),
                                                     save_weights_only=True)
        model_with_seed(1).fit(x, y, batch_size=4, epochs=5, verbose=0, shuffle=False,
                               callbacks=[checkpoint])
    elif mode == "backup":
        die_during_write(DIE_AT_WRITE[mode])
        backup = keras.callbacks.BackupAndRestore(where, save_freq=2)
        model_with_seed(1).fit(x, y, batch_size=4, epochs=3, verbose=0, shuffle=False,
                               callbacks=[backup])
    sys.exit("the worker should have died")


if __name__ == "__main__":
    main(*sys.argv[1:])
