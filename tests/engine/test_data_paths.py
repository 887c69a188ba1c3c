"""fit/evaluate/predict data paths: arrays, generators, Sequences, sample/class weights,
validation_split / validation_freq, partial epochs, running out of data."""
import logging
import math

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.models.data_adapters import DataHandler, unpack


def regression_data(n=72, features=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = (x @ rng.standard_normal((features, 1)) + 0.1).astype(np.float32)
    return x, y


def classification_data(n=72, features=6, classes=3, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = rng.integers(0, classes, n)
    return x, y


def mlp(inputs=5, outputs=1, activation=None):
    keras.utils.set_random_seed(7)
    return keras.Sequential([layers.Dense(8, activation="tanh", input_shape=(inputs,)),
                             layers.Dense(outputs, activation=activation)])


class ArraySequence(keras.utils.Sequence):
    """Batches of arrays; counts `on_epoch_end` calls."""

    def __init__(self, x, y, batch_size, sample_weight=None):
        self.x, self.y, self.sw, self.batch_size = x, y, sample_weight, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        if self.sw is None:
            return self.x[part], self.y[part]
        return self.x[part], self.y[part], self.sw[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


def batch_generator(x, y, batch_size, sample_weight=None, repeat=True, as_list=False):
    while True:
        for start in range(0, len(x), batch_size):
            part = slice(start, start + batch_size)
            batch = (x[part], y[part]) if sample_weight is None else \
                (x[part], y[part], sample_weight[part])
            yield list(batch) if as_list else batch
        if not repeat:
            return


def train(data_kwargs, epochs=3, **fit_kwargs):
    model = mlp()
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "mse")
    history = model.fit(epochs=epochs, verbose=0, shuffle=False, **data_kwargs, **fit_kwargs)
    return model.get_weights(), history.history


# --- generators and Sequences feed the same batches as arrays ---------------------------------
def test_generator_and_sequence_give_the_same_weights_as_arrays():
    x, y = regression_data()
    sw = np.linspace(0.5, 1.5, len(x)).astype(np.float32)
    reference, ref_history = train(dict(x=x, y=y, sample_weight=sw, batch_size=16))
    from_generator, gen_history = train(dict(x=batch_generator(x, y, 16, sw)), steps_per_epoch=5)
    sequence = ArraySequence(x, y, 16, sw)
    from_sequence, seq_history = train(dict(x=sequence))
    for got in (from_generator, from_sequence):
        for w_ref, w in zip(reference, got):
            np.testing.assert_allclose(w, w_ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gen_history["loss"], ref_history["loss"], rtol=1e-6)
    np.testing.assert_allclose(seq_history["loss"], ref_history["loss"], rtol=1e-6)
    assert sequence.epochs_ended == 3


def test_generator_yielding_lists_and_float64_is_standardized():
    x, y = regression_data()
    reference, _ = train(dict(x=x, y=y, batch_size=24), epochs=1)
    gen = batch_generator(x.astype(np.float64), y.astype(np.float64), 24, as_list=True)
    got, _ = train(dict(x=gen), epochs=1, steps_per_epoch=3)
    for w_ref, w in zip(reference, got):
        np.testing.assert_allclose(w, w_ref, rtol=1e-6, atol=1e-7)
        assert w.dtype == np.float32


def test_finite_generator_infers_steps_then_runs_out_of_data(caplog):
    x, y = regression_data()
    one_epoch, _ = train(dict(x=x, y=y, batch_size=16), epochs=1)
    seen = []
    counter = keras.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: seen.append(batch))
    with caplog.at_level(logging.WARNING, logger="minikeras"):
        weights, history = train(dict(x=batch_generator(x, y, 16, repeat=False)), epochs=4,
                                 callbacks=[counter])
    assert "Your input ran out of data; interrupting training" in caplog.text
    assert "at least `steps_per_epoch * epochs` batches (in this case, 20 batches)" in caplog.text
    assert seen == [0, 1, 2, 3, 4]                 # one full epoch, then nothing left
    assert len(history["loss"]) == 2              # tf.keras still closes the empty epoch
    for w_ref, w in zip(one_epoch, weights):
        np.testing.assert_array_equal(w, w_ref)


def test_sequence_shuffle_reorders_batches_and_steps_per_epoch_restarts():
    x, y = regression_data()
    sequence = ArraySequence(x, y, 16)
    used = []

    class Spy(ArraySequence):
        def __getitem__(self, index):
            used.append(index)
            return super().__getitem__(index)
    spy = Spy(x, y, 16)
    model = mlp()
    model.compile("sgd", "mse")
    model.fit(spy, epochs=2, steps_per_epoch=2, shuffle=False, verbose=0)
    assert used == [0, 0, 1, 0, 1]                 # a peek at batch 0, then batches 0, 1 twice
    assert spy.epochs_ended == 2
    used.clear()
    keras.utils.set_random_seed(3)
    model.fit(spy, epochs=2, shuffle=True, verbose=0)
    first, second = used[1:6], used[6:]
    assert sorted(first) == sorted(second) == [0, 1, 2, 3, 4]
    assert first != [0, 1, 2, 3, 4] or second != [0, 1, 2, 3, 4]
    assert len(sequence) == 5


def test_generator_and_sequence_reject_y_and_sample_weight():
    x, y = regression_data()
    model = mlp()
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="`y` argument is not supported when using python "
                                         "generator as input."):
        model.fit(batch_generator(x, y, 8), y, verbose=0)
    with pytest.raises(ValueError, match="`sample_weight` argument is not supported when using "
                                         "`keras.utils.Sequence` as input."):
        model.fit(ArraySequence(x, y, 8), sample_weight=np.ones(len(x)), verbose=0)
    with pytest.raises(ValueError, match="`validation_split` is only supported for Tensors or "
                                         "NumPy arrays"):
        model.fit(ArraySequence(x, y, 8), validation_split=0.2, verbose=0)


