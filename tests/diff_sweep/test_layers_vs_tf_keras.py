"""Differential sweep: every case of fixtures/diff_sweep/layer_cases.py built in minikeras must
give tf.keras' recorded weight names/shapes/order, count_params, outputs (tf.keras' weights
copied in), compute_output_shape and get_config; tf.keras' config must load via from_config."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

HERE = os.path.join(FIXTURES, "diff_sweep")
cases_module = load_fixture_module("diff_layer_cases", "diff_sweep", "layer_cases.py")
with open(os.path.join(HERE, "layers.json")) as f:
    FACTS = json.load(f)
ARRAYS = np.load(os.path.join(HERE, "layers.npz"))
CASES = [c for c in cases_module.CASES if "error" not in FACTS[c[0]]]


def make_inner(spec):
    if spec == "STACK":         # a stack of an LSTM and a GRU cell
        return [keras.layers.LSTMCell(3), keras.layers.GRUCell(2)]
    parts = spec.split(":")
    kwargs = {"return_sequences": True} if "seq" in parts else {}
    args = [int(p) for p in parts[1:] if p != "seq"]
    return getattr(keras.layers, parts[0])(*args, **kwargs)


def build(cls, args, kwargs):
    args = [make_inner(a) if isinstance(a, str) and (":" in a or a == "STACK") else a
            for a in args]
    return getattr(keras.layers, cls)(*args, **kwargs)


def jsonable(obj):
    """A config as JSON would hold it (tuples -> lists), for comparison with tf.keras'."""
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist")
                                 else repr(o)))


def inputs_of(case_id, shape):
    count = len(shape) if isinstance(shape, list) else 1
    xs = [ARRAYS[f"{case_id}__x{k}"] for k in range(count)]
    return xs if isinstance(shape, list) else xs[0]


def call(layer, x, call_kwargs):
    if type(layer).__name__ == "MultiHeadAttention":     # layer(query, value[, key])
        return layer(*x, training=False, **call_kwargs)
    return layer(x, training=False, **call_kwargs)


def run_with_tf_weights(layer, case_id, x, call_kwargs):
    call(layer, x, call_kwargs)
    n = len(FACTS[case_id]["weight_shapes"])
    layer.set_weights([ARRAYS[f"{case_id}__w{k}"] for k in range(n)])
    y = call(layer, x, call_kwargs)
    return y if isinstance(y, (list, tuple)) else [y]


def assert_outputs(case_id, ys):
    assert len(ys) == FACTS[case_id]["n_outputs"]
    for k, y in enumerate(ys):
        expected = ARRAYS[f"{case_id}__y{k}"]
        got = np.asarray(y)
        assert got.shape == expected.shape, (k, got.shape, expected.shape)
        assert got.dtype == expected.dtype, (k, got.dtype, expected.dtype)
        scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
        np.testing.assert_allclose(got, expected, atol=2e-5 * scale, rtol=1e-4)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_tf_keras(case):
    case_id, cls, args, kwargs, shape, call_kwargs, _ = case
    facts = FACTS[case_id]
    layer = build(cls, args, kwargs)
    x = inputs_of(case_id, shape)
    ys = run_with_tf_weights(layer, case_id, x, call_kwargs)
    assert [w.name for w in layer.weights] == facts["weight_names"]
    assert [list(w.shape) for w in layer.weights] == facts["weight_shapes"]
    assert [w.name for w in layer.trainable_weights] == facts["trainable_names"]
    assert layer.count_params() == facts["count_params"]
    assert_outputs(case_id, ys)
    in_shape = [(None,) + tuple(s) for s in shape] if isinstance(shape, list) \
        else (None,) + tuple(shape)
    # tf.keras' EinsumDense.compute_output_shape ignores its argument and returns the shape it
    # was built for (batch size included); minikeras computes it from the argument.
    if "output_shape" in facts and cls != "EinsumDense":
        out_shape = layer.compute_output_shape(*in_shape) if cls == "MultiHeadAttention" \
            else layer.compute_output_shape(in_shape)
        assert jsonable(out_shape) == facts["output_shape"]
    assert jsonable(layer.get_config()) == facts["config"]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_tf_keras_config_loads(case):
    case_id, cls, _, _, shape, call_kwargs, _ = case
    config = FACTS[case_id]["config"]
    layer_class = getattr(keras.layers, cls)
    layer = keras.layers.deserialize({"class_name": cls, "config": config}) \
        if cls in ("Bidirectional", "TimeDistributed") else layer_class.from_config(config)
    assert_outputs(case_id, run_with_tf_weights(layer, case_id, inputs_of(case_id, shape),
                                                call_kwargs))
    assert jsonable(layer.get_config()) == config
