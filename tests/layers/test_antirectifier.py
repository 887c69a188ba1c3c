"""The Keras "antirectifier" example: a Lambda built from backend functions (subtract the mean,
K.l2_normalize, concatenate K.relu(x) and K.relu(-x)) trains inside a model, its gradients
coming from the backend ops alone (no hand-written backward)."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras import layers
from gradcheck import check_gradients, check_layer_gradients

RNG = np.random.default_rng(23)


def antirectifier(x):
    """Written exactly as in the Keras documentation (`x -=` included)."""
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def antirectifier_output_shape(input_shape):
    shape = list(input_shape)
    assert len(shape) == 2   # only valid for 2D tensors
    shape[-1] *= 2
    return tuple(shape)


def reference(x):
    centered = x - x.mean(axis=1, keepdims=True)
    normed = centered / np.sqrt(np.maximum((centered ** 2).sum(axis=1, keepdims=True), 1e-12))
    return np.concatenate([np.maximum(normed, 0), np.maximum(-normed, 0)], axis=1)


def test_forward_matches_numpy_and_keeps_float32():
    x = RNG.standard_normal((5, 7)).astype(np.float32)
    out = layers.Lambda(antirectifier)(x)
    assert out.dtype == np.float32 and out.shape == (5, 14)
    np.testing.assert_allclose(out.numpy(), reference(x.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_output_shape_inferred_or_given():
    inferred = layers.Lambda(antirectifier)
    given = layers.Lambda(antirectifier, output_shape=antirectifier_output_shape)
    for layer in (inferred, given):
        assert layer.compute_output_shape((None, 64)) == (None, 128)
        assert layer(keras.Input((64,))).shape == (None, 128)


def test_lambda_gradient_against_finite_differences(float64):
    check_layer_gradients(layers.Lambda(antirectifier), RNG.standard_normal((4, 6)))


def build_model(hidden=16, inputs=64, classes=10):
    return keras.Sequential([
        layers.Dense(hidden, input_shape=(inputs,)),
        layers.Lambda(antirectifier, output_shape=antirectifier_output_shape),
        layers.Dropout(0.1),
        layers.Dense(hidden),
        layers.Lambda(antirectifier),
        layers.Dense(classes),
        layers.Activation("softmax"),
    ])


def test_model_gradients_through_lambda_match_finite_differences(float64):
    model = build_model(hidden=3, inputs=4, classes=2)
    x = RNG.standard_normal((3, 4))

    def forward(inputs):
        return model(inputs, training=False)
    check_gradients(forward, [x], extra_variables=model.trainable_weights)


def test_model_trains_on_digits():
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    x_train = x_train.reshape(-1, 64).astype("float32") / 16
    x_test = x_test.reshape(-1, 64).astype("float32") / 16
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)
    model = build_model(hidden=32)
    model.compile(keras.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    first_kernel = model.layers[0].get_weights()[0].copy()
    history = model.fit(x_train, y_train, batch_size=64, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    # The first layer sits before both Lambdas: it only learns if gradients flow through them.
    assert not np.allclose(model.layers[0].get_weights()[0], first_kernel)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.8


def test_functional_model_and_config_round_trip():
    inputs = keras.Input((6,))
    features = layers.Lambda(antirectifier, name="antirectifier")(layers.Dense(4)(inputs))
    outputs = layers.Dense(2)(features)
    model = keras.Model(inputs, outputs)
    assert model.get_layer("antirectifier").output_shape == (None, 8)
    x = RNG.standard_normal((3, 6)).astype(np.float32)
    dense = model.layers[1]
    expected = reference(x @ dense.get_weights()[0] + dense.get_weights()[1])
    np.testing.assert_allclose(model.get_layer("antirectifier")(dense(x)).numpy(), expected,
                               rtol=1e-5, atol=1e-6)

    layer = model.get_layer("antirectifier")
    assert layer.get_config()["function_type"] == "lambda"     # tf.keras 2: bytecode
    config = layer.get_config(functions_by_name=True)
    assert config["function"] == "antirectifier" and config["module"] == __name__
    # Safe mode resolves a function named in a config only through custom_objects/registry.
    clone = layers.Lambda.from_config(config, custom_objects={"antirectifier": antirectifier})
    np.testing.assert_allclose(clone(x).numpy(), reference(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 3), (3, 5)])
def test_inplace_subtraction_does_not_touch_the_input(shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    kept = x.copy()
    layers.Lambda(antirectifier)(x)
    np.testing.assert_array_equal(x, kept)
