"""Every single-layer case of fixtures/recurrent (real tf.keras 2.21): weights by name and
shape, forward to 1e-5, gradients to 1e-4, compute_output_shape and get_config."""
import importlib.util
import json

import numpy as np
import pytest

import minikeras as keras
from minikeras.core.tensor import Tensor
from conftest import fixture_path

with open(fixture_path("recurrent", "cases.json")) as _handle:
    CASES = {case["name"]: case for case in json.load(_handle)}
ARRAYS = np.load(fixture_path("recurrent", "cases.npz"))
_spec = importlib.util.spec_from_file_location("recurrent_models",
                                               fixture_path("recurrent", "recurrent_models.py"))
recurrent_models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(recurrent_models)


def arrays(case, prefix):
    name = case["name"]
    found, index = [], 0
    while f"{name}/{prefix}/{index}" in ARRAYS.files:
        found.append(ARRAYS[f"{name}/{prefix}/{index}"])
        index += 1
    return found


def _flatten(out):
    if isinstance(out, (list, tuple)):
        return [leaf for item in out for leaf in _flatten(item)]
    return [out]


def structure_of(out, counter=None):
    counter = counter if counter is not None else [0]
    if isinstance(out, (list, tuple)):
        return [structure_of(item, counter) for item in out]
    counter[0] += 1
    return counter[0] - 1


def without_build_config(config):
    if isinstance(config, dict):
        return {k: without_build_config(v) for k, v in config.items() if k != "build_config"}
    if isinstance(config, list):
        return [without_build_config(v) for v in config]
    return config


def build_case(case):
    keras.backend.clear_session()
    pre = recurrent_models.make_layer(keras, case["pre"]) if case["pre"] else None
    layer = recurrent_models.make_layer(keras, case["layer"])
    x = ARRAYS[f"{case['name']}/input/0"]
    mask = None
    if pre is not None:
        pre(x)
        if pre.weights:
            pre.set_weights(arrays(case, "pre_w"))
        h = pre(x)
        mask = pre.compute_mask(x)
    else:
        h = Tensor(x)
    states = [Tensor(s) for s in arrays(case, "state")]
    call_kwargs = {"mask": mask, "training": False}
    if states:
        call_kwargs["initial_state"] = states
    layer(h, **call_kwargs)
    layer.set_weights(arrays(case, "w"))
    return layer, h, states, call_kwargs


LAYER_CASES = [name for name, case in CASES.items() if not case["stateful"]]


@pytest.mark.parametrize("name", LAYER_CASES)
def test_case_forward_gradients_and_description(name):
    case = CASES[name]
    layer, h, states, call_kwargs = build_case(case)
    assert [w.name for w in layer.weights] == case["weight_names"]
    assert [w.name for w in layer.trainable_weights] == case["trainable_weight_names"]
    assert [list(w.shape) for w in layer.weights] == case["weight_shapes"]

    h = Tensor(np.array(h.data))
    states = [Tensor(np.array(s.data)) for s in states]
    if states:
        call_kwargs["initial_state"] = states
    with keras.GradientTape() as tape:
        tape.watch(h)
        for s in states:
            tape.watch(s)
        out = layer(h, **call_kwargs)
        flat = _flatten(out)
        loss = None
        for i, tensor in enumerate(flat):
            term = keras.ops.sum(keras.ops.multiply(tensor, ARRAYS[f"{name}/loss_w/{i}"]))
            loss = term if loss is None else keras.ops.add(loss, term)
    assert len(flat) == case["n_outputs"]
    assert structure_of(out) == case["output_structure"]
    for i, tensor in enumerate(flat):
        assert tensor.dtype == np.float32
        np.testing.assert_allclose(tensor.numpy(), ARRAYS[f"{name}/out/{i}"], atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(float(loss.numpy()), case["loss"], atol=1e-4, rtol=1e-5)

    grads = tape.gradient(loss, [h] + states + list(layer.trainable_weights))
    np.testing.assert_allclose(grads[0].numpy(), ARRAYS[f"{name}/grad_input"], atol=1e-4)
    for i, _ in enumerate(states):
        np.testing.assert_allclose(grads[1 + i].numpy(), ARRAYS[f"{name}/grad_state/{i}"], atol=1e-4)
    for i, grad in enumerate(grads[1 + len(states):]):
        np.testing.assert_allclose(grad.numpy(), ARRAYS[f"{name}/grad_w/{i}"], atol=1e-4)

    expected_shape = case["compute_output_shape"]
    got_shape = layer.compute_output_shape(tuple([None] + case["rnn_input_shape"][1:]))
    assert json.loads(json.dumps(got_shape)) == expected_shape
    config = json.loads(json.dumps(layer.get_config()))
    assert config == case["config"]
    clone = type(layer).from_config(layer.get_config())
    assert json.loads(json.dumps(clone.get_config())) == without_build_config(config)


def test_stateful_lstm_carries_states_between_batches_and_resets():
    case = CASES["lstm_stateful_seq"]
    name = case["name"]
    keras.backend.clear_session()
    layer = recurrent_models.make_layer(keras, case["layer"])
    model = keras.Sequential([layer])
    model.set_weights(arrays(case, "w"))
    np.testing.assert_allclose(model.predict(ARRAYS[f"{name}/input/0"], verbose=0),
                               ARRAYS[f"{name}/out/0"], atol=1e-5)
    np.testing.assert_allclose(model.predict(ARRAYS[f"{name}/input2"], verbose=0),
                               ARRAYS[f"{name}/out2/0"], atol=1e-5)
    for state, expected in zip(layer.states, arrays(case, "states_after")):
        np.testing.assert_allclose(np.asarray(state), expected, atol=1e-5)
    layer.reset_states()
    np.testing.assert_allclose(model.predict(ARRAYS[f"{name}/input2"], verbose=0),
                               ARRAYS[f"{name}/out_reset/0"], atol=1e-5)
    model.predict(ARRAYS[f"{name}/input/0"], verbose=0)
    model.reset_states()     # the model-level reset reaches the layer
    np.testing.assert_allclose(model.predict(ARRAYS[f"{name}/input2"], verbose=0),
                               ARRAYS[f"{name}/out_reset/0"], atol=1e-5)
    lines = []
    model.summary(print_fn=lines.append)
    assert "\n".join(lines).splitlines() == case["summary_lines"]
