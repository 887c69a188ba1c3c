"""compile/fit/evaluate with several outputs: per-output losses, loss weights and metrics as
lists and dicts, History names as tf.keras, all checked against NumPy closed forms."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers

RNG = np.random.default_rng(7)
N = 8
X = RNG.standard_normal((N, 3)).astype(np.float32)
Y_PROBS = np.eye(2, dtype=np.float32)[RNG.integers(0, 2, N)]
Y_VALUE = RNG.standard_normal((N, 1)).astype(np.float32)


def two_headed_model():
    """x -> Dense(4, tanh) trunk -> softmax head `probs` and linear head `value`."""
    inputs = keras.Input((3,), name="x")
    trunk = layers.Dense(4, activation="tanh", name="trunk")(inputs)
    probs = layers.Dense(2, activation="softmax", name="probs")(trunk)
    value = layers.Dense(1, name="value")(trunk)
    return keras.Model(inputs, [probs, value])


def numpy_heads(model, x):
    (wt, bt), (wp, bp), (wv, bv) = (model.get_layer(n).get_weights()
                                    for n in ("trunk", "probs", "value"))
    hidden = np.tanh(x @ wt + bt)
    logits = hidden @ wp + bp
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    return hidden, probs, hidden @ wv + bv


def numpy_losses(model, sample_weight_value=None):
    _, probs, value = numpy_heads(model, X.astype(np.float64))
    crossentropy = np.mean(-np.sum(Y_PROBS * np.log(probs), axis=1))
    squared = (value - Y_VALUE)[:, 0] ** 2
    weights = np.ones(N) if sample_weight_value is None else sample_weight_value
    mse = np.sum(squared * weights) / N
    accuracy = np.mean(np.argmax(probs, 1) == np.argmax(Y_PROBS, 1))
    mae = np.mean(np.abs(value - Y_VALUE))
    return crossentropy, mse, accuracy, mae


def test_dict_losses_weights_and_metrics_match_numpy():
    model = two_headed_model()
    model.compile("sgd", loss={"probs": "categorical_crossentropy", "value": "mse"},
                  loss_weights={"probs": 1.0, "value": 0.5},
                  metrics={"probs": "accuracy", "value": ["mae"]})
    result = model.evaluate(X, {"probs": Y_PROBS, "value": Y_VALUE}, batch_size=4, verbose=0,
                            return_dict=True)
    assert list(result) == ["loss", "probs_loss", "value_loss", "probs_accuracy", "value_mae"]
    crossentropy, mse, accuracy, mae = numpy_losses(model)
    expected = [crossentropy + 0.5 * mse, crossentropy, mse, accuracy, mae]
    np.testing.assert_allclose(list(result.values()), expected, rtol=1e-5, atol=1e-6)
    assert model.metrics_names == list(result)


def test_list_losses_and_per_output_sample_weights_match_numpy():
    model = two_headed_model()
    model.compile("sgd", loss=["categorical_crossentropy", "mse"], loss_weights=[2.0, 0.25],
                  metrics=[["accuracy"], ["mae"]])
    weights = np.linspace(0.5, 2.0, N).astype(np.float32)
    values = model.evaluate(X, [Y_PROBS, Y_VALUE], sample_weight=[None, weights], batch_size=N,
                            verbose=0)
    crossentropy, mse, accuracy, mae = numpy_losses(model, weights)
    np.testing.assert_allclose(values, [2.0 * crossentropy + 0.25 * mse, crossentropy, mse,
                                        accuracy, mae], rtol=1e-5, atol=1e-6)


def test_one_loss_and_metric_apply_to_every_output():
    model = two_headed_model()
    model.compile("sgd", loss="mse", metrics=["mae"])
    result = model.evaluate(X, [Y_PROBS, Y_VALUE], verbose=0, return_dict=True)
    assert list(result) == ["loss", "probs_loss", "value_loss", "probs_mae", "value_mae"]
    _, probs, value = numpy_heads(model, X.astype(np.float64))
    mse_probs = np.mean((probs - Y_PROBS) ** 2)
    mse_value = np.mean((value - Y_VALUE) ** 2)
    np.testing.assert_allclose(result["loss"], mse_probs + mse_value, rtol=1e-5)
    np.testing.assert_allclose(result["probs_mae"], np.mean(np.abs(probs - Y_PROBS)), rtol=1e-5)


def test_output_without_loss_is_skipped():
    model = two_headed_model()
    model.compile("sgd", loss={"probs": "categorical_crossentropy"})
    result = model.evaluate(X, {"probs": Y_PROBS}, verbose=0, return_dict=True)
    assert list(result) == ["loss", "probs_loss"]
    np.testing.assert_allclose(result["loss"], numpy_losses(model)[0], rtol=1e-5)


def test_loss_weights_scale_the_gradient_as_numpy_says():
    inputs = keras.Input((3,))
    trunk = layers.Dense(4, name="trunk")(inputs)
    model = keras.Model(inputs, [layers.Dense(2, name="a")(trunk), layers.Dense(1, name="b")(trunk)])
    model.compile(keras.optimizers.SGD(learning_rate=1.0), loss=["mse", "mse"],
                  loss_weights=[0.3, 2.0])
    (wt, bt), (wa, ba), (wb, bb) = (model.get_layer(n).get_weights() for n in ("trunk", "a", "b"))
    x = X.astype(np.float64)
    hidden = x @ wt + bt
    grad_a = 0.3 * 2 * (hidden @ wa + ba - Y_PROBS) / (N * 2)     # d loss / d output a
    grad_b = 2.0 * 2 * (hidden @ wb + bb - Y_VALUE) / (N * 1)
    grad_hidden = grad_a @ wa.T + grad_b @ wb.T
    model.train_on_batch(X, [Y_PROBS, Y_VALUE])
    np.testing.assert_allclose(model.get_layer("trunk").get_weights()[0], wt - x.T @ grad_hidden,
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.get_layer("a").get_weights()[0], wa - hidden.T @ grad_a,
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.get_layer("b").get_weights()[1], bb - grad_b.sum(0),
                               rtol=1e-4, atol=1e-6)


def test_fit_history_keys_and_validation_on_dicts():
    model = two_headed_model()
    model.compile("adam", loss={"probs": "categorical_crossentropy", "value": "mse"},
                  metrics={"probs": ["accuracy"]})
    history = model.fit({"x": X}, {"probs": Y_PROBS, "value": Y_VALUE}, batch_size=3, epochs=2,
                        validation_split=0.25, shuffle=True, verbose=0)
    assert list(history.history) == ["loss", "probs_loss", "value_loss", "probs_accuracy",
                                     "val_loss", "val_probs_loss", "val_value_loss",
                                     "val_probs_accuracy"]
    assert all(len(v) == 2 for v in history.history.values())


def test_dict_output_model_losses_keyed_by_output_dict_keys():
    inputs = keras.Input((3,))
    trunk = layers.Dense(4, activation="tanh", name="trunk")(inputs)
    model = keras.Model(inputs, {"cls": layers.Dense(2, activation="softmax", name="probs")(trunk),
                                 "reg": layers.Dense(1, name="value")(trunk)})
    model.compile("sgd", loss={"cls": "categorical_crossentropy", "reg": "mse"},
                  loss_weights={"reg": 0.5})
    result = model.evaluate(X, {"cls": Y_PROBS, "reg": Y_VALUE}, verbose=0, return_dict=True)
    # Metric names use the output layers' names (tf.keras 2.x), in flattened (key) order.
    assert list(result) == ["loss", "probs_loss", "value_loss"]
    crossentropy, mse, _, _ = numpy_losses(model)
    np.testing.assert_allclose(list(result.values()), [crossentropy + 0.5 * mse, crossentropy, mse],
                               rtol=1e-5)
    predicted = model.predict(X, verbose=0)
    assert set(predicted) == {"cls", "reg"} and predicted["reg"].shape == (N, 1)
    one = keras.Model(model.input, {"only": model.output["reg"]})
    assert list(one.predict(X, verbose=0)) == ["only"]     # a one-entry dict stays a dict


def test_weighted_metrics_names():
    model = two_headed_model()
    model.compile("sgd", loss="mse", metrics={"value": "mae"}, weighted_metrics={"value": "mae"})
    weights = np.arange(1, N + 1).astype(np.float32)
    result = model.evaluate(X, [Y_PROBS, Y_VALUE], sample_weight=[None, weights], verbose=0,
                            return_dict=True)
    assert list(result) == ["loss", "probs_loss", "value_loss", "value_mae", "value_weighted_mae"]
    _, _, value = numpy_heads(model, X.astype(np.float64))
    errors = np.abs(value - Y_VALUE)[:, 0]
    np.testing.assert_allclose(result["value_mae"], errors.mean(), rtol=1e-5)
    np.testing.assert_allclose(result["value_weighted_mae"], np.sum(errors * weights) / weights.sum(),
                               rtol=1e-5)
    single = keras.Model(model.input, model.output[1])
    single.compile("sgd", "mse", metrics=["mae"], weighted_metrics=["mae"])
    assert list(single.evaluate(X, Y_VALUE, sample_weight=weights, verbose=0,
                                return_dict=True)) == ["loss", "mae", "weighted_mae"]


def test_accuracy_is_resolved_from_shapes_as_tf_keras_2():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, [layers.Dense(3, activation="softmax", name="c")(inputs),
                                 layers.Dense(1, activation="sigmoid", name="b")(inputs),
                                 layers.Dense(3, activation="sigmoid", name="m")(inputs)])
    model.compile("sgd", loss=["sparse_categorical_crossentropy", "binary_crossentropy",
                               "binary_crossentropy"], metrics=["accuracy"])
    sparse = np.array([0, 1, 2, 1, 0, 2, 1, 1])
    binary = (RNG.random((N, 1)) > 0.5).astype(np.float32)
    multi = (RNG.random((N, 3)) > 0.5).astype(np.float32)
    result = model.evaluate(X, [sparse, binary, multi], verbose=0, return_dict=True)
    pc, pb, pm = (np.asarray(p, np.float64) for p in model.predict(X, verbose=0))
    np.testing.assert_allclose(result["c_accuracy"], np.mean(np.argmax(pc, 1) == sparse))
    np.testing.assert_allclose(result["b_accuracy"], np.mean((pb > 0.5) == binary))
    # Three sigmoid units with 0/1 labels of the same shape: categorical accuracy (argmax).
    np.testing.assert_allclose(result["m_accuracy"],
                               np.mean(np.argmax(pm, 1) == np.argmax(multi, 1)))


def test_subclassed_multi_output_names_are_output_1_output_2():
    class Heads(keras.Model):
        def __init__(self):
            super().__init__()
            self.a = layers.Dense(2)
            self.b = layers.Dense(1)

        def call(self, inputs):
            return [self.a(inputs), self.b(inputs)]

    model = Heads()
    model.compile("sgd", loss=["mse", "mae"])
    history = model.fit(X, [Y_PROBS, Y_VALUE], epochs=1, verbose=0)
    assert list(history.history) == ["loss", "output_1_loss", "output_2_loss"]


def test_masked_output_loss_counts_valid_steps_only():
    class ZeroMask(layers.Layer):
        """Test-local masking layer: time steps that are all zero are masked."""

        def call(self, inputs):
            return inputs

        def compute_output_shape(self, input_shape):
            return input_shape

        def compute_mask(self, inputs, mask=None):
            data = inputs.data if hasattr(inputs, "data") else inputs
            return np.any(np.asarray(data) != 0, axis=-1)

    inputs = keras.Input((4, 2))
    dense = layers.Dense(1)
    model = keras.Model(inputs, dense(ZeroMask()(inputs)))
    model.compile("sgd", "mse")
    x = RNG.standard_normal((3, 4, 2)).astype(np.float32)
    x[0, 2:] = 0
    x[2, 1] = 0
    y = RNG.standard_normal((3, 4, 1)).astype(np.float32)
    kernel, bias = dense.get_weights()
    squared = ((x @ kernel + bias) - y)[..., 0] ** 2
    valid = np.any(x != 0, axis=-1)
    loss = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, squared[valid].sum() / valid.sum(), rtol=1e-5)


def test_bad_loss_structures_raise():
    model = two_headed_model()
    with pytest.raises(ValueError, match="Found unexpected losses or metrics that do not "
                                         "correspond to any Model output"):
        model.compile("sgd", loss={"probs": "mse", "nope": "mse"})
    with pytest.raises(ValueError, match="The model has 2 outputs"):
        model.compile("sgd", loss=["mse"])
    model.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match="Target data is missing"):
        model.train_on_batch(X, None)


def test_metrics_names_empty_until_a_batch_went_through():
    """tf_keras 2.21: `metrics_names` is [] after compile and after predict (the ACGAN of
    Advanced-Deep-Learning-with-Keras prints it right after compile), then lists every loss
    and metric once train_on_batch / evaluate ran."""
    model = two_headed_model()
    model.compile("sgd", ["categorical_crossentropy", "mse"], metrics=["accuracy"])
    assert model.metrics_names == [] and model.metrics == []
    model.predict(X, verbose=0)
    assert model.metrics_names == []
    model.train_on_batch(X, [Y_PROBS, Y_VALUE])
    assert model.metrics_names == ["loss", "probs_loss", "value_loss",
                                   "probs_accuracy", "value_accuracy"]
