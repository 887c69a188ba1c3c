"""`weights=` of the applications: a file path (save_weights round trip, and a legacy HDF5
file in the layout the published ImageNet files have), 'imagenet' from Keras' cache, the error
when the file is missing and cannot be downloaded; decode_predictions' class index."""
import json
import os
import urllib.error
import urllib.request

import h5py
import numpy as np
import pytest

import minikeras as keras
from minikeras.applications import imagenet_utils

SMALL = {"alpha": 0.25, "input_shape": (32, 32, 3), "weights": None}


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache, and a network that refuses every download."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable (test)")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(imagenet_utils, "_class_index", None)
    return tmp_path / "keras_home"


def _images(n=3, size=32, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype(np.float32)


def _randomize(model, seed=2):
    """Weights unlike a fresh model's (BN statistics included), so loading must move them."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32)
                       if "variance" in w.name else
                       rng.normal(0, 0.2, w.shape).astype(np.float32) for w in model.weights])


def test_save_weights_then_rebuild_with_weights_path(tmp_path):
    model = keras.applications.MobileNet(classes=7, **SMALL)
    _randomize(model)
    expected = model.predict(_images(), verbose=0)
    path = str(tmp_path / "x.h5")
    model.save_weights(path)

    keras.backend.clear_session()
    rebuilt = keras.applications.MobileNet(alpha=0.25, input_shape=(32, 32, 3), classes=7,
                                           weights=path)
    np.testing.assert_array_equal(rebuilt.predict(_images(), verbose=0), expected)
    fresh = keras.applications.MobileNet(classes=7, **SMALL)
    assert not np.allclose(fresh.predict(_images(), verbose=0), expected, atol=1e-4)


@pytest.mark.parametrize("constructor, kwargs", [
    pytest.param("ResNet50V2", {"input_shape": (32, 32, 3), "include_top": False,
                                "pooling": "avg"}, marks=pytest.mark.slow),
    ("EfficientNetB0", {"input_shape": (32, 32, 3), "include_top": False, "pooling": "max"}),
    pytest.param("DenseNet121", {"input_shape": (32, 32, 3), "classes": 3},
                 marks=pytest.mark.slow),
])
def test_round_trip_other_families(tmp_path, constructor, kwargs):
    """Families with other weight kinds: no-bias convs, Normalization's int64 count, BN."""
    build = getattr(keras.applications, constructor)
    model = build(weights=None, **kwargs)
    _randomize(model)
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    keras.backend.clear_session()
    rebuilt = build(weights=path, **kwargs)
    for saved, loaded in zip(model.weights, rebuilt.weights):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy())
    np.testing.assert_allclose(rebuilt.predict(_images(2), verbose=0),
                               model.predict(_images(2), verbose=0), rtol=1e-5, atol=1e-6)


def write_published_layout(path, model, layer_prefix="", seed=3):
    """An HDF5 weights file laid out as Keras writes `save_weights('x.h5')` (and as the
    published ImageNet files are): root attributes `layer_names`, `backend`, `keras_version`;
    one group per layer with a `weight_names` attribute (an empty float array for layers
    without weights) and the datasets under `<layer>/<layer>/<weight>:0`. The layer names are
    prefixed so that only the order can match them. Returns the arrays written."""
    rng = np.random.default_rng(seed)
    written = []
    with h5py.File(path, "w") as f:
        names = [layer_prefix + layer.name for layer in model.layers]
        f.attrs["layer_names"] = np.array([n.encode("utf8") for n in names], dtype=object)
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.21.0"
        for name, layer in zip(names, model.layers):
            group = f.create_group(name)
            weight_names = [f"{name}/{w.name.split('/')[-1]}" for w in layer.weights]
            if not weight_names:
                group.attrs["weight_names"] = np.array([], dtype=np.float64)
                continue
            group.attrs["weight_names"] = np.array([n.encode("utf8") for n in weight_names],
                                                   dtype=object)
            for weight_name, weight in zip(weight_names, layer.weights):
                value = (rng.uniform(0.5, 1.5, weight.shape) if "variance" in weight_name
                         else rng.normal(0, 0.1, weight.shape)).astype(np.float32)
                group.create_dataset(f"{name}/{weight_name.split('/', 1)[1]}", data=value)
                written.append(value)
    return written


def test_weights_file_in_published_layout_loads_by_layer_order(tmp_path):
    template = keras.applications.MobileNetV2(alpha=0.35, include_top=False, **{
        k: v for k, v in SMALL.items() if k != "alpha"})
    path = str(tmp_path / "published.h5")
    written = write_published_layout(path, template, layer_prefix="orig_")
    keras.backend.clear_session()
    model = keras.applications.MobileNetV2(alpha=0.35, include_top=False,
                                           input_shape=(32, 32, 3), weights=path)
    assert len(model.weights) == len(written)
    for weight, value in zip(model.weights, written):
        np.testing.assert_array_equal(weight.numpy(), value)


