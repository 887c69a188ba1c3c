"""The compiled loss's fast route (perf-mlp2): a softmax activation lends its maxima, sums and
output to the crossentropy on its logits, an unweighted mean-reduced loss is one op (merged into
the crossentropy's op), and the loss trackers update scalars directly. Each gives the bits of
the general route (separate ops, shape handling), checked here against that route and against
NumPy closed forms."""
import gc
import weakref

import numpy as np
import pytest

import minikeras as keras
from minikeras import activations, losses, ops
from minikeras.core.tensor import Tensor, Variable, compute_gradients, recording_scope
from minikeras.metrics import base as metrics_base
from minikeras.models import compile_utils


def _data(rows=37, classes=7, seed=0):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((rows, classes)) * 3).astype(np.float32)
    labels = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, rows)]
    return logits, labels


def _unfused_mean_crossentropy(labels, logits_variable):
    """The general route: the per-sample op alone (no softmax lent), then a sum and a division."""
    with recording_scope():
        per_sample = ops.nn.softmax_cross_entropy(labels, logits_variable)
        total = ops.sum(per_sample)
        loss = ops.divide(total, np.asarray(per_sample.data.size, np.float32))
    return loss, compute_gradients(loss, [logits_variable])[0]


def test_compiled_crossentropy_on_softmax_matches_separate_ops_bit_for_bit():
    logits, labels = _data()
    variable = Variable(logits)
    container = compile_utils.LossesContainer("categorical_crossentropy", None, ["out"])
    with recording_scope():
        loss = container(labels, activations.softmax(variable * np.float32(1)))
    gradient = compute_gradients(loss, [variable])[0]
    reference_loss, reference_gradient = _unfused_mean_crossentropy(labels, Variable(logits))
    assert np.asarray(loss.data).dtype == np.float32
    assert np.asarray(loss.data).tobytes() == np.asarray(reference_loss.data).tobytes()
    assert gradient.tobytes() == reference_gradient.tobytes()


def test_fused_crossentropy_mean_against_closed_form():
    logits, labels = _data(rows=64, classes=10, seed=1)
    variable = Variable(logits)
    with recording_scope():
        probabilities = activations.softmax(variable * np.float32(1))
        loss = losses.CategoricalCrossentropy()(labels, probabilities)
    gradient = compute_gradients(loss, [variable])[0]
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(float(loss.data), -(labels * log_softmax).sum(1).mean(), rtol=1e-6)
    np.testing.assert_allclose(gradient, (np.exp(log_softmax) - labels) / len(labels),
                               rtol=1e-5, atol=1e-8)


