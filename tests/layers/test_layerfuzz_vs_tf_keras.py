"""Layer configurations on which the randomized layer fuzzer (/work/peer_recipes/layerfuzz/)
found minikeras differing from tf.keras 2.21. Each fixture `layerfuzz/case_N.json` holds the
layer's spec and tf.keras' facts; `case_N.npz` the inputs (and their Keras masks), tf.keras'
random weights, outputs, output masks, the gradients of `sum(R_k * output_k)` with respect to
the float inputs and the trainable weights, and the weights after the call."""
import glob
import json
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras.core.tensor import Tensor
from conftest import FIXTURES

HERE = os.path.join(FIXTURES, "layerfuzz")
CASES = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(HERE, "case_*.json")))


def load(case):
    with open(os.path.join(HERE, case + ".json")) as f:
        facts = json.load(f)
    return facts, np.load(os.path.join(HERE, case + ".npz"))


def build(spec):
    kwargs = dict(spec["kwargs"])
    if "ngrams" in kwargs and isinstance(kwargs["ngrams"], list):
        kwargs["ngrams"] = tuple(kwargs["ngrams"])
    if spec["twice"] and not spec["inner"]:
        kwargs["stateful"] = True
    args = list(spec["args"])
    if spec["inner"]:
        inner = spec["inner"]
        args.insert(0, getattr(keras.layers, inner["cls"])(*inner["args"], **inner["kwargs"]))
    return getattr(keras.layers, spec["cls"])(*args, **kwargs)


def tensor(array, mask=None):
    t = Tensor(array)
    if mask is not None:
        t._keras_mask = Tensor(mask)
    return t


def call(layer, spec, tensors, extra, training):
    kwargs = dict(spec["call_kwargs"])
    kwargs.update(extra)
    if spec["call"] == "mha":
        return layer(*tensors, training=training, **kwargs)
    if spec["call"] == "list":
        return layer(list(tensors), training=training, **kwargs)
    if training is None:
        return layer(tensors[0], **kwargs)
    return layer(tensors[0], training=training, **kwargs)


def without_build_configs(config):
    if isinstance(config, dict):
        return {k: without_build_configs(v) for k, v in config.items() if k != "build_config"}
    if isinstance(config, list):
        return [without_build_configs(v) for v in config]
    return config


def output_shape_of(layer, spec):
    shapes = [tuple([None] + inp["shape"]) for inp in spec["inputs"]]
    if spec["call"] == "mha":
        return layer.compute_output_shape(*shapes)
    return layer.compute_output_shape(shapes if spec["call"] == "list" else shapes[0])


def extra_call_arguments(arrays):
    """`extra_NAME` (or `extra_NAME_0`, `extra_NAME_1`: a list) arrays: call arguments."""
    extra = {}
    for key in sorted(arrays.files):
        if key.startswith("extra_"):
            name, _, index = key[len("extra_"):].rpartition("_")
            if index.isdigit():
                extra.setdefault(name, []).append(Tensor(arrays[key]))
            else:
                extra[key[len("extra_"):]] = Tensor(arrays[key])
    return extra


def assert_close(got, expected, tol):
    got = np.asarray(got.data if isinstance(got, Tensor) else got)
    assert got.shape == expected.shape
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
        return
    scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
    np.testing.assert_allclose(got, expected, atol=tol * scale, rtol=5 * tol)


