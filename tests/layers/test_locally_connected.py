"""LocallyConnected1D / LocallyConnected2D against tf.keras 2.21 (tests/fixtures/lc/), finite
differences, config round trips, shapes without data, errors and legacy .h5 interop."""
import builtins
import json

import h5py
import numpy as np
import pytest

import minikeras as keras
from minikeras.core.tensor import Tensor
from conftest import fixture_path
from gradcheck import check_gradients, check_layer_gradients

with open(fixture_path("lc", "locally_connected.json")) as _handle:
    META = json.load(_handle)
ARRAYS = np.load(fixture_path("lc", "locally_connected.npz"))
CASES = sorted(tag for tag in META if tag != "errors")


def _layer_from_case(tag):
    info = META[tag]
    layer = getattr(keras.layers, info["class"])(**info["kwargs"])
    layer.build((None,) + tuple(info["input_shape"]))
    layer.set_weights([ARRAYS[f"{tag}/w{i}"] for i in range(len(info["weight_shapes"]))])
    return layer


@pytest.mark.parametrize("tag", CASES)
def test_weights_outputs_and_gradients_match_tf_keras(tag):
    info = META[tag]
    layer = _layer_from_case(tag)
    assert [list(w.shape) for w in layer.weights] == info["weight_shapes"]
    assert layer.count_params() == info["count_params"]
    x = Tensor(ARRAYS[f"{tag}/x"])
    with keras.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = keras.ops.sum(keras.ops.multiply(y, ARRAYS[f"{tag}/r"]))
    assert y.dtype == np.float32
    expected = ARRAYS[f"{tag}/y"]
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(y.numpy(), expected, atol=2e-6 * scale, rtol=0)
    grads = tape.gradient(loss, [x] + layer.trainable_weights)
    names = ["grad_x"] + [f"grad_w{i}" for i in range(len(grads) - 1)]
    for grad, name in zip(grads, names):
        want = ARRAYS[f"{tag}/{name}"]
        np.testing.assert_allclose(grad.numpy(), want,
                                   atol=2e-6 * max(1.0, float(np.abs(want).max())), rtol=0,
                                   err_msg=name)


@pytest.mark.parametrize("tag", [t for t in CASES if "_i3_" in t])
def test_sparse_kernel_index_order_is_tf_keras(tag):
    np.testing.assert_array_equal(np.asarray(_layer_from_case(tag).kernel_idxs),
                                  ARRAYS[f"{tag}/kernel_idxs"])


@pytest.mark.parametrize("tag", [t for t in CASES if "_i2_" in t])
def test_dense_kernel_mask_is_tf_keras(tag):
    mask = _layer_from_case(tag).kernel_mask
    assert mask.dtype == ARRAYS[f"{tag}/kernel_mask"].dtype == bool
    np.testing.assert_array_equal(mask, ARRAYS[f"{tag}/kernel_mask"])


@pytest.mark.parametrize("tag", CASES)
def test_output_shape_without_data_and_config(tag):
    info = META[tag]
    layer = getattr(keras.layers, info["class"])(**info["kwargs"])
    shape = layer.compute_output_shape((None,) + tuple(info["input_shape"]))
    assert list(shape) == info["output_shape"]
    assert not layer.built
    tf_config = dict(info["config"])
    named = getattr(keras.layers, info["class"])(name=tf_config["name"], **info["kwargs"])
    assert json.loads(json.dumps(named.get_config(), default=list)) == tf_config
    # tf.keras' own config builds the same layer
    rebuilt = type(layer).from_config(tf_config)
    rebuilt.build((None,) + tuple(info["input_shape"]))
    rebuilt.set_weights([ARRAYS[f"{tag}/w{i}"] for i in range(len(info["weight_shapes"]))])
    np.testing.assert_allclose(rebuilt(ARRAYS[f"{tag}/x"]).numpy(), ARRAYS[f"{tag}/y"],
                               atol=2e-5, rtol=0)