def test_imagenet_weights_are_read_from_the_keras_cache(keras_home):
    template = keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3),
                                            include_top=False, weights=None)
    cached = keras_home / "models" / "mobilenet_2_5_128_tf_no_top.h5"
    os.makedirs(cached.parent)
    written = write_published_layout(str(cached), template)
    keras.backend.clear_session()
    model = keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3),
                                         include_top=False, weights="imagenet")
    assert model.name == "mobilenet_0.25_128"
    for weight, value in zip(model.weights, written):
        np.testing.assert_array_equal(weight.numpy(), value)


def test_missing_imagenet_file_names_the_file_and_where_to_put_it(keras_home):
    with pytest.raises(FileNotFoundError) as info:
        keras.applications.ResNet50(weights="imagenet", include_top=False,
                                    input_shape=(64, 64, 3))
    message = str(info.value)
    expected_path = os.path.join(str(keras_home), "models",
                                 "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert expected_path in message
    assert ("https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5") in message
    assert not os.path.exists(expected_path)
    assert not os.listdir(os.path.dirname(expected_path))   # no partial download left


@pytest.mark.parametrize("constructor, kwargs, file_name", [
    ("VGG19", {"include_top": False}, "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("DenseNet169", {"include_top": False},
     "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("InceptionV3", {"include_top": False},
     "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("Xception", {"include_top": False}, "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("MobileNetV2", {"include_top": False, "alpha": 0.5, "input_shape": (96, 96, 3)},
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_96_no_top.h5"),
    ("NASNetMobile", {"include_top": False}, "nasnet_mobile_no_top.h5"),
    ("EfficientNetB0", {"include_top": False}, "efficientnetb0_notop.h5"),
    ("InceptionResNetV2", {"include_top": False},
     "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"),
])
def test_official_cache_file_names(keras_home, constructor, kwargs, file_name):
    """Each family asks for the file name Keras caches its ImageNet weights under."""
    kwargs.setdefault("input_shape", (75, 75, 3))
    with pytest.raises(FileNotFoundError, match=file_name.replace(".", r"\.")):
        getattr(keras.applications, constructor)(weights="imagenet", **kwargs)


def _write_class_index(keras_home):
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    os.makedirs(keras_home / "models", exist_ok=True)
    with open(keras_home / "models" / "imagenet_class_index.json", "w") as f:
        json.dump(index, f)


def test_decode_predictions_reads_the_cached_class_index(keras_home):
    _write_class_index(keras_home)
    preds = np.full((2, 1000), 1e-4, np.float32)
    preds[0, [7, 3, 500]] = [0.5, 0.3, 0.1]
    preds[1, 999] = 0.9
    decoded = keras.applications.resnet50.decode_predictions(preds, top=3)
    assert [(d[0], d[1]) for d in decoded[0]] == [("n00000007", "class_7"),
                                                  ("n00000003", "class_3"),
                                                  ("n00000500", "class_500")]
    np.testing.assert_allclose([d[2] for d in decoded[0]], [0.5, 0.3, 0.1])
    assert decoded[1][0][:2] == ("n00000999", "class_999") and len(decoded[1]) == 3


def test_decode_predictions_errors(keras_home):
    with pytest.raises(ValueError, match=r"\(i.e. a 2D array of shape \(samples, 1000\)\). "
                                         r"Found array with shape: \(2, 10\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))
    with pytest.raises(FileNotFoundError, match="imagenet_class_index.json"):
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))


def test_efficientnet_imagenet_scales_normalized_inputs(keras_home):
    """With the ImageNet weights, EfficientNet multiplies the normalized inputs by
    1/sqrt(ImageNet RGB stds) (a tf.math.multiply op layer, as tf.keras records it)."""
    template = keras.applications.EfficientNetB0(include_top=False, weights=None,
                                                 input_shape=(32, 32, 3))
    os.makedirs(keras_home / "models")
    write_published_layout(str(keras_home / "models" / "efficientnetb0_notop.h5"), template)
    keras.backend.clear_session()
    model = keras.applications.EfficientNetB0(include_top=False, weights="imagenet",
                                              input_shape=(32, 32, 3))
    names = [layer.name for layer in model.layers[:5]]
    assert names == ["input_1", "rescaling", "normalization", "tf.math.multiply",
                     "stem_conv_pad"]
    normalization = model.get_layer("normalization")
    probe = keras.Model(model.input, model.layers[3].output)
    x = _images(1) * 127.5 + 127.5
    mean = normalization.adapt_mean.numpy()
    std = np.sqrt(normalization.adapt_variance.numpy())
    expected = (x / 255.0 - mean) / np.maximum(std, 1e-7) / np.sqrt([0.229, 0.224, 0.225])
    np.testing.assert_allclose(probe.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
