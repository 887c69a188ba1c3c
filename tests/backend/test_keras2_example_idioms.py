"""Graph-mode idioms of the Keras 2 example scripts (deep_dream, conv_filter_visualization):
K.image_dim_ordering, a loss started as `K.variable(0.)` and built with `-=`/`+=` from layer
outputs and the input, K.gradients of it with respect to the input, K.function over the loss
and (normalised) gradients. Gradients are checked against central finite differences."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras import layers


def test_image_dim_ordering_follows_image_data_format():
    assert K.image_data_format() == "channels_last"
    assert K.image_dim_ordering() == "tf"
    try:
        K.set_image_dim_ordering("th")
        assert K.image_data_format() == "channels_first"
        assert K.image_dim_ordering() == "th"
    finally:
        K.set_image_data_format("channels_last")
    with pytest.raises(ValueError):
        K.set_image_dim_ordering("nchw")


def _small_convnet(dream):
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(dream)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(3, 3, padding="same", activation="relu", name="c2")(x)
    return keras.Model(dream, x)


def _finite_differences(f, x, coordinates, step=1e-2):
    grads = []
    for index in coordinates:
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        grads.append((f(plus) - f(minus)) / (2 * step))
    return np.array(grads)


def _coordinates(shape, count, seed):
    rng = np.random.RandomState(seed)
    return [tuple(rng.randint(0, n) for n in shape) for _ in range(count)]


def test_deep_dream_loss_from_variable_and_its_input_gradient():
    keras.utils.set_random_seed(3)
    height = width = 8
    img_size = (height, width, 3)
    dream = layers.Input(batch_shape=(1,) + img_size)
    model = _small_convnet(dream)
    layer_dict = {layer.name: layer for layer in model.layers}

    loss = K.variable(0.)
    for name, coeff in [("c1", 0.05), ("c2", 0.02)]:
        x = layer_dict[name].output
        shape = layer_dict[name].output_shape
        loss -= coeff * K.sum(K.square(x[:, 1: shape[1] - 1, 1: shape[2] - 1, :])) / np.prod(
            shape[1:])
    a = K.square(dream[:, :height - 1, :width - 1, :] - dream[:, 1:, :width - 1, :])
    b = K.square(dream[:, :height - 1, :width - 1, :] - dream[:, :height - 1, 1:, :])
    loss += 0.1 * K.sum(K.pow(a + b, 1.25)) / np.prod(img_size)
    loss += 0.02 * K.sum(K.square(dream)) / np.prod(img_size)

    grads = K.gradients(loss, dream)
    assert isinstance(grads, list) and len(grads) == 1
    f_outputs = K.function([dream], [loss] + grads)

    image = np.random.RandomState(0).uniform(-2, 2, (1,) + img_size).astype("float32")
    loss_value, grad_value = f_outputs([image])
    assert grad_value.shape == (1,) + img_size

    # the loss written out in NumPy from the layer outputs
    c1, c2 = [keras.Model(dream, layer_dict[n].output).predict(image, verbose=0)
              for n in ("c1", "c2")]
    expected = -(0.05 * np.sum(c1[:, 1:7, 1:7] ** 2) / c1[0].size
                 + 0.02 * np.sum(c2[:, 1:3, 1:3] ** 2) / c2[0].size)
    d = image.astype(np.float64)
    a_ = (d[:, :-1, :-1] - d[:, 1:, :-1]) ** 2
    b_ = (d[:, :-1, :-1] - d[:, :-1, 1:]) ** 2
    expected += 0.1 * np.sum((a_ + b_) ** 1.25) / image.size + 0.02 * np.sum(d ** 2) / image.size
    np.testing.assert_allclose(loss_value, expected, rtol=1e-5, atol=1e-6)

    def loss_at(values):
        return float(f_outputs([values.astype("float32")])[0])
    coordinates = [(0,) + c for c in _coordinates(img_size, 12, seed=1)]
    numeric = _finite_differences(loss_at, image.astype(np.float64), coordinates)
    analytic = np.array([grad_value[c] for c in coordinates])
    np.testing.assert_allclose(analytic, numeric, rtol=2e-2, atol=2e-4)


def test_conv_filter_visualization_normalised_gradient_ascent():
    keras.utils.set_random_seed(5)
    model = _small_convnet(layers.Input((8, 8, 3)))
    input_img = model.input
    layer_output = model.get_layer("c1").output
    loss = K.mean(layer_output[:, :, :, 1])
    grads = K.gradients(loss, input_img)[0]
    normalised = grads / (K.sqrt(K.mean(K.square(grads))) + 1e-5)
    iterate = K.function([input_img], [loss, normalised])
    raw = K.function([input_img], [loss, grads])

    image = (np.random.RandomState(2).random_sample((1, 8, 8, 3)) - 0.5) * 20 + 128
    loss_value, grads_value = iterate([image])
    _, raw_value = raw([image])
    np.testing.assert_allclose(
        grads_value, raw_value / (np.sqrt(np.mean(raw_value ** 2)) + 1e-5), rtol=1e-5, atol=1e-6)

    def loss_at(values):
        return float(raw([values])[0])
    coordinates = [(0,) + c for c in _coordinates((8, 8, 3), 10, seed=4)]
    numeric = _finite_differences(loss_at, image, coordinates, step=0.5)
    analytic = np.array([raw_value[c] for c in coordinates])
    np.testing.assert_allclose(analytic, numeric, rtol=2e-2, atol=1e-4)

    # one ascent step raises the filter's mean activation
    assert float(iterate([image + grads_value])[0]) > float(loss_value)


def test_function_feeds_inputs_made_from_variables():
    """neural_doodle: `Input(tensor=K.concatenate([mask variables]))` starts a mask model whose
    outputs enter the loss; K.function is given only the image placeholder and reads the
    variables' current values for the mask input."""
    masks = K.variable(np.arange(12, dtype="float32").reshape(1, 2, 3, 2))
    mask_input = layers.Input(tensor=K.concatenate([masks, masks * 2.0], axis=0))
    pooled = layers.AveragePooling2D((2, 2), padding="same", strides=(1, 1))(mask_input)
    image = K.placeholder(shape=(2, 2, 3, 2))
    loss = K.sum(image * pooled)
    grads = K.gradients(loss, image)
    f = K.function([image], [loss] + grads)
    values = np.random.RandomState(0).rand(2, 2, 3, 2).astype("float32")
    pooled_value = keras.Model(mask_input, pooled).predict(
        np.concatenate([K.get_value(masks), 2 * K.get_value(masks)]), verbose=0)
    loss_value, grad_value = f([values])
    np.testing.assert_allclose(loss_value, np.sum(values * pooled_value), rtol=1e-6)
    np.testing.assert_allclose(grad_value, pooled_value, rtol=1e-6)


