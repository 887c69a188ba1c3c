"""A custom activation named like a built-in (keras-transformer's tanh-approximation `gelu`)
comes back from load_model as the custom function, as in tf.keras: custom objects win."""
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
