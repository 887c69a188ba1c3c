"""predict with two batches in flight (models/predict_pipeline.py): the same predictions bit for
bit and the same callbacks in batch order as one batch at a time, only for models safe for it."""
import threading
import time

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers as L
from minikeras.models import predict_pipeline
from minikeras.ops import parallel

needs_two_threads = pytest.mark.skipif(not predict_pipeline.usable(),
                                       reason="needs two threads and a settable BLAS")


@pytest.fixture(autouse=True)
def any_batch_size(monkeypatch):
    """These small models run in flight whatever their FLOPs a batch."""
    monkeypatch.setattr(predict_pipeline, "_MIN_BATCH_FLOPS", 0)


def _residual_net():
    inputs = keras.Input((12, 12, 3))
    x = L.Conv2D(16, 3, padding="same", use_bias=False)(inputs)
    x = L.Activation("relu")(L.BatchNormalization()(x))
    y = L.Conv2D(16, 3, padding="same")(x)
    y = L.BatchNormalization()(y)
    x = L.ReLU()(L.Add()([x, y]))
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, {"probs": L.Dense(5, activation="softmax")(x),
                                "features": L.Dense(4)(x)})


def _conv_stack():
    return keras.Sequential([
        keras.Input((10, 10, 2)), L.Conv2D(24, 3, activation="relu"), L.Dropout(0.3),
        L.DepthwiseConv2D(3, padding="same"), L.BatchNormalization(), L.ReLU(6.0),
        L.Flatten(), L.Dense(32, activation="tanh"), L.Dense(3)])


def _both_ways(model, x, **kwargs):
    """predict in flight and one batch at a time (`x` an array, or a function making a
    generator); asserts the route was taken."""
    make = x if callable(x) else (lambda: x)
    calls = []
    original = predict_pipeline.run_batches

    def spy(*args):
        calls.append(1)
        return original(*args)
    predict_pipeline.run_batches = spy
    try:
        in_flight = model.predict(make(), verbose=0, **kwargs)
    finally:
        predict_pipeline.run_batches = original
    assert calls, "the two-batch route was not taken"
    predict_pipeline.ENABLED = False
    try:
        one_at_a_time = model.predict(make(), verbose=0, **kwargs)
    finally:
        predict_pipeline.ENABLED = True
    return in_flight, one_at_a_time


@needs_two_threads
@pytest.mark.parametrize("samples", [64, 70, 81])      # even, odd with a short last batch
def test_functional_predictions_bit_identical(samples):
    model = _residual_net()
    x = np.random.default_rng(1).standard_normal((samples, 12, 12, 3)).astype("float32")
    in_flight, one = _both_ways(model, x, batch_size=16)
    assert set(in_flight) == {"probs", "features"}
    for key in one:
        assert in_flight[key].dtype == np.float32
        np.testing.assert_array_equal(in_flight[key], one[key])


@needs_two_threads
def test_sequential_predictions_bit_identical():
    model = _conv_stack()
    x = np.random.default_rng(2).standard_normal((45, 10, 10, 2)).astype("float32")
    in_flight, one = _both_ways(model, x, batch_size=8)
    np.testing.assert_array_equal(in_flight, one)
    np.testing.assert_array_equal(in_flight[:8], model(x[:8], training=False).numpy())


@needs_two_threads
def test_generator_input_of_unknown_length():
    model = _conv_stack()
    x = np.random.default_rng(3).standard_normal((37, 10, 10, 2)).astype("float32")

    def batches():
        for start in range(0, len(x), 8):
            yield x[start:start + 8]
    in_flight, one = _both_ways(model, batches)
    np.testing.assert_array_equal(in_flight, one)
    assert in_flight.shape == (37, 3)


class _Recorder(keras.callbacks.Callback):
    """Overrides no predict batch hook: the route stays open."""

    def __init__(self):
        super().__init__()
        self.events = []

    def on_predict_begin(self, logs=None):
        self.events.append("begin")

    def on_predict_end(self, logs=None):
        self.events.append("end")


