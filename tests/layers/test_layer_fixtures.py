"""Single-layer forward passes, output shapes, weight layouts and configs recorded by tf.keras 2.21."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

with open(fixture_path("layers", "cases.json")) as _handle:
    CASES = json.load(_handle)
ARRAYS = np.load(fixture_path("layers", "cases.npz"))


def _normalise(value):
    """JSON turns tuples into lists; compare configs in that form."""
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_layer_case(case):
    if not hasattr(keras.layers, case["class"]):
        pytest.skip(f"{case['class']} not implemented yet")
    layer = getattr(keras.layers, case["class"])(**case["kwargs"])
    name = case["name"]
    inputs = [ARRAYS[f"{name}/input/{k}"] for k in range(case["n_inputs"])]
    x = inputs[0] if len(inputs) == 1 else inputs
    layer(x)
    assert [w.name for w in layer.weights] == case["weight_names"]
    assert [list(w.shape) for w in layer.weights] == case["weight_shapes"]
    weights = [ARRAYS[f"{name}/w/{i}"] for i in range(len(case["weight_names"]))]
    layer.set_weights(weights)
    out = layer(x, training=False) if layer._call_accepts_training else layer(x)
    np.testing.assert_allclose(out.numpy(), ARRAYS[f"{name}/out"], rtol=1e-4, atol=1e-5)
    assert list(out.shape) == case["output_shape"]
    in_shapes = [tuple([None] + s[1:]) for s in case["input_shapes"]]
    computed = layer.compute_output_shape(in_shapes[0] if len(in_shapes) == 1 else in_shapes)
    assert _normalise(computed) == case["compute_output_shape"]
    assert _normalise(layer.get_config()) == case["config"]
    if f"{name}/out_train" in ARRAYS.files:
        train_out = layer(x, training=True) if layer._call_accepts_training else layer(x)
        np.testing.assert_allclose(train_out.numpy(), ARRAYS[f"{name}/out_train"], rtol=1e-4, atol=1e-5)
