"""Run in a subprocess by test_killed_saves.py and killed with SIGKILL at a random moment.

`save <path> <seed>`: saves the model with weights "new" (seed) over and over.
`checkpoint <path>`: trains with ModelCheckpoint saving to <path> after every batch.
`backup-epoch <dir>` / `backup-3 <dir>`: trains with BackupAndRestore(<dir>, save_freq), printing
the weights' checksum at each backup.
Prints "ready" once the first save is under way."""
import sys
import warnings

import numpy as np

import minikeras as keras


def model_with_seed(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.layers.Dense(64, input_shape=(32,)),
                              keras.layers.Dense(8)])
    model.compile(keras.optimizers.Adam(), "mse")
    return model


def save(model, path):
    if path.endswith(".keras") or path.split("/")[-1].startswith("m."):
        model.save(path)
    else:
        model.save_weights(path)


def weights_checksum(model):
    return repr(float(sum(np.float64(np.abs(w).sum()) for w in model.get_weights())))


def backup_data():
    x = np.random.default_rng(0).standard_normal((256, 32)).astype("float32")
    return x, x[:, :8] * 2


def train_with_backup(model, directory, save_freq, callbacks=()):
    """`fit` with BackupAndRestore; a reporter placed before it prints the weights' checksum
    at every point a backup is made, so each backup on disk was reported first."""
    counted = [0]

    def on_batch_end(batch, logs):
        counted[0] += 1
        if save_freq != "epoch" and counted[0] % save_freq == 0:
            print(f"backup {reporter.epoch} {batch} {weights_checksum(model)}", flush=True)

    def on_epoch_end(epoch, logs):
        if save_freq == "epoch":
            print(f"backup {epoch} -1 {weights_checksum(model)}", flush=True)

    def on_epoch_begin(epoch, logs):
        reporter.epoch = epoch
    reporter = keras.callbacks.LambdaCallback(on_epoch_begin=on_epoch_begin,
                                              on_epoch_end=on_epoch_end,
                                              on_train_batch_end=on_batch_end)
    x, y = backup_data()
    backup = keras.callbacks.BackupAndRestore(directory, save_freq=save_freq)
    return model.fit(x, y, batch_size=32, epochs=100000, shuffle=False, verbose=0,
                     callbacks=[reporter, backup, *callbacks])


def main(mode, path, seed="1"):
    warnings.simplefilter("ignore")
    if mode.startswith("backup"):    # backup-epoch / backup-3: BackupAndRestore's save_freq
        save_freq = mode.split("-")[1]
        print("ready", flush=True)
        train_with_backup(model_with_seed(int(seed)), path,
                          save_freq if save_freq == "epoch" else int(save_freq))
    if mode == "save":
        model = model_with_seed(int(seed))
        print("ready", flush=True)
        while True:
            save(model, path)
    x = np.random.default_rng(0).standard_normal((4096, 32)).astype("float32")
    y = x[:, :8] * 2
    model = model_with_seed(int(seed))
    weights_only = not (path.endswith(".keras") or path.split("/")[-1].startswith("m."))
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_weights_only=weights_only,
                                                 save_freq=1)
    print("ready", flush=True)
    model.fit(x, y, batch_size=8, epochs=1000, callbacks=[checkpoint], verbose=0)


if __name__ == "__main__":
    main(*sys.argv[1:])
