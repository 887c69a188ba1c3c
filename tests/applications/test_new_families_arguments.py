"""MobileNetV3, EfficientNetV2, ConvNeXt, RegNet, ResNet-RS: constructor checks in tf.keras'
words (each family has its own wording), `input_tensor`, `weights='imagenet'` from Keras' cache under the
published file names and the error when it is missing offline, `preprocess_input` /
`decode_predictions` of each module."""
import inspect
import os
import re
import urllib.error
import urllib.request
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras.applications import (convnext, efficientnet_v2, imagenet_utils, mobilenet_v3,
                                    regnet, resnet_rs)

apps = keras.applications
SMALL = (32, 32, 3)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache, and a network that refuses every download."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable (test)")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(imagenet_utils, "_class_index", None)
    return tmp_path / "keras_home"


def _raises(message, build):
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        build()


WEIGHTS_TEXT = ("The `weights` argument should be either `None` (random initialization), "
                "`imagenet` (pre-training on ImageNet), or the path to the weights file to be "
                "loaded.")


def test_weights_and_classes_errors_in_each_familys_words():
    _raises(WEIGHTS_TEXT + "  Received weights=nope", lambda: apps.MobileNetV3Small(weights="nope"))
    _raises(WEIGHTS_TEXT + "Received: weights=nope", lambda: apps.EfficientNetV2B0(weights="nope"))
    _raises(WEIGHTS_TEXT, lambda: apps.ConvNeXtTiny(weights="nope"))
    _raises('If using `weights` as `"imagenet"` with `include_top` as true, `classes` should be '
            "1000.  Received classes=10",
            lambda: apps.MobileNetV3Large(weights="imagenet", classes=10))
    _raises("If using `weights` as `'imagenet'` with `include_top` as true, `classes` should be "
            "1000Received: classes=10", lambda: apps.EfficientNetV2S(weights="imagenet", classes=10))
    _raises("If using `weights` as `'imagenet'` with `include_top` as true, `classes` should be "
            "1000", lambda: apps.ConvNeXtBase(weights="imagenet", classes=10))
    _raises(WEIGHTS_TEXT, lambda: apps.RegNetX002(weights="nope"))
    _raises("If using `weights` as `'imagenet'` with `include_top` as true, `classes` should be "
            "1000", lambda: apps.RegNetY002(weights="imagenet", classes=10))


def test_resnet_rs_weight_variants():
    text = ("The `weights` argument should be either `None` (random initialization), "
            "`'imagenet'` (pre-training on ImageNet, with highest available input shape), or the "
            "path to the weights file to be loaded. For ResNetRS{} the following weight variants "
            "are available {} (default=highest). Received weights={}")
    _raises(text.format(50, "['imagenet-i160']", "nope"), lambda: apps.ResNetRS50(weights="nope"))
    _raises(text.format(101, "['imagenet-i160', 'imagenet-i192']", "imagenet-i999"),
            lambda: apps.ResNetRS101(weights="imagenet-i999"))
    classes_text = ("If using `weights` as `'imagenet'` or any of ['imagenet-i192', "
                    "'imagenet-i224', 'imagenet-i256'] with `include_top` as true, `classes` "
                    "should be 1000. Received classes=10")
    _raises(classes_text, lambda: apps.ResNetRS152(weights="imagenet", classes=10))
    _raises(classes_text, lambda: apps.ResNetRS152(weights="imagenet-i192", classes=10))


def test_regnet_top_gives_logits_and_counts_heads_per_session():
    """As tf.keras: `classifier_activation` is validated but not applied, and each RegNet
    built in a session takes the next head number."""
    first = apps.RegNetX002(weights=None, input_shape=SMALL, classes=3)
    second = apps.RegNetX002(weights=None, input_shape=SMALL, classes=3)
    assert [layer.name for layer in first.layers[-2:]] == ["1_head_gap", "1head_dense"]
    assert [layer.name for layer in second.layers[-2:]] == ["2_head_gap", "2head_dense"]
    assert first.layers[-1].activation is keras.activations.linear
    with pytest.raises(ValueError, match="Only `None` and `softmax` activations are allowed"):
        apps.RegNetY002(weights="imagenet", classifier_activation="relu")


