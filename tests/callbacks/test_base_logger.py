"""BaseLogger: size-weighted epoch averages of batch logs; a no-op on fit's own logs."""
import numpy as np

import minikeras as keras


def test_weighted_average_and_stateful_metrics():
    logger = keras.callbacks.BaseLogger(stateful_metrics=["lr"])
    logger.set_params({"metrics": ["loss", "lr"]})
    logger.on_epoch_begin(0)
    logger.on_batch_end(0, {"size": 3, "loss": 1.0, "lr": 0.1})
    logger.on_batch_end(1, {"size": 1, "loss": 5.0, "lr": 0.05})
    logs = {}
    logger.on_epoch_end(0, logs)
    assert logs["loss"] == (3 * 1.0 + 1 * 5.0) / 4
    assert logs["lr"] == 0.05                     # stateful: the last value as it is


def test_fit_logs_are_left_as_fit_computed_them():
    x = np.random.default_rng(0).random((8, 3), dtype=np.float32)
    y = np.zeros((8, 1), np.float32)
    histories = []
    for callbacks in ([], [keras.callbacks.BaseLogger()]):
        model = keras.Sequential([keras.Input((3,)),
                                  keras.layers.Dense(1, kernel_initializer="ones")])
        model.compile("sgd", "mse")
        histories.append(model.fit(x, y, batch_size=2, epochs=2, verbose=0, shuffle=False,
                                   callbacks=callbacks).history["loss"])
    assert histories[0] == histories[1]