def test_evaluate_and_predict_on_generators_and_sequences():
    x, y = regression_data()
    model = mlp()
    model.compile("sgd", "mse")
    expected_loss = model.evaluate(x, y, batch_size=16, verbose=0)
    assert model.evaluate(ArraySequence(x, y, 16), verbose=0) == pytest.approx(expected_loss,
                                                                             rel=1e-6)
    assert model.evaluate(batch_generator(x, y, 16), steps=5, verbose=0) == \
        pytest.approx(expected_loss, rel=1e-6)
    predicted = model.predict(x, verbose=0)
    x_only = (x[i:i + 10] for i in range(0, len(x), 10))
    # Batches of another size sum in another order: float32 outputs of order 1 differ by ~1e-7.
    np.testing.assert_allclose(model.predict(x_only, verbose=0), predicted, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.predict(ArraySequence(x, y, 16), verbose=0), predicted,
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.predict(x, batch_size=7, steps=2, verbose=0), predicted[:14],
                               rtol=1e-6, atol=1e-6)


def test_validation_data_as_generator_and_sequence():
    x, y = regression_data()
    xv, yv = regression_data(24, seed=5)
    _, reference = train(dict(x=x, y=y, batch_size=16), validation_data=(xv, yv))
    _, from_sequence = train(dict(x=x, y=y, batch_size=16),
                             validation_data=ArraySequence(xv, yv, 8))
    _, from_generator = train(dict(x=x, y=y, batch_size=16),
                              validation_data=batch_generator(xv, yv, 8), validation_steps=3)
    for history in (from_sequence, from_generator):
        np.testing.assert_allclose(history["val_loss"], reference["val_loss"], rtol=1e-6)


# --- sample_weight and class_weight vs closed forms -------------------------------------------
def linear_model(features):
    keras.utils.set_random_seed(11)
    return keras.Sequential([layers.Dense(1, input_shape=(features,))])


def weighted_mse_and_gradient(x, y, kernel, bias, weights):
    """tf.keras' reduction: sum(w * squared error) / batch size (not / sum of weights)."""
    error = x @ kernel + bias - y
    n = len(x)
    loss = np.sum(weights[:, None] * error ** 2) / n
    grad_kernel = 2.0 / n * x.T @ (weights[:, None] * error)
    grad_bias = 2.0 / n * np.sum(weights[:, None] * error, axis=0)
    return loss, grad_kernel, grad_bias


