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