def test_fused_mean_gives_the_label_gradient_too():
    logits, labels = _data(rows=9, classes=4, seed=2)
    tracked_labels = Variable(labels)
    with recording_scope():
        probabilities = activations.softmax(Variable(logits) * np.float32(1))
        loss = losses.categorical_crossentropy(tracked_labels, probabilities)
        loss = losses.compute_weighted_loss(loss)
    gradient = compute_gradients(loss, [tracked_labels])[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(gradient, -log_softmax / len(labels), rtol=1e-5, atol=1e-7)


def test_softmax_parts_are_lent_only_for_the_same_logits_and_axis():
    logits, labels = _data(rows=5, classes=6, seed=3)
    other = logits[::-1].copy()
    with recording_scope():
        probabilities = ops.nn.softmax(Variable(logits) * np.float32(1))
        lent = ops.nn.softmax_cross_entropy(labels, Tensor(other), softmax=probabilities)
        same_values_other_array = ops.nn.softmax_cross_entropy(
            labels, Tensor(logits.copy()), softmax=probabilities)
        expected = ops.nn.softmax_cross_entropy(labels, Tensor(other))
    assert lent.data.tobytes() == expected.data.tobytes()
    # a copy of the logits is not the softmax's input: computed afresh, the same values
    assert same_values_other_array.data.tobytes() == \
        ops.nn.softmax_cross_entropy(labels, Tensor(logits)).data.tobytes()
    by_columns = ops.nn.softmax(Tensor(logits), axis=0)
    assert ops.nn._softmax_parts_of(by_columns, Tensor(logits), logits, -1) is None


def test_a_variable_assigned_after_its_softmax_gives_the_loss_of_its_new_values():
    logits, labels = _data(rows=4, classes=3, seed=9)
    variable = Variable(logits)
    with recording_scope():
        probabilities = activations.softmax(variable)
        variable.assign(logits * 2)
        loss = losses.categorical_crossentropy(labels, probabilities)
    expected = ops.nn.softmax_cross_entropy(labels, Tensor(logits * 2))
    assert loss.data.tobytes() == expected.data.tobytes()


@pytest.mark.parametrize("loss_name", ["mse", "mae", "binary_crossentropy", "huber"])
def test_mean_of_other_losses_is_the_sum_then_division(loss_name):
    rng = np.random.default_rng(4)
    predictions = rng.random((11, 3), dtype=np.float32)
    targets = rng.random((11, 3), dtype=np.float32).round()
    variable = Variable(predictions)
    function = losses.get(loss_name)
    with recording_scope():
        loss = losses.compute_weighted_loss(function(targets, variable))
    gradient = compute_gradients(loss, [variable])[0]
    reference_variable = Variable(predictions)
    with recording_scope():
        per_sample = function(targets, reference_variable)
        reference = ops.divide(ops.sum(per_sample), np.asarray(per_sample.data.size, np.float32))
    reference_gradient = compute_gradients(reference, [reference_variable])[0]
    assert np.asarray(loss.data).tobytes() == np.asarray(reference.data).tobytes()
    assert gradient.tobytes() == reference_gradient.tobytes()


def test_weighted_or_summed_losses_keep_the_general_route():
    rng = np.random.default_rng(5)
    per_sample = Tensor(rng.random(8, dtype=np.float32))
    weights = rng.random(8, dtype=np.float32)
    weighted = losses.compute_weighted_loss(per_sample, weights)
    np.testing.assert_allclose(float(weighted.data), (per_sample.data * weights).sum() / 8,
                               rtol=1e-6)
    summed = losses.compute_weighted_loss(per_sample, reduction=losses.Reduction.SUM)
    np.testing.assert_allclose(float(summed.data), per_sample.data.sum(), rtol=1e-6)


def test_scalar_mean_update_matches_the_general_route():
    values = [2.302612543106079, 1.5, 0.3333333432674408, 7.25]
    batches = [128, 128, 32, 5]
    scalar, general = keras.metrics.Mean(), keras.metrics.Mean()
    for value, batch in zip(values, batches):
        scalar.update_state(value, sample_weight=batch)
        general.update_state(np.array([value], np.float32), sample_weight=np.array([batch]))
    assert scalar.total.data.tobytes() == general.total.data.tobytes()
    assert scalar.count.data.tobytes() == general.count.data.tobytes()
    assert np.asarray(scalar.result()).tobytes() == np.asarray(general.result()).tobytes()
    total = keras.metrics.Sum()
    total.update_state(1.25, sample_weight=4)
    assert float(total.result()) == 5.0


def test_scalar_divide_no_nan():
    assert float(metrics_base.divide_no_nan(np.float32(3), np.float32(0))) == 0.0
    quotient = metrics_base.divide_no_nan(np.asarray(1, np.float32), np.asarray(3, np.float32))
    assert quotient.dtype == np.float32 and quotient.ndim == 0
    assert quotient.tobytes() == (np.float32(1) / np.float32(3)).tobytes()
    integers = metrics_base.divide_no_nan(np.asarray(3), np.asarray(0))
    assert integers.dtype == np.float64 and float(integers) == 0.0


def test_fused_loss_frees_its_arrays_without_the_garbage_collector():
    """No reference cycle through the ops' backward functions: a step's arrays go as soon as
    the loss does (large softmax outputs would otherwise wait for a collection)."""
    logits, labels = _data(rows=6, classes=5, seed=6)
    collecting = gc.isenabled()
    gc.disable()
    try:
        with recording_scope():
            probabilities = activations.softmax(Variable(logits) * np.float32(1))
            per_sample = losses.categorical_crossentropy(labels, probabilities)
            watched = [weakref.ref(probabilities._backward), weakref.ref(per_sample._backward)]
            loss = losses.compute_weighted_loss(per_sample)
        del probabilities, per_sample, loss
        assert all(reference() is None for reference in watched)
    finally:
        if collecting:
            gc.enable()


def test_compiled_sparse_crossentropy_on_softmax_matches_separate_ops_bit_for_bit():
    logits, labels = _data(rows=29, classes=6, seed=7)
    classes = labels.argmax(axis=1)
    variable = Variable(logits)
    container = compile_utils.LossesContainer("sparse_categorical_crossentropy", None, ["out"])
    with recording_scope():
        loss = container(classes, activations.softmax(variable * np.float32(1)))
    gradient = compute_gradients(loss, [variable])[0]
    reference_variable = Variable(logits)
    with recording_scope():
        per_sample = ops.nn.sparse_softmax_cross_entropy(classes, reference_variable)
        reference = ops.divide(ops.sum(per_sample), np.asarray(per_sample.data.size, np.float32))
    reference_gradient = compute_gradients(reference, [reference_variable])[0]
    assert np.asarray(loss.data).tobytes() == np.asarray(reference.data).tobytes()
    assert gradient.tobytes() == reference_gradient.tobytes()
    shifted = logits - logits.max(axis=1, keepdims=True)
    softmax = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(gradient, (softmax - labels) / len(labels), rtol=1e-5, atol=1e-8)


def test_sparse_crossentropy_over_another_axis_computes_afresh():
    rng = np.random.default_rng(8)
    logits = rng.standard_normal((3, 4, 5)).astype(np.float32)
    classes = rng.integers(0, 4, (3, 5))
    with recording_scope():
        probabilities = activations.softmax(Variable(logits) * np.float32(1), axis=1)
        loss = losses.sparse_categorical_crossentropy(classes, probabilities, axis=1)
    moved = np.moveaxis(logits, 1, -1)
    log_softmax = moved - moved.max(-1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_softmax, classes[..., None], -1)[..., 0]
    np.testing.assert_allclose(loss.data, expected, rtol=1e-5, atol=1e-6)
