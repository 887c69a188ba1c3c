"""A custom activation named like a built-in (keras-transformer's tanh-approximation `gelu`)
comes back from load_model as the custom function, as in tf.keras: custom objects win (over
built-in initializer, regularizer and constraint names too)."""
import numpy as np

import minikeras as keras


def gelu(x):
    """The tanh approximation (keras-transformer's), not Keras' exact erf form."""
    return 0.5 * x * (1.0 + keras.backend.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def test_scope_custom_activation_shadows_the_builtin_name():
    with keras.utils.custom_object_scope({"gelu": gelu}):
        assert keras.activations.get("gelu") is gelu
    assert keras.activations.get("gelu") is keras.activations.gelu


def test_load_model_restores_the_custom_function_of_a_builtin_name(tmp_path):
    model = keras.Sequential([keras.layers.Dense(4, activation=gelu, input_shape=(3,))])
    path = str(tmp_path / "m.h5")
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"gelu": gelu})
    assert loaded.layers[0].activation is gelu
    x = np.linspace(-3, 3, 12, dtype="float32").reshape(4, 3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


class SevenInitializer(keras.initializers.Initializer):
    def __call__(self, shape, dtype=None, **kwargs):
        return np.full(shape, 7, dtype or "float32")


class PassThrough(keras.constraints.Constraint):
    def __call__(self, w):
        return w


def no_penalty(w):
    return 0.0


def test_custom_objects_shadow_builtin_initializer_regularizer_and_constraint_names():
    # tf_keras 2.21 (checked in the peer venv): inside the scope `initializers.get(
    # "glorot_uniform")` is the custom class made with no arguments, `regularizers.get("l2")`
    # the custom function, `constraints.get("non_neg")` the custom class; outside, the built-ins.
    scope = {"glorot_uniform": SevenInitializer, "l2": no_penalty, "non_neg": PassThrough}
    with keras.utils.custom_object_scope(scope):
        assert type(keras.initializers.get("glorot_uniform")) is SevenInitializer
        assert keras.regularizers.get("l2") is no_penalty
        assert type(keras.constraints.get("non_neg")) is PassThrough
        layer = keras.layers.Dense(2, kernel_initializer="glorot_uniform")
        layer.build((None, 3))
        np.testing.assert_array_equal(layer.kernel.numpy(), np.full((3, 2), 7, "float32"))
    assert type(keras.initializers.get("glorot_uniform")) is keras.initializers.GlorotUniform
    assert type(keras.regularizers.get("l2")) is keras.regularizers.L2
    assert type(keras.constraints.get("non_neg")) is keras.constraints.NonNeg
