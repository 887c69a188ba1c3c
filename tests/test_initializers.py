"""Initializers: Keras 2 formulas and defaults, seeds, statistics and configs."""
import math

import numpy as np
import pytest

import minikeras as keras
from minikeras import initializers as I

TRUNC_STD = 0.87962566103423978   # stddev of a unit normal truncated to [-2, 2]


def fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = int(np.prod(shape[:-2]))
    return shape[-2] * rf, shape[-1] * rf


def _check_stats(values, mean, std, rel=0.03):
    assert abs(values.mean() - mean) < 0.02 * max(std, 1e-3) * 5
    assert values.std() == pytest.approx(std, rel=rel)


# ---------------------------------------------------------------------------------------
# configs and defaults (tf.keras 2.x get_config)
# ---------------------------------------------------------------------------------------
CONFIGS = [
    (I.Zeros(), {}),
    (I.Ones(), {}),
    (I.Constant(), {"value": 0}),
    (I.Constant(2.5), {"value": 2.5}),
    (I.RandomNormal(), {"mean": 0.0, "stddev": 0.05, "seed": None}),
    (I.RandomUniform(), {"minval": -0.05, "maxval": 0.05, "seed": None}),
    (I.TruncatedNormal(), {"mean": 0.0, "stddev": 0.05, "seed": None}),
    (I.VarianceScaling(), {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal",
                           "seed": None}),
    (I.Orthogonal(), {"gain": 1.0, "seed": None}),
    (I.Identity(), {"gain": 1.0}),
    (I.GlorotUniform(), {"seed": None}),
    (I.GlorotNormal(seed=3), {"seed": 3}),
    (I.HeUniform(), {"seed": None}),
    (I.HeNormal(), {"seed": None}),
    (I.LecunUniform(), {"seed": None}),
    (I.LecunNormal(), {"seed": None}),
]


@pytest.mark.parametrize("init,config", CONFIGS, ids=[type(c[0]).__name__ for c in CONFIGS])
def test_configs_and_round_trip(init, config):
    assert init.get_config() == config
    clone = type(init).from_config(init.get_config())
    assert clone.get_config() == config
    ser = I.serialize(init)
    assert ser == {"module": "keras.initializers", "class_name": type(init).__name__,
                   "config": config, "registered_name": None}
    again = I.deserialize(ser)
    assert type(again) is type(init) and again.get_config() == config


@pytest.mark.parametrize("name,cls", [
    ("zeros", I.Zeros), ("ones", I.Ones), ("constant", I.Constant),
    ("random_normal", I.RandomNormal), ("random_uniform", I.RandomUniform),
    ("truncated_normal", I.TruncatedNormal), ("variance_scaling", I.VarianceScaling),
    ("orthogonal", I.Orthogonal), ("identity", I.Identity), ("glorot_uniform", I.GlorotUniform),
    ("glorot_normal", I.GlorotNormal), ("he_uniform", I.HeUniform), ("he_normal", I.HeNormal),
    ("lecun_uniform", I.LecunUniform), ("lecun_normal", I.LecunNormal),
    ("GlorotUniform", I.GlorotUniform), ("RandomNormal", I.RandomNormal)])
def test_get_by_name(name, cls):
    assert type(I.get(name)) is cls


def test_get_passthrough_and_errors():
    init = I.HeNormal()
    assert I.get(init) is init and I.get(None) is None
    assert type(I.get(I.Ones)) is I.Ones
    with pytest.raises(ValueError):
        I.get("no_such_initializer")


def test_variance_scaling_argument_errors():
    with pytest.raises(ValueError, match="scale"):
        I.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="mode"):
        I.VarianceScaling(mode="fan_middle")
    with pytest.raises(ValueError, match="distribution"):
        I.VarianceScaling(distribution="cauchy")
    assert I.VarianceScaling(distribution="normal").distribution == "truncated_normal"


# ---------------------------------------------------------------------------------------
# formulas
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (7,), (30, 50), (3, 3, 8, 16), (5, 12, 20),
                                   (2, 2, 2, 4, 6)])
def test_fans_match_keras(shape):
    assert I._fans(shape) == fans(shape)


PRESETS = [
    (I.GlorotUniform, 1.0, "fan_avg", "uniform"),
    (I.GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
    (I.HeUniform, 2.0, "fan_in", "uniform"),
    (I.HeNormal, 2.0, "fan_in", "truncated_normal"),
    (I.LecunUniform, 1.0, "fan_in", "uniform"),
    (I.LecunNormal, 1.0, "fan_in", "truncated_normal"),
]


def _expected_std(scale, mode, distribution, shape):
    fi, fo = fans(shape)
    fan = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2}[mode]
    return math.sqrt(scale / max(1.0, fan))


@pytest.mark.parametrize("cls,scale,mode,distribution", PRESETS,
                         ids=[p[0].__name__ for p in PRESETS])
@pytest.mark.parametrize("shape", [(400, 300), (3, 3, 64, 100)])
def test_presets_statistics(cls, scale, mode, distribution, shape):
    values = cls(seed=1)(shape).numpy()
    assert values.dtype == np.float32 and values.shape == shape
    std = _expected_std(scale, mode, distribution, shape)
    if distribution == "uniform":
        limit = math.sqrt(3) * std
        assert values.max() <= limit and values.min() >= -limit
        assert values.max() > 0.99 * limit and values.min() < -0.99 * limit
    else:
        # truncated at two (corrected) standard deviations
        bound = 2 * std / TRUNC_STD
        assert np.abs(values).max() <= bound * (1 + 1e-6)
        assert np.abs(values).max() > 0.98 * bound
    _check_stats(values, 0.0, std)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_modes(mode, distribution):
    shape = (5, 5, 20, 40)
    values = I.VarianceScaling(scale=3.0, mode=mode, distribution=distribution, seed=2)(shape).numpy()
    _check_stats(values, 0.0, _expected_std(3.0, mode, distribution, shape))