def test_function_updates_assign_after_the_outputs():
    """Keras 2 graph scripts pass `updates=` to K.function: (variable, new value) pairs and
    K.update_add of symbolic values. The outputs see the variables before the call's updates;
    a variable inside a symbolic expression (`v + K.sum(x)`) is read at each call. Numbers as
    tf_keras 2.21 in graph mode gives for the same code (v: [3 5 7], [6 10 14], [9 15 21])."""
    x = K.placeholder((None, 3))
    v = K.variable(np.zeros(3))
    w = K.variable(np.ones(3))
    f = K.function([x], [K.sum(x * w)],
                   updates=[(v, v + K.sum(x, axis=0)), K.update_add(w, K.sum(x, axis=0))])
    data = np.arange(6.).reshape(2, 3)
    seen = []
    for _ in range(3):
        (output,) = f([data])
        assert np.shape(output) == ()
        seen.append(float(output))
    np.testing.assert_allclose(K.get_value(v), [9, 15, 21])
    np.testing.assert_allclose(K.get_value(w), [10, 16, 22])
    # w was 1, then 4 6 8, then 7 11 15 when each call computed its output
    np.testing.assert_allclose(seen, [15, 0 * 4 + 1 * 6 + 2 * 8 + 3 * 4 + 4 * 6 + 5 * 8,
                                      0 * 7 + 1 * 11 + 2 * 15 + 3 * 7 + 4 * 11 + 5 * 15])


def test_function_updates_reject_other_entries():
    x = K.placeholder((None, 3))
    with pytest.raises(ValueError, match="`updates` argument is not supported"):
        K.function([x], [K.sum(x)], updates=[K.sum(x)])


def test_variable_on_the_left_of_a_symbolic_operation_is_read_when_run():
    x = K.placeholder((None, 2))
    v = K.variable([1.0, 2.0])
    f = K.function([x], [v + x, v - x, v * x])
    K.set_value(v, [10.0, 20.0])
    plus, minus, times = f([np.ones((1, 2))])
    np.testing.assert_allclose(plus, [[11, 21]])
    np.testing.assert_allclose(minus, [[9, 19]])
    np.testing.assert_allclose(times, [[10, 20]])


def test_model_with_a_variable_operand_still_writes_json():
    """The variable a symbolic op reads is written as its value (as tf.keras writes it)."""
    inputs = keras.Input((2,))
    v = K.variable([1.0, 2.0])
    model = keras.Model(inputs, v + inputs)
    restored = keras.models.model_from_json(model.to_json())
    np.testing.assert_allclose(restored.predict(np.ones((1, 2)), verbose=0), [[2, 3]])