def test_sample_weight_loss_and_step_match_the_closed_form():
    x, y = regression_data(20)
    sw = np.linspace(0.0, 2.0, 20).astype(np.float32)
    model = linear_model(5)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    kernel, bias = (w.astype(np.float64) for w in model.get_weights())
    loss, g_kernel, g_bias = weighted_mse_and_gradient(x, y, kernel, bias, sw)
    history = model.fit(x, y, sample_weight=sw, batch_size=20, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], loss, rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], kernel - 0.1 * g_kernel, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], bias - 0.1 * g_bias, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("label_format", ["sparse", "column", "onehot"])
def test_class_weight_matches_the_closed_form(label_format):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((30, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 30)
    class_weight = {0: 0.5, 1: 2.0, 2: 1.25}
    y = {"sparse": labels, "column": labels[:, None].astype(np.float32),
         "onehot": keras.utils.to_categorical(labels, 3)}[label_format]
    loss_name = "categorical_crossentropy" if label_format == "onehot" else \
        "sparse_categorical_crossentropy"
    keras.utils.set_random_seed(2)
    model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(keras.optimizers.SGD(0.0), loss_name)   # lr 0: the loss of fixed weights
    kernel, bias = (w.astype(np.float64) for w in model.get_weights())
    logits = x @ kernel + bias
    log_probs = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    nll = -log_probs[np.arange(30), labels]
    weights = np.array([class_weight[c] for c in labels])
    sample_weight = np.linspace(1.0, 2.0, 30).astype(np.float32)
    # batches of 16 and 14: the epoch loss is the size-weighted mean of the batch losses
    batch_losses = [np.sum((weights * sample_weight * nll)[s]) / len(nll[s])
                    for s in (slice(0, 16), slice(16, 30))]
    expected = (16 * batch_losses[0] + 14 * batch_losses[1]) / 30
    history = model.fit(x, y, class_weight=class_weight, sample_weight=sample_weight,
                        batch_size=16, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)


def test_class_weight_applies_to_generator_batches_and_checks_keys():
    x, y = classification_data(30)
    class_weight = {0: 0.5, 1: 2.0, 2: 1.25}

    def run(**data):
        keras.utils.set_random_seed(2)
        model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(6,))])
        model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        model.fit(epochs=2, verbose=0, shuffle=False, class_weight=class_weight, **data)
        return model.get_weights()
    reference = run(x=x, y=y, batch_size=10)
    for w_ref, w in zip(reference, run(x=batch_generator(x, y, 10), steps_per_epoch=3)):
        np.testing.assert_allclose(w, w_ref, rtol=1e-6, atol=1e-7)
    model = mlp(6, 3, "softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="Expected `class_weight` to be a dict with keys from 0 "
                                         "to one less than the number of classes"):
        model.fit(x, y, class_weight={1: 1.0, 2: 3.0}, verbose=0)


# --- validation ----------------------------------------------------------------------------------
def test_validation_split_takes_the_last_samples_before_shuffling():
    x, y = regression_data(40)
    model = mlp()
    model.compile(keras.optimizers.SGD(0.01), "mse")
    val_losses = []
    check = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: val_losses.append(
            (logs["val_loss"], model.evaluate(x[30:], y[30:], batch_size=64, verbose=0))))
    model.fit(x, y, validation_split=0.25, epochs=3, shuffle=True, verbose=0, callbacks=[check])
    for reported, expected in val_losses:
        assert reported == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="Training data contains 40 samples, which is not "
                                         "sufficient to split it"):
        model.fit(x, y, validation_split=0.99, verbose=0)


