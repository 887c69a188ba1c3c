"""Second differential sweep: for every case of fixtures/diff_sweep2/layer_grad_cases.py,
minikeras given tf.keras' inputs and random weights must give tf.keras 2.21's forward outputs
(training False and True), gradients of sum(output * r) for every float input and trainable
weight, and the weights after a training call (moving statistics)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module
from minikeras.core.tensor import Tensor

HERE = os.path.join(FIXTURES, "diff_sweep2")
cases_module = load_fixture_module("sweep2_layer_cases", "diff_sweep2", "layer_grad_cases.py")
packed = load_fixture_module("sweep2_packed_arrays", "diff_sweep2", "packed_arrays.py")
with open(os.path.join(HERE, "layer_grads.json")) as f:
    FACTS = json.load(f)
ARRAYS = packed.Unpacked(os.path.join(HERE, "layer_grads.npz"))
CASES = [c for c in cases_module.CASES if "error" not in FACTS[c[0]]]
FORWARD_RTOL, GRAD_RTOL = 1e-5, 1e-4


def make_inner(spec):
    """An inner layer "Class:units[:seq][:back][:state]", a cell, or "STACK" of two cells."""
    parts = spec.split(":")
    if parts[0] == "BatchNormalization":
        return keras.layers.BatchNormalization()
    if parts[0] == "STACK":
        return [keras.layers.LSTMCell(3), keras.layers.GRUCell(2)]
    flags = {"seq": "return_sequences", "back": "go_backwards", "state": "return_state"}
    kwargs = {flags[p]: True for p in parts if p in flags}
    args = [int(p) for p in parts[1:] if p not in flags]
    return getattr(keras.layers, parts[0])(*args, **kwargs)


def build(cls, args, kwargs):
    wrapper = cls in ("Bidirectional", "TimeDistributed", "RNN")
    args = [make_inner(a) if wrapper and isinstance(a, str) else a for a in args]
    kwargs = {k: make_inner(v) if isinstance(v, str) and ":" in v else v
              for k, v in kwargs.items()}
    return getattr(keras.layers, cls)(*args, **kwargs)


def call_kwargs(case_id, facts):
    out = {}
    for name, count in facts["call"]:
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            out[name] = [Tensor(ARRAYS[f"{case_id}__c_{name}_{j}"]) for j in range(count)]
        elif count == -1:
            out[name] = Tensor(ARRAYS[f"{case_id}__c_{name}"])
        else:
            out[name] = count
    return out


def invoke(layer, cls, xs, kwargs, training):
    if cls == "MultiHeadAttention":
        return layer(*xs, training=training, **kwargs)
    return layer(xs if len(xs) > 1 else xs[0], training=training, **kwargs)


def recorded(key, same_as):
    """The recorder skips an array equal to an earlier one (training == inference)."""
    return ARRAYS[key] if key in ARRAYS else ARRAYS[same_as]


def strided_last_axis(array):
    """`array`'s values in a view whose last axis is not contiguous."""
    if array.ndim < 2:
        return array
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(array, -1, 0)), 0, -1)


def flat(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def assert_close(got, expected, rtol, what, family_scale=0.0):
    """|got - expected| within rtol of the array's scale; `family_scale` (the largest of the
    case's gradients) bounds the round-off of a gradient that is zero in exact arithmetic
    (e.g. a MultiHeadAttention key bias); an array of zeros is compared at 1e-2 of unit scale
    (Eigen's float32 tanh is exactly 1 from |x| = 7.9053 on, numpy's only from ~9: where tf's
    tanh gradient is 0, ours can be ~1e-7)."""
    got = np.asarray(got)
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    atol = rtol * max(scale, 1e-2) + 1e-6 * family_scale + 1e-7
    np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                               atol=atol, rtol=0, err_msg=what)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_forward_and_gradients_match_tf_keras(case):
    case_id, cls, args, kwargs, shape, _, _, modes = case
    facts = FACTS[case_id]
    xs = [Tensor(ARRAYS[f"{case_id}__x{k}"]) for k in range(facts["n_inputs"])]
    layer = build(cls, args, kwargs)
    invoke(layer, cls, xs, call_kwargs(case_id, facts), False)
    assert len(layer.weights) == len(facts["weight_names"]), [w.name for w in layer.weights]
    layer.set_weights([ARRAYS[f"{case_id}__w{k}"] for k in range(len(layer.weights))])
    ys = flat(invoke(layer, cls, xs, call_kwargs(case_id, facts), False))
    assert len(ys) == facts["n_outputs"]
    for k, y in enumerate(ys):
        assert_close(y, ARRAYS[f"{case_id}__yi{k}"], FORWARD_RTOL, f"inference output {k}")
    # the same values in other memory layouts (what a Permute or a transpose hands on)
    for layout in (strided_last_axis, np.asfortranarray):
        ys = flat(invoke(layer, cls, [Tensor(layout(x.data)) for x in xs],
                         call_kwargs(case_id, facts), False))
        for k, y in enumerate(ys):
            assert_close(y, ARRAYS[f"{case_id}__yi{k}"], FORWARD_RTOL,
                         f"inference output {k}, input layout {layout.__name__}")
    if not facts["grads"]:
        return
    rs = [ARRAYS[f"{case_id}__r{k}"] for k in range(len(ys))]
    trainable = [w for w, t in zip(layer.weights, facts["trainable"]) if t]
    assert len(trainable) == len(layer.trainable_weights)
    for tag, training in (("i", False), ("t", True)):
        calls = call_kwargs(case_id, facts)
        states = calls.get("initial_state", [])
        float_xs = [x for x in xs if x.dtype.kind == "f"]
        sources = float_xs + list(states) + list(layer.trainable_weights)
        # tf's sources were every input (integer ones get None), the states, the weights
        tf_index = [k for k, x in enumerate(xs) if x.dtype.kind == "f"] + \
            list(range(len(xs), len(xs) + len(states) + len(layer.trainable_weights)))
        with keras.GradientTape() as tape:
            tape.watch(float_xs + list(states))
            ys = flat(invoke(layer, cls, xs, calls, training))
            loss = sum(keras.ops.sum(y * r) for y, r in zip(ys, rs))
        grads = tape.gradient(loss, sources)
        for k, y in enumerate(ys):
            assert_close(y, recorded(f"{case_id}__y{tag}{k}", f"{case_id}__yi{k}"), FORWARD_RTOL, f"{tag} output {k}")
        present = facts[f"grads_{tag}"]
        assert len(present) == len(tf_index) + len(xs) - len(float_xs)
        expected = [recorded(f"{case_id}__g{tag}{k}", f"{case_id}__gi{k}") if present[k]
                    else None for k in tf_index]
        family_scale = max([float(np.abs(e).max()) for e in expected
                            if e is not None and e.size] + [0.0])
        for k, g, e in zip(tf_index, grads, expected):
            if e is None:
                assert g is None or not np.any(np.asarray(g)), f"{tag} grad {k}: tf has none"
                continue
            assert g is not None, f"{tag} gradient {k} is None, tf.keras has one"
            assert_close(g, e, GRAD_RTOL, f"{tag} gradient {k}", family_scale)
    for k, w in enumerate(layer.weights):
        assert_close(w.numpy(), recorded(f"{case_id}__after{k}", f"{case_id}__w{k}"), GRAD_RTOL, f"weight {k} after")
