"""Seeded random layer configurations (benchmarks/fixture_recipes/fuzz.py draws them, with
each argument's edges) against tf_keras 2.21's record in fixtures/fuzz/: the error type where
tf_keras refuses, else compute_output_shape, weight names and shapes, count_params, get_config,
regularization losses, outputs and output masks on tf_keras' seeded weights and inputs, and the
gradients of sum(output * R) with respect to the float inputs and trainable weights (inference,
and training for the layers whose training call is deterministic).

The specs live in cases.json, so the test needs no generator. Every case runs in a few
milliseconds; the whole file in a few seconds."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES
from minikeras.core.tensor import Tensor

HERE = os.path.join(FIXTURES, "fuzz")
with open(os.path.join(HERE, "cases.json")) as f:
    FACTS = json.load(f)
ARRAYS = np.load(os.path.join(HERE, "cases.npz"))
INDEX = {fact["spec"]["id"]: number for number, fact in enumerate(FACTS)}

# tf's CPU kernels refuse these, a limit of the device, not of the layer: minikeras computes them
CPU_KERNEL_LIMITS = ("only supports equal length strides",
                     "do not yet support dilation rates larger than 1")
# cases where minikeras knowingly differs (see DESIGN.md, fid-fuzz)
EIGEN_SAME = ("TensorFlow's Eigen 3-D kernels (TF_ENABLE_ONEDNN_OPTS=0) pad 'same' negatively "
              "when the stride exceeds the window (a 1-wide window over 3 with stride 3 reads "
              "the middle); TF's default oneDNN kernels and minikeras read the first")
KNOWN = {
    "Conv3D_4": EIGEN_SAME, "Conv3DTranspose_1": EIGEN_SAME, "Conv3DTranspose_2": EIGEN_SAME,
    "Conv3DTranspose_0": "tf.keras' Conv3DTranspose ignores dilation_rate and leaves it out of "
                         "its config; minikeras dilates (test_layerfuzz_vs_tf_keras)",
    "Conv2DTranspose_8": "tf.keras refuses unequal dilation rates in Conv2DTranspose "
                         "(tf.nn.conv2d_transpose's limit); minikeras computes them",
    "EinsumDense_1": "tf.keras' EinsumDense drops activity_regularizer (never sets it): "
                     "minikeras applies it",
    "EinsumDense_3": "as EinsumDense_1", "EinsumDense_7": "as EinsumDense_1",
    "Hashing_0": "tf.keras' Hashing.compute_output_shape returns the input shape for "
                 "multi_hot; minikeras gives the shape of the output it returns",
    "Conv2DTranspose_d0": "as Conv2DTranspose_8",
    "SpectralNormalization_0": "tf_keras 2.21's SpectralNormalization cannot be called eagerly "
                               "(TypeError: 'Layer input_spec must be an instance of InputSpec', "
                               "a tf_keras bug); minikeras computes it",
    "SpectralNormalization_1": "as SpectralNormalization_0",
    "SpectralNormalization_2": "as SpectralNormalization_0",
    "SpectralNormalization_3": "as SpectralNormalization_0",
    "SimpleRNN_d2": "a float64 RNN given float32 initial states: tf's MatMul refuses the mixed "
                    "dtypes (InvalidArgumentError); minikeras casts the states",
    "UpSampling2D_d1": "tf.image.resize returns float32 for every method but nearest: a float16 "
                       "UpSampling2D(interpolation='bicubic') gives float32 in tf.keras, float16 "
                       "here (same values to float16 round-off)",
}


def build(case):
    args = []
    inner = case["inner"]
    if isinstance(inner, list):             # an RNN's cells
        args.append([getattr(keras.layers, i["cls"])(**i["kwargs"]) for i in inner])
    elif inner:
        args.append(getattr(keras.layers, inner["cls"])(**inner["kwargs"]))
    return getattr(keras.layers, case["cls"])(*args, **case["kwargs"])


def flat(structure):
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flat(item)]
    return [structure]


def tolerance(fact, forward):
    """float32 round-off, or float16's for layers computing in half precision."""
    if "float16" in str(fact["spec"]["kwargs"].get("dtype")):
        return 2e-2
    return 2e-5 if forward else 1e-4


