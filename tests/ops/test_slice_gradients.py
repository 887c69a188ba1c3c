"""Gradients of slices (getitem, split) are added into one array per tensor by the backward
pass (`core.tensor.SliceGradient`): the same values as dense zero arrays summed, for
disjoint, overlapping and repeated-index slices, and no array shared between two tensors'
gradients is ever written in place."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import ops
from minikeras.core.tensor import SliceGradient, Tensor, compute_gradients, recording_scope

RNG = np.random.default_rng(5)


def _gradients(build, *arrays):
    tensors = [Tensor(a.copy()) for a in arrays]
    with keras.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        loss = build(*tensors)
    return [g.numpy() for g in tape.gradient(loss, tensors)]


def _weighted_sum(t, seed):
    weights = np.random.default_rng(seed).standard_normal(t.shape).astype(np.float32)
    return ops.sum(ops.multiply(t, weights)), weights


def test_every_time_step_sliced_sums_like_the_dense_reference():
    x = RNG.standard_normal((6, 3, 4)).astype(np.float32)
    weights = []

    def build(t):
        total = None
        for step in range(6):        # a layer stepped over time reads x[step] at each step
            term, w = _weighted_sum(ops.getitem(t, step), step)
            weights.append(w)
            total = term if total is None else ops.add(total, term)
        return total
    (grad,) = _gradients(build, x)
    np.testing.assert_array_equal(grad, np.stack(weights))
    assert grad.dtype == np.float32


def test_overlapping_slices_repeated_fancy_indices_and_split_pieces():
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    terms = {}

    def build(t):
        a, wa = _weighted_sum(ops.getitem(t, (slice(0, 3),)), 1)
        b, wb = _weighted_sum(ops.getitem(t, (slice(2, 5), slice(1, 3))), 2)
        c, wc = _weighted_sum(ops.getitem(t, np.array([1, 1, 4])), 3)      # repeats
        first, second = ops.split(t, [1], axis=1)
        d, wd = _weighted_sum(second, 4)
        e, we = _weighted_sum(ops.multiply(t, 2.0), 5)                     # a dense one too
        terms.update(wa=wa, wb=wb, wc=wc, wd=wd, we=we)
        return ops.add(ops.add(ops.add(a, b), ops.add(c, d)), e)
    (grad,) = _gradients(build, x)
    expected = 2 * terms["we"].astype(np.float64)
    expected[0:3] += terms["wa"]
    expected[2:5, 1:3] += terms["wb"]
    for row, w in zip([1, 1, 4], terms["wc"]):
        expected[row] += w
    expected[:, 1:] += terms["wd"]
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("order", ["slice_first", "slice_last"])
def test_a_gradient_passed_to_two_parents_is_not_written_in_place(order):
    """`p + q` hands its (slice-accumulated) gradient to both parents unchanged; a slice of
    `p` read elsewhere must not change `q`'s gradient."""
    p, q = (RNG.standard_normal((4, 3)).astype(np.float32) for _ in range(2))

    def build(p_, q_):
        total = ops.add(p_, q_)
        pieces = [ops.sum(ops.getitem(total, (slice(0, 2),))),
                  ops.sum(ops.getitem(total, (slice(1, 4),)))]
        own = ops.sum(ops.multiply(ops.getitem(p_, 0), 10.0))
        parts = [own] + pieces if order == "slice_first" else pieces + [own]
        return ops.add(ops.add(parts[0], parts[1]), parts[2])
    grad_p, grad_q = _gradients(build, p, q)
    shared = np.ones((4, 3), np.float32)
    shared[1] += 1
    np.testing.assert_array_equal(grad_q, shared)
    expected_p = shared.copy()
    expected_p[0] += 10
    np.testing.assert_array_equal(grad_p, expected_p)


def test_a_requested_intermediate_gets_its_summed_slices():
    x = Tensor(RNG.standard_normal((3, 2)).astype(np.float32))
    x._tracked = True
    with recording_scope():
        doubled = ops.multiply(x, 2.0)
        loss = ops.add(ops.sum(ops.getitem(doubled, 0)), ops.sum(ops.getitem(doubled, 0)))
    grad_doubled, grad_x = compute_gradients(loss, [doubled, x])
    expected = np.zeros((3, 2), np.float32)
    expected[0] = 2
    np.testing.assert_array_equal(grad_doubled, expected)
    np.testing.assert_array_equal(grad_x, 2 * expected)


def test_slice_gradient_knows_basic_from_fancy_indices():
    assert SliceGradient((3,), np.float32, (slice(0, 2), 1, None, Ellipsis), None).basic
    assert SliceGradient((3,), np.float32, np.int64(2), None).basic
    assert not SliceGradient((3,), np.float32, (np.array([0, 0]),), None).basic
    assert not SliceGradient((3,), np.float32, [0, 0], None).basic
    assert not SliceGradient((3,), np.float32, True, None).basic
