"""Activation layers: ReLU, Softmax, LeakyReLU, PReLU, ELU, ThresholdedReLU (tf.keras 2 API)."""
import json

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from conftest import fixture_path
from gradcheck import check_layer_gradients

RNG = np.random.default_rng(3)


def away_from_kinks(shape, kinks, gap=0.05):
    """Random values at least `gap` away from the points where the function bends, so that
    finite differences do not straddle a kink."""
    x = RNG.uniform(-3, 3, shape)
    for k in kinks:
        close = np.abs(x - k) < gap
        x[close] = k + np.sign(x[close] - k + 1e-12) * gap * 2
    return x


def load_activation_case(name, kwargs):
    with open(fixture_path("functions", "activations.json")) as handle:
        cases = json.load(handle)
    arrays = np.load(fixture_path("functions", "arrays.npz"))
    case = next(c for c in cases if c["name"] == name and c["kwargs"] == kwargs)
    return arrays[case["arg"][1:]], np.asarray(case["value"], np.float32)


# --- forward vs fixture / NumPy ------------------------------------------------------------
def test_relu_layer_matches_tf_keras_relu_fixture():
    x, expected = load_activation_case("relu", {"alpha": 0.1, "max_value": 2.0, "threshold": 0.5})
    out = layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5)(x).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    x, expected = load_activation_case("relu", {})
    np.testing.assert_allclose(layers.ReLU()(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_softmax_layer_matches_tf_keras_softmax_fixture():
    x, expected = load_activation_case("softmax", {"axis": 1})
    np.testing.assert_allclose(layers.Softmax(axis=1)(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    x, expected = load_activation_case("softmax", {})
    np.testing.assert_allclose(layers.Softmax()(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def np_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    out = np.where(x >= threshold, x, negative_slope * (x - threshold))
    return out if max_value is None else np.minimum(out, max_value)


@pytest.mark.parametrize("kwargs", [
    {}, {"max_value": 6.0}, {"negative_slope": 0.2}, {"threshold": 1.5},
    {"max_value": 1.0, "negative_slope": 0.3, "threshold": 0.5},
])
def test_relu_forward(kwargs):
    x = away_from_kinks((4, 5), [0.0, kwargs.get("threshold", 0.0), kwargs.get("max_value", 9)])
    out = layers.ReLU(**kwargs)(x.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), np_relu(x, **kwargs), rtol=1e-6, atol=1e-6)


def test_keras_docstring_examples():
    x = np.array([-3.0, -1.0, 0.0, 2.0], np.float32)
    np.testing.assert_allclose(layers.ReLU()(x).numpy(), [0, 0, 0, 2])
    np.testing.assert_allclose(layers.ReLU(max_value=1.0)(x).numpy(), [0, 0, 0, 1])
    np.testing.assert_allclose(layers.ReLU(negative_slope=1.0)(x).numpy(), [-3, -1, 0, 2])
    np.testing.assert_allclose(layers.ReLU(threshold=1.5)(np.array([-3.0, -1.0, 1.0, 2.0])).numpy(),
                               [0, 0, 0, 2])
    np.testing.assert_allclose(layers.LeakyReLU()(x).numpy(), [-0.9, -0.3, 0.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(layers.LeakyReLU(alpha=0.1)(x).numpy(), [-0.3, -0.1, 0.0, 2.0], rtol=1e-6)
    masked = layers.Softmax()(np.array([[1.0, 2.0, 1.0]]), mask=np.array([[True, False, True]]))
    np.testing.assert_allclose(masked.numpy(), [[0.5, 0.0, 0.5]], atol=1e-7)


def test_softmax_over_several_axes_and_masks():
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    exp = np.exp(x - x.max(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(layers.Softmax(axis=[1, 2])(x).numpy(),
                               exp / exp.sum(axis=(1, 2), keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(layers.Softmax(axis=[1])(x).numpy(), layers.Softmax(axis=1)(x).numpy())
    mask = RNG.random((2, 3, 4)) > 0.3
    mask[..., 0] = True
    for robust in (False, True):
        out = layers.Softmax(robust_masking=robust)(x, mask=mask).numpy()
        kept = np.where(mask, np.exp(x), 0.0)
        np.testing.assert_allclose(out, kept / kept.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)


def test_leaky_relu_elu_thresholded_forward():
    x = away_from_kinks((3, 6), [0.0, 1.0]).astype(np.float32)
    np.testing.assert_allclose(layers.LeakyReLU()(x).numpy(), np.where(x > 0, x, 0.3 * x), rtol=1e-6)
    np.testing.assert_allclose(layers.ELU()(x).numpy(), np.where(x > 0, x, np.expm1(x)), rtol=1e-6)
    np.testing.assert_allclose(layers.ELU(alpha=0.5)(x).numpy(), np.where(x > 0, x, 0.5 * np.expm1(x)),
                               rtol=1e-6)
    np.testing.assert_array_equal(layers.ThresholdedReLU()(x).numpy(), np.where(x > 1.0, x, 0))
    np.testing.assert_array_equal(layers.ThresholdedReLU(theta=0.5)(x).numpy(), np.where(x > 0.5, x, 0))


def test_prelu_forward_and_weight():
    x = RNG.standard_normal((2, 5, 5, 3)).astype(np.float32)
    layer = layers.PReLU(alpha_initializer="ones", shared_axes=[1, 2])
    layer(x)
    assert [w.name for w in layer.weights] == ["p_re_lu/alpha:0"]
    assert layer.alpha.shape == (1, 1, 3) and layer.count_params() == 3
    alpha = np.array([0.1, -0.5, 2.0], np.float32).reshape(1, 1, 3)
    layer.set_weights([alpha])
    np.testing.assert_allclose(layer(x).numpy(), np.where(x > 0, x, alpha * x), rtol=1e-6)

    full = layers.PReLU()
    out = full(x)
    assert full.alpha.shape == (5, 5, 3)
    np.testing.assert_array_equal(out.numpy(), np.maximum(x, 0))   # zeros initializer
    assert layers.PReLU(shared_axes=1).shared_axes == [1]


def test_prelu_input_spec_and_shapes():
    layer = layers.PReLU(shared_axes=[1])
    layer(np.ones((2, 4, 3), np.float32))
    layer(np.ones((5, 7, 3), np.float32))     # the shared axis may change size
    with pytest.raises(ValueError, match="expected axis 2 of input shape to have value 3"):
        layer(np.ones((2, 4, 2), np.float32))
    with pytest.raises(ValueError, match="expected ndim=3"):
        layer(np.ones((2, 4), np.float32))
    unknown = layers.PReLU(shared_axes=[1])(keras.Input((None, 3)))
    assert unknown.shape == (None, None, 3)


# --- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("layer_fn,kinks", [
    (lambda: layers.ReLU(), [0.0]),
    (lambda: layers.ReLU(max_value=1.0, negative_slope=0.3, threshold=0.5), [0.5, 1.0]),
    (lambda: layers.LeakyReLU(alpha=0.2), [0.0]),
    (lambda: layers.ELU(alpha=0.7), [0.0]),
    (lambda: layers.ThresholdedReLU(theta=0.8), [0.8]),
    (lambda: layers.Softmax(), []),
    (lambda: layers.Softmax(axis=[1, 2]), []),
    (lambda: layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(-1, 1)), [0.0]),
    (lambda: layers.PReLU(alpha_initializer="ones", shared_axes=[1]), [0.0]),
])
def test_activation_layer_gradients(float64, layer_fn, kinks):
    check_layer_gradients(layer_fn(), away_from_kinks((2, 3, 4), kinks))


def test_prelu_alpha_gradient_is_negative_part(float64):
    x = away_from_kinks((4, 3), [0.0])
    layer = layers.PReLU()
    layer(x)
    with keras.GradientTape() as tape:
        out = keras.ops.sum(layer(x))
    grad = tape.gradient(out, layer.alpha).numpy()
    np.testing.assert_allclose(grad, np.minimum(x, 0).sum(axis=0), rtol=1e-12)


# --- shapes, configs, errors ----------------------------------------------------------------
ALL = [layers.ReLU, layers.Softmax, layers.LeakyReLU, layers.PReLU, layers.ELU, layers.ThresholdedReLU]


@pytest.mark.parametrize("cls", ALL)
def test_output_shape_masking_and_dtype(cls):
    layer = cls()
    assert layer.compute_output_shape((None, 4, 3)) == (None, 4, 3)
    assert layer.supports_masking
    assert layer(np.ones((2, 3), np.float32)).dtype == np.float32


@pytest.mark.parametrize("layer", [
    layers.ReLU(), layers.ReLU(max_value=6, negative_slope=0.1, threshold=0.5), layers.Softmax(axis=1),
    layers.Softmax(axis=[1, 2], robust_masking=True), layers.LeakyReLU(0.1), layers.ELU(0.5),
    layers.ThresholdedReLU(2.0),
    layers.PReLU(alpha_initializer="ones", alpha_regularizer="l2", alpha_constraint="non_neg",
                 shared_axes=[1, 2]),
])
def test_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_configs_match_tf_keras():
    # Values tf.keras casts to float32 show their float32 rounding (e.g. alpha 0.3).
    assert layers.ReLU(name="re_lu").get_config() == {
        "name": "re_lu", "trainable": True, "dtype": "float32",
        "max_value": None, "negative_slope": 0.0, "threshold": 0.0}
    assert layers.ReLU(max_value=6).get_config()["max_value"] == 6.0
    assert layers.LeakyReLU().get_config()["alpha"] == float(np.float32(0.3))
    assert layers.ELU().get_config()["alpha"] == 1.0
    assert layers.ThresholdedReLU().get_config()["theta"] == 1.0
    assert layers.Softmax().get_config()["axis"] == -1
    assert "robust_masking" not in layers.Softmax().get_config()
    prelu = layers.PReLU().get_config()
    assert prelu["alpha_initializer"]["class_name"] == "Zeros"
    assert prelu["alpha_regularizer"] is None and prelu["alpha_constraint"] is None
    assert prelu["shared_axes"] is None


def test_positional_arguments_bind_in_keras_order():
    relu = layers.ReLU(6.0, 0.1, 0.5)
    assert (relu.max_value, relu.threshold) == (6.0, 0.5)
    assert relu.negative_slope == float(np.float32(0.1))
    assert layers.LeakyReLU(0.1).alpha == float(np.float32(0.1))
    assert layers.PReLU("ones", None, None, [1]).shared_axes == [1]


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"max_value of a ReLU layer cannot be a negative value\. "
                                         r"Received: -1"):
        layers.ReLU(max_value=-1)
    with pytest.raises(ValueError, match="negative_slope of a ReLU layer cannot be a negative value"):
        layers.ReLU(negative_slope=-0.1)
    with pytest.raises(ValueError, match="threshold of a ReLU layer cannot be a negative value"):
        layers.ReLU(threshold=None)
    with pytest.raises(ValueError, match="The alpha value of a Leaky ReLU layer cannot be None"):
        layers.LeakyReLU(alpha=None)
    with pytest.raises(ValueError, match="Alpha of an ELU layer cannot be None"):
        layers.ELU(alpha=None)
    with pytest.raises(ValueError, match=r"The theta value of a Thresholded ReLU layer should be >=0\. "
                                         r"Received: -1"):
        layers.ThresholdedReLU(theta=-1)
    with pytest.raises(ValueError, match="Theta of a Thresholded ReLU layer cannot be None"):
        layers.ThresholdedReLU(theta=None)
    with pytest.raises(ValueError, match="Unknown initializer"):
        layers.PReLU(alpha_initializer="nope")
    with pytest.raises(TypeError, match="Keyword argument not understood"):
        layers.LeakyReLU(negative_slope=0.1)     # Keras 3's name, not tf.keras 2's


def test_prelu_regularizer_and_constraint():
    layer = layers.PReLU(alpha_initializer=keras.initializers.Constant(-2.0), alpha_regularizer=
                         keras.regularizers.L2(0.5), alpha_constraint="non_neg")
    layer(np.ones((1, 3), np.float32))
    np.testing.assert_allclose(float(layer.losses[0]), 0.5 * 3 * 4.0, rtol=1e-6)
    assert layer.alpha.constraint is not None


def test_activation_layers_in_a_trained_model():
    model = keras.Sequential([layers.Dense(8, input_shape=(4,)), layers.PReLU(alpha_initializer="ones"),
                              layers.Dense(3), layers.LeakyReLU(), layers.Dense(2), layers.Softmax()])
    model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy")
    x = RNG.standard_normal((16, 4)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]
    alpha_before = model.layers[1].get_weights()[0].copy()
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.allclose(model.layers[1].get_weights()[0], alpha_before)


def test_gradients_at_exactly_zero_follow_tensorflow():
    # tf.keras' PReLU is relu(x) - alpha * relu(-x): both slopes are 0 at x = 0; LeakyReLU's
    # kernel uses alpha there.
    x = keras.backend.Variable(np.zeros((1, 2), np.float32))
    for layer, expected in ((layers.PReLU(alpha_initializer="ones"), 0.0), (layers.LeakyReLU(0.2), 0.2),
                            (layers.ThresholdedReLU(0.0), 0.0), (layers.ReLU(), 0.0)):
        with keras.GradientTape() as tape:
            out = layer(x)
        np.testing.assert_allclose(tape.gradient(out, x).numpy(), expected, rtol=1e-6,
                                   err_msg=layer.name)
