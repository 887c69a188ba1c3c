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


# --- .h5 save / load of a compiled model builds its compiled metrics (lstm_seq2seq_restore) ---
def _h5_fixture():
    with open(os.path.join(FIXTURES, "h5_compiled_metrics.json")) as f:
        return json.load(f)


def _sparse_softmax_model():
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(2,))])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.set_weights([np.array([[1., -1, 0.5], [0.2, 0.3, -2]], "float32"),
                       np.zeros(3, "float32")])
    return model


def _two_output_model():
    inputs = keras.Input((3,))
    out_a = keras.layers.Dense(2, name="out_a")(inputs)
    out_b = keras.layers.Dense(1, activation="sigmoid", name="out_b")(inputs)
    model = keras.Model(inputs, [out_a, out_b])
    model.compile("adam", ["mse", "binary_crossentropy"],
                  metrics={"out_a": ["mae"], "out_b": ["accuracy"]}, weighted_metrics=["mse"])
    return model


def _training_config(path):
    import h5py
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["training_config"])


def test_h5_save_and_load_build_the_compiled_metrics_as_tf_keras(tmp_path):
    expected = _h5_fixture()
    path = str(tmp_path / "model.h5")
    for name, build in (("sparse_softmax", _sparse_softmax_model),
                        ("two_output", _two_output_model)):
        want = expected[name]
        model = build()
        assert model.metrics_names == want["names_before_save"]
        model.save(path)
        training = _training_config(path)
        assert training["metrics"] == want["training_metrics"]
        assert training["weighted_metrics"] == want["training_weighted_metrics"]
        assert model.metrics_names == want["names_after_save"]
        assert keras.models.load_model(path).metrics_names == want["names_after_load"]


def test_h5_saved_untrained_model_resolves_accuracy_from_its_outputs_as_tf_keras(tmp_path):
    # tf_keras builds the metrics with y_true = the outputs: 'accuracy' of a softmax output
    # becomes categorical_accuracy, also for the sparse labels given later
    expected = _h5_fixture()
    want = expected["sparse_softmax"]
    x, y = np.array(expected["x"], "float32"), np.array(expected["y"])
    path = str(tmp_path / "model.h5")
    np.testing.assert_allclose(_sparse_softmax_model().evaluate(x, y, verbose=0),
                               want["evaluate_without_save"], rtol=1e-6)
    model = _sparse_softmax_model()
    model.save(path)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), want["evaluate_after_save"],
                               rtol=1e-6)
    np.testing.assert_allclose(keras.models.load_model(path).evaluate(x, y, verbose=0),
                               want["evaluate_after_load"], rtol=1e-6)


def test_multi_output_model_resumed_from_h5_keeps_its_metric_names(tmp_path):
    # the saved training_config names its metrics `out_a_mae`; tf_keras compiles them with
    # from_serialized=True, so they get no second output prefix (`out_a_out_a_mae`)
    want = _h5_fixture()["two_output_resumed"]
    path = str(tmp_path / "model.h5")
    model = _two_output_model()
    inputs = np.ones((4, 3), "float32")
    ys = [np.ones((4, 2), "float32"), np.ones((4, 1), "float32")]
    model.fit(inputs, ys, verbose=0)
    model.save(path)
    restored = keras.models.load_model(path)
    assert restored.metrics_names == want["names_after_load"]
    assert sorted(restored.fit(inputs, ys, verbose=0).history) == want["history_keys"]


# --- a KerasTensor's shape is a TensorShape (`x.shape.as_list()`), models report tuples ---
def test_symbolic_shapes_print_as_tf_keras():
    with open(os.path.join(FIXTURES, "symbolic_shapes.json")) as f:
        expected = json.load(f)
    K.clear_session()
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(2)(inputs)
    model = keras.Model(inputs, [dense, dense])
    sequential = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    got = {"input.shape": repr(inputs.shape), "str(input.shape)": str(inputs.shape),
           "input.shape.as_list()": repr(inputs.shape.as_list()),
           "dense.shape": repr(dense.shape), "[dense.shape]": repr([dense.shape]),
           "model.output_shape": repr(model.output_shape),
           "model.input_shape": repr(model.input_shape),
           "model.layers[1].output_shape": repr(model.layers[1].output_shape),
           "model.layers[0].input_shape": repr(model.layers[0].input_shape),
           "sequential.output_shape": repr(sequential.output_shape),
           "sequential.input_shape": repr(sequential.input_shape),
           "K.int_shape(dense)": repr(K.int_shape(dense)),
           "concatenate.shape": repr(keras.layers.concatenate([inputs, inputs]).shape),
           "(input + 1).shape": repr((inputs + 1).shape)}
    assert got == expected
    assert inputs.shape == (None, 3) and inputs.shape.rank == 2
