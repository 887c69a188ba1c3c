"""Sequential models and the compile/fit/evaluate/predict loop."""
import re

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers


def toy_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x[:, :3].sum(axis=1) > 0).astype(np.int64) + (x[:, 3] > 1)
    return x, y


def mlp(**dense_kwargs):
    return keras.Sequential([
        layers.Dense(16, activation="relu", input_shape=(6,), **dense_kwargs),
        layers.Dropout(0.1),
        layers.Dense(3, activation="softmax"),
    ])


def test_sequential_add_pop_get_layer_and_deferred_build():
    model = keras.Sequential()
    model.add(layers.Dense(4))
    model.add(layers.Dense(2))
    assert not model.built
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    model.build((None, 3))
    assert model.output_shape == (None, 2)
    assert model.get_layer(index=1) is model.layers[1]
    assert model.get_layer("dense").name == "dense"
    popped = model.pop()
    assert popped.name == "dense_1" and model.output_shape == (None, 4)
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("nope")
    with pytest.raises(TypeError, match="must be an instance of class Layer"):
        model.add("dense")


def test_deferred_model_builds_on_fit():
    model = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = toy_data()
    model.fit(x, y, epochs=1, verbose=0)
    # 96 samples in full batches of 32: tf.keras builds with (32, 6) (None once batches differ)
    assert model.built and model.layers[0].input_shape == (32, 6)


def test_history_keys_and_accuracy_resolution():
    x, y = toy_data()
    model = mlp()
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, keras.utils.to_categorical(y, 3), epochs=3, batch_size=16,
                        validation_split=0.25, verbose=0)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 3 for v in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    sparse = mlp()
    sparse.compile("adam", "sparse_categorical_crossentropy", metrics=["acc", "mse"])
    logs = sparse.fit(x, y, epochs=1, verbose=0).history
    assert list(logs) == ["loss", "acc", "mse"]


def test_evaluate_matches_manual_computation():
    x, y = toy_data()
    y_cat = keras.utils.to_categorical(y, 3)
    model = mlp()
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(x, y_cat, batch_size=20, verbose=0)
    probs = model.predict(x, verbose=0)
    expected_loss = np.mean(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1)))
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    np.testing.assert_allclose(accuracy, np.mean(probs.argmax(1) == y), rtol=1e-6)
    single = keras.Sequential([layers.Dense(1, input_shape=(6,))])
    single.compile("sgd", "mse")
    assert isinstance(single.evaluate(x, y.astype(np.float32), verbose=0), float)


def test_on_batch_methods():
    x, y = toy_data(32)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, acc = model.train_on_batch(x, y)
    assert np.isfinite(loss) and 0 <= acc <= 1
    logs = model.test_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    np.testing.assert_allclose(model.predict_on_batch(x), model.predict(x, verbose=0), rtol=1e-6)


def test_sample_weight_and_class_weight_weight_the_loss():
    x, y = toy_data(40)
    model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(6,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    per_sample = keras.losses.sparse_categorical_crossentropy(y, model.predict(x, verbose=0)).numpy()
    weights = np.linspace(0, 2, 40).astype(np.float32)
    loss = model.evaluate(x, y, sample_weight=weights, batch_size=40, verbose=0)
    np.testing.assert_allclose(loss, np.sum(per_sample * weights) / 40, rtol=1e-5)
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0}
    sgd_step = model.train_on_batch(x, y, class_weight=class_weight)
    expected = np.sum(per_sample * np.array([class_weight[c] for c in y])) / 40
    np.testing.assert_allclose(sgd_step, expected, rtol=1e-5)


def test_regularization_losses_are_added_to_the_reported_loss():
    x, y = toy_data(32)
    model = keras.Sequential([layers.Dense(3, input_shape=(6,), kernel_regularizer=keras.regularizers.l2(0.1))])
    model.compile("sgd", "mse")
    y3 = keras.utils.to_categorical(y, 3)
    data = np.mean((model.predict(x, verbose=0) - y3) ** 2)
    penalty = 0.1 * np.sum(model.layers[0].kernel.numpy() ** 2)
    np.testing.assert_allclose(model.evaluate(x, y3, batch_size=32, verbose=0), data + penalty, rtol=1e-5)


def test_progress_bar_formats(capsys):
    x, y = toy_data(48)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=2, verbose=1)
    out = capsys.readouterr().out.split("\n")   # redraws are "\b...\r" within a line
    assert out[0] == "Epoch 1/2"
    assert re.fullmatch(r"3/3 \[=+\] - \d+s \d+(ms|us|s)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}",
                        out[1].split("\r")[-1].rstrip()), out[1]
    model.fit(x, y, batch_size=16, epochs=1, verbose=2)
    lines = capsys.readouterr().out.split("\n")[:-1]
    assert len(lines) == 1, lines          # tf.keras prints "Epoch i/n" only when epochs > 1
    line = lines[0]
    assert re.fullmatch(r"3/3 - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4} - \d+ms/epoch - "
                        r"\d+(ms|us|s)/step", line), line
    model.evaluate(x, y, verbose=1)
    assert re.fullmatch(r"2/2 \[=+\] - \d+s \d+(ms|us|s)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}",
                        capsys.readouterr().out.split("\n")[-2].split("\r")[-1].rstrip())


def test_fit_is_reproducible_with_set_random_seed():
    x, y = toy_data()

    def run():
        keras.backend.clear_session()
        keras.utils.set_random_seed(42)
        model = mlp()
        model.compile("adam", "sparse_categorical_crossentropy")
        return model.fit(x, y, epochs=2, verbose=0).history["loss"]
    assert run() == run()


def test_compile_required_and_bad_arguments():
    model = mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(*toy_data(), verbose=0)
    with pytest.raises(ValueError, match="Unknown loss function"):
        model.compile("adam", "not_a_loss")
    with pytest.raises(ValueError, match="Unknown optimizer: .adamz."):
        model.compile("adamz", "mse")


def test_variable_api():
    v = keras.Variable(np.zeros(3, np.float32), name="v")
    v.assign([1, 2, 3])
    v.assign_add(np.ones(3))
    v.assign_sub(np.ones(3) * 0.5)
    np.testing.assert_allclose(v.numpy(), [1.5, 2.5, 3.5])
    assert v.name == "v:0" and v.trainable and v.dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        v.assign(np.zeros(4))


def test_demo_reaches_95_percent_on_digits():
    # Its speed is the benchmarks' business, never a time asserted here.
    from minikeras import demo
    accuracy = demo.main(verbose=0)
    assert accuracy >= 0.95


def test_fit_names_the_causes_of_empty_logs_that_apply_to_minikeras():
    class NoLogs(keras.Sequential):
        def train_step(self, data):
            return None

    model = NoLogs([layers.Dense(1, input_shape=(2,))])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"Unexpected result of `train_function` \(Empty logs\)\. "
                                         r".*a custom `train_step` that returned None") as info:
        model.fit(np.ones((4, 2), np.float32), np.ones((4, 1), np.float32), verbose=0)
    assert "tf." not in str(info.value)
