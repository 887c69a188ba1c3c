"""What a fit decides once and its steps reuse (perf-mlp6): the model's layer walk and
trainable weights, whether the batch hooks can do anything, the compiled loss of one output
without its structure handling, the optimizer's scratch views and Adam's fixed constants.
Each keeps the numbers of the path it replaces."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.callbacks import CallbackList
from minikeras.models import compile_utils
from minikeras.core.tensor import Tensor

L = keras.layers


class AddsLossAndMetric(L.Layer):
    """A layer adding a loss and a metric in `call` (read from the layer at every step)."""

    def call(self, inputs):
        self.add_loss(0.01 * keras.ops.mean(keras.ops.square(inputs)))
        self.add_metric(keras.ops.mean(inputs), name="added_mean")
        return inputs


def regularized_model(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape=(6,)),
        L.Dense(5, activation="relu", kernel_regularizer=keras.regularizers.l2(0.05),
                bias_regularizer=keras.regularizers.l1(0.01),
                activity_regularizer=keras.regularizers.l2(0.02)),
        AddsLossAndMetric(),
        L.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.l1_l2(0.01, 0.02)),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="categorical_crossentropy")
    return model


def data(samples=24):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((samples, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, samples)]
    return x, y


def test_fit_gives_the_weights_of_train_on_batch_with_every_kind_of_loss():
    """The fit's walked structure (losses layer by layer, trainable weights) against
    `train_on_batch`, which reads the model afresh at every step: the same bits."""
    x, y = data()
    fitted, stepped = regularized_model(1), regularized_model(1)
    history = fitted.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for _ in range(2):
        for start in range(0, len(x), 8):
            stepped.train_on_batch(x[start:start + 8], y[start:start + 8])
    for ours, reference in zip(fitted.get_weights(), stepped.get_weights()):
        assert np.array_equal(ours, reference)
    assert "added_mean" in history.history      # the layer's add_metric, read every step


def test_a_trainable_flag_changed_during_fit_takes_effect_at_the_next_compile():
    """tf.keras traces its train function once: a layer frozen by a callback keeps training
    until the model is compiled again (checked against tf_keras 2.21: its kernel changes in
    the epochs after the callback, and in a later fit without a compile)."""
    x, y = data()
    model = regularized_model(2)
    kernels = []

    class Freeze(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            kernels.append(model.layers[0].kernel.numpy())
            if epoch == 0:
                model.layers[0].trainable = False

    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[Freeze()])
    assert not np.array_equal(kernels[0], kernels[1])
    assert not np.array_equal(kernels[1], kernels[2])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    before = model.layers[0].kernel.numpy()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.array_equal(before, model.layers[0].kernel.numpy())


@pytest.fixture
def counted_batch_hooks(monkeypatch):
    calls = {"begin": 0, "end": 0}
    begin, end = CallbackList.on_train_batch_begin, CallbackList.on_train_batch_end

    def counted_begin(self, batch, logs=None):
        calls["begin"] += 1
        begin(self, batch, logs)

    def counted_end(self, batch, logs=None):
        calls["end"] += 1
        end(self, batch, logs)
    monkeypatch.setattr(CallbackList, "on_train_batch_begin", counted_begin)
    monkeypatch.setattr(CallbackList, "on_train_batch_end", counted_end)
    return calls


class LegacyBatchEnd(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_batch_end(self, batch, logs=None):       # Keras 1's name of on_train_batch_end
        self.batches.append((batch, logs["loss"]))


def test_batch_hooks_nobody_reads_are_not_called(counted_batch_hooks):
    x, y = data()
    regularized_model(4).fit(x, y, batch_size=8, epochs=2, verbose=0,
                             callbacks=[keras.callbacks.EarlyStopping(monitor="loss")])
    assert counted_batch_hooks == {"begin": 0, "end": 0}


@pytest.mark.parametrize("how", ["legacy_method", "lambda", "attribute", "progbar", "begin"])
def test_batch_hooks_a_callback_reads_are_called(counted_batch_hooks, how):
    """A callback implementing one batch hook has them all called at every batch."""
    x, y = data()
    seen = []
    if how == "legacy_method":
        callback = LegacyBatchEnd()
        seen = callback.batches
    elif how == "lambda":
        callback = keras.callbacks.LambdaCallback(
            on_batch_end=lambda batch, logs: seen.append((batch, logs["loss"])))
    elif how == "attribute":
        callback = keras.callbacks.Callback()
        callback.on_train_batch_end = lambda batch, logs=None: seen.append((batch, logs["loss"]))
    elif how == "begin":
        callback = keras.callbacks.LambdaCallback(
            on_batch_begin=lambda batch, logs: seen.append((batch, None)))
    else:
        callback = keras.callbacks.ProgbarLogger(count_mode="steps")
    regularized_model(5).fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    assert counted_batch_hooks == {"begin": 6, "end": 6}       # both, as tf.keras
    if how != "progbar":
        assert [batch for batch, _ in seen] == [0, 1, 2] * 2


@pytest.mark.parametrize("weights", ["none", "per_sample", "per_sample_column"])
def test_one_output_loss_without_structure_handling_matches_the_general_path(weights):
    """`[y]` (a one-element list: the general path) against `y` itself (the shortcut)."""
    rng = np.random.default_rng(6)
    y_true = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 10)]
    y_pred = Tensor(rng.dirichlet(np.ones(4), 10).astype(np.float32))
    sample_weight = {"none": None, "per_sample": rng.random(10).astype(np.float32),
                     "per_sample_column": rng.random((10, 1)).astype(np.float32)}[weights]
    results = []
    for target in (y_true, [y_true]):
        container = compile_utils.LossesContainer("categorical_crossentropy", None, None)
        container(target, y_pred, sample_weight)      # builds
        value = container(target, y_pred, sample_weight)
        results.append((value.numpy(), container.loss_metric.result().numpy()))
    assert results[0][0].dtype == np.float32
    assert np.array_equal(results[0][0], results[1][0])
    assert np.array_equal(results[0][1], results[1][1])


def test_optimizer_scratch_views_are_kept_until_the_buffers_grow():
    optimizer = keras.optimizers.Adam()
    small = keras.Variable(np.ones((3, 4), np.float32))
    large = keras.Variable(np.ones((50,), np.float32))
    optimizer.build([small, large])
    first = optimizer._scratch_for(small, 2)
    assert optimizer._scratch_for(small, 2) is first
    assert all(view.shape == (3, 4) for view in first)
    optimizer._scratch_for(large, 2)                  # larger: new shared buffers
    again = optimizer._scratch_for(small, 2)
    assert again is not first
    assert all(np.shares_memory(view, buffer)
               for view, buffer in zip(again, optimizer._scratch[np.dtype(np.float32)]))
    one = optimizer._scratch_for(small, 1)
    assert len(one) == 1 and one[0].shape == (3, 4)


def test_adam_constants_follow_a_changed_beta():
    variable = keras.Variable(np.ones(4, np.float32))
    optimizer = keras.optimizers.Adam(beta_1=0.9)
    optimizer.apply_gradients([(np.full(4, 0.5, np.float32), variable)])
    assert optimizer._constants[0] == np.float32(1 - 0.9)
    optimizer.beta_1 = 0.5
    optimizer.apply_gradients([(np.full(4, 0.5, np.float32), variable)])
    assert optimizer._constants[0] == np.float32(0.5)
    reference = keras.optimizers.Adam(beta_1=0.5)
    reference._step_lr = reference._lr32()
    reference._iterations.assign(optimizer._iterations.numpy() - 1)
    reference._prepare_step()
    assert reference._constants == optimizer._constants


def test_step_logs_nobody_reads_are_made_at_the_epochs_end_only():
    """A fit whose callbacks read no batch's logs takes the metrics' results at each epoch's
    end: the same history and weights as a fit whose callback reads every batch's logs."""
    x, y = data(28)                      # 4 batches of 8, the last one short
    histories, weights, batch_logs = [], [], []
    for reads_batches in (False, True):
        model = regularized_model(7)
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        callbacks = [keras.callbacks.LambdaCallback(
            on_batch_end=lambda batch, logs: batch_logs.append(dict(logs)))] \
            if reads_batches else []
        histories.append(model.fit(x, y, batch_size=8, epochs=3, verbose=0,
                                   callbacks=callbacks).history)
        weights.append(model.get_weights())
    assert histories[0] == histories[1]
    assert set(histories[0]) == {"loss", "accuracy", "added_mean"}
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
    assert len(batch_logs) == 12 and all(type(v) is float for v in batch_logs[0].values())


def test_train_on_batch_inside_a_fit_gets_its_logs():
    x, y = data()
    model = regularized_model(8)
    seen = []

    class StepsAside(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(model.train_on_batch(x[:8], y[:8], return_dict=True))

    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[StepsAside()])
    assert [sorted(logs) for logs in seen] == [["added_mean", "loss"]] * 2
