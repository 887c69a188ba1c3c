"""The Layer base class: naming, weights, building, the training flag, input checks, configs."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from gradcheck import check_layer_gradients


def test_automatic_names_count_per_class_and_reset_with_clear_session():
    assert [layers.Dense(2).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    assert layers.Dropout(0.1).name == "dropout"
    keras.backend.clear_session()
    assert layers.Dense(2).name == "dense"


def test_weights_are_created_on_first_call_with_keras_names():
    layer = layers.Dense(3)
    assert not layer.built and layer.weights == []
    out = layer(np.ones((2, 4), np.float32))
    assert out.shape == (2, 3) and layer.built
    assert [w.name for w in layer.weights] == ["dense/kernel:0", "dense/bias:0"]
    assert [w.shape for w in layer.weights] == [(4, 3), (3,)]
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(3, np.float32))


def test_glorot_uniform_kernel_has_keras_limit():
    layer = layers.Dense(300)
    layer.build((None, 200))
    limit = np.sqrt(6.0 / (200 + 300))
    kernel = layer.kernel.numpy()
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.95 * limit
    np.testing.assert_allclose(kernel.std(), limit / np.sqrt(3), rtol=0.02)


def test_set_weights_checks_shapes_and_names_the_layer():
    layer = layers.Dense(3, name="head")
    layer.build((None, 4))
    with pytest.raises(ValueError, match=r"Layer head weight shape \(4, 3\) is not compatible with "
                                         r"provided weight shape \(5, 3\)"):
        layer.set_weights([np.zeros((5, 3)), np.zeros(3)])
    with pytest.raises(ValueError, match="expecting 2 weights"):
        layer.set_weights([np.zeros((4, 3))])
    layer.set_weights([np.ones((4, 3)), np.arange(3)])
    np.testing.assert_array_equal(layer.get_weights()[1], [0, 1, 2])
    assert layer.get_weights()[1].dtype == np.float32


@pytest.mark.parametrize("make_model", [
    lambda: keras.Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(2)]),
    lambda: keras.Model(*_dense_chain()),
])
def test_model_set_weights_with_a_bad_shape_changes_no_weight(make_model):
    model = make_model()
    before = model.get_weights()
    good = [np.full(w.shape, 7.0) for w in before]
    bad = good[:-1] + [np.zeros(5)]
    with pytest.raises(ValueError, match=r"weight shape \(2,\) is not compatible with provided "
                                         r"weight shape \(5,\)"):
        model.set_weights(bad)
    for old, now in zip(before, model.get_weights()):
        np.testing.assert_array_equal(now, old)
    model.set_weights(good)
    for new, now in zip(good, model.get_weights()):
        np.testing.assert_array_equal(now, new)


def _dense_chain():
    inputs = keras.Input((4,))
    return inputs, layers.Dense(2)(layers.Dense(3)(inputs))


def test_base_compute_output_shape_asks_for_an_implementation():
    with pytest.raises(NotImplementedError, match=r"^Please implement the compute_output_shape "
                                                  r"method on your layer \(Layer\)\.$"):
        layers.Layer().compute_output_shape((None, 2))


def test_incompatible_input_raises_keras_message():
    layer = layers.Dense(3)
    layer(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match=r'Input 0 of layer "dense" is incompatible with the layer: '
                                         r"expected axis -1 of input shape to have value 4, but "
                                         r"received input with shape \(2, 5\)"):
        layer(np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        layers.Dense(2)(np.ones(3, np.float32))


def test_unknown_keyword_argument_is_rejected():
    with pytest.raises(TypeError, match="Keyword argument not understood"):
        layers.Dense(3, kernel_initialiser="zeros")


def test_trainable_flag_moves_weights_to_non_trainable():
    layer = layers.Dense(3)
    layer.build((None, 2))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_training_argument_resolution_follows_keras():
    dropout = layers.Dropout(0.5)
    x = np.ones((200, 50), np.float32)
    np.testing.assert_array_equal(dropout(x).numpy(), x)            # direct call: call default
    dropped = dropout(x, training=True).numpy()
    assert set(np.unique(dropped)) <= {0.0, 2.0} and 0.4 < (dropped == 0).mean() < 0.6
    model = keras.Sequential([layers.Dropout(0.5, input_shape=(50,))])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)     # predict: False
    assert (model(x, training=True).numpy() == 0).any()               # propagated to sublayers


def test_dropout_noise_shape_with_none_entries_shares_the_mask():
    dropout = layers.Dropout(0.5, noise_shape=(None, 1, 6), seed=3)
    out = dropout(np.ones((4, 5, 6), np.float32), training=True).numpy()
    assert (out == out[:, :1, :]).all()
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)


def test_flatten_channels_first_moves_channels_last():
    x = np.arange(2 * 3 * 2 * 4, dtype=np.float32).reshape(2, 3, 2, 4)
    out = layers.Flatten(data_format="channels_first")(x).numpy()
    np.testing.assert_array_equal(out, np.transpose(x, (0, 2, 3, 1)).reshape(2, -1))
    assert layers.Flatten().compute_output_shape((None, 3, None)) == (None, None)
    assert layers.Flatten().compute_output_shape((None, 3, 4)) == (None, 12)


@pytest.mark.parametrize("make", [
    lambda: layers.Dense(4, activation="relu", kernel_regularizer="l2", use_bias=False),
    lambda: layers.Activation("tanh"),
    lambda: layers.Dropout(0.3, noise_shape=(None, 2), seed=1),
    lambda: layers.Flatten(data_format="channels_first"),
])
def test_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_dense_gradients_match_finite_differences(float64):
    for activation in ("relu", "tanh", "sigmoid", "softmax", "elu", None):
        keras.backend.clear_session()
        layer = layers.Dense(3, activation=activation)
        check_layer_gradients(layer, np.random.default_rng(0).standard_normal((4, 5)) + 0.1)
    check_layer_gradients(layers.Dense(2), np.random.default_rng(1).standard_normal((2, 3, 4)))


def test_activation_dropout_flatten_gradients(float64):
    rng = np.random.default_rng(2)
    check_layer_gradients(layers.Activation("selu"), rng.standard_normal((3, 4)))
    check_layer_gradients(layers.Flatten(data_format="channels_first"), rng.standard_normal((2, 3, 2, 2)))
    dropout = layers.Dropout(0.4, seed=5)
    x = rng.standard_normal((6, 5))

    def fixed_mask_dropout(t):
        dropout._rng = np.random.default_rng(5)
        return dropout(t, training=True)
    from gradcheck import check_gradients
    check_gradients(fixed_mask_dropout, [x])


def test_output_shape_inference_without_data():
    dense = layers.Dense(7)
    assert dense.compute_output_shape((None, 3, 5)) == (None, 3, 7)
    inputs = keras.Input(shape=(3, 5))
    out = layers.Dropout(0.2)(layers.Dense(7)(inputs))
    assert out.shape == (None, 3, 7)


def test_custom_layer_with_add_weight_trains():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs):
            return inputs * self.w

    layer = Scale()
    x = np.ones((2, 3), np.float32)
    with keras.GradientTape() as tape:
        loss = keras.ops.sum(layer(x))
    grad = tape.gradient(loss, layer.w)
    np.testing.assert_allclose(grad.numpy(), [2, 2, 2])
    assert layer.w.name == "scale/w:0"


def test_gradient_tape_custom_training_loop():
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    optimizer = keras.optimizers.SGD(0.1)
    x = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32)
    y = x @ np.array([[2.0], [-1.0]], np.float32) + 0.5
    for _ in range(200):
        with keras.GradientTape() as tape:
            loss = keras.ops.mean(keras.losses.mse(y, model(x, training=True)))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    np.testing.assert_allclose(model.layers[0].kernel.numpy().ravel(), [2, -1], atol=1e-3)
    np.testing.assert_allclose(model.layers[0].bias.numpy(), [0.5], atol=1e-3)