def test_variance_scaling_small_fan_uses_max_one():
    values = I.VarianceScaling(scale=0.25, distribution="untruncated_normal", seed=0)((1, 20000)).numpy()
    _check_stats(values, 0.0, 0.5)   # fan_in = 1 -> scale / max(1, 1)


def test_random_distributions():
    v = I.RandomNormal(mean=1.0, stddev=2.0, seed=0)((300, 300)).numpy()
    _check_stats(v, 1.0, 2.0, rel=0.02)
    u = I.RandomUniform(minval=-1.0, maxval=3.0, seed=0)((300, 300)).numpy()
    assert u.min() >= -1.0 and u.max() < 3.0
    _check_stats(u, 1.0, 4 / math.sqrt(12), rel=0.02)
    t = I.TruncatedNormal(mean=0.5, stddev=0.1, seed=0)((300, 300)).numpy()
    assert t.min() >= 0.3 and t.max() <= 0.7
    _check_stats(t, 0.5, 0.1 * TRUNC_STD, rel=0.02)
    ints = I.RandomUniform(minval=0, maxval=5, seed=0)((1000,), dtype="int32").numpy()
    assert ints.dtype == np.int32 and ints.min() == 0 and ints.max() == 4


def test_seeds_are_reproducible():
    for cls in (I.RandomNormal, I.RandomUniform, I.TruncatedNormal, I.GlorotUniform,
                I.HeNormal, I.Orthogonal):
        a = cls(seed=5)((6, 7))
        b = cls(seed=5)((6, 7))
        c = cls(seed=6)((6, 7))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    keras.utils.set_random_seed(11)
    a = I.GlorotUniform()((4, 4))
    keras.utils.set_random_seed(11)
    b = I.GlorotUniform()((4, 4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(I.GlorotUniform()((4, 4)), a)   # unseeded: fresh draws


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (2, 3, 8), (3, 3, 4, 4)])
def test_orthogonal(shape):
    w = I.Orthogonal(gain=1.5, seed=0)(shape).numpy()
    assert w.shape == shape and w.dtype == np.float32
    flat = w.reshape(-1, shape[-1]).astype(np.float64)
    rows, cols = flat.shape
    if rows >= cols:
        np.testing.assert_allclose(flat.T @ flat, 2.25 * np.eye(cols), atol=1e-5)
    else:
        np.testing.assert_allclose(flat @ flat.T, 2.25 * np.eye(rows), atol=1e-5)
    with pytest.raises(ValueError, match="at least two-dimensional"):
        I.Orthogonal()((4,))


def test_orthogonal_qr_runs_on_one_blas_thread(monkeypatch):
    """The QR's small blocked products wait on descheduled BLAS workers on a loaded machine
    (2048 x 512: 0.4 s on one thread, 11.6 s on two); one thread gives the same bits."""
    from minikeras.ops import blas_threads
    if not blas_threads._APIS:
        pytest.skip("no OpenBLAS thread API in this process")
    setter, getter = blas_threads._APIS[0]
    seen, qr = [], np.linalg.qr

    def recording_qr(a, *args, **kwargs):
        seen.append(getter())
        return qr(a, *args, **kwargs)
    previous = getter()
    setter(2)
    try:
        monkeypatch.setattr(np.linalg, "qr", recording_qr)
        I.Orthogonal(seed=0)((64, 32))
        assert getter() == 2                  # restored afterwards
    finally:
        setter(previous)
    assert seen == [1]


def test_identity_constant_zeros_ones():
    np.testing.assert_array_equal(I.Identity(gain=2.0)((3, 4)), 2 * np.eye(3, 4))
    assert I.Identity()((3, 3)).dtype == np.float32
    with pytest.raises(ValueError, match="2D"):
        I.Identity()((3, 3, 3))
    c = I.Constant(0.7)((2, 3))
    assert c.dtype == np.float32 and np.all(c == np.float32(0.7))
    np.testing.assert_array_equal(I.Constant([1.0, 2.0])((3, 2)), [[1, 2]] * 3)
    assert I.Zeros()((2,), dtype="float64").dtype == np.float64
    assert I.Ones()((2, 2)).numpy().sum() == 4


def test_floatx_default_dtype(float64):
    assert I.GlorotUniform()((3, 3)).dtype == np.float64
    assert I.Zeros()((3,)).dtype == np.float64


def test_dense_defaults_use_glorot_uniform_and_zeros():
    layer = keras.layers.Dense(300, input_shape=(200,))
    layer.build((None, 200))
    kernel, bias = layer.get_weights()
    limit = math.sqrt(6 / (200 + 300))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.99 * limit
    assert np.all(bias == 0)
    config = layer.get_config()
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert config["bias_initializer"]["class_name"] == "Zeros"


def test_conv_kernel_fans_in_a_layer():
    if not hasattr(keras.layers, "Conv2D"):
        pytest.skip("Conv2D not exported yet")
    layer = keras.layers.Conv2D(32, 5, kernel_initializer=I.HeUniform(seed=0))
    layer.build((None, 16, 16, 10))
    kernel = layer.get_weights()[0]
    limit = math.sqrt(3 * 2.0 / (5 * 5 * 10))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.98 * limit
