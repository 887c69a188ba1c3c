"""Tensor, Variable and GradientTape semantics (as TensorFlow's)."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import ops
from minikeras.core.tensor import (Tensor, Variable, GradientTape, is_recording,
                                      recording_scope, stop_recording, unbroadcast)
from minikeras.ops import convert_to_tensor


def _np(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _var(value, **kw):
    return Variable(np.asarray(value, np.float32), **kw)


# ---------------------------------------------------------------------------------------
# Tensor and Variable basics
# ---------------------------------------------------------------------------------------
def test_tensor_from_python_values_is_floatx():
    assert Tensor(1.5).dtype == np.float32
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(np.float64(1.0)).dtype == np.float64   # NumPy values keep their dtype
    assert Tensor([1, 2]).dtype.kind == "i"
    t = Tensor(np.ones((2, 3), np.float32))
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert np.asarray(t).dtype == np.float32
    assert float(Tensor(np.float32(2.5))) == 2.5
    assert [r.shape for r in t] == [(3,), (3,)]


def test_tensor_operators():
    a = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    b = np.array([0.5, -1.0], np.float32)
    for got, expected in [(a + b, a.data + b), (b + a, a.data + b), (a - b, a.data - b),
                          (b - a, b - a.data), (a * 2, a.data * 2), (2 * a, a.data * 2),
                          (a / 2, a.data / 2), (1 / a, 1 / a.data), (a ** 2, a.data ** 2),
                          (2 ** a, 2 ** a.data), (-a, -a.data), (abs(-a), a.data),
                          (a @ a, a.data @ a.data), (a.T, a.data.T), (a[0], a.data[0]),
                          (a[:, 1:], a.data[:, 1:]), (a // 2, a.data // 2), (a % 2, a.data % 2)]:
        assert isinstance(got, Tensor)
        assert got.dtype == np.float32
        np.testing.assert_allclose(_np(got), expected)
    np.testing.assert_array_equal(_np(a > 2), a.data > 2)
    np.testing.assert_array_equal(_np(a <= 2), a.data <= 2)
    np.testing.assert_array_equal(_np((a > 1) & (a < 4)), (a.data > 1) & (a.data < 4))


def test_variable_basics():
    v = Variable(np.zeros((2, 2), np.float32), name="dense/kernel")
    assert v.name == "dense/kernel:0" and v.trainable and v.dtype == np.float32
    assert Variable(1.0).dtype == np.float32
    assert Variable(np.float64(1.0)).dtype == np.float64
    assert Variable(np.arange(3)).dtype.kind == "i"
    assert Variable(lambda: np.ones(2, np.float32)).shape == (2,)
    v.assign(np.ones((2, 2)))                    # float64 value: stays float32
    assert v.dtype == np.float32 and v.data.sum() == 4
    v.assign_add(np.ones((2, 2)))
    v.assign_sub(Tensor(np.full((2, 2), 0.5)))
    assert v.dtype == np.float32
    np.testing.assert_allclose(v.numpy(), 1.5)
    with pytest.raises(ValueError, match="Cannot assign value of shape"):
        v.assign(np.ones(3))
    r = v.read_value()
    v.assign(np.zeros((2, 2)))
    assert r.data.sum() == 6          # read_value is a snapshot
    assert "dense/kernel:0" in repr(v)


def test_unbroadcast():
    g = np.ones((4, 3, 5))
    assert unbroadcast(g, (3, 5)).shape == (3, 5)
    np.testing.assert_allclose(unbroadcast(g, (3, 1)), np.full((3, 1), 20.0))
    np.testing.assert_allclose(unbroadcast(g, ()), 60.0)
    np.testing.assert_allclose(unbroadcast(g, (4, 1, 1)), np.full((4, 1, 1), 15.0))


# ---------------------------------------------------------------------------------------
# recording
# ---------------------------------------------------------------------------------------
def test_no_graph_outside_a_tape():
    v = _var([1.0, 2.0])
    y = v * v
    assert y._parents is None and y._backward is None
    assert not is_recording()
    with GradientTape():
        assert is_recording()
        c = Tensor(np.ones(2, np.float32)) * 2     # untracked inputs: nothing recorded
        assert c._parents is None
        y = v * 2
        assert y._parents is not None
        with stop_recording():
            assert not is_recording()
            z = v * 2
            assert z._parents is None
    assert not is_recording()


def test_recording_scope_nests():
    with recording_scope():
        with recording_scope():
            assert is_recording()
        assert is_recording()
    assert not is_recording()


def test_simple_gradient_and_dtype():
    v = _var(3.0)
    with GradientTape() as tape:
        y = v * v + 2 * v
    g = tape.gradient(y, v)
    assert isinstance(g, Tensor) and g.dtype == np.float32
    assert float(g) == pytest.approx(8.0)


def test_non_persistent_tape_raises_on_second_use():
    v = _var(2.0)
    with GradientTape() as tape:
        y = v * v
    tape.gradient(y, v)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        tape.gradient(y, v)


def test_persistent_tape_many_gradients():
    v = _var([1.0, 2.0])
    with GradientTape(persistent=True) as tape:
        h = v * v
        y1 = ops.sum(h)
        y2 = ops.sum(h * h)
    np.testing.assert_allclose(_np(tape.gradient(y1, v)), [2.0, 4.0])
    np.testing.assert_allclose(_np(tape.gradient(y2, v)), [4.0, 32.0])
    np.testing.assert_allclose(_np(tape.gradient(y1, v)), [2.0, 4.0])
    np.testing.assert_allclose(_np(tape.gradient(y2, h)), [2.0, 8.0])   # w.r.t. an intermediate


def test_list_of_targets_sums_gradients():
    """tf: gradient([y1, y2], x) is the gradient of y1 + y2 (shared intermediates included)."""
    v = _var([1.0, 2.0])
    with GradientTape() as tape:
        h = v * 3
        y1 = ops.sum(h)
        y2 = ops.sum(h * h)
    g = tape.gradient([y1, y2], v)
    np.testing.assert_allclose(_np(g), 3 + 18 * v.data)


def test_watch_constants_and_unconnected():
    x = Tensor(np.array([1.0, 2.0], np.float32))
    c = Tensor(np.array([5.0, 5.0], np.float32))
    with GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(x * x)
    gx, gc = tape.gradient(y, [x, c])
    np.testing.assert_allclose(_np(gx), [2.0, 4.0])
    assert gc is None


def test_unwatched_constant_gets_none():
    x = Tensor(np.array([1.0, 2.0], np.float32))
    with GradientTape() as tape:
        y = ops.sum(x * x)
    assert tape.gradient(y, x) is None


def test_unconnected_gradients_zero():
    v, w = _var([1.0, 2.0]), _var([[1.0], [2.0]])
    with GradientTape() as tape:
        y = ops.sum(v * 2)
    gv, gw = tape.gradient(y, [v, w], unconnected_gradients="zero")
    np.testing.assert_allclose(_np(gv), [2.0, 2.0])
    assert isinstance(gw, Tensor) and gw.shape == (2, 1) and np.all(gw.data == 0)
    assert gw.dtype == np.float32


def test_non_trainable_variables_not_watched():
    v = _var([1.0, 2.0], trainable=False)
    w = _var([3.0, 4.0])
    with GradientTape() as tape:
        y = ops.sum(v * w)
    gv, gw = tape.gradient(y, [v, w])
    assert gv is None
    np.testing.assert_allclose(_np(gw), [1.0, 2.0])
    v2 = _var([1.0, 2.0], trainable=False)
    with GradientTape() as tape:
        tape.watch(v2)
        y = ops.sum(v2 * w)
    np.testing.assert_allclose(_np(tape.gradient(y, v2)), [3.0, 4.0])


def test_gradients_for_all_or_some_leaves_agree():
    """Asking for every leaf of the graph (the path that skips the leads-to-source pass) and
    for a subset (the path that prunes the others) gives the same gradients, closed form."""
    u, v, w = _var([1.0, 2.0]), _var([3.0, -1.0]), _var([0.5, 4.0])
    t = np.tanh(u.data.astype(float) * v.data)
    expected = {id(u): (1 - t ** 2) * v.data * w.data,
                id(v): (1 - t ** 2) * u.data * w.data + 2 * v.data.astype(float),
                id(w): t}
    for asked in ([u, v, w], [v], [w, u]):
        with GradientTape() as tape:
            y = ops.sum(ops.tanh(u * v) * w + v * v)
        for source, grad in zip(asked, tape.gradient(y, asked)):
            np.testing.assert_allclose(_np(grad), expected[id(source)], rtol=1e-5, atol=1e-6)


def test_fan_out_accumulates():
    v = _var([1.0, -2.0])
    with GradientTape() as tape:
        a = v * 2
        b = a * a + a + ops.exp(a) + ops.sum(a)   # a used four times
    g = tape.gradient(b, v)
    a_ = 2 * v.data.astype(float)
    np.testing.assert_allclose(_np(g), 2 * (2 * a_ + 1 + np.exp(a_) + 2), rtol=1e-6)


def test_same_tensor_both_operands():
    v = _var([3.0])
    with GradientTape() as tape:
        y = v * v * v
    np.testing.assert_allclose(_np(tape.gradient(y, v)), [27.0])


def test_structured_sources():
    v, w = _var(1.0), _var(2.0)
    with GradientTape() as tape:
        y = v * w
    g = tape.gradient(y, {"a": v, "b": [w, v]})
    assert set(g) == {"a", "b"} and isinstance(g["b"], list)
    assert float(g["a"]) == 2.0 and float(g["b"][0]) == 1.0 and float(g["b"][1]) == 2.0
    g = tape_grad_tuple()
    assert isinstance(g, tuple)


def tape_grad_tuple():
    v = _var(1.0)
    with GradientTape() as tape:
        y = v * 3
    return tape.gradient(y, (v, v))


def test_output_gradients_and_non_scalar_target():
    v = _var([1.0, 2.0, 3.0])
    with GradientTape() as tape:
        y = v * v
    g = tape.gradient(y, v, output_gradients=np.array([1.0, 0.0, 2.0], np.float32))
    np.testing.assert_allclose(_np(g), [2.0, 0.0, 12.0])
    with GradientTape() as tape:
        y = v * v
    np.testing.assert_allclose(_np(tape.gradient(y, v)), [2.0, 4.0, 6.0])  # implicit sum


def test_stop_recording_and_stop_gradient():
    v = _var(2.0)
    with GradientTape() as tape:
        a = v * v
        with tape.stop_recording():
            b = v * 10
        y = a + b
    assert float(tape.gradient(y, v)) == pytest.approx(4.0)
    with GradientTape() as tape:
        y = v * ops.stop_gradient(v * 5)
    assert float(tape.gradient(y, v)) == pytest.approx(10.0)


def test_nested_tapes_record_independently():
    v = _var(3.0)
    with GradientTape() as outer:
        with GradientTape() as inner:
            y = v * v
        gi = inner.gradient(y, v)
        z = y * 2
    assert float(gi) == pytest.approx(6.0)
    assert float(outer.gradient(z, v)) == pytest.approx(12.0)


def test_gradient_of_value_computed_outside_tape_is_none():
    v = _var(3.0)
    y = v * v
    with GradientTape() as tape:
        z = y + 1
    assert tape.gradient(z, v) is None


def test_gradient_inside_tape_context():
    v = _var(2.0)
    with GradientTape(persistent=True) as tape:
        y = v * v
        g = tape.gradient(y, v)
    assert float(g) == pytest.approx(4.0)


def test_gradient_wrt_integer_input_is_none_and_casts():
    v = _var([1.5, 2.5])
    with GradientTape() as tape:
        y = ops.sum(ops.cast(ops.cast(v, "float64"), "float32") * 2)
        k = ops.cast(v, "int32")
    g = tape.gradient(y, v)
    assert g.dtype == np.float32
    np.testing.assert_allclose(_np(g), [2.0, 2.0])
    assert k._parents is None


def test_watch_accessed_variables_false_is_rejected():
    with pytest.raises(NotImplementedError):
        GradientTape(watch_accessed_variables=False)
    with pytest.raises(ValueError):
        GradientTape().watch("not a tensor")


def test_convert_to_tensor():
    t = Tensor(np.ones(2, np.float32))
    assert convert_to_tensor(t) is t
    assert convert_to_tensor(t, "float64").dtype == np.float64
    assert convert_to_tensor([1.0, 2.0]).dtype == np.float32
    assert convert_to_tensor(np.arange(3), "float32").dtype == np.float32


def test_graph_freed_after_non_persistent_gradient():
    v = _var([1.0])
    with GradientTape() as tape:
        h = v * 2
        y = h * 3
    tape.gradient(y, v)
    assert h._parents is None and h._backward is None


def test_custom_training_loop_with_model():
    model = keras.Sequential([keras.layers.Dense(4, activation="tanh", input_shape=(3,)),
                              keras.layers.Dense(1)])
    x = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
    y = np.sum(x, axis=1, keepdims=True)
    loss_fn = keras.losses.MeanSquaredError()
    first = None
    for _ in range(30):
        with GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        assert all(g.dtype == np.float32 for g in grads)
        for w, g in zip(model.trainable_weights, grads):
            w.assign_sub(0.05 * g.data)
        first = float(loss) if first is None else first
    assert float(loss) < first


def test_gradient_of_a_dict_keeps_the_dict_key_order():
    scales = {"zeta": 2.0, "alpha": 3.0, "mid": 5.0}
    variables = {name: Variable(np.ones(2, np.float32), name=name) for name in scales}
    with GradientTape() as tape:
        loss = None
        for name, variable in variables.items():
            term = ops.sum(ops.multiply(variable, scales[name]))
            loss = term if loss is None else ops.add(loss, term)
    grads = tape.gradient(loss, {"nested": variables, "first": variables["alpha"]})
    assert list(grads) == ["nested", "first"]
    assert list(grads["nested"]) == ["zeta", "alpha", "mid"]
    for name, scale in scales.items():
        np.testing.assert_allclose(grads["nested"][name].numpy(), [scale, scale])
    np.testing.assert_allclose(grads["first"].numpy(), [3.0, 3.0])


def test_gradient_of_a_gradient_is_the_hessian_as_tf():
    # HOML2 ch12 computes Hessians with nested tapes (tf: [[6, 2], [2, None]]); the gradient
    # taken inside the outer tape is recorded (tests/engine/test_higher_order_gradients.py)
    from minikeras.core.tensor import GradientTape, Variable
    w1, w2 = Variable(np.float32(5.0)), Variable(np.float32(3.0))
    with GradientTape(persistent=True) as hessian_tape:
        with GradientTape() as jacobian_tape:
            z = 3 * w1 ** 2 + 2 * w1 * w2
        jacobians = jacobian_tape.gradient(z, [w1, w2])
    np.testing.assert_allclose([float(j) for j in jacobians], [36.0, 10.0])
    assert [float(h) for h in hessian_tape.gradient(jacobians[0], [w1, w2])] == [6.0, 2.0]
