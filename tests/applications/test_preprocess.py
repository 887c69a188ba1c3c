"""preprocess_input of the applications against tf.keras (tests/fixtures/applications/
preprocess.*): values, dtypes, in-place updates; the Tensor and symbolic paths; errors."""
import importlib
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

with open(fixture_path("applications", "preprocess.json")) as f:
    CASES = json.load(f)
ARRAYS = dict(np.load(fixture_path("applications", "preprocess.npz")))
MODULE_MODES = {"vgg16": "caffe", "vgg19": "caffe", "resnet": "caffe", "resnet50": "caffe",
                "resnet_v2": "tf", "mobilenet": "tf", "mobilenet_v2": "tf", "inception_v3": "tf",
                "inception_resnet_v2": "tf", "xception": "tf", "nasnet": "tf",
                "densenet": "torch"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_preprocess_input_matches_tf_keras(case):
    module = importlib.import_module(f"minikeras.applications.{case['module']}")
    x = ARRAYS[case["input"]].copy()
    before = x.copy()
    out = module.preprocess_input(x, **case["kwargs"])
    expected = ARRAYS[f"{case['name']}/out"]
    assert out.dtype == np.dtype(case["out_dtype"])
    assert out.shape == tuple(case["out_shape"])
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-5)
    if case["input_modified_in_place"]:
        np.testing.assert_allclose(x, ARRAYS[f"{case['name']}/input_after"], rtol=1e-6,
                                   atol=1e-5)
    else:
        np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("module_name", sorted(MODULE_MODES))
def test_every_module_uses_its_mode(module_name):
    """Each module's preprocess_input is imagenet_utils.preprocess_input in its mode."""
    module = importlib.import_module(f"minikeras.applications.{module_name}")
    x = ARRAYS["img_float32"]
    expected = keras.applications.imagenet_utils.preprocess_input(
        x.copy(), mode=MODULE_MODES[module_name])
    np.testing.assert_array_equal(module.preprocess_input(x.copy()), expected)


def test_modes_in_closed_form():
    x = ARRAYS["img_float64"]
    utils = keras.applications.imagenet_utils
    np.testing.assert_allclose(utils.preprocess_input(x.copy(), mode="tf"), x / 127.5 - 1.0)
    torch = (x / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(utils.preprocess_input(x.copy(), mode="torch"), torch)
    caffe = x[..., ::-1] - np.array([103.939, 116.779, 123.68])
    np.testing.assert_allclose(utils.preprocess_input(x.copy(), mode="caffe"), caffe)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_tensor_and_symbolic_inputs_match_numpy(mode, data_format):
    utils = keras.applications.imagenet_utils
    name = "img_float32" if data_format == "channels_last" else "img_float32_cf"
    x = ARRAYS[name]
    expected = utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    tensor_out = utils.preprocess_input(keras.backend.constant(x), data_format=data_format,
                                        mode=mode)
    assert tensor_out.dtype == np.float32
    np.testing.assert_allclose(np.asarray(tensor_out.numpy()), expected, rtol=1e-6, atol=1e-5)

    inputs = keras.Input(x.shape[1:])
    outputs = utils.preprocess_input(inputs, data_format=data_format, mode=mode)
    model = keras.Model(inputs, outputs)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-5)


def test_integer_input_becomes_floatx_and_is_not_modified():
    x = ARRAYS["img_uint8"].copy()
    out = keras.applications.mobilenet.preprocess_input(x)
    assert out.dtype == np.float32 and x.dtype == np.uint8
    np.testing.assert_array_equal(x, ARRAYS["img_uint8"])


def test_efficientnet_preprocess_is_identity():
    x = ARRAYS["img_uint8"]
    assert keras.applications.efficientnet.preprocess_input(x) is x


def test_bad_mode_and_data_format_are_refused():
    utils = keras.applications.imagenet_utils
    with pytest.raises(ValueError, match="Expected mode to be one of `caffe`, `tf` or `torch`. "
                                         "Received: mode=bgr"):
        utils.preprocess_input(ARRAYS["img_float32"].copy(), mode="bgr")
    with pytest.raises(ValueError, match="Expected data_format to be one of `channels_first` "
                                         "or `channels_last`. Received: data_format=nhwc"):
        keras.applications.vgg16.preprocess_input(ARRAYS["img_float32"].copy(),
                                                  data_format="nhwc")


# The op layers tf.keras 2.21 records for preprocess_input on a KerasTensor (read from the
# peer): the names, and tf.nn.bias_add's call arguments in the model config.
SYMBOLIC_LAYERS = {"caffe": ["tf.__operators__.getitem", "tf.nn.bias_add"],
                   "tf": ["tf.math.truediv", "tf.math.subtract"],
                   "torch": ["tf.math.truediv", "tf.nn.bias_add", "tf.math.truediv_1"]}


@pytest.mark.parametrize("mode", sorted(SYMBOLIC_LAYERS))
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_symbolic_preprocess_records_tf_keras_op_layers(mode, data_format):
    shape = (8, 8, 3) if data_format == "channels_last" else (3, 8, 8)
    inputs = keras.Input(shape)
    model = keras.Model(inputs, keras.applications.imagenet_utils.preprocess_input(
        inputs, data_format=data_format, mode=mode))
    assert [layer.name for layer in model.layers[1:]] == SYMBOLIC_LAYERS[mode]
    config = model.get_config()
    if mode == "caffe":
        call_kwargs = config["layers"][2]["inbound_nodes"][0][3]
        assert call_kwargs == {"bias": [-103.93900299072266, -116.77899932861328,
                                        -123.68000030517578],
                               "data_format": "NHWC" if data_format == "channels_last"
                               else "NCHW"}
    x = np.random.default_rng(0).uniform(0, 255, (2,) + shape).astype(np.float32)
    expected = keras.applications.imagenet_utils.preprocess_input(
        x.copy(), data_format=data_format, mode=mode)
    reloaded = keras.models.model_from_json(model.to_json())
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-5)
