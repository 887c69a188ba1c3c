"""Keras 2 example scripts' graph-mode pipelines at small scale, against tf_keras 2.21 numbers.

neural_style_transfer: two images held in `K.variable`s and a `K.placeholder` combined by
`K.concatenate` into the input of a convnet; content, Gram-matrix style and total variation
losses on slices of layer outputs; `K.gradients` w.r.t. the placeholder; `K.function`. The
fixture was written by tf_keras 2.21 in graph mode (tests/fixtures/keras2_examples_long/
benchmarks/fixture_recipes/keras2_neural_style.py, `tf` argument) from the same code with the same weights."""
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras import layers as L

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "keras2_examples_long")


def _neural_style_loss_and_gradient(x):
    r, c = 6, 7
    rng = np.random.RandomState(0)
    base_image = K.variable(rng.uniform(-1, 1, (1, r, c, 3)).astype("float32"))
    style_image = K.variable(rng.uniform(-1, 1, (1, r, c, 3)).astype("float32"))
    combination_image = K.placeholder((1, r, c, 3))
    input_tensor = K.concatenate([base_image, style_image, combination_image], axis=0)
    conv1 = L.Conv2D(4, 3, padding="same", activation="relu")
    conv2 = L.Conv2D(5, 3, padding="same", activation="relu")
    h1 = conv1(input_tensor)
    h2 = conv2(L.MaxPooling2D(2)(h1))
    for weight in conv1.weights + conv2.weights:
        K.set_value(weight, rng.uniform(-0.5, 0.5, K.int_shape(weight)).astype("float32"))

    def gram_matrix(features):
        flat = K.batch_flatten(K.permute_dimensions(features, (2, 0, 1)))
        return K.dot(flat, K.transpose(flat))

    def style_loss(style, combination):
        return K.sum(K.square(gram_matrix(style) - gram_matrix(combination))) / (
            4. * 9 * (r * c) ** 2)

    def total_variation_loss(image):
        a = K.square(image[:, :r - 1, :c - 1, :] - image[:, 1:, :c - 1, :])
        b = K.square(image[:, :r - 1, :c - 1, :] - image[:, :r - 1, 1:, :])
        return K.sum(K.pow(a + b, 1.25))

    loss = K.variable(0.)
    loss += 0.025 * K.sum(K.square(h2[2, :, :, :] - h2[0, :, :, :]))
    for features in (h1, h2):
        loss += 0.5 * style_loss(features[1, :, :, :], features[2, :, :, :])
    loss += total_variation_loss(combination_image)
    grads = K.gradients(loss, combination_image)
    return K.function([combination_image], [loss] + grads)([x])


def test_neural_style_transfer_pipeline_matches_tf_keras():
    expected = np.load(os.path.join(FIXTURES, "neural_style_small.npz"))
    loss, grad = _neural_style_loss_and_gradient(expected["x"])
    np.testing.assert_allclose(loss, expected["loss"], rtol=1e-5)
    np.testing.assert_allclose(grad, expected["grad"], rtol=1e-4, atol=1e-4)


def _neural_doodle_loss_and_gradient(x):
    r, c = 6, 8
    rng = np.random.RandomState(0)
    shape = (1, r, c, 3)
    style_image = K.variable(rng.rand(*shape).astype("float32"))
    target_image = K.placeholder(shape=shape)
    images = K.concatenate([style_image, target_image, K.zeros(shape=shape)], axis=0)
    style_mask = K.variable((rng.rand(1, r, c, 2) > .5).astype("float32"))
    target_mask = K.variable((rng.rand(1, r, c, 2) > .5).astype("float32"))
    masks = K.concatenate([style_mask, target_mask], axis=0)
    conv = L.Conv2D(4, 3, padding="same")
    features = conv(images)
    for weight in conv.weights:
        K.set_value(weight, rng.uniform(-0.5, 0.5, K.int_shape(weight)).astype("float32"))
    mask_input = L.Input(tensor=masks, shape=(None, None, None))
    pooled = L.AveragePooling2D((3, 3), padding="same", strides=(1, 1))(mask_input)
    mask_model = keras.models.Model(mask_input, pooled)
    mask_features = mask_model.layers[-1].output

    def gram_matrix(x):
        flat = K.batch_flatten(x)
        return K.dot(flat, K.transpose(flat))

    def region_style_loss(style, target, style_region, target_region):
        masked_style = K.permute_dimensions(style, (2, 0, 1)) * style_region
        masked_target = K.permute_dimensions(target, (2, 0, 1)) * target_region
        num_channels = K.cast(K.shape(style)[-1], dtype="float32")
        s = gram_matrix(masked_style) / K.mean(style_region) / num_channels
        t = gram_matrix(masked_target) / K.mean(target_region) / num_channels
        return K.mean(K.square(s - t))

    loss = K.variable(0)
    for i in range(2):
        loss += region_style_loss(features[0], features[1], mask_features[0, :, :, i],
                                  mask_features[1, :, :, i])
    loss += 0.1 * K.sum(K.square(features[1] - features[2]))
    grads = K.gradients(loss, target_image)
    return K.function([target_image], [loss] + grads)([x])


def test_neural_doodle_pipeline_matches_tf_keras():
    expected = np.load(os.path.join(FIXTURES, "neural_doodle_small.npz"))
    loss, grad = _neural_doodle_loss_and_gradient(expected["x"])
    np.testing.assert_allclose(loss, expected["loss"], rtol=1e-5)
    np.testing.assert_allclose(grad, expected["grad"], rtol=1e-4, atol=1e-5)


def test_image_ocr_generator_dict_with_a_key_for_callbacks_only():
    """image_ocr's generator yields input dicts with an extra 'source_str' (a list of strings
    its callback reads); tf.keras ignores keys that name no model input, with a warning."""
    a = L.Input((3,), name="a")
    b = L.Input((1,), name="b")
    model = keras.Model([a, b], L.Dense(1, name="out")(L.concatenate([a, b])))
    model.compile("sgd", "mse")

    def batches():
        while True:
            yield ({"a": np.ones((4, 3)), "b": np.ones((4, 1)), "source_str": ["ab", "c", "", "d"]},
                   {"out": np.zeros(4)})
    with pytest.warns(UserWarning, match=r"Input dict contained keys \['source_str'\] which did "
                      "not match any model input. They will be ignored by the model."):
        history = model.fit(batches(), steps_per_epoch=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    expected = model.predict({"a": np.ones((4, 3)), "b": np.ones((4, 1))}, verbose=0)
    with pytest.warns(UserWarning, match="source_str"):
        got = model({"a": np.ones((4, 3)), "b": np.ones((4, 1)), "source_str": ["x"] * 4})
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-6)