def test_regnet_block_checks():
    with pytest.raises(ValueError, match=re.escape(
            "Input filters(8) and output filters(16) are not equal for stride 1.")):
        regnet.XBlock(8, 16, 8, stride=1, name="x")(keras.Input((8, 8, 8)))
    with pytest.raises(NotImplementedError, match="Z blocks"):
        regnet.Stage("Z", 1, 8, 8, 16)


def test_mobilenet_v3_alpha_size_and_input_tensor_checks():
    alpha_text = ("If imagenet weights are being loaded, alpha can be one of `0.75`, `1.0` for "
                  "non minimalistic or `1.0` for minimalistic only.")
    _raises(alpha_text, lambda: apps.MobileNetV3Large(weights="imagenet", alpha=0.5))
    _raises(alpha_text, lambda: apps.MobileNetV3Small(weights="imagenet", alpha=0.75,
                                                      minimalistic=True))
    _raises("Input size must be at least 32x32; Received `input_shape=(31, 64, 3)`",
            lambda: apps.MobileNetV3Small(weights=None, input_shape=(31, 64, 3)))
    _raises("input_shape[1] must equal backend.int_shape(input_tensor)[2].  Received "
            "input_shape=(64, 64, 3), backend.int_shape(input_tensor)=(None, 32, 32, 3)",
            lambda: apps.MobileNetV3Small(weights=None, input_shape=(64, 64, 3),
                                          input_tensor=keras.Input((32, 32, 3))))
    _raises("Input size must be at least 32x32; Received: input_shape=(16, 16, 3)",
            lambda: apps.EfficientNetV2B0(weights=None, include_top=False,
                                          input_shape=(16, 16, 3)))


def test_pretrained_top_allows_only_softmax_or_none():
    with pytest.raises(ValueError, match="Only `None` and `softmax` activations are allowed"):
        apps.ConvNeXtTiny(weights="imagenet", classifier_activation="relu")


def test_input_tensor_with_predecessors_becomes_part_of_the_model():
    source = keras.Input((40, 32, 3))
    scaled = keras.layers.Rescaling(2.0)(source)
    for build in (apps.MobileNetV3Small, apps.EfficientNetV2B0, apps.ResNetRS50):
        model = build(weights=None, input_tensor=scaled, include_top=False, pooling="avg")
        assert model.inputs[0] is source
        assert model.input_shape == (None, 40, 32, 3)
        assert model.layers[1].name == "rescaling"


@pytest.mark.parametrize("build, first", [
    (apps.ConvNeXtTiny, "convnext_tiny_prestem_normalization"),
    (apps.RegNetX002, "regnetx002_prestem_rescaling")])
def test_convnext_and_regnet_start_from_the_source_input_of_input_tensor(build, first):
    """As tf.keras does: ConvNeXt and RegNet take the first Input behind `input_tensor` and builds on it,
    leaving out the layers in between."""
    source = keras.Input((40, 32, 3))
    scaled = keras.layers.Rescaling(2.0)(source)
    model = build(weights=None, input_tensor=scaled, include_top=False)
    assert model.inputs[0] is source
    assert [layer.name for layer in model.layers[:2]] == [source.node.layer.name, first]


def test_unknown_pooling_is_refused_not_ignored():
    with pytest.raises(ValueError, match="pooling=sum"):
        apps.MobileNetV3Small(weights=None, include_top=False, pooling="sum")


@pytest.mark.parametrize("constructor, kwargs, file_name", [
    ("MobileNetV3Small", {}, "weights_mobilenet_v3_small_224_1.0_float.h5"),
    ("MobileNetV3Large", {"include_top": False, "alpha": 0.75},
     "weights_mobilenet_v3_large_224_0.75_float_no_top_v2.h5"),
    ("MobileNetV3Small", {"include_top": False, "minimalistic": True},
     "weights_mobilenet_v3_small_minimalistic_224_1.0_float_no_top_v2.h5"),
    ("EfficientNetV2B0", {"include_top": False}, "efficientnetv2-b0_notop.h5"),
    ("EfficientNetV2S", {"include_top": False}, "efficientnetv2-s_notop.h5"),
    ("ConvNeXtTiny", {"include_top": False}, "convnext_tiny_notop.h5"),
    ("RegNetY016", {"include_top": False}, "regnety016_notop.h5"),
    ("ResNetRS101", {"include_top": False}, "resnet-rs-101-i192_notop.h5"),
    ("ResNetRS50", {"weights": "imagenet-i160"}, "resnet-rs-50-i160.h5"),
])
def test_missing_imagenet_file_names_file_and_url(keras_home, constructor, kwargs, file_name):
    kwargs.setdefault("input_shape", SMALL)
    with pytest.raises(FileNotFoundError) as info:
        getattr(apps, constructor)(**{"weights": "imagenet", **kwargs})
    message = str(info.value)
    assert os.path.join(str(keras_home), "models", file_name) in message
    assert ("https://storage.googleapis.com/tensorflow/keras-applications/" in message
            and message.count(file_name) >= 2)
    assert not os.listdir(os.path.join(str(keras_home), "models"))


