"""SpectralNormalization against tf.keras 2.21 (tests/fixtures/lc/): weights, the power method
in training calls, a few SGD steps, configs, errors and legacy .h5 interop."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from gradcheck import check_layer_gradients

with open(fixture_path("lc", "spectral_normalization.json")) as _handle:
    META = json.load(_handle)
ARRAYS = np.load(fixture_path("lc", "spectral_normalization.npz"))
INNER = {"dense": lambda: keras.layers.Dense(3), "conv2d": lambda: keras.layers.Conv2D(2, 2),
         "embedding": lambda: keras.layers.Embedding(6, 3)}
ATOL = 1e-6


def _model(tag):
    info = META[tag]
    wrapper = keras.layers.SpectralNormalization(
        INNER[tag](), power_iterations=info["config"]["power_iterations"])
    model = keras.Sequential([keras.Input(tuple(info["input_shape"])), wrapper])
    initial = [ARRAYS[f"{tag}/w{i}"] for i in range(len(info["weight_names"]))]
    model.set_weights(initial)
    return model, wrapper, initial


def _assert_weights(model, prefix):
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_allclose(weight, ARRAYS[f"{prefix}_w{i}"], atol=ATOL, rtol=1e-6)


@pytest.mark.parametrize("tag", sorted(INNER))
def test_weights_are_tf_keras(tag):
    info = META[tag]
    model, wrapper, _ = _model(tag)
    assert [w.name for w in model.weights] == info["weight_names"]
    assert [w.trainable for w in model.weights] == info["trainable"]
    assert [list(w.shape) for w in model.weights] == info["weight_shapes"]
    assert model.count_params() == info["count_params"]
    assert wrapper.vector_u.dtype == np.float32
    assert list(wrapper.compute_output_shape((None,) + tuple(info["input_shape"]))) == \
        info["output_shape"]


@pytest.mark.parametrize("tag", sorted(INNER))
def test_inference_leaves_weights_and_training_call_normalizes(tag):
    model, wrapper, initial = _model(tag)
    x = ARRAYS[f"{tag}/x"]
    np.testing.assert_allclose(model.predict(x, verbose=0), ARRAYS[f"{tag}/predict_before"],
                               atol=ATOL)
    for before, after in zip(initial, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    out = wrapper(x, training=True)
    np.testing.assert_allclose(out.numpy(), ARRAYS[f"{tag}/call_training"], atol=1e-5)
    _assert_weights(model, f"{tag}/after_call_training")


@pytest.mark.parametrize("tag", sorted(INNER))
def test_sgd_steps_match_tf_keras(tag):
    model, _, _ = _model(tag)
    x, y = ARRAYS[f"{tag}/x"], ARRAYS[f"{tag}/y"]
    model.compile(keras.optimizers.SGD(0.1), "mse")
    for step, want in enumerate(ARRAYS[f"{tag}/losses"]):
        assert float(model.train_on_batch(x, y)) == pytest.approx(float(want), rel=1e-5)
        _assert_weights(model, f"{tag}/step{step}")
    np.testing.assert_allclose(model.predict(x, verbose=0), ARRAYS[f"{tag}/predict_after"],
                               atol=1e-5)


def test_power_method_converges_to_the_largest_singular_value():
    rng = np.random.default_rng(0)
    wrapper = keras.layers.SpectralNormalization(keras.layers.Conv2D(4, 3),
                                                 power_iterations=200)
    wrapper(np.zeros((1, 5, 5, 2), "float32"))
    kernel = rng.standard_normal((3, 3, 2, 4)).astype("float32")
    wrapper.layer.kernel.assign(kernel)
    wrapper(np.zeros((1, 5, 5, 2), "float32"), training=True)
    sigma = np.linalg.svd(kernel.reshape(-1, 4), compute_uv=False)[0]
    np.testing.assert_allclose(wrapper.layer.kernel.numpy(), kernel / sigma, rtol=1e-4,
                               atol=1e-6)
    _, _, vt = np.linalg.svd(kernel.reshape(-1, 4))
    np.testing.assert_allclose(np.abs(wrapper.vector_u.numpy()[0]), np.abs(vt[0]), atol=1e-4)


def test_zero_kernel_is_left_alone():
    wrapper = keras.layers.SpectralNormalization(
        keras.layers.Dense(2, kernel_initializer="zeros"))
    wrapper(np.ones((1, 3), "float32"))
    before = wrapper.vector_u.numpy().copy()
    wrapper(np.ones((1, 3), "float32"), training=True)
    assert META["zero_kernel_u_unchanged"]
    np.testing.assert_array_equal(wrapper.vector_u.numpy(), before)
    assert not np.any(wrapper.layer.kernel.numpy())


def test_vector_u_initializer_is_truncated_normal_002():
    wrapper = keras.layers.SpectralNormalization(keras.layers.Dense(4000))
    wrapper(np.ones((1, 2), "float32"))
    u = wrapper.vector_u.numpy()
    assert u.shape == (1, 4000)
    assert np.abs(u).max() <= 0.04 + 1e-7
    assert 0.015 < u.std() < 0.02          # a 2-sigma truncated normal has std 0.88 * 0.02


def test_finite_differences_in_inference(float64):
    rng = np.random.default_rng(1)
    wrapper = keras.layers.SpectralNormalization(
        keras.layers.Dense(3, bias_initializer="glorot_uniform"))
    check_layer_gradients(wrapper, rng.standard_normal((2, 4)))


@pytest.mark.parametrize("tag", sorted(INNER))
def test_config_round_trip_and_tf_keras_config(tag):
    tf_config = META[tag]["config"]
    _, wrapper, _ = _model(tag)
    assert json.loads(json.dumps(wrapper.get_config(), default=list)) == tf_config
    layer = keras.layers.SpectralNormalization.from_config(tf_config)
    assert layer.power_iterations == tf_config["power_iterations"]
    assert layer.name == "spectral_normalization"
    assert type(layer.layer).__name__ == tf_config["layer"]["class_name"]
    config = layer.get_config()
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is keras.layers.SpectralNormalization
    assert again.get_config()["power_iterations"] == config["power_iterations"]
    assert again.get_config()["layer"]["class_name"] == config["layer"]["class_name"]


def test_tf_keras_h5_file_loads_and_predicts(tmp_path):
    expected = np.load(fixture_path("lc", "h5_expected.npz"))
    model = keras.models.load_model(fixture_path("lc", "spectral.h5"), compile=False)
    x, want = expected["spectral/x"], expected["spectral/y"]
    np.testing.assert_allclose(model.predict(x, verbose=0), want, atol=1e-5)
    model.save(str(tmp_path / "again.h5"))
    again = keras.models.load_model(str(tmp_path / "again.h5"), compile=False)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [w.name for w in again.weights] == META["dense"]["weight_names"]


def test_errors():
    kind, message = META["errors"]["power0"]
    with pytest.raises(ValueError) as info:
        keras.layers.SpectralNormalization(keras.layers.Dense(2), power_iterations=0)
    assert (kind, str(info.value)) == ("ValueError", message)
    kind, message = META["errors"]["no_kernel"]
    with pytest.raises(ValueError) as info:
        keras.layers.SpectralNormalization(keras.layers.Dropout(0.1))(np.ones((1, 2), "float32"))
    assert (kind, str(info.value)) == ("ValueError", message)
    with pytest.raises(ValueError, match="Layer"):
        keras.layers.SpectralNormalization(3)


def test_flops_are_the_wrapped_layers():
    inner = keras.layers.Dense(3)
    wrapper = keras.layers.SpectralNormalization(inner)
    assert wrapper.count_flops((None, 5), (None, 3)) == inner.count_flops((None, 5), (None, 3))
