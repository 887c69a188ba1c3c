"""compile(steps_per_execution=N): same weights as N=1, batch callbacks once per execution.

The expected callback sequences were recorded from tf_keras 2.21 (`/tmp/spe_probe.py` in the
session notes: Dense(1) on 50 samples, batch 5, steps_per_execution=3, validation_split=0.2):
train steps 0-7 give begin 0/3/6 and end 2/5/7; evaluate over 10 steps ends 2, 5, 8, 9;
predict's batch-end outputs hold the 15 samples of the execution's three batches.
"""
import numpy as np
import pytest

import minikeras as keras


class _Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_batch_begin(self, batch, logs=None):
        self.events.append(("train_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("train_end", batch))

    def on_test_batch_end(self, batch, logs=None):
        self.events.append(("test_end", batch))

    def on_predict_batch_end(self, batch, logs=None):
        self.events.append(("predict_end", batch, np.asarray(logs["outputs"]).shape[0]))


def _data():
    rng = np.random.default_rng(0)
    return rng.random((50, 4), dtype=np.float32), rng.random((50, 1), dtype=np.float32)


def _model(steps_per_execution):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(4,))])
    model.compile("sgd", "mse", steps_per_execution=steps_per_execution)
    return model


def test_batch_callbacks_run_once_per_execution_as_tf_keras():
    x, y = _data()
    recorder = _Recorder()
    _model(3).fit(x, y, batch_size=5, epochs=1, verbose=0, validation_split=0.2,
                  callbacks=[recorder])
    assert recorder.events == [("train_begin", 0), ("train_end", 2), ("train_begin", 3),
                               ("train_end", 5), ("train_begin", 6), ("train_end", 7),
                               ("test_end", 1)]


def test_evaluate_and_predict_callbacks_per_execution():
    x, y = _data()
    model = _model(3)
    recorder = _Recorder()
    model.evaluate(x, y, batch_size=5, verbose=0, callbacks=[recorder])
    predictions = model.predict(x, batch_size=5, verbose=0, callbacks=[recorder])
    assert recorder.events == [("test_end", 2), ("test_end", 5), ("test_end", 8),
                               ("test_end", 9), ("predict_end", 2, 15), ("predict_end", 5, 15),
                               ("predict_end", 8, 15), ("predict_end", 9, 5)]
    assert predictions.shape == (50, 1)


def test_training_gives_the_same_weights_as_one_step_per_execution():
    x, y = _data()
    one, three = _model(1), _model(3)
    history_one = one.fit(x, y, batch_size=5, epochs=2, verbose=0, shuffle=False)
    history_three = three.fit(x, y, batch_size=5, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(one.get_weights(), three.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history_one.history["loss"] == history_three.history["loss"]


def test_a_generator_that_runs_out_inside_an_execution_still_ends_it():
    x, y = _data()

    def batches():
        for start in range(0, 35, 5):   # 7 batches: executions 0-2, 3-5, 6
            yield x[start:start + 5], y[start:start + 5]

    recorder = _Recorder()
    _model(3).fit(batches(), epochs=1, verbose=0, callbacks=[recorder])
    ends = [event[1] for event in recorder.events if event[0] == "train_end"]
    assert ends == [2, 5, 6]


@pytest.mark.parametrize("value, error", [(-1, ValueError), ("foo", TypeError),
                                          (2.5, TypeError)])
def test_bad_steps_per_execution_is_refused(value, error):
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(4,))])
    with pytest.raises(error, match="steps_per_execution"):
        model.compile("sgd", "mse", steps_per_execution=value)


@pytest.mark.parametrize("value", [None, 0, "auto", 1])
def test_auto_zero_and_none_mean_one_step(value):
    model = _model(value)
    x, y = _data()
    recorder = _Recorder()
    model.fit(x[:10], y[:10], batch_size=5, verbose=0, callbacks=[recorder])
    assert [event for event in recorder.events if event[0] == "train_end"] == [
        ("train_end", 0), ("train_end", 1)]