@pytest.mark.parametrize("constructor, file_name", [
    ("MobileNetV3Small", "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"),
    ("EfficientNetV2B0", "efficientnetv2-b0_notop.h5"),
    ("ConvNeXtTiny", "convnext_tiny_notop.h5"),
    ("RegNetX002", "regnetx002_notop.h5"),
])
def test_imagenet_weights_are_read_from_the_keras_cache(keras_home, constructor, file_name):
    """A file placed in the cache under the published name is loaded (no download, no
    hash check, as for the other families)."""
    build = getattr(apps, constructor)
    template = build(weights=None, include_top=False, input_shape=SMALL)
    rng = np.random.default_rng(4)
    template.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.numpy().dtype)
                          for w in template.weights])
    os.makedirs(keras_home / "models")
    template.save_weights(str(keras_home / "models" / file_name))
    keras.backend.clear_session()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # MobileNetV3: not the 224x224 of the weights
        model = build(weights="imagenet", include_top=False, input_shape=SMALL)
    for weight, expected in zip(model.weights, template.weights):
        np.testing.assert_array_equal(weight.numpy(), expected.numpy())


@pytest.mark.parametrize("module", [mobilenet_v3, efficientnet_v2, convnext, regnet, resnet_rs])
def test_preprocess_input_is_the_identity_and_decode_predictions_reads_the_index(module,
                                                                                 keras_home):
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    assert module.preprocess_input(images) is images
    assert module.preprocess_input(images, data_format="channels_last") is images
    with pytest.raises(FileNotFoundError, match="imagenet_class_index.json"):
        module.decode_predictions(np.zeros((1, 1000), np.float32))
    with pytest.raises(ValueError, match=r"Found array with shape: \(1, 10\)"):
        module.decode_predictions(np.zeros((1, 10), np.float32))


@pytest.mark.parametrize("constructor", [
    "MobileNetV3Small", "MobileNetV3Large", "EfficientNetV2B0", "EfficientNetV2B1",
    "EfficientNetV2B2", "EfficientNetV2B3", "EfficientNetV2S", "EfficientNetV2M",
    "EfficientNetV2L", "ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge",
    "ConvNeXtXLarge", "RegNetX002", "RegNetY320", "ResNetRS50", "ResNetRS420"])
def test_constructor_signatures_match_tf_keras(constructor):
    expected = {
        "MobileNetV3": ["input_shape", "alpha", "minimalistic", "include_top", "weights",
                        "input_tensor", "classes", "pooling", "dropout_rate",
                        "classifier_activation", "include_preprocessing"],
        "EfficientNetV2": ["include_top", "weights", "input_tensor", "input_shape", "pooling",
                           "classes", "classifier_activation", "include_preprocessing"],
        "ConvNeXt": ["model_name", "include_top", "include_preprocessing", "weights",
                     "input_tensor", "input_shape", "pooling", "classes",
                     "classifier_activation"],
        "RegNet": ["model_name", "include_top", "include_preprocessing", "weights",
                   "input_tensor", "input_shape", "pooling", "classes", "classifier_activation"],
        "ResNetRS": ["include_top", "weights", "classes", "input_shape", "input_tensor",
                     "pooling", "classifier_activation", "include_preprocessing"],
    }
    family = next(prefix for prefix in expected if constructor.startswith(prefix))
    parameters = inspect.signature(getattr(apps, constructor)).parameters
    assert list(parameters) == expected[family]
    assert parameters["weights"].default == "imagenet"