def array(tag, name):
    return ARRAYS[tag + name] if tag + name in ARRAYS.files else None


def call_arguments(case, tensors, tag):
    """The call's positional inputs and keyword arguments, as the recipe gave them."""
    kw = dict(case["call_kwargs"])
    if "mask_arg" in kw:
        kw.pop("mask_arg")
        kw["mask"] = Tensor(array(tag, "mask_arg"))
    if case["mask"]:
        kw["mask"] = Tensor(array(tag, "mask"))
    if isinstance(kw.get("mask"), list):
        kw["mask"] = [Tensor(array(tag, "mask_q")), Tensor(array(tag, "mask_v"))]
    if "attention_mask" in kw:
        kw["attention_mask"] = Tensor(array(tag, "attention_mask"))
    if kw.get("initial_state") == "zeros_like_states":
        count = 2 if case["cls"] == "LSTM" else 1
        kw["initial_state"] = [Tensor(array(tag, f"state{k}")) for k in range(count)]
    if case["cls"] == "MultiHeadAttention":
        return list(tensors), kw
    if len(case["inputs"]) > 1:
        return [list(tensors)], kw
    return [tensors[0]], kw


def output_shape(layer, case):
    shapes = [tuple([None] + s[1:]) for s in case["inputs"]]
    if case["cls"] == "MultiHeadAttention":
        shape = layer.compute_output_shape(*shapes[:2])
    else:
        shape = layer.compute_output_shape(shapes if len(shapes) > 1 else shapes[0])
    return json.loads(json.dumps(shape, default=str))


def assert_close(got, expected, tol, what):
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got)
    assert got.shape == expected.shape, what
    if expected.size == 0:
        return
    scale = max(1.0, float(np.abs(expected[np.isfinite(expected)]).max(initial=0.0)))
    np.testing.assert_allclose(got.astype(np.float32), expected, atol=tol * scale, rtol=tol,
                               err_msg=what)


def check_error(case, fact):
    if any(text in fact["message"] for text in CPU_KERNEL_LIMITS):
        return          # (a CPU kernel's limit: minikeras computes these)
    expected = ValueError if fact["error"] in ("ValueError", "InvalidArgumentError") else \
        getattr(__builtins__, fact["error"], Exception) if isinstance(__builtins__, dict) \
        else getattr(__import__("builtins"), fact["error"], Exception)
    with pytest.raises(expected):
        layer = build(case)
        xs = [Tensor(ARRAYS[f"c{INDEX[case['id']]}_x{k}"]) for k in range(len(case["inputs"]))]
        inputs, kw = call_arguments(case, xs, f"c{INDEX[case['id']]}_")
        layer(*inputs, training=False, **kw)


def run_mode(layer, case, fact, tag, training):
    mtag = tag + ("t_" if training else "")
    xs = [ARRAYS[f"{tag}x{k}"] for k in range(len(case["inputs"]))]
    tensors = [Tensor(x) for x in xs]
    inputs, kw = call_arguments(case, tensors, tag)
    with keras.GradientTape(persistent=True) as tape:
        for t in tensors:
            if t.dtype.kind == "f":
                tape.watch(t)
        out = layer(*inputs, training=training, **kw)
        outs = flat(out)
        total = None
        for k, o in enumerate(outs):
            r = array(mtag, f"R{k}")
            if r is not None:
                term = keras.ops.sum(keras.ops.multiply(o, r))
                total = term if total is None else total + term
    assert len(outs) == fact["n_outputs"]
    for k, o in enumerate(outs):
        assert o.dtype.name == fact["output_dtypes"][k], f"output {k} dtype"
        assert_close(o, array(mtag, f"y{k}"), tolerance(fact, True), f"output {k}")
        expected_mask = array(mtag, f"ym{k}")
        mask = getattr(o, "_keras_mask", None)
        if expected_mask is None:
            assert mask is None, f"output {k}: a mask where tf_keras has none"
        else:
            assert mask is not None, f"output {k}: no mask"
            np.testing.assert_array_equal(np.asarray(getattr(mask, "numpy", lambda: mask)()),
                                          expected_mask)
    if not training and "losses" in fact:
        np.testing.assert_allclose([float(v.numpy() if hasattr(v, "numpy") else v)
                                    for v in layer.losses], fact["losses"],
                                   rtol=max(1e-5, tolerance(fact, True)), atol=1e-6,
                                   err_msg="losses")
    if total is None or "grad_error" in fact:
        return
    floats = [t for t in tensors if t.dtype.kind == "f"]
    grads = tape.gradient(total, floats + list(layer.trainable_weights))
    for k in range(len(floats)):
        expected = array(mtag, f"gx{k}")
        if expected is not None:
            assert grads[k] is not None, f"no gradient for input {k}"
            assert_close(grads[k], expected, tolerance(fact, False), f"gradient of input {k}")
    for k, grad in enumerate(grads[len(floats):]):
        expected = array(mtag, f"gw{k}")
        if expected is not None:
            assert grad is not None, f"no gradient for weight {k}"
            assert_close(grad, expected, tolerance(fact, False), f"gradient of weight {k}")
    if training:
        for k, w in enumerate(layer.weights):
            assert_close(w, array(mtag, f"after{k}"), tolerance(fact, True),
                         f"weight {k} after training")


