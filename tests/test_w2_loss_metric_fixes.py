"""tf.keras 2.21 fidelity fixes (wave 2): sparse labels with extra size-1 axes, metric functions
returning Tensors, RandomUniform with minval > maxval, Softmax's axis type, list class_weight.
Expected values are closed forms (NumPy) or constants read off tf_keras 2.21 as noted."""
import numpy as np
import pytest

import minikeras as keras


def _probs():
    rng = np.random.RandomState(0)
    probs = rng.rand(4, 3).astype("float32")
    return probs / probs.sum(-1, keepdims=True), np.array([0, 2, 1, 2])


def _reference(probs, labels):
    return -np.log(probs[np.arange(len(labels)), labels])


@pytest.mark.parametrize("shape", [(4, 1, 1), (4, 1, 1, 1), (1, 4), (2, 2)])
def test_sparse_crossentropy_flattens_labels_unless_ranks_differ_by_one(shape):
    # tf_keras 2.21 flattens the labels and reads the output as (-1, C): all these give the
    # per-sample losses of the (4,) labels
    probs, labels = _probs()
    expected = _reference(probs, labels)
    got = keras.losses.sparse_categorical_crossentropy(labels.reshape(shape), probs)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5)
    loss = keras.losses.SparseCategoricalCrossentropy()(labels.reshape(shape), probs)
    np.testing.assert_allclose(float(loss), expected.mean(), rtol=1e-5)
    metric = keras.metrics.SparseCategoricalCrossentropy()
    metric.update_state(labels.reshape(shape), probs)
    np.testing.assert_allclose(float(metric.result()), expected.mean(), rtol=1e-5)


@pytest.mark.parametrize("extra", [(), (1,), (1, 1)])
@pytest.mark.parametrize("from_logits", [True, False])
def test_sparse_crossentropy_on_sequences_keeps_the_time_axis(extra, from_logits):
    rng = np.random.RandomState(1)
    logits = rng.randn(2, 3, 4).astype("float32")
    labels = rng.randint(0, 4, (2, 3))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    y_pred = logits if from_logits else np.exp(log_probs).astype("float32")
    got = keras.losses.sparse_categorical_crossentropy(labels.reshape(labels.shape + extra),
                                                       y_pred, from_logits=from_logits)
    assert np.asarray(got).shape == (2, 3)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("extra", [(1,), (1, 1)])
def test_sparse_crossentropy_reads_softmax_logits_with_extra_label_axes(extra):
    # the `_keras_logits` path: a softmax output carries its logits
    rng = np.random.RandomState(2)
    logits = rng.randn(2, 3, 4).astype("float32")
    labels = rng.randint(0, 4, (2, 3))
    probs = keras.activations.softmax(keras.ops.convert_to_tensor(logits))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    got = keras.losses.sparse_categorical_crossentropy(labels.reshape(labels.shape + extra), probs)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-5)


def test_fit_accepts_labels_with_extra_unit_axes():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.RandomState(3).rand(8, 2).astype("float32")
    labels = np.arange(8) % 3
    flat = model.evaluate(x, labels, verbose=0)
    assert model.evaluate(x, labels.reshape(8, 1, 1), verbose=0) == pytest.approx(flat, rel=1e-6)
    model.fit(x, labels.reshape(8, 1, 1, 1), verbose=0)


def test_mismatched_sparse_labels_name_the_flattened_shape():
    # tf_keras 2.21: "... Received: labels.shape=(16,) and logits.shape=(8, 3)" for (8, 2) labels
    with pytest.raises(ValueError, match=r"Received: labels.shape=\(16,\) and "
                                         r"logits.shape=\(8, 3\)"):
        keras.losses.sparse_categorical_crossentropy(np.zeros((8, 2)),
                                                     np.full((8, 3), 1 / 3, "float32"))


_Y_TRUE = np.array([[0, 1, 0], [1, 0, 0]], "float32")
_Y_PRED = np.array([[.1, .8, .1], [.3, .4, .3]], "float32")