@pytest.mark.parametrize("case", CASES)
def test_layer_matches_tf_keras(case):
    facts, arrays = load(case)
    spec = facts["spec"]
    count = len(spec["inputs"])
    xs = [arrays[f"x{k}"] for k in range(count)]
    masks = [arrays[f"m{k}"] if f"m{k}" in arrays.files else None for k in range(count)]
    extra = extra_call_arguments(arrays)
    training = None if spec["family"] in ("preprocessing", "adapt") else spec["training"]
    layer = build(spec)
    if spec["family"] == "adapt":
        layer.adapt(arrays["adapt0"])
    call(layer, spec, [tensor(x, m) for x, m in zip(xs, masks)], extra,
         None if training is None else False)
    if spec["family"] != "adapt":
        # (an adapted tf.keras layer lists its state holders among its weights; here the
        # adapted state is compared through the outputs)
        assert [w.name for w in layer.weights] == facts["weight_names"]
        assert [list(w.shape) for w in layer.weights] == facts["weight_shapes"]
        assert layer.count_params() == facts["count_params"]
        layer.set_weights([arrays[f"w{k}"] for k in range(len(facts["weight_shapes"]))])
    if spec["twice"]:         # a stateful layer: the compared call follows a first one
        layer.reset_states()
        call(layer, spec, [tensor(arrays["pre0"], masks[0])], extra, False)
    tensors = [tensor(x, m) for x, m in zip(xs, masks)]
    with keras.GradientTape() as tape:
        for t in tensors:
            if t.dtype.kind == "f":
                tape.watch(t)
        y = call(layer, spec, tensors, extra, training)
        outputs = list(y) if isinstance(y, (list, tuple)) else [y]
        total = sum(keras.ops.sum(keras.ops.multiply(out, arrays[f"R{k}"]))
                    for k, out in enumerate(outputs) if f"R{k}" in arrays.files)
    assert len(outputs) == facts["n_outputs"]
    for k, out in enumerate(outputs):
        assert out.dtype.name == facts["output_dtypes"][k]
        assert_close(out, arrays[f"y{k}"], 2e-5)
        mask = getattr(out, "_keras_mask", None)
        if f"ym{k}" in arrays.files:
            np.testing.assert_array_equal(np.asarray(mask.data if isinstance(mask, Tensor)
                                                     else mask), arrays[f"ym{k}"])
        else:
            assert mask is None
    floats = [t for t in tensors if t.dtype.kind == "f"]
    if not isinstance(total, int) and "grad_error" not in facts:
        grads = tape.gradient(total, floats + list(layer.trainable_weights))
        names = [f"gx{k}" for k, t in enumerate(tensors) if t.dtype.kind == "f"] + \
            [f"gw{k}" for k in range(len(layer.trainable_weights))]
        for name, grad in zip(names, grads):
            if name in arrays.files:
                assert_close(grad, arrays[name], 1e-4)
    if "output_shape" in facts:       # (absent where tf.keras' compute_output_shape fails)
        assert json.loads(json.dumps(output_shape_of(layer, spec))) == facts["output_shape"]
    assert json.loads(json.dumps(layer.get_config())) == facts["config"]
    if "fresh_output_shape" in facts and spec["family"] != "adapt":   # an unbuilt layer
        fresh = json.loads(json.dumps(output_shape_of(build(spec), spec)))
        assert fresh == facts["fresh_output_shape"]
    # tf.keras' config reloads into the same config (a wrapped layer's build_config aside:
    # neither library builds the inner layer of a wrapper loaded from its config)
    reloaded = keras.layers.deserialize({"class_name": spec["cls"], "config": facts["config"]})
    assert without_build_configs(json.loads(json.dumps(reloaded.get_config()))) == \
        without_build_configs(facts["config"])


def test_dilated_conv3d_transpose_reloads_dilated():
    """tf.keras' Conv3DTranspose ignores `dilation_rate` and leaves it out of its config; here
    the layer is dilated, so its config keeps a rate other than 1 and reloads the same layer."""
    layer = keras.layers.Conv3DTranspose(2, 2, dilation_rate=(2, 1, 1))
    x = np.random.default_rng(0).standard_normal((1, 3, 3, 3, 1)).astype("float32")
    y = layer(x).numpy()
    assert y.shape == (1, 5, 4, 4, 2)
    clone = keras.layers.Conv3DTranspose.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), y, rtol=1e-6)
    assert "dilation_rate" not in keras.layers.Conv3DTranspose(2, 2).get_config()


def test_resizing_an_empty_crop_raises():
    """CenterCrop/Resizing(crop_to_aspect_ratio) of an image too small for the aspect ratio:
    tf.image.resize refuses an image of zero size."""
    with pytest.raises(ValueError, match="input image must be of non-zero size"):
        keras.layers.CenterCrop(6, 2)(np.ones((1, 2, 5, 1), "float32"))


def test_deserialize_builds_from_build_config():
    """tf.keras builds a layer deserialized with a `build_config` (its weights exist at once)."""
    config = keras.layers.serialize(keras.layers.Dense(3))
    config["build_config"] = {"input_shape": [None, 4]}
    layer = keras.layers.deserialize(config)
    assert layer.built
    assert [w.shape for w in layer.weights] == [(4, 3), (3,)]


def test_lookup_config_vocabulary_size_is_the_size_last_set():
    """tf.keras' IndexLookup config: `vocabulary_size` is None until a vocabulary is set, then
    the size at that time (kept by from_config until the vocabulary itself is restored)."""
    assert keras.layers.StringLookup().get_config()["vocabulary_size"] is None
    layer = keras.layers.StringLookup(vocabulary=["a", "b"])
    assert layer.get_config()["vocabulary_size"] == 3
    layer.set_vocabulary(["a", "b", "c"])
    assert layer.get_config()["vocabulary_size"] == 4