def check_case(case_id):
    number = INDEX[case_id]
    fact = FACTS[number]
    case = fact["spec"]
    tag = f"c{number}_"
    if "error" in fact:
        return check_error(case, fact)
    if fact.get("empty_output"):
        # a window larger than the input: tf.keras' eager call returns an empty tensor, its
        # functional API raises ValueError ("Negative dimension size"); minikeras raises always
        with pytest.raises(ValueError):
            layer = build(case)
            layer(Tensor(ARRAYS[f"{tag}x0"]), training=False)
        return
    layer = build(case)
    if "fresh_output_shape" in fact:      # (the unbuilt layer's)
        assert output_shape(layer, case) == fact["fresh_output_shape"]
    xs = [Tensor(ARRAYS[f"{tag}x{k}"]) for k in range(len(case["inputs"]))]
    inputs, kw = call_arguments(case, xs, tag)
    layer(*inputs, training=False, **kw)
    assert [w.name for w in layer.weights] == fact["weight_names"]
    assert [list(w.shape) for w in layer.weights] == fact["weight_shapes"]
    assert layer.count_params() == fact["count_params"]
    assert json.loads(json.dumps(layer.get_config(), default=str)) == fact["config"]
    layer.set_weights([ARRAYS[f"{tag}w{k}"] for k in range(len(fact["weight_shapes"]))])
    run_mode(layer, case, fact, tag, False)
    if case["training"]:
        run_mode(layer, case, fact, tag, True)


@pytest.mark.parametrize("case_id", [fact["spec"]["id"] for fact in FACTS])
def test_layer_config_matches_tf_keras(case_id):
    if case_id in KNOWN:
        pytest.skip(KNOWN[case_id])
    check_case(case_id)


@pytest.mark.parametrize("cls", ["DepthwiseConv2D", "SeparableConv2D", "SeparableConv1D"])
def test_one_channel_moved_last_is_read_with_its_own_strides(cls):
    """A one-channel channels_first input (or a Permute's view) moved channels-last keeps the
    stride of a whole image on its length-1 channel axis, which NumPy still calls contiguous:
    the depthwise kernel read garbage memory there (fuzz case SeparableConv2D_4)."""
    rank = 1 if cls.endswith("1D") else 2
    args = (2,) if cls.startswith("Depthwise") else (3, 2)
    x_last = np.random.default_rng(3).standard_normal((2,) + (5, 4)[:rank] + (1,)).astype("float32")
    reference = getattr(keras.layers, cls)(*args)
    expected = reference(x_last).numpy()
    first = getattr(keras.layers, cls)(*args, data_format="channels_first")
    first(np.moveaxis(x_last, -1, 1).copy())
    first.set_weights(reference.get_weights())
    got = first(np.moveaxis(x_last, -1, 1).copy()).numpy()
    np.testing.assert_allclose(np.moveaxis(got, 1, -1), expected, rtol=1e-5, atol=1e-6)
    permuted = keras.layers.Permute(tuple(range(2, rank + 2)) + (1,))(
        np.moveaxis(x_last, -1, 1).copy())          # a channels-last view of the same values
    np.testing.assert_allclose(reference(permuted).numpy(), expected, rtol=1e-5, atol=1e-6)