class _BatchHook(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = []

    def on_predict_batch_end(self, batch, logs=None):
        self.steps.append((batch, logs["outputs"].shape[0]))


@needs_two_threads
def test_progress_bar_and_plain_callbacks_keep_the_route(capsys):
    model = _conv_stack()
    x = np.random.default_rng(4).standard_normal((40, 10, 10, 2)).astype("float32")
    recorder = _Recorder()
    calls = []
    original = predict_pipeline.run_batches
    predict_pipeline.run_batches = lambda *args: calls.append(1) or original(*args)
    try:
        model.predict(x, batch_size=8, verbose=1, callbacks=[recorder])
    finally:
        predict_pipeline.run_batches = original
    assert calls and recorder.events == ["begin", "end"]
    assert "5/5" in capsys.readouterr().out


def test_batch_hooks_and_unsafe_models_take_the_one_batch_path():
    model = _conv_stack()
    x = np.random.default_rng(5).standard_normal((40, 10, 10, 2)).astype("float32")
    hook = _BatchHook()
    callbacks = keras.callbacks.CallbackList([hook], model=model)
    assert not predict_pipeline.plain_callbacks(callbacks)
    model.predict(x, batch_size=8, verbose=0, callbacks=[hook])
    assert hook.steps == [(step, 8) for step in range(5)]


def _flagged(model):
    return predict_pipeline.in_flight_model(model, 64)


def test_which_models_may_run_two_batches():
    assert _flagged(_conv_stack())
    assert _flagged(_residual_net())
    inputs = keras.Input((10, 10, 2))
    lambda_model = keras.Model(inputs, L.Flatten()(L.Lambda(lambda t: t * 2)(
        L.Conv2D(24, 3)(inputs))))
    assert not _flagged(lambda_model)                   # any Python may run in a Lambda
    dropout_on = keras.Model(inputs, L.Dropout(0.5)(L.Conv2D(24, 3)(inputs), training=True))
    assert not _flagged(dropout_on)                     # draws random numbers at predict
    regularized = keras.Sequential([keras.Input((10, 10, 2)), L.Conv2D(
        24, 3, activity_regularizer="l2"), L.Flatten()])
    assert not _flagged(regularized)                    # adds a loss at every call
    custom_activation = keras.Sequential([keras.Input((10, 10, 2)), L.Conv2D(
        24, 3, activation=lambda t: t * 0.5), L.Flatten()])
    assert not _flagged(custom_activation)

    class Scaled(L.Layer):
        def call(self, t):
            return t * 3.0
    custom = keras.Sequential([keras.Input((10, 10, 2)), L.Conv2D(24, 3), Scaled(), L.Flatten()])
    assert not _flagged(custom)
    stateful = keras.Sequential([keras.Input((5, 3), batch_size=4), L.LSTM(
        64, stateful=True), L.Dense(200)])
    assert not _flagged(stateful)

    class MyModel(keras.Sequential):
        def call(self, inputs, training=None, mask=None):
            return super().call(inputs, training=training) * 2
    subclass = MyModel([keras.Input((10, 10, 2)), L.Conv2D(24, 3), L.Flatten()])
    assert not _flagged(subclass)
    nested = keras.Sequential([keras.Input((10, 10, 2)), _conv_stack(), L.Dense(4)])
    assert _flagged(nested)


def test_batches_of_few_flops_run_one_at_a_time(monkeypatch):
    monkeypatch.setattr(predict_pipeline, "_MIN_BATCH_FLOPS", 32e6)
    model = keras.Sequential([keras.Input((784,)), L.Dense(512), L.Dense(10)])   # 0.81 MFLOP
    assert not predict_pipeline.in_flight_model(model, 32)
    assert predict_pipeline.in_flight_model(model, 40)
    assert not predict_pipeline.in_flight_model(model, None)     # a generator: 32 assumed


class _FakeHandler:
    """DataHandler's steps / catch_stop_iteration over a known or unknown count."""

    def __init__(self, count, known=True):
        self.inferred_steps = count if known else None

    def steps(self):
        step = 0
        while self.inferred_steps is None or step < self.inferred_steps:
            yield step
            step += 1

    def catch_stop_iteration(self):
        handler = self

        class Catch:
            def __enter__(self):
                return self

            def __exit__(self, kind, value, traceback):
                if kind is StopIteration:
                    handler.inferred_steps = handler.inferred_steps or 0
                    return True
                return False
        return Catch()


def _run(count, run_batch, run_split=None, known=True, data=None):
    delivered, threads = [], set()
    data = data if data is not None else iter([np.full((4, 2), i, "float32")
                                               for i in range(count)])

    def whole(batch):
        threads.add(threading.get_ident())
        return run_batch(batch)
    with parallel.batches_in_flight():
        predict_pipeline.run_batches(
            _FakeHandler(count, known), data, whole,
            run_split or (lambda batch: ("split", int(batch[0, 0]))),
            lambda step, out: delivered.append((step, out)))
    return delivered, threads


@needs_two_threads
def test_results_delivered_in_order_from_both_threads():
    def run_batch(batch):
        index = int(batch[0, 0])
        time.sleep(0.03 if index % 3 == 0 else 0.005)     # later batches finish first
        return index
    delivered, threads = _run(10, run_batch)
    assert [step for step, _ in delivered] == list(range(10))
    assert all(out == step or out == ("split", step) for step, out in delivered)
    assert len(threads) == 2


@needs_two_threads
def test_last_batch_runs_split_when_both_threads_are_free():
    delivered, _ = _run(3, lambda batch: (time.sleep(0.2), int(batch[0, 0]))[1])
    assert delivered == [(0, 0), (1, 1), (2, ("split", 2))]


@needs_two_threads
def test_errors_of_a_batch_and_of_the_input_come_in_turn():
    def run_batch(batch):
        if int(batch[0, 0]) == 2:
            raise KeyError("batch two")
        return int(batch[0, 0])
    with pytest.raises(KeyError, match="batch two"):
        _run(6, run_batch)

    def data():
        yield np.zeros((4, 2), "float32")
        yield np.ones((4, 2), "float32")
        raise RuntimeError("input broke")
    delivered = []
    handler = _FakeHandler(5)
    with pytest.raises(RuntimeError, match="input broke"), parallel.batches_in_flight():
        predict_pipeline.run_batches(handler, data(), lambda b: int(b[0, 0]),
                                     lambda b: int(b[0, 0]),
                                     lambda step, out: delivered.append(step))
    assert delivered == [0, 1]                  # the batches before the error are handed on


@needs_two_threads
def test_batches_in_flight_sets_one_blas_thread_and_restores():
    before = parallel._BLAS[1]()
    seen = []
    with parallel.batches_in_flight():
        seen.append(parallel._BLAS[1]())
    assert seen == [1] and parallel._BLAS[1]() == before


class _TestBatchHook(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = []

    def on_test_batch_end(self, batch, logs=None):
        self.steps.append(batch)


@needs_two_threads
def test_evaluate_in_flight_gives_the_same_loss_and_metrics():
    model = _conv_stack()
    model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError(),
                  metrics=["mae", keras.metrics.RootMeanSquaredError()])
    rng = np.random.default_rng(6)
    x = rng.standard_normal((53, 10, 10, 2)).astype("float32")
    y = rng.standard_normal((53, 3)).astype("float32")
    weights = rng.random(53).astype("float32")
    calls = []
    original = predict_pipeline.run_batches
    predict_pipeline.run_batches = lambda *args: calls.append(1) or original(*args)
    try:
        in_flight = model.evaluate(x, y, sample_weight=weights, batch_size=8, verbose=0,
                                   return_dict=True)
    finally:
        predict_pipeline.run_batches = original
    assert calls, "the two-batch route was not taken"
    predict_pipeline.ENABLED = False
    try:
        one = model.evaluate(x, y, sample_weight=weights, batch_size=8, verbose=0,
                             return_dict=True)
    finally:
        predict_pipeline.ENABLED = True
    assert in_flight == one and set(one) == {"loss", "mae", "root_mean_squared_error"}


def test_evaluate_batch_hooks_take_the_one_batch_path():
    model = _conv_stack()
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((24, 10, 10, 2), "float32")
    y = np.zeros((24, 3), "float32")
    hook = _TestBatchHook()
    callbacks = keras.callbacks.CallbackList([hook], model=model)
    assert not predict_pipeline.plain_callbacks(callbacks, predict_pipeline.TEST_HOOKS)
    assert predict_pipeline.plain_callbacks(callbacks)          # its predict hooks are plain
    model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[hook])
    assert hook.steps == [0, 1, 2]

    class OwnStep(keras.Sequential):
        def test_step(self, data):
            return super().test_step(data)
    assert not predict_pipeline.own_test_step(OwnStep([keras.Input((3,)), L.Dense(2)]))
    assert predict_pipeline.own_test_step(model)