def test_tf_keras_attributes_after_build():
    layer = keras.layers.LocallyConnected2D(2, 3, strides=2, implementation=3)
    layer.build((None, 7, 6, 3))
    assert (layer.output_row, layer.output_col) == (3, 2)
    assert layer.kernel_shape == (3 * 2 * 2, 7 * 6 * 3)
    assert layer.kernel.shape == (len(layer.kernel_idxs),) == (3 * 2 * 9 * 3 * 2,)
    layer = keras.layers.LocallyConnected1D(2, 3, implementation=1)
    layer.build((None, 7, 3))
    assert layer.output_length == 5 and layer.kernel_shape == (5, 9, 2)


def test_config_round_trip_keeps_every_argument():
    layer = keras.layers.LocallyConnected2D(
        3, (2, 3), strides=(2, 1), padding="same", data_format="channels_first",
        activation="relu", use_bias=False, kernel_initializer="he_normal",
        bias_initializer="ones", kernel_regularizer="l2", bias_regularizer="l1",
        activity_regularizer="l2", kernel_constraint="non_neg", bias_constraint="unit_norm",
        implementation=3, name="lc")
    config = layer.get_config()
    again = keras.layers.LocallyConnected2D.from_config(config)
    assert again.get_config() == config
    deserialized = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(deserialized) is keras.layers.LocallyConnected2D
    assert deserialized.get_config() == config


CHECKS = [
    (keras.layers.LocallyConnected1D, (5, 2), dict(filters=2, kernel_size=3, strides=2,
                                                   implementation=1, activation="tanh")),
    (keras.layers.LocallyConnected1D, (2, 5), dict(filters=2, kernel_size=2, implementation=1,
                                                   data_format="channels_first")),
    (keras.layers.LocallyConnected1D, (5, 2), dict(filters=2, kernel_size=4, strides=3,
                                                   padding="same", implementation=2)),
    (keras.layers.LocallyConnected1D, (2, 5), dict(filters=2, kernel_size=3, padding="same",
                                                   implementation=3,
                                                   data_format="channels_first")),
    (keras.layers.LocallyConnected2D, (4, 3, 2), dict(filters=2, kernel_size=(2, 2),
                                                      strides=(2, 1), implementation=1)),
    (keras.layers.LocallyConnected2D, (2, 3, 4), dict(filters=2, kernel_size=(2, 3),
                                                      implementation=1,
                                                      data_format="channels_first")),
    (keras.layers.LocallyConnected2D, (3, 3, 2), dict(filters=2, kernel_size=2, padding="same",
                                                      implementation=2,
                                                      data_format="channels_first")),
    (keras.layers.LocallyConnected2D, (3, 4, 1), dict(filters=2, kernel_size=(3, 2),
                                                      strides=(1, 2), padding="same",
                                                      implementation=3)),
]


@pytest.mark.parametrize("cls,shape,kwargs", CHECKS)
def test_finite_differences(float64, cls, shape, kwargs):
    rng = np.random.default_rng(0)
    layer = cls(bias_initializer="glorot_uniform", **kwargs)
    check_layer_gradients(layer, rng.standard_normal((2,) + shape))


