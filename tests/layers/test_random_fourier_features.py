"""RandomFourierFeatures against a NumPy reference, finite differences and a legacy .h5 file
tf.keras 2.21 trained and saved (tests/fixtures/rff, see PROVENANCE.md)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from gradcheck import check_layer_gradients
from minikeras.layers import RandomFourierFeatures

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "rff")


def test_forward_is_cos_of_the_scaled_projection_plus_bias():
    layer = RandomFourierFeatures(6, scale=1.5)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    out = layer(x).numpy()
    kernel, bias = layer.unscaled_kernel.numpy(), layer.bias.numpy()
    np.testing.assert_allclose(out, np.cos(x @ (kernel / 1.5) + bias), atol=1e-5)
    assert out.dtype == np.float32 and layer.compute_output_shape((None, 3)) == (None, 6)
    assert np.all((bias >= 0) & (bias < 2 * np.pi))


def test_laplacian_features_are_cauchy_draws_from_numpy_and_default_scales():
    np.random.seed(11)
    uniform = np.random.uniform(size=(3, 4))
    np.random.seed(11)
    layer = RandomFourierFeatures(4, kernel_initializer="laplacian")
    layer.build((None, 3))
    np.testing.assert_allclose(layer.unscaled_kernel.numpy(), np.tan(np.pi * (uniform - 0.5)),
                               rtol=1e-6)
    assert layer.scale == 1.0
    gaussian = RandomFourierFeatures(4)
    gaussian.build((None, 8))
    assert gaussian.scale == pytest.approx(2.0)              # sqrt(input_dim / 2)


def test_only_the_scale_trains_and_the_weight_order_is_tf_keras():
    frozen = RandomFourierFeatures(4)
    frozen.build((None, 3))
    names = [w.name.split("/")[-1] for w in frozen.weights]
    assert names == ["kernel_scale:0", "unscaled_kernel:0", "bias:0"]
    assert frozen.trainable_weights == []
    trainable = RandomFourierFeatures(4, trainable=True)
    trainable.build((None, 3))
    assert [w.name.split("/")[-1] for w in trainable.trainable_weights] == ["kernel_scale:0"]


def test_gradients_against_finite_differences(float64):
    layer = RandomFourierFeatures(5, kernel_initializer="laplacian", trainable=True)
    x = np.random.default_rng(1).normal(size=(3, 4))
    check_layer_gradients(layer, x)


def test_config_round_trip_and_bad_arguments():
    layer = RandomFourierFeatures(4, kernel_initializer="laplacian", scale=3.0, name="rff")
    config = layer.get_config()
    assert config["output_dim"] == 4 and config["kernel_initializer"] == "laplacian"
    clone = RandomFourierFeatures.from_config(config)
    assert clone.get_config() == config
    with pytest.raises(ValueError, match="`output_dim` should be a positive integer"):
        RandomFourierFeatures(0)
    with pytest.raises(ValueError, match="Unsupported `kernel_initializer`"):
        RandomFourierFeatures(2, kernel_initializer="cosine")
    with pytest.raises(ValueError, match="`scale` should be a positive float"):
        RandomFourierFeatures(2, scale=-1.0)
    with pytest.raises(ValueError, match="rank of the input tensor should be 2"):
        RandomFourierFeatures(2)(np.zeros((2, 3, 4), "float32"))


def test_loads_a_model_tf_keras_trained_and_saved_as_h5():
    expected = np.load(os.path.join(FIXTURES, "rff_expected.npz"))
    with open(os.path.join(FIXTURES, "rff.json")) as handle:
        names = json.load(handle)
    model = keras.models.load_model(os.path.join(FIXTURES, "rff.h5"))
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["predictions"],
                               atol=1e-5)
    np.testing.assert_allclose(model.layers[1].kernel_scale.numpy(), expected["scale"],
                               rtol=1e-6)
    assert [[w.name for w in layer.weights] for layer in model.layers] == names["weight_names"]
    assert [len(layer.trainable_weights) for layer in model.layers] == \
        names["trainable_counts"]
