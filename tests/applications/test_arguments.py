"""Constructor arguments of the applications: the checks tf.keras makes (in its words),
input_tensor, pooling, classes / classifier_activation, alpha, data formats."""
import re
import urllib.error
import urllib.request

import numpy as np
import pytest

import minikeras as keras

apps = keras.applications


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("offline (test)")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_weights_must_be_none_imagenet_or_an_existing_file():
    with pytest.raises(ValueError, match=r"The `weights` argument should be either `None` "
                                         r"\(random initialization\), `imagenet` \(pre-training "
                                         r"on ImageNet\), or the path to the weights file to be "
                                         r"loaded.  Received: weights=no_such_file.h5"):
        apps.ResNet50(weights="no_such_file.h5")


def test_imagenet_top_needs_1000_classes_and_the_default_shape():
    with pytest.raises(ValueError, match='If using `weights` as `"imagenet"` with '
                                         "`include_top` as true, `classes` should be 1000"):
        apps.VGG16(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"When setting `include_top=True` and loading "
                                         r"`imagenet` weights, `input_shape` should be "
                                         r"\(299, 299, 3\)"):
        apps.Xception(weights="imagenet", input_shape=(224, 224, 3))


@pytest.mark.parametrize("constructor, shape, minimum", [
    ("ResNet50", (31, 64, 3), 32), ("InceptionV3", (74, 80, 3), 75),
    ("Xception", (70, 80, 3), 71), ("InceptionResNetV2", (80, 74, 3), 75),
])
def test_minimum_input_size(constructor, shape, minimum):
    message = f"Input size must be at least {minimum}x{minimum}; Received: input_shape={shape}"
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(apps, constructor)(weights=None, include_top=False, input_shape=shape)


def test_input_shape_rules():
    with pytest.raises(ValueError, match="`input_shape` must be a tuple of three integers."):
        apps.DenseNet121(weights=None, include_top=False, input_shape=(64, 64))
    with pytest.raises(ValueError, match="If `include_top` is True, you should specify a "
                                         "static `input_shape`."):
        apps.DenseNet121(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="The input must have 3 channels; Received "
                                         r"`input_shape=\(64, 64, 1\)`"):
        apps.DenseNet121(weights="imagenet", include_top=False, input_shape=(64, 64, 1))
    with pytest.warns(UserWarning, match="This model usually expects 1 or 3 input channels. "
                                         "However, it was passed an input_shape with 4 input "
                                         "channels."):
        model = apps.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 4))
    assert model.input_shape == (None, 32, 32, 4)


def test_no_top_default_shape_is_any_size():
    model = apps.ResNet50(weights=None, include_top=False)
    assert model.input_shape == (None, None, None, 3)
    assert model.output_shape == (None, None, None, 2048)
    out = model.predict(np.zeros((1, 40, 56, 3), np.float32), verbose=0)
    assert out.shape == (1, 2, 2, 2048)


def test_unknown_keyword_and_pooling_are_refused():
    with pytest.raises(ValueError, match=r"Unknown argument\(s\): \{'depth': 3\}"):
        apps.MobileNetV2(weights=None, depth=3)
    with pytest.raises(ValueError, match="The `pooling` argument should be one of None, 'avg' "
                                         "or 'max'. Received: pooling=mean"):
        apps.MobileNet(weights=None, include_top=False, pooling="mean")


def test_classifier_activation(offline):
    model = apps.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=4,
                             classifier_activation=None)
    assert model.get_layer("predictions").get_config()["activation"] == "linear"
    logits = model.predict(np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3))
                           .astype(np.float32), verbose=0)
    assert not np.allclose(logits.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="Only `None` and `softmax` activations are allowed for "
                                         "the `classifier_activation` argument when using "
                                         "pretrained weights, with `include_top=True`"):
        apps.MobileNetV2(weights="imagenet", alpha=0.35, input_shape=(96, 96, 3),
                         classifier_activation="relu")


def test_pooling_modes_and_names():
    avg = apps.DenseNet121(weights=None, include_top=False, pooling="avg", input_shape=(32, 32, 3))
    assert avg.layers[-1].name == "avg_pool" and avg.output_shape == (None, 1024)
    keras.backend.clear_session()
    top = apps.Xception(weights=None, include_top=False, pooling="max", input_shape=(71, 71, 3))
    assert type(top.layers[-1]).__name__ == "GlobalMaxPooling2D"
    assert top.output_shape == (None, 2048)