def test_implementations_agree_given_the_same_connections():
    """Mode 2's dense kernel and mode 3's sparse list filled from mode 1's kernel give mode 1's
    output (a closed form independent of the tf.keras fixtures)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 6, 5, 2)).astype("float32")
    dense = keras.layers.LocallyConnected2D(4, (3, 2), strides=(2, 2), implementation=1)
    y1 = dense(x).numpy()
    kernel1, bias = dense.get_weights()                # (positions, kh*kw*cin, filters)
    mode2 = keras.layers.LocallyConnected2D(4, (3, 2), strides=(2, 2), implementation=2)
    mode2.build(x.shape)
    kernel2 = np.zeros(mode2.kernel.shape, "float32")  # (rows, cols, cin, orow, ocol, filters)
    for position in range(kernel1.shape[0]):
        orow, ocol = divmod(position, 2)
        patch = kernel1[position].reshape(3, 2, 2, 4)
        kernel2[2 * orow:2 * orow + 3, 2 * ocol:2 * ocol + 2, :, orow, ocol, :] = patch
    mode2.set_weights([kernel2 + (kernel2 == 0) * 7.0, bias])   # masked entries do not count
    np.testing.assert_allclose(mode2(x).numpy(), y1, atol=1e-5)


def test_symbolic_model_summary_counts_and_training():
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.LocallyConnected2D(4, 3, strides=2, activation="relu"),
        keras.layers.LocallyConnected2D(2, 2, padding="same", implementation=2),
        keras.layers.Flatten(), keras.layers.Dense(1)])
    assert model.layers[0].output_shape == (None, 3, 3, 4)
    assert model.layers[1].output_shape == (None, 3, 3, 2)
    assert model.layers[0].count_params() == 9 * 27 * 4 + 9 * 4
    assert model.layers[1].count_params() == (3 * 3 * 4) * (3 * 3 * 2) + 3 * 3 * 2
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 8, 8, 3)).astype("float32"), np.ones((16, 1), "float32")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first


@pytest.mark.parametrize("tag", ["lc1d", "lc2d"])
def test_tf_keras_h5_files_load_and_predict(tag, tmp_path):
    expected = np.load(fixture_path("lc", "h5_expected.npz"))
    model = keras.models.load_model(fixture_path("lc", f"{tag}.h5"), compile=False)
    want = expected[f"{tag}/y"]
    np.testing.assert_allclose(model.predict(expected[f"{tag}/x"], verbose=0), want,
                               atol=2e-6 * float(np.abs(want).max()), rtol=0)
    with h5py.File(fixture_path("lc", f"{tag}.h5"), "r") as handle:
        group = handle["model_weights"]
        tf_names = [name.decode() if isinstance(name, bytes) else name
                    for layer in group.attrs["layer_names"]
                    for name in group[layer].attrs["weight_names"]]
    assert [w.name for w in model.weights] == tf_names
    model.save(str(tmp_path / "again.h5"))
    again = keras.models.load_model(str(tmp_path / "again.h5"), compile=False)
    np.testing.assert_array_equal(again.predict(expected[f"{tag}/x"], verbose=0),
                                  model.predict(expected[f"{tag}/x"], verbose=0))
    assert [w.name for w in again.weights] == [w.name for w in model.weights]


ERROR_CASES = {
    "same_impl1_1d": lambda: keras.layers.LocallyConnected1D(2, 3, padding="same"),
    "same_impl1_2d": lambda: keras.layers.LocallyConnected2D(2, 3, padding="same"),
    "impl4_1d": lambda: keras.layers.LocallyConnected1D(2, 3, implementation=4).build(
        (None, 5, 2)),
    "impl0_2d": lambda: keras.layers.LocallyConnected2D(2, 3, implementation=0).build(
        (None, 5, 5, 2)),
    "too_small_2d": lambda: keras.layers.LocallyConnected2D(2, 6, name="lc").build(
        (None, 5, 5, 2)),
    "too_small_1d": lambda: keras.layers.LocallyConnected1D(2, 6, name="lc").build(
        (None, 5, 2)),
    "none_spatial_2d": lambda: keras.layers.LocallyConnected2D(2, 3).build((None, None, 5, 2)),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_errors_are_tf_keras_words(name):
    kind, message = META["errors"][name]
    with pytest.raises(getattr(builtins, kind)) as info:
        ERROR_CASES[name]()
    assert str(info.value) == message


def _called_twice(layer, first_shape, second_shape):
    layer(np.ones(first_shape, "float32"))
    layer(np.ones(second_shape, "float32"))


@pytest.mark.parametrize("make,error,words", [
    (lambda: keras.layers.LocallyConnected1D(0, 3), ValueError, "filters"),
    (lambda: keras.layers.LocallyConnected1D(2, 3, strides=0), ValueError, "strides"),
    (lambda: keras.layers.LocallyConnected2D(2, (3, 3, 3)), ValueError, "kernel_size"),
    (lambda: keras.layers.LocallyConnected1D(2, 3, padding="full"), ValueError, "padding"),
    (lambda: keras.layers.LocallyConnected1D(2, 3, data_format="nhwc"), ValueError,
     "data_format"),
    (lambda: keras.layers.LocallyConnected1D(2, 3, padding="causal", implementation=2).build(
        (None, 5, 2)), NotImplementedError, "Padding type causal not supported"),
    (lambda: keras.layers.LocallyConnected1D(2, 3).build((None, 5, None)), ValueError,
     "Axis 2 of input should be fully-defined"),
    (lambda: keras.layers.LocallyConnected2D(2, 3)(np.ones((1, 5, 5), "float32")), ValueError,
     "ndim=4"),
    (lambda: _called_twice(keras.layers.LocallyConnected1D(2, 3), (1, 6, 2), (1, 7, 2)),
     ValueError, r"built for inputs with spatial shape \(6,\)"),
])
def test_bad_arguments(make, error, words):
    with pytest.raises(error, match=words):
        make()


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_backend_local_conv_matches_the_layer(data_format):
    rng = np.random.default_rng(5)
    shape2 = (2, 5, 6, 3) if data_format == "channels_last" else (2, 3, 5, 6)
    x2 = rng.standard_normal(shape2).astype("float32")
    layer2 = keras.layers.LocallyConnected2D(4, (2, 3), strides=(2, 1), use_bias=False,
                                             data_format=data_format)
    y2 = layer2(x2).numpy()
    got = keras.backend.local_conv2d(x2, layer2.kernel, (2, 3), (2, 1), (2, 4), data_format)
    np.testing.assert_allclose(np.asarray(got), y2, atol=1e-5)
    shape1 = (2, 7, 3) if data_format == "channels_last" else (2, 3, 7)
    x1 = rng.standard_normal(shape1).astype("float32")
    layer1 = keras.layers.LocallyConnected1D(2, 3, strides=2, use_bias=False,
                                             data_format=data_format)
    y1 = layer1(x1).numpy()
    got = keras.backend.local_conv1d(x1, layer1.kernel, (3,), (2,), data_format)
    np.testing.assert_allclose(np.asarray(got), y1, atol=1e-5)


def test_flops_count_the_connected_multiply_adds():
    valid = keras.layers.LocallyConnected2D(4, 3, strides=2)
    conv = keras.layers.Conv2D(4, 3, strides=2)
    shape = (None, 7, 8, 3)
    out = valid.compute_output_shape(shape)
    conv_out = conv.compute_output_shape(shape)
    assert valid.count_flops(shape, out) == conv.count_flops(shape, conv_out)
    same = keras.layers.LocallyConnected1D(2, 3, padding="same", implementation=2)
    # length 4, kernel 3: windows [-1, 2), [0, 3), [1, 4), [2, 5) hold 2 + 3 + 3 + 2 taps
    assert same.count_flops((None, 4, 5), (None, 4, 2)) == 2 * 10 * 5 * 2


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_backend_local_conv2d_finite_differences(float64, data_format):
    rng = np.random.default_rng(2)
    shape = (2, 4, 3, 2) if data_format == "channels_last" else (2, 2, 4, 3)
    kernel = rng.standard_normal((2 * 2, 2 * 2 * 2, 3))     # 2x2 outputs, 2x2 window, 2 in

    def local_conv(x, k):
        return keras.backend.local_conv2d(x, k, (2, 2), (2, 1), (2, 2), data_format)
    check_gradients(local_conv, [rng.standard_normal(shape), kernel])
