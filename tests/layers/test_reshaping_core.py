"""Reshape, Permute, RepeatVector, ActivityRegularization and Lambda."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras import layers
from gradcheck import check_layer_gradients

RNG = np.random.default_rng(11)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# --- Reshape ---------------------------------------------------------------------------------
@pytest.mark.parametrize("target,expected", [
    ((3, 4), (3, 4)), ((-1, 2, 2), (3, 2, 2)), ((12,), (12,)), ((2, -1), (2, 6)),
])
def test_reshape_forward_and_shape(target, expected):
    x = randn(5, 12)
    layer = layers.Reshape(target)
    out = layer(x).numpy()
    np.testing.assert_array_equal(out, x.reshape((5,) + expected))
    assert layer.compute_output_shape((None, 12)) == (None,) + expected
    assert layer.compute_output_shape((None, 3, 4)) == (None,) + expected


def test_reshape_keras_docstring_chain():
    model = keras.Sequential([layers.Reshape((3, 4), input_shape=(12,))])
    assert model.output_shape == (None, 3, 4)
    model.add(layers.Reshape((6, 2)))
    assert model.output_shape == (None, 6, 2)
    model.add(layers.Reshape((-1, 2, 2)))
    assert model.output_shape == (None, 3, 2, 2)


def test_reshape_unknown_input_sizes_leave_minus_one_unknown():
    assert layers.Reshape((-1, 2)).compute_output_shape((None, None, 4)) == (None, None, 2)
    assert layers.Reshape((-1, 2))(keras.Input((None, 4))).shape == (None, None, 2)


def test_reshape_errors():
    with pytest.raises(ValueError, match=r"total size of new array must be unchanged, "
                                         r"input_shape = \[12\], output_shape = \[5, -1\]"):
        layers.Reshape((5, -1)).compute_output_shape((None, 12))
    with pytest.raises(ValueError, match="total size of new array must be unchanged"):
        layers.Reshape((5, 3))(randn(2, 12))
    with pytest.raises(ValueError, match="total size of new array must be unchanged"):
        layers.Reshape((5,))(keras.Input((12,)))
    with pytest.raises(ValueError, match=r"There must be at most one unknown dimension in "
                                         r"output_shape\. Received: output_shape=\[-1, -1\]\."):
        layers.Reshape((-1, -1)).compute_output_shape((None, 12))


def test_reshape_gradient_and_config(float64):
    layer = layers.Reshape((2, -1))
    check_layer_gradients(layer, RNG.standard_normal((3, 2, 3)))
    config = layer.get_config()
    assert config["target_shape"] == (2, -1)
    assert layers.Reshape.from_config(config).get_config() == config


# --- Permute ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dims", [(2, 1), (1, 2), (3, 1, 2), (2, 3, 1)])
def test_permute_forward_and_shape(dims):
    x = randn(2, 3, 4) if len(dims) == 2 else randn(2, 3, 4, 5)
    layer = layers.Permute(dims)
    np.testing.assert_array_equal(layer(x).numpy(), np.transpose(x, (0,) + dims))
    assert layer.compute_output_shape((None,) + x.shape[1:]) == \
        (None,) + np.transpose(x, (0,) + dims).shape[1:]


def test_permute_errors_gradient_config(float64):
    with pytest.raises(ValueError, match=r"Invalid permutation argument `dims` for Permute Layer\. "
                                         r"The set of indices in `dims` must be consecutive and start "
                                         r"from 1\. Received dims=\(0, 1\)"):
        layers.Permute((0, 1))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layers.Permute((2, 1))(np.ones((2, 3)))
    layer = layers.Permute((3, 1, 2))
    check_layer_gradients(layer, RNG.standard_normal((2, 2, 3, 4)))
    config = layer.get_config()
    assert config["dims"] == (3, 1, 2)
    assert layers.Permute.from_config(config).get_config() == config


# --- RepeatVector ----------------------------------------------------------------------------
def test_repeat_vector(float64):
    x = RNG.standard_normal((2, 4))
    layer = layers.RepeatVector(3)
    out = layer(x).numpy()
    np.testing.assert_array_equal(out, np.repeat(x[:, None, :], 3, axis=1))
    assert out.flags.writeable
    assert layer.compute_output_shape((None, 4)) == (None, 3, 4)
    check_layer_gradients(layer, x)
    config = layer.get_config()
    assert config["n"] == 3 and layers.RepeatVector.from_config(config).get_config() == config
    with pytest.raises(TypeError, match=r"Expected an integer value for `n`, got <class 'float'>\."):
        layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match="expected ndim=2, found ndim=3"):
        layer(np.ones((2, 3, 4)))


# --- ActivityRegularization ------------------------------------------------------------------
def test_activity_regularization_adds_batch_mean_penalty():
    x = randn(4, 3)
    layer = layers.ActivityRegularization(l1=0.01, l2=0.1)
    out = layer(x)
    np.testing.assert_array_equal(out.numpy(), x)
    assert layer.compute_output_shape((None, 3)) == (None, 3)
    expected = (0.01 * np.abs(x).sum() + 0.1 * np.square(x).sum()) / 4
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-5)
    config = layer.get_config()
    assert config["l1"] == 0.01 and config["l2"] == 0.1
    assert layers.ActivityRegularization.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="is not a valid regularization penalty number"):
        layers.ActivityRegularization(l1="big")


def test_activity_regularization_gradient(float64):
    x = RNG.standard_normal((3, 2))
    layer = layers.ActivityRegularization(l1=0.0, l2=0.5)
    t = keras.backend.Variable(x)
    with keras.GradientTape() as tape:
        layer(t)
        penalty = layer.losses[0]
    np.testing.assert_allclose(tape.gradient(penalty, t).numpy(), 0.5 * 2 * x / 3, rtol=1e-12)


def test_activity_regularization_enters_the_training_loss():
    model = keras.Sequential([layers.Dense(2, input_shape=(3,), kernel_initializer="ones"),
                              layers.ActivityRegularization(l2=1.0)])
    model.compile("sgd", "mse")
    x, y = np.ones((2, 3), np.float32), np.zeros((2, 2), np.float32)
    loss = model.evaluate(x, y, verbose=0)
    # outputs are all 3: mse = 9, activity penalty = sum(3**2 * 4 entries) / batch 2 = 18
    np.testing.assert_allclose(loss, 9 + 18, rtol=1e-6)


# --- Lambda ----------------------------------------------------------------------------------
def test_lambda_output_shape_inferred_by_running_the_function():
    layer = layers.Lambda(lambda x: K.concatenate([x, x * 2], axis=-1)[:, 1:])
    assert layer.compute_output_shape((None, 5)) == (None, 9)
    # [:, 1:] slices axis 1: an unknown size stays unknown, a known one shrinks by one.
    assert layer.compute_output_shape((None, None, 3)) == (None, None, 6)
    out = layer(keras.Input((4, 3)))
    assert out.shape == (None, 3, 6)


def test_lambda_output_shape_argument_tuple_and_callable():
    fixed = layers.Lambda(lambda x: x[:, :2], output_shape=(2,))
    assert fixed.compute_output_shape((7, 5)) == (7, 2)
    assert fixed.compute_output_shape((None, 5)) == (None, 2)
    computed = layers.Lambda(lambda x: x, output_shape=lambda s: (s[0], s[1] * 1))
    assert computed.compute_output_shape((None, 5)) == (None, 5)
    several = layers.Lambda(lambda xs: xs[0] + xs[1], output_shape=(3,))
    assert several.compute_output_shape([(4, 3), (4, 3)]) == (4, 3)


def test_lambda_keeps_the_traced_dtype():
    out = layers.Lambda(lambda x: K.argmax(x, axis=-1))(keras.Input((4,)))
    assert out.shape == (None,) and out.dtype.kind == "i"


def test_lambda_arguments_and_training_and_mask():
    layer = layers.Lambda(lambda x, scale: x * scale, arguments={"scale": 3.0})
    np.testing.assert_allclose(layer(np.ones((2, 2), np.float32)).numpy(), 3.0)
    seen = {}

    def record(x, training=None):
        seen["training"] = training
        return x
    layers.Lambda(record)(np.ones((1, 1), np.float32), training=True)
    assert seen["training"] is True
    masker = layers.Lambda(lambda x: x, mask=lambda inputs, mask: K.not_equal(inputs[..., 0], 0))
    out = masker(np.array([[[1.0], [0.0]]], np.float32))
    np.testing.assert_array_equal(np.asarray(out._keras_mask), [[True, False]])
    assert masker.supports_masking and not layers.Lambda(lambda x: x).supports_masking


def _double(x):
    return x * 2


def test_lambda_config_round_trip():
    named = layers.Lambda(_double, output_shape=(3,))
    # tf.keras 2 stores named functions as bytecode too; Keras 3's form keeps the name.
    assert named.get_config()["function_type"] == "lambda"
    config = named.get_config(functions_by_name=True)
    assert config["function"] == "_double" and config["function_type"] == "function"
    assert config["module"] == __name__
    assert config["output_shape"] == [3] and config["output_shape_type"] == "raw"
    assert config["output_shape_module"] is None and config["arguments"] == {}
    # Safe mode resolves a named function only through custom_objects or the registry.
    with pytest.raises(ValueError, match="safe mode"):
        layers.Lambda.from_config(config)
    clone = layers.Lambda.from_config(config, custom_objects={"_double": _double})
    assert clone.function is _double and clone.get_config(functions_by_name=True) == config
    assert layers.Lambda.from_config(config, safe_mode=False).function is _double

    anonymous = layers.Lambda(lambda x: K.relu(x) + 1, output_shape=lambda s: s,
                              mask=lambda inputs, mask: mask, arguments={})
    config = anonymous.get_config()
    assert config["function_type"] == "lambda" and config["output_shape_type"] == "lambda"
    assert config["mask_type"] == "lambda" and config["mask_module"] == __name__
    with pytest.raises(ValueError, match="arbitrary code execution"):
        layers.Lambda.from_config(config)
    clone = layers.Lambda.from_config(config, safe_mode=False)
    x = np.array([[-1.0, 2.0]], np.float32)
    np.testing.assert_allclose(clone(x).numpy(), [[1.0, 3.0]])   # `K` resolved in this module
    assert clone.compute_output_shape((None, 2)) == (None, 2)
    assert clone.compute_mask(x, "m") == "m"


def test_lambda_gradient(float64):
    layer = layers.Lambda(lambda x: K.l2_normalize(x - K.mean(x, axis=1, keepdims=True), axis=1))
    check_layer_gradients(layer, RNG.standard_normal((3, 4)))


def test_lambda_bad_function():
    with pytest.raises(ValueError, match="callable"):
        layers.Lambda("not a function")
