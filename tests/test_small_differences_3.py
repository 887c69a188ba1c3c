"""Small differences from tf.keras 2.21 / Keras 3.15 found by the fid-small3 sweep.

Fixtures in tests/fixtures/small_diffs3/ were written by the peer with
benchmarks/fixture_recipes/small_diffs3.py; the cases they ran are in
tests/fixtures/small_diffs3/cases.py, run here with minikeras."""
import importlib.util
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras.backend import GradientTape

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "small_diffs3")


def _load_cases():
    spec = importlib.util.spec_from_file_location("small_diffs3_cases",
                                                  os.path.join(FIXTURES, "cases.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load_cases()


def _fixture(name):
    with np.load(os.path.join(FIXTURES, name)) as data:
        return {key: data[key] for key in data.files}


# --- 1. second-order gradients through relu masks, abs and max pooling -------------------
SECOND_ORDER = _fixture("second_order.npz")
SECOND_ORDER_NONE = set(SECOND_ORDER.pop("none").tolist())


@pytest.mark.parametrize("square", [False, True])
@pytest.mark.parametrize("name", list(cases.second_order_functions(keras)))
def test_second_order_gradient_is_none_or_zeros_as_tf(name, square):
    # tf's ReluGrad / Relu6Grad / LeakyReluGrad / MaxPoolGrad / Sign keep the op's input or
    # output as an operand with a zero gradient: differentiating a gradient taken through
    # them gives zeros, not None (comparisons, as in clip or reduce max, give None)
    key = f"{name}|{int(square)}"
    got = cases.second_order(keras, GradientTape, keras.backend.variable, name, square)
    if key in SECOND_ORDER_NONE:
        assert got is None or got == "inner None"
    else:
        assert got is not None and not isinstance(got, str), key
        np.testing.assert_allclose(got, SECOND_ORDER[key], rtol=1e-5, atol=1e-5)


# --- 2. the fused Conv3D + MaxPooling3D training route and pooling ties ------------------
CONV_POOL = _fixture("conv_pool_fit.npz")


@pytest.mark.parametrize("key", sorted(CONV_POOL))
def test_conv_then_max_pooling_fit_routes_ties_as_tf(key):
    # MaxPooling3D gives every tied maximum the gradient (tf's MaxPool3DGrad), 1-D/2-D the
    # first: the fused training op (few-tap convolutions) must not run for 3-D
    rank, kernel, activation = key.split()
    got = cases.conv_pool_fit(keras, int(rank[0]), int(kernel[1:]), activation)
    np.testing.assert_allclose(got, CONV_POOL[key], rtol=1e-5, atol=1e-6)