@pytest.mark.parametrize("name, sparse, expected", [
    # closed forms of the two rows above
    ("binary_accuracy", False, [1, 2 / 3]),
    ("categorical_accuracy", False, [1, 0]),
    ("sparse_categorical_accuracy", True, [1, 0]),
    ("top_k_categorical_accuracy", False, [1, 1]),
    ("sparse_top_k_categorical_accuracy", True, [1, 1]),
    ("mse", False, [0.06 / 3, 0.74 / 3]),
    ("mae", False, [0.4 / 3, 1.4 / 3]),
    ("sparse_categorical_crossentropy", True, [-np.log(.8), -np.log(.3)]),
])
def test_metric_functions_return_float32_tensors(name, sparse, expected):
    # tf_keras 2.21 returns float32 EagerTensors (with .numpy()) for these
    y_true = np.array([1, 0]) if sparse else _Y_TRUE
    result = getattr(keras.metrics, name)(y_true, _Y_PRED)
    assert isinstance(result, keras.ops.convert_to_tensor(0.0).__class__)
    assert result.numpy().dtype == np.float32
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-5)


def test_binary_accuracy_of_integers_is_a_float32_tensor():
    # tf_keras 2.21: binary_accuracy([1, 0], [1, 1]) -> float32 EagerTensor 0.5
    result = keras.metrics.binary_accuracy(np.array([1, 0]), np.array([1, 1]))
    assert result.numpy().dtype == np.float32 and float(result.numpy()) == 0.5


def test_mse_metric_keeps_float64_as_tf_does():
    # tf_keras 2.21: metrics.mse of float64 predictions is float64
    assert keras.metrics.mse(np.array([1, 0]), np.array([1., 1.])).numpy().dtype == np.float64


def test_masked_metric_function_still_counts_only_valid_entries():
    metric = keras.metrics.SparseCategoricalCrossentropy(ignore_class=0)
    metric.update_state(np.array([1, 0]), _Y_PRED)
    np.testing.assert_allclose(float(metric.result()), -np.log(.8), rtol=1e-5)


def test_random_uniform_accepts_maxval_below_minval():
    # tf draws minval + u * (maxval - minval): minval=1, maxval=0 gives values in (0, 1]
    values = np.asarray(keras.initializers.RandomUniform(minval=1, maxval=0, seed=1)((500,)))
    assert values.dtype == np.float32
    assert 0 <= values.min() and values.max() <= 1 and values.std() > 0.2


def test_random_uniform_keeps_its_stream_for_ordinary_bounds():
    # the seeded float32 draw is tf's stateless uniform (fid-dls: core/philox.py) scaled as
    # tf scales it, u * (maxval - minval) + minval
    from minikeras.core import philox
    values = np.asarray(keras.initializers.RandomUniform(-2, 3, seed=4)((6,)))
    unit = philox.stateless_uniform((6,), (4, 0))
    np.testing.assert_array_equal(values, unit * np.float32(5) + np.float32(-2))


def test_softmax_with_a_string_axis_fails_when_called():
    # tf_keras 2.21 builds the layer, then its call raises InvalidArgumentError (our ValueError)
    # "Value for attr 'Tidx' of string is not in the list of allowed values: int32, int64"
    layer = keras.layers.Softmax(axis="a")
    assert layer.axis == "a"
    with pytest.raises(ValueError, match="Value for attr 'Tidx' of string is not in the list "
                                         "of allowed values: int32, int64"):
        layer(np.ones((2, 3), "float32"))


def test_class_weight_as_a_list_of_numbers_uses_tf_keras_words():
    # tf_keras 2.21: AttributeError "'list' object has no attribute 'keys'"
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(AttributeError, match="'list' object has no attribute 'keys'"):
        model.fit(np.ones((4, 2), "float32"), np.array([0, 1, 0, 1]), class_weight=[1.0, 2.0],
                  verbose=0)
