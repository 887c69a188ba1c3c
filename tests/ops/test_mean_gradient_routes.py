"""The mean-of-losses op's gradient filled in (small losses) or broadcast (large ones), and
the crossentropy's gradient on the last axis: the same bits either way (perf-mlp6)."""
import numpy as np
import pytest

from minikeras.core.tensor import Tensor, Variable, compute_gradients, recording_scope
from minikeras.ops import nn


def crossentropy_gradients(logits_shape, axis, seed=0):
    rng = np.random.default_rng(seed)
    logits = Variable(rng.standard_normal(logits_shape).astype(np.float32))
    labels = rng.dirichlet(np.ones(logits_shape[axis]), int(np.prod(logits_shape)) //
                           logits_shape[axis]).astype(np.float32)
    labels = np.moveaxis(labels.reshape(tuple(np.delete(logits_shape, axis)) +
                                        (logits_shape[axis],)), -1, axis)
    with recording_scope():
        per_sample = nn.softmax_cross_entropy(Tensor(labels), logits, axis=axis)
        loss = nn._mean_of_losses(per_sample.data, per_sample._parents, per_sample._backward)
    (gradient,) = compute_gradients(loss, [logits])
    return loss.data, gradient


@pytest.mark.parametrize("shape, axis", [((12, 5), -1), ((3, 4, 6), 2), ((3, 6, 4), 1)])
def test_filled_and_broadcast_mean_gradients_agree(monkeypatch, shape, axis):
    loss, filled = crossentropy_gradients(shape, axis)
    monkeypatch.setattr(nn, "_FILLED_MEAN_GRADIENT", 0)         # always broadcast
    loss_b, broadcast = crossentropy_gradients(shape, axis)
    assert loss.dtype == filled.dtype == np.float32
    assert np.array_equal(loss, loss_b) and np.array_equal(filled, broadcast)


def test_mean_gradient_is_one_over_the_count():
    rng = np.random.default_rng(1)
    values = Variable(rng.standard_normal((7, 3)).astype(np.float32))
    with recording_scope():
        mean = nn._mean_of_losses(values)
    (gradient,) = compute_gradients(mean, [values])
    assert gradient.shape == (7, 3) and gradient.dtype == np.float32
    assert np.array_equal(gradient, np.full((7, 3), np.float32(1) / np.float32(21)))