def test_validation_freq_int_and_list():
    x, y = regression_data(32)
    xv, yv = regression_data(8, seed=3)
    _, history = train(dict(x=x, y=y), epochs=4, validation_data=(xv, yv), validation_freq=2)
    assert len(history["loss"]) == 4 and len(history["val_loss"]) == 2
    epochs_with_val = []
    spy = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: "val_loss" in logs and epochs_with_val.append(epoch))
    train(dict(x=x, y=y), epochs=4, validation_data=(xv, yv), validation_freq=[1, 4],
          callbacks=[spy])
    assert epochs_with_val == [0, 3]
    with pytest.raises(ValueError, match="Expected `validation_freq` to be a list or int"):
        train(dict(x=x, y=y), validation_data=(xv, yv), validation_freq="2")


# --- array batching ------------------------------------------------------------------------------
def batches_seen(handler):
    seen = []
    for epoch, iterator in handler.enumerate_epochs():
        with handler.catch_stop_iteration():
            for _ in handler.steps():
                seen.append((epoch, unpack(next(iterator))[0][:, 0].tolist()))
    return seen


def test_partial_epochs_continue_through_the_data_as_tf_keras():
    x = np.arange(10, dtype=np.float32)[:, None]
    handler = DataHandler(x, batch_size=2, steps_per_epoch=2, epochs=3)
    assert batches_seen(handler) == [(0, [0, 1]), (0, [2, 3]), (1, [4, 5]), (1, [6, 7]),
                                     (2, [8, 9]), (2, [0, 1])]
    # without batch_size, steps_per_epoch sets it: ceil(10 / 3) = 4
    assert DataHandler(x, steps_per_epoch=3).batch_size == 4


def test_shuffle_true_and_batch():
    x = np.arange(12)[:, None]
    keras.utils.set_random_seed(1)
    shuffled = [b for _, b in batches_seen(DataHandler(x, batch_size=4, epochs=2, shuffle=True))]
    assert sorted(sum(shuffled[:3], [])) == list(range(12))
    assert shuffled[:3] != [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    keras.utils.set_random_seed(1)
    chunks = [b for _, b in batches_seen(DataHandler(x, batch_size=4, epochs=3, shuffle="batch"))]
    for chunk in chunks:   # 'batch' keeps each batch's samples together
        assert sorted(chunk) == list(range(min(chunk), min(chunk) + 4)) and min(chunk) % 4 == 0


def test_dict_and_list_inputs():
    a = layers.Input((3,), name="a")
    b = layers.Input((2,), name="b")
    concatenate = layers.Lambda(lambda pair: keras.ops.concatenate(pair, axis=-1))
    out = layers.Dense(1)(concatenate([a, b]))
    model = keras.Model([a, b], out)
    model.compile(keras.optimizers.SGD(0.0), "mse")
    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((12, 3)), rng.standard_normal((12, 2))
    y = rng.standard_normal((12, 1))
    as_list = model.fit([xa, xb], y, batch_size=5, verbose=0, shuffle=False).history["loss"]
    as_dict = model.fit({"a": xa, "b": xb}, y, batch_size=5, verbose=0,
                        shuffle=False).history["loss"]
    assert as_list == pytest.approx(as_dict, rel=1e-6)
    assert model.predict([xa, xb], verbose=0).dtype == np.float32


def test_bad_arguments_are_reported_in_keras_words():
    x, y = regression_data(10)
    model = mlp()
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="Data cardinality is ambiguous"):
        model.fit(x, y[:8], verbose=0)
    with pytest.raises(ValueError, match="Expected batch_size to be positive"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch must be positive, None or -1"):
        model.fit(x, y, steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match="Expected input data to be non-empty"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match="Data is expected to be in format"):
        model.fit(iter([(x, y, y, y)]), verbose=0)
    with pytest.raises(ValueError, match="Failed to find data adapter that can handle input"):
        model.fit(None, y, verbose=0)
    with pytest.raises(ValueError, match="Failed to find data adapter that can handle input"):
        model.predict({"a": object()}, verbose=0)


def test_evaluate_returns_metrics_in_order():
    x, y = regression_data(16)
    model = mlp()
    model.compile("sgd", "mse", metrics=["mae", "mse"])
    values = model.evaluate(x, y, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "mae", "mse"]
    assert values == [logs["loss"], logs["mae"], logs["mse"]]
