"""Keras 2.3.1 examples/ rerun (fid-ex): what the scripts do that minikeras got wrong, each
against tf_keras 2.21 fixtures (benchmarks/fixture_recipes/keras2_examples_rerun.py) or
closed forms."""
import json
import os

import numpy as np

import minikeras as keras
from minikeras import backend as K
from minikeras.core.tensor import GradientTape, Tensor

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "keras2_examples_rerun")


def _doodle_images(shape):
    """neural_doodle's image batch: style (variable), target (placeholder), content (zeros)."""
    rng = np.random.RandomState(0)
    style_image = K.variable(rng.uniform(-1, 1, shape).astype("float32"))
    target_image = K.placeholder(shape=shape)
    content_image = K.zeros(shape=shape)
    images = K.concatenate([style_image, target_image, content_image], axis=0)
    return style_image, target_image, images


def test_doodle_image_model_layers_are_keras2_graph_mode_ones():
    # neural_doodle zips image_model.layers with its mask model's layers and asserts the names
    # match: Keras 2 graph mode has no layer for the backend concat before block1_conv1
    with open(os.path.join(FIXTURES, "doodle_vgg19_graph.json")) as f:
        expected = json.load(f)["layers"]
    K.clear_session()
    _, _, images = _doodle_images((1, 32, 32, 3))
    model = keras.applications.vgg19.VGG19(include_top=False, weights=None,
                                           input_tensor=images)
    got = [{"name": layer.name, "class": type(layer).__name__,
            "output_shape": json.loads(json.dumps(layer.output_shape)),
            "params": layer.count_params()} for layer in model.layers]
    # the InputLayer's name counts K.placeholder's Input (input_2), a graph placeholder is none
    assert got[0]["name"].startswith("input_")
    got[0]["name"] = expected[0]["name"]
    assert got == expected


def test_doodle_image_model_layer_outputs_stay_computed_from_the_placeholder():
    # the script evaluates layer outputs and their gradient with K.function([target_image])
    K.clear_session()
    style_image, target_image, images = _doodle_images((1, 32, 32, 3))
    model = keras.applications.vgg16.VGG16(include_top=False, weights=None,
                                           input_tensor=images)
    conv = model.get_layer("block1_conv2")
    loss = K.sum(conv.output)
    grads = K.gradients(loss, target_image)
    run = K.function([target_image], [conv.output] + grads)
    target = np.random.RandomState(1).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    features, grad = run([target])

    batch = np.concatenate([K.get_value(style_image), target, np.zeros_like(target)])
    conv1 = model.get_layer("block1_conv1")
    np.testing.assert_allclose(features, np.asarray(conv(conv1(batch))), rtol=1e-5, atol=1e-5)
    watched = Tensor(batch)
    with GradientTape() as tape:
        tape.watch(watched)
        total = K.sum(conv(conv1(watched)))
    expected = np.asarray(tape.gradient(total, watched))[1:2]
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-4)


def test_input_tensor_from_keras_input_keeps_the_op_layer_as_tf_keras_eager():
    # tf_keras 2.21 eager: an op on keras.Input tensors is a TFOpLambda layer of the model
    K.clear_session()
    a = keras.Input((32, 32, 3))
    b = keras.Input((32, 32, 3))
    model = keras.applications.vgg16.VGG16(include_top=False, weights=None,
                                           input_tensor=K.concatenate([a, b], axis=0))
    names = [layer.name for layer in model.layers]
    assert names[:4] == ["input_1", "input_2", "tf.concat", "block1_conv1"]
