"""erf, erfc and the exact gelu against TensorFlow 2.21's CPU numbers (tests/fixtures/erf/,
written by benchmarks/fixture_recipes/erf.py): bit for bit where tf's formula does not depend
on the processor, within a few ulps where it does (erfc float32 beyond |x| = 1 takes 1/x^2
from the CPU's approximate reciprocal)."""
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import ops
from minikeras.ops import erf_kernels

FIXTURE = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "erf", "erf.npz")


@pytest.fixture(scope="module")
def tf_values():
    with np.load(FIXTURE) as data:
        return {name: data[name] for name in data.files}


def ulps_apart(a, b):
    """Distance in units in the last place (0 for two NaNs; +0 and -0 are 0 apart)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype
    signed, magnitude = (np.int64, 0x7FFFFFFFFFFFFFFF) if a.dtype == np.float64 else \
        (np.int32, 0x7FFFFFFF)

    def ordered(v):
        bits = v.view(signed).astype(np.int64)
        return np.where(bits < 0, -(bits & magnitude), bits)
    distance = np.abs(ordered(a) - ordered(b))
    distance[np.isnan(a) & np.isnan(b)] = 0
    return distance


def assert_same_bits(ours, theirs, x):
    ours = np.asarray(ours)
    assert ours.dtype == theirs.dtype
    differ = ulps_apart(ours, theirs) > 0
    assert not differ.any(), (x[differ][:5], ours[differ][:5], theirs[differ][:5])


@pytest.mark.parametrize("function, name", [(ops.erf, "erf"), (ops.erfc, "erfc")])
def test_float64_is_tf_bit_for_bit(tf_values, function, name):
    x = tf_values["x64"]
    assert_same_bits(function(x), tf_values[name + "64"], x)


def test_erf_float32_is_tf_bit_for_bit(tf_values):
    # including erf(+-subnormal) = +-0 (tf's kernels read subnormal inputs as zero), the clamp
    # to +-1 from |x| = 3.92 and NaN
    x = tf_values["x32"]
    assert_same_bits(ops.erf(x), tf_values["erf32"], x)
    assert_same_bits(erf_kernels.erf_array(x), tf_values["erf32"], x)


def test_erfc_float32_within_four_ulps_and_exact_up_to_one(tf_values):
    x, theirs = tf_values["x32"], tf_values["erfc32"]
    ours = np.asarray(ops.erfc(x))
    assert ours.dtype == np.float32
    distance = ulps_apart(ours, theirs)
    central = ~(np.abs(x) > 1)                  # NaN included
    assert distance[central].max() == 0
    assert distance.max() <= 4
    # the tail flushes below float32's smallest normal to 0 as tf does (x from ~9.2), and
    # NaN / +-inf / the clamp at +-11 come out as tf's
    flushed = theirs == 0
    assert flushed.sum() > 100 and (ours[flushed] == 0).all()
    special = ~np.isfinite(x) | (np.abs(x) >= 11)
    assert_same_bits(ours[special], theirs[special], x[special])


def test_erf_gradients_are_tf_bit_for_bit(tf_values):
    # tf: g * (+-2 / sqrt(pi)) * exp(-x^2) with Eigen's float32 exp (NumPy's differs from it
    # by an ulp in half the elements), flushing subnormal products to zero
    x, upstream = tf_values["gelu_x"], tf_values["gelu_r"]
    for function, name in ((ops.erf, "gelu_erf_g"), (ops.erfc, "gelu_erfc_g")):
        gradient = _gradient(function, x, upstream)[1]
        assert_same_bits(gradient, tf_values[name], x)


def _gradient(function, x, upstream):
    x = ops.convert_to_tensor(x)
    with keras.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
        loss = ops.sum(ops.multiply(upstream, y))
    return np.asarray(y), np.asarray(tape.gradient(loss, x))


def assert_close_to_tf(ours, theirs, max_ulps):
    """Few ulps where tf's value is a normal float32; where it is below ~1e-30 products were
    flushed to zero by tf and kept by NumPy, so compare absolutely there."""
    ours = np.asarray(ours)
    assert ours.dtype == np.float32
    normal = np.abs(theirs) > 1e-30
    assert ulps_apart(ours[normal], theirs[normal]).max() <= max_ulps
    np.testing.assert_allclose(ours[~normal], theirs[~normal], rtol=0, atol=1e-36)


def test_gelu_exact_forward_and_gradient_match_tf(tf_values):
    x, upstream = tf_values["gelu_x"], tf_values["gelu_r"]
    keep = ~(np.abs(x) < np.finfo(np.float32).tiny) | (x == 0)   # tf reads 1e-40 as 0
    for gelu in (keras.activations.gelu, lambda v: ops.gelu(v, approximate=False),
                 keras.activations.get("gelu")):
        y, gradient = _gradient(gelu, x, upstream)
        assert_close_to_tf(y[keep], tf_values["gelu_y"][keep], max_ulps=4)
        assert_close_to_tf(gradient[keep], tf_values["gelu_g"][keep], max_ulps=4)
    layer_y = np.asarray(keras.layers.Activation("gelu")(x[None]))[0]
    assert_close_to_tf(layer_y[keep], tf_values["gelu_layer_y"][keep], max_ulps=4)


def test_dtypes_and_shapes_are_kept():
    x = np.array([[-2.5, -0.5], [0.25, 3.0]], np.float32)
    for function in (erf_kernels.erf_array, erf_kernels.erfc_array, erf_kernels.exp_array):
        assert function(x).dtype == np.float32 and function(x).shape == (2, 2)
        assert function(np.float32(0.5)).shape == ()
    for function in (erf_kernels.erf_array, erf_kernels.erfc_array):
        # float16 through float32, as Eigen's half kernels
        half = function(x.astype(np.float16))
        assert half.dtype == np.float16
        np.testing.assert_array_equal(half, function(x.astype(np.float16).astype(np.float32))
                                      .astype(np.float16))
    assert erf_kernels.erf_array(np.array([0, 1, 3])).dtype == np.float32   # floatx
    # a non-contiguous view and a large array (chunked, two threads) give the same numbers
    wide = np.linspace(-6, 6, 300_001, dtype=np.float32)
    np.testing.assert_array_equal(erf_kernels.erfc_array(wide[::3]),
                                  erf_kernels.erfc_array(wide[::3].copy()))
    np.testing.assert_array_equal(erf_kernels.erfc_array(wide)[::1000],
                                  erf_kernels.erfc_array(wide[::1000]))


def test_close_to_the_true_functions():
    # closed-form anchors, independent of the fixtures: float32 within float32 round-off
    import math
    x = np.linspace(-5, 5, 2001)
    true_erf = np.array([math.erf(v) for v in x])
    true_erfc = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(erf_kernels.erf_array(x.astype(np.float32)), true_erf,
                               rtol=4e-7, atol=1e-7)
    np.testing.assert_allclose(erf_kernels.erfc_array(x.astype(np.float32)), true_erfc,
                               rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(erf_kernels.erf_array(x), true_erf, rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(erf_kernels.erfc_array(x), true_erfc, rtol=1e-14)
    exponents = -np.linspace(0, 100, 5001).astype(np.float32)
    np.testing.assert_allclose(erf_kernels.exp_array(exponents),
                               np.exp(exponents.astype(np.float64)), rtol=2e-7, atol=2e-38)


def test_gelu_exact_second_order_matches_tf(tf_values):
    # a gradient of the exact gelu taken while an outer tape records (gradient penalties,
    # Hessian-vector products) differentiates erfc's gradient again: it had no rule
    x = ops.convert_to_tensor(tf_values["gelu_x"])
    upstream, weights = tf_values["gelu_r"], tf_values["gelu_r2"]
    with keras.GradientTape() as outer:
        outer.watch(x)
        with keras.GradientTape() as inner:
            inner.watch(x)
            loss = ops.sum(ops.multiply(upstream, keras.activations.gelu(x)))
        weighted = ops.sum(ops.multiply(weights, inner.gradient(loss, x)))
    second = np.asarray(outer.gradient(weighted, x))
    theirs = tf_values["gelu_h"]
    assert second.dtype == np.float32
    # NumPy's exp against Eigen's in the recorded rule, and sums of nearly cancelling terms
    np.testing.assert_allclose(second, theirs, rtol=1e-5, atol=1e-6 * np.abs(theirs).max())
