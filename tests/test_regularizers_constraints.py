"""Regularizers (l1, l2, l1_l2) and constraints (max_norm, non_neg, unit_norm, min_max_norm)
against NumPy formulas; defaults and configs as tf.keras 2.x."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import regularizers as R
from minikeras import constraints as C
from minikeras.core.tensor import Tensor
from gradcheck import check_gradients

W = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
EPS = 1e-7


def _np(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def f32(x):
    return float(np.float32(x))


# ---------------------------------------------------------------------------------------
# regularizers
# ---------------------------------------------------------------------------------------
def test_regularizer_values():
    w = W.astype(np.float64)
    cases = [
        (R.L1(), 0.01 * np.abs(w).sum()),
        (R.L2(), 0.01 * (w * w).sum()),
        (R.L1(0.3), 0.3 * np.abs(w).sum()),
        (R.L2(l2=0.2), 0.2 * (w * w).sum()),
        (R.L1L2(l1=0.1, l2=0.2), 0.1 * np.abs(w).sum() + 0.2 * (w * w).sum()),
        (R.L1L2(), 0.0),
        (R.l1_l2(), 0.01 * np.abs(w).sum() + 0.01 * (w * w).sum()),
        (R.l1(0.5), 0.5 * np.abs(w).sum()),
        (R.l2(0.5), 0.5 * (w * w).sum()),
        (R.get("l1"), 0.01 * np.abs(w).sum()),
        (R.get("l2"), 0.01 * (w * w).sum()),
    ]
    for reg, expected in cases:
        got = _np(reg(Tensor(W)))
        assert got.shape == () and got.dtype == np.float32, reg
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_regularizer_configs_as_tf_keras():
    # tf.keras casts the penalties to floatx, so configs hold float32-rounded values
    assert R.L1().get_config() == {"l1": f32(0.01)}
    assert R.L2().get_config() == {"l2": f32(0.01)}
    assert R.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert R.L1L2(l1=0.5, l2=0.25).get_config() == {"l1": 0.5, "l2": 0.25}
    assert R.l1_l2().get_config() == {"l1": f32(0.01), "l2": f32(0.01)}
    assert R.L2(0.1).get_config() == {"l2": f32(0.1)}
    assert R.L1(l=0.2).get_config() == {"l1": f32(0.2)}
    for reg in (R.L1(0.3), R.L2(0.02), R.L1L2(0.1, 0.2)):
        clone = type(reg).from_config(reg.get_config())
        assert clone.get_config() == reg.get_config()
        ser = R.serialize(reg)
        assert ser["class_name"] == type(reg).__name__ and ser["module"] == "keras.regularizers"
        assert R.deserialize(ser).get_config() == reg.get_config()


def test_regularizer_bad_penalty():
    with pytest.raises(ValueError, match="not a valid regularization penalty number"):
        R.L2("big")
    with pytest.raises(ValueError, match="not a valid regularization penalty number"):
        R.L1(float("nan"))
    assert R.L1L2(l1=None, l2=0.1).get_config() == {"l1": 0.0, "l2": f32(0.1)}


def test_regularizer_gradients(float64):
    w = W.astype(np.float64)
    for reg in (R.L1(0.3), R.L2(0.2), R.L1L2(0.1, 0.2)):
        check_gradients(lambda v: reg(v), [w])


def test_regularizer_adds_to_layer_losses_and_training_loss():
    layer = keras.layers.Dense(3, kernel_regularizer="l2", input_shape=(4,))
    model = keras.Sequential([layer])
    model.compile("sgd", "mse")
    kernel = layer.get_weights()[0].astype(np.float64)
    assert len(model.losses) == 1
    np.testing.assert_allclose(_np(model.losses[0]), 0.01 * (kernel ** 2).sum(), rtol=1e-5)
    x = np.ones((2, 4), np.float32)
    y = np.zeros((2, 3), np.float32)
    pred = _np(model.predict(x, verbose=0)).astype(np.float64)
    loss = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, (pred ** 2).mean() + 0.01 * (kernel ** 2).sum(), rtol=1e-5)


# ---------------------------------------------------------------------------------------
# constraints
# ---------------------------------------------------------------------------------------
def _norm(w, axis):
    return np.sqrt((w * w).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [0, 1, [0, 1]])
def test_constraint_values(axis):
    w = W.astype(np.float64) * 2
    n = _norm(w, tuple(axis) if isinstance(axis, list) else axis)
    cases = [
        (C.MaxNorm(max_value=1.5, axis=axis), w * (np.clip(n, 0, 1.5) / (EPS + n))),
        (C.UnitNorm(axis=axis), w / (EPS + n)),
        (C.MinMaxNorm(min_value=0.5, max_value=2.0, rate=0.7, axis=axis),
         w * ((0.7 * np.clip(n, 0.5, 2.0) + 0.3 * n) / (EPS + n))),
    ]
    for constraint, expected in cases:
        got = _np(constraint(W * 2))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_non_neg_and_defaults():
    np.testing.assert_array_equal(_np(C.NonNeg()(W)), np.where(W >= 0, W, 0))
    n = _norm(W.astype(np.float64) * 3, 0)
    np.testing.assert_allclose(_np(C.max_norm()(W * 3)), 3 * W * (np.clip(n, 0, 2) / (EPS + n)),
                               rtol=1e-5)
    np.testing.assert_allclose(_np(C.min_max_norm()(W * 3)), 3 * W * (np.clip(n, 0, 1) / (EPS + n)),
                               rtol=1e-5)
    np.testing.assert_allclose(_norm(_np(C.unit_norm()(W)).astype(float), 0), 1.0, rtol=1e-5)


def test_constraint_configs():
    assert C.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert C.NonNeg().get_config() == {}
    assert C.UnitNorm().get_config() == {"axis": 0}
    assert C.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0,
                                           "axis": 0}
    for name, cls in [("max_norm", C.MaxNorm), ("non_neg", C.NonNeg), ("unit_norm", C.UnitNorm),
                      ("min_max_norm", C.MinMaxNorm), ("MaxNorm", C.MaxNorm)]:
        assert type(C.get(name)) is cls
    c = C.MaxNorm(3, axis=[0, 1])
    ser = C.serialize(c)
    assert ser["class_name"] == "MaxNorm" and ser["module"] == "keras.constraints"
    assert C.deserialize(ser).get_config() == {"max_value": 3, "axis": [0, 1]}


def test_constraint_applied_after_optimizer_step():
    layer = keras.layers.Dense(3, kernel_constraint=C.NonNeg(), input_shape=(4,),
                               kernel_initializer="ones")
    model = keras.Sequential([layer])
    model.compile(keras.optimizers.SGD(learning_rate=10.0), "mse")
    x = np.ones((4, 4), np.float32)
    model.train_on_batch(x, np.full((4, 3), -50.0, np.float32))
    kernel = layer.get_weights()[0]
    assert kernel.dtype == np.float32 and np.all(kernel >= 0)