def test_input_tensor_keeps_the_graph_before_it():
    inputs = keras.Input((48, 48, 3), name="pixels")
    scaled = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    model = apps.MobileNetV2(weights=None, include_top=False, input_tensor=scaled,
                             pooling="avg")
    assert model.inputs[0] is inputs
    assert [layer.name for layer in model.layers[:2]] == ["pixels", "rescaling"]
    x = np.random.default_rng(0).uniform(0, 255, (2, 48, 48, 3)).astype(np.float32)
    expected = apps.MobileNetV2(weights=None, include_top=False, input_shape=(48, 48, 3),
                                pooling="avg")
    expected.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               expected.predict(x / 127.5 - 1, verbose=0), rtol=1e-5, atol=1e-5)


def test_input_tensor_must_be_symbolic():
    with pytest.raises(NotImplementedError, match="`input_tensor` must be a Keras symbolic "
                                                  "tensor"):
        apps.DenseNet121(weights=None, include_top=False,
                         input_tensor=np.zeros((1, 32, 32, 3), np.float32))


def test_mobilenet_input_tensor_must_match_input_shape():
    inputs = keras.Input((64, 64, 3))
    with pytest.raises(ValueError, match="input_tensor.shape\\[2\\] must equal input_shape\\[1\\]"):
        apps.MobileNetV2(weights=None, include_top=False, input_tensor=inputs,
                         input_shape=(96, 96, 3))
    model = apps.MobileNetV2(weights=None, include_top=False, input_tensor=inputs)
    assert model.name == "mobilenetv2_1.00_None"   # tf.keras names it from input_shape


def test_mobilenet_alpha_names_and_imagenet_rules(offline):
    model = apps.MobileNet(weights=None, alpha=0.5, depth_multiplier=2, include_top=False,
                           input_shape=(64, 64, 3))
    assert model.name == "mobilenet_0.50_64"
    assert model.get_layer("conv_pw_13").filters == 512
    assert model.get_layer("conv_dw_1").depth_multiplier == 2
    with pytest.raises(ValueError, match="If imagenet weights are being loaded, depth "
                                         "multiplier must be 1.  Received depth_multiplier=2"):
        apps.MobileNet(weights="imagenet", depth_multiplier=2)
    with pytest.raises(ValueError, match="alpha can be one of`0.25`, `0.50`, `0.75` or `1.0` "
                                         "only.  Received alpha=0.3"):
        apps.MobileNet(weights="imagenet", alpha=0.3)
    with pytest.raises(ValueError, match="alpha must be one of `0.35`, `0.50`, `0.75`, `1.0`, "
                                         "`1.3` or `1.4` only; Received `alpha=0.4`"):
        apps.MobileNetV2(weights="imagenet", alpha=0.4)
    # Non-square input: the 224 weights are asked for, with tf.keras' warning.
    with pytest.warns(UserWarning, match="Weights for input shape \\(224, 224\\) will be loaded"):
        with pytest.raises(FileNotFoundError, match="mobilenet_5_0_224_tf_no_top.h5"):
            apps.MobileNet(weights="imagenet", alpha=0.5, include_top=False,
                           input_shape=(128, 96, 3))


def test_mobilenet_v2_alpha_above_one_widens_the_last_layer():
    model = apps.MobileNetV2(weights=None, alpha=1.3, include_top=False, input_shape=(32, 32, 3))
    assert model.get_layer("Conv_1").filters == 1664
    assert model.get_layer("Conv1").filters == 40


def test_nasnet_refuses_dynamic_shape_with_imagenet(offline):
    with pytest.raises(ValueError, match="the input_shape argument must be static"):
        apps.NASNetMobile(weights="imagenet", include_top=False, input_shape=(None, None, 3))


def test_channels_first_models():
    keras.backend.set_image_data_format("channels_first")
    try:
        model = apps.ResNet50(weights=None, include_top=False, input_shape=(3, 64, 64))
        assert model.output_shape == (None, 2048, 2, 2)
        keras.backend.clear_session()
        model = apps.MobileNetV2(weights=None, input_shape=(3, 32, 32), classes=5)
        assert model.get_layer("bn_Conv1").axis in (1, [1])
        out = model.predict(np.zeros((2, 3, 32, 32), np.float32), verbose=0)
        assert out.shape == (2, 5)
    finally:
        keras.backend.set_image_data_format("channels_last")


def test_efficientnet_input_layers():
    """EfficientNet starts with Rescaling(1/255) and an (unadapted) Normalization whose
    mean/variance/count are 7 non-trainable parameters."""
    model = apps.EfficientNetB0(weights=None, include_top=False, input_shape=(32, 32, 3))
    rescaling, normalization = model.layers[1], model.layers[2]
    assert type(rescaling).__name__ == "Rescaling" and rescaling.scale == pytest.approx(1 / 255)
    assert [w.name for w in normalization.weights] == [
        "normalization/mean:0", "normalization/variance:0", "normalization/count:0"]
    assert normalization.count.dtype == np.int64
    assert all(not w.trainable for w in normalization.weights)
