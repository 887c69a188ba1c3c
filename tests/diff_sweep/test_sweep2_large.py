"""Second differential sweep, larger layers (fixtures/diff_sweep2/large_cases.py): shapes that
reach minikeras' fast paths (Winograd, BLAS, threaded splits). Outputs and the gradients of
sum(output * r) for the input and every trainable weight, in inference and training, must give
tf.keras 2.21's projections (per-channel sums and two patterned sums)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module
from minikeras.core.tensor import Tensor

HERE = os.path.join(FIXTURES, "diff_sweep2")
cases = load_fixture_module("sweep2_large_cases", "diff_sweep2", "large_cases.py")
packed = load_fixture_module("sweep2_packed_arrays", "diff_sweep2", "packed_arrays.py")
with open(os.path.join(HERE, "large.json")) as f:
    FACTS = json.load(f)
ARRAYS = packed.Unpacked(os.path.join(HERE, "large.npz"))
CASES = cases.LARGE_CASES


def invoke(layer, cls, x, training):
    if cls == "MultiHeadAttention":
        return layer(x, x, training=training)
    return layer(x, training=training)


def assert_projections(value, key, rtol, family_scale=0.0):
    """rtol of the summed magnitudes (far tighter than any real difference); `family_scale`
    (the largest gradient sums of the case) bounds the rounding noise of a gradient that is
    zero in exact arithmetic (a MultiHeadAttention key bias)."""
    got, _ = cases.projections(np.asarray(value))
    expected, scale = ARRAYS[key], ARRAYS[key + "_scale"]
    np.testing.assert_allclose(got, expected, rtol=0,
                               atol=rtol * scale.max() + 1e-7 * family_scale + 1e-6,
                               err_msg=key)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_large_layer_matches_tf_keras(case):
    case_id, cls, args, kwargs, shape, batch = case
    facts = FACTS[case_id]
    layer = getattr(keras.layers, cls)(*args, **kwargs)
    x = Tensor(cases.pattern((batch,) + shape, 1, 2.0))
    invoke(layer, cls, x, False)
    assert len(layer.weights) == facts["n_weights"]
    weights = [cases.pattern(w.shape, 3 + k, 1.5 if "variance" in w.name else 0.3)
               for k, w in enumerate(layer.weights)]
    layer.set_weights([np.abs(w) + 0.5 if "variance" in v.name else w
                       for w, v in zip(weights, layer.weights)])
    for tag, training in (("i", False), ("t", True)):
        with keras.GradientTape() as tape:
            tape.watch(x)
            y = invoke(layer, cls, x, training)
            loss = keras.ops.sum(y * cases.pattern(y.shape, 5))
        grads = tape.gradient(loss, [x] + list(layer.trainable_weights))
        assert_projections(y, f"{case_id}__{tag}y", 1e-5)
        family_scale = max(float(ARRAYS[f"{case_id}__{tag}g{k}_scale"].max())
                           for k in range(len(grads)))
        for k, g in enumerate(grads):
            assert_projections(g, f"{case_id}__{tag}g{k}", 1e-4, family_scale)


@pytest.mark.parametrize("name", sorted(cases.LARGE_FITS))
def test_larger_fit_matches_tf_keras(name):
    """Fits big enough for the fused training paths: History to 1e-4, weight projections."""
    model, compile_kwargs, fit_kwargs = cases.LARGE_FITS[name](keras)
    model.set_weights(cases.pattern_weights(model))
    model.compile(**compile_kwargs)
    history = model.fit(verbose=0, **fit_kwargs)
    expected = FACTS["fit_" + name]["history"]
    assert sorted(history.history) == sorted(expected)     # the recorder sorted the keys
    for key, values in expected.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-4, atol=1e-6,
                                   err_msg=key)
    for k, w in enumerate(model.get_weights()):
        assert_projections(w, f"fit_{name}__w{k}", 1e-4)
