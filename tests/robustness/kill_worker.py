"""Run in a subprocess by test_killed_saves.py and killed with SIGKILL at a random moment.

`save <path> <seed>`: saves the model with weights "new" (seed) over and over.
`checkpoint <path>`: trains with ModelCheckpoint saving to <path> after every batch.
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


def main(mode, path, seed="1"):
    warnings.simplefilter("ignore")
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
