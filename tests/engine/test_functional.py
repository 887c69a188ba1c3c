"""Functional models: Input, Model(inputs, outputs), graph order and errors, shared layers,
nested models, sub-models, subclassed models. References are NumPy closed forms, tf.keras'
documented graph rules, and the resnet_block fixture's layer order."""
import gc
import json
import types
import weakref

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.engine.functional import Functional
from conftest import fixture_path
from fixtures import fixture_models
from gradcheck import check_layer_gradients


def dense_forward(layer, x, activation=None):
    kernel, bias = layer.get_weights()
    out = x @ kernel + bias
    return np.maximum(out, 0) if activation == "relu" else out


class Difference(layers.Layer):
    """Test-local two-input layer: a - b."""

    def call(self, inputs):
        return inputs[0] - inputs[1]

    def compute_output_shape(self, input_shape):
        return input_shape[0]


# --- Input -----------------------------------------------------------------------------------
def test_input_shape_batch_size_name_dtype():
    x = keras.Input((3, 4))
    assert x.shape == (None, 3, 4) and x.dtype == np.float32
    layer = x._keras_history[0]
    assert type(layer).__name__ == "InputLayer" and layer.name == "input_1"
    y = keras.Input(shape=(5,), batch_size=8, name="ids", dtype="int32")
    assert y.shape == (8, 5) and y.dtype == np.int32 and y._keras_history[0].name == "ids"
    assert keras.Input((2,)).node.layer.name == "input_2"   # a given name takes no number
    positional = keras.Input((2,), 4, "pos", "float64")     # Keras' positional order
    assert positional.shape == (4, 2) and positional.dtype == np.float64
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        keras.Input((2,), shap=3)


def test_input_layer_shapes_are_lists_as_in_tf_keras():
    x = keras.Input((3,), name="x")
    layer = x.node.layer
    assert layer.output_shape == [(None, 3)] and layer.input_shape == [(None, 3)]
    assert layer.output is x and layer.input is x


# --- building and running ----------------------------------------------------------------------
def test_single_input_model_matches_numpy():
    inputs = keras.Input((4,))
    hidden = layers.Dense(3, activation="relu")
    head = layers.Dense(2)
    model = keras.Model(inputs, head(hidden(inputs)))
    assert isinstance(model, Functional) and model.name == "model"
    assert keras.Model(inputs, head.output).name == "model_1"
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    expected = dense_forward(head, dense_forward(hidden, x, "relu"))
    out = model(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert model.input_shape == (None, 4) and model.output_shape == (None, 2)
    assert model.inputs == [inputs] and model.input is inputs


def test_model_keyword_arguments_and_name():
    inputs = keras.Input((2,))
    model = keras.Model(inputs=inputs, outputs=layers.Dense(1)(inputs), name="regressor")
    assert model.name == "regressor"
    with pytest.raises(TypeError, match="Keyword argument not understood"):
        keras.Model(inputs, model.output, nmae="typo")


def test_single_element_lists_are_unwrapped_like_tf_keras():
    inputs = keras.Input((3,))
    model = keras.Model([inputs], [layers.Dense(2)(inputs)])
    assert model.input is inputs and model.output_shape == (None, 2)
    out = model.predict(np.ones((4, 3), np.float32), verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (4, 2)


def test_multi_input_list_and_dict_data():
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    dense_a, dense_b = layers.Dense(4), layers.Dense(4)
    model = keras.Model([a, b], Difference()([dense_a(a), dense_b(b)]))
    rng = np.random.default_rng(2)
    xa = rng.standard_normal((6, 3)).astype(np.float32)
    xb = rng.standard_normal((6, 2)).astype(np.float32)
    expected = dense_forward(dense_a, xa) - dense_forward(dense_b, xb)
    np.testing.assert_allclose(model([xa, xb]).numpy(), expected, rtol=1e-5, atol=1e-6)
    # A dict keyed by the Input names works for a model built on a list.
    np.testing.assert_allclose(model({"b": xb, "a": xa}).numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict({"a": xa, "b": xb}, batch_size=4, verbose=0),
                               expected, rtol=1e-5, atol=1e-6)
    assert model.input_names == ["a", "b"] and model.input_shape == [(None, 3), (None, 2)]
    with pytest.raises(ValueError, match='Layer "model" expects 2 input\\(s\\), but it received 1'):
        model(xa)


def test_dict_inputs_and_dict_outputs():
    inputs = {"left": keras.Input((2,), name="l"), "right": keras.Input((2,), name="r")}
    total = layers.Lambda(lambda t: t[0] + t[1])([inputs["left"], inputs["right"]])
    outputs = {"sum": total, "scaled": layers.Dense(1, name="scale")(total)}
    model = keras.Model(inputs, outputs)
    # Flattened like tf.nest: dict entries in sorted key order.
    assert [t.node.layer.name for t in model.inputs] == ["l", "r"]
    assert model.output_names == ["scale", "lambda"]
    x = {"left": np.ones((3, 2), np.float32), "right": np.full((3, 2), 2, np.float32)}
    out = model(x)
    assert set(out) == {"sum", "scaled"}
    np.testing.assert_allclose(out["sum"].numpy(), np.full((3, 2), 3.0))
    np.testing.assert_allclose(out["scaled"].numpy(), dense_forward(model.get_layer("scale"),
                                                                    np.full((3, 2), 3.0)), rtol=1e-6)
    predicted = model.predict(x, verbose=0)
    assert isinstance(predicted, dict) and predicted["scaled"].shape == (3, 1)
    assert model.output_shape == {"sum": (None, 2), "scaled": (None, 1)}


def test_inputs_are_conformed_to_the_input_spec():
    inputs = keras.Input((3, 1))
    model = keras.Model(inputs, layers.Lambda(lambda t: t * 2.0)(inputs))
    out = model(np.ones((2, 3), np.float64))         # trailing axis of size 1 added, cast
    assert out.shape == (2, 3, 1) and out.dtype == np.float32
    with pytest.raises(ValueError, match=r'Input 0 of layer "model" is incompatible with the '
                                         r"layer: expected shape=\(None, 3, 1\), found shape="
                                         r"\(2, 4, 1\)"):
        model(np.ones((2, 4, 1), np.float32))


# --- layer order -------------------------------------------------------------------------------
def _stub_resnet_layers():
    """Weightless stand-ins with the fixture's class names (so they get the same automatic
    names): the order of `model.layers` depends only on the graph."""
    def stub(class_name):
        def compute_output_shape(self, input_shape):
            return input_shape[0] if isinstance(input_shape, list) else input_shape
        cls = type(class_name, (layers.Layer,), {
            "__init__": lambda self, *args, **kwargs: layers.Layer.__init__(self),
            "call": lambda self, inputs: inputs,
            "compute_output_shape": compute_output_shape})
        return cls
    names = ["Conv2D", "BatchNormalization", "ReLU", "Add", "Activation",
             "GlobalAveragePooling2D", "Dense"]
    return types.SimpleNamespace(**{name: stub(name) for name in names})


def test_layer_order_is_tf_keras_depth_order_of_the_resnet_fixture():
    with open(fixture_path("models", "resnet_block.json")) as handle:
        expected = [row["name"] for row in json.load(handle)["layers"]]
    stub_keras = types.SimpleNamespace(Input=keras.Input, Model=keras.Model,
                                       layers=_stub_resnet_layers())
    model = fixture_models.resnet_block(stub_keras)
    # Creation order differs (conv2d_2, the shortcut, is made after batch_normalization_1 and
    # before add), so this checks the depth ordering, not the call order.
    assert [layer.name for layer in model.layers] == expected


def test_unused_input_is_kept_first_among_the_outputs_depth():
    a = keras.Input((2,), name="a")
    b = keras.Input((2,), name="b")
    head = layers.Dense(1, name="head")
    model = keras.Model([a, b], head(a))
    # tf.keras: `b` gets depth 0 with traversal index -1.
    assert [layer.name for layer in model.layers] == ["a", "b", "head"]
    out = model([np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)])
    assert out.shape == (2, 1)


def test_shared_layer_takes_its_deepest_depth():
    x = keras.Input((3,), name="x")
    shared = layers.Dense(3, name="shared")
    first = shared(x)
    middle = layers.Dense(3, name="middle")(first)
    second = shared(middle)
    model = keras.Model(x, second)
    assert [layer.name for layer in model.layers] == ["x", "shared", "middle"]
    xv = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    expected = dense_forward(shared, dense_forward(model.get_layer("middle"),
                                                   dense_forward(shared, xv)))
    np.testing.assert_allclose(model(xv).numpy(), expected, rtol=1e-5, atol=1e-6)


# --- shared layers ----------------------------------------------------------------------------
def test_shared_layer_weights_counted_once_and_node_attributes():
    a = keras.Input((3,), name="a")
    b = keras.Input((3,), name="b")
    shared = layers.Dense(2, name="shared")
    out_a, out_b = shared(a), shared(b)
    model = keras.Model([a, b], Difference()([out_a, out_b]))
    assert len(shared._inbound_nodes) == 2
    assert [w.name for w in model.weights] == ["shared/kernel:0", "shared/bias:0"]
    assert model.count_params() == 3 * 2 + 2
    # tf.keras 2.x: input/output are those of the first call; shapes agree, so they are defined.
    assert shared.output is out_a and shared.get_output_at(1) is out_b
    assert shared.input is a and shared.get_input_at(1) is b
    assert shared.input_shape == (None, 3) and shared.output_shape == (None, 2)
    with pytest.raises(ValueError, match="Asked to get output at node 2, but the layer has only 2"):
        shared.get_output_at(2)
    xa, xb = np.ones((2, 3), np.float32), np.full((2, 3), 3, np.float32)
    np.testing.assert_allclose(model([xa, xb]).numpy(),
                               dense_forward(shared, xa) - dense_forward(shared, xb), rtol=1e-6)


def test_shared_layer_with_different_shapes_has_no_single_shape():
    small, large = keras.Input((2, 3)), keras.Input((4, 3))
    flatten = layers.Flatten()
    flatten(small)
    flatten(large)
    with pytest.raises(AttributeError, match='The layer "flatten" has multiple inbound nodes, with '
                                             'different output shapes. Hence the notion of '
                                             '"output shape" is ill-defined'):
        flatten.output_shape
    with pytest.raises(AttributeError, match="different input shapes"):
        flatten.input_shape
    assert flatten.get_output_shape_at(1) == (None, 12)
    assert flatten.get_input_shape_at(0) == (None, 2, 3)


def test_layer_never_called_has_no_output():
    layer = layers.Dense(2)
    with pytest.raises(AttributeError, match="Layer dense has no inbound nodes"):
        layer.output
    with pytest.raises(AttributeError, match="is not connected, no input to return"):
        layer.input
    with pytest.raises(AttributeError, match="has never been called and thus has no defined output"):
        layer.output_shape
    with pytest.raises(RuntimeError, match="The layer dense has never been called"):
        layer.get_output_at(0)


def test_shared_layer_gradients_sum_over_its_calls(float64):
    a = keras.Input((3,))
    b = keras.Input((3,))
    shared = layers.Dense(2, activation="tanh")
    merged = Difference()([shared(a), layers.Dense(2)(shared(b))])
    model = keras.Model([a, b], merged)
    rng = np.random.default_rng(3)
    check_layer_gradients(model, [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))])


# --- nested models ------------------------------------------------------------------------------
def test_model_used_as_a_layer_and_nested_sequential():
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, layers.Dense(3, activation="relu")(inner_in), name="encoder")
    head = keras.Sequential([layers.Dense(2, input_shape=(3,))], name="head")
    x = keras.Input((4,))
    features = inner(x)
    out = head(features)
    model = keras.Model(x, [out, layers.Dense(1, name="aux")(features)])
    assert features.shape == (None, 3) and out.shape == (None, 2)
    assert [layer.name for layer in model.layers] == ["input_2", "encoder", "head", "aux"]
    assert len(inner._inbound_nodes) == 1 and len(inner.layers[1]._inbound_nodes) == 1
    assert model.count_params() == inner.count_params() + head.count_params() + 4
    assert [w.name for w in model.weights] == ["dense/kernel:0", "dense/bias:0", "dense_1/kernel:0",
                                               "dense_1/bias:0", "aux/kernel:0", "aux/bias:0"]
    xv = np.random.default_rng(4).standard_normal((5, 4)).astype(np.float32)
    encoded = dense_forward(inner.layers[1], xv, "relu")
    main, aux = model.predict(xv, verbose=0)
    np.testing.assert_allclose(main, dense_forward(head.layers[0], encoded), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(aux, dense_forward(model.get_layer("aux"), encoded), rtol=1e-5,
                               atol=1e-6)
    inner.trainable = False
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 2


def test_nested_model_trains_its_weights():
    inner_in = keras.Input((2,))
    inner = keras.Model(inner_in, layers.Dense(1)(inner_in))
    x = keras.Input((2,))
    model = keras.Model(x, inner(x))
    model.compile(keras.optimizers.SGD(learning_rate=1.0), "mse")
    before = inner.get_weights()
    xv, yv = np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32)
    model.train_on_batch(xv, yv)
    kernel, bias = before
    residual = (xv @ kernel + bias) - yv                 # d mean(r^2) / d w = 2 x^T r / n
    np.testing.assert_allclose(inner.get_weights()[0], kernel - 2 * xv.T @ residual / 4, rtol=1e-5)
    np.testing.assert_allclose(inner.get_weights()[1], bias - 2 * residual.sum(0) / 4, rtol=1e-5)


def test_compute_output_shape_of_a_functional_model():
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, layers.Dense(3)(layers.Dense(5)(inputs)))
    assert model.compute_output_shape((7, 2, 4)) == (7, 2, 3)
    a, b = keras.Input((2,)), keras.Input((5,))
    two = keras.Model([a, b], [layers.Dense(1)(a), layers.Dense(4)(b)])
    assert two.compute_output_shape([(3, 2), (3, 5)]) == [(3, 1), (3, 4)]
    with pytest.raises(ValueError, match="the model expects 1 input tensors"):
        model.compute_output_shape([(None, 2, 4), (None, 2, 4)])


# --- sub-models -------------------------------------------------------------------------------
def test_sub_model_from_intermediate_tensors_shares_weights():
    inputs = keras.Input((4,))
    first = layers.Dense(3, name="first")
    second = layers.Dense(2, name="second")
    hidden = first(inputs)
    out = second(hidden)
    full = keras.Model(inputs, out)
    tail = keras.Model(hidden, out)
    head = keras.Model(inputs, hidden)
    assert [layer.name for layer in tail.layers][1:] == ["second"]
    assert tail.layers[0].name == "input_2" and tail.input_shape == (None, 3)
    xv = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(tail(head(xv)).numpy(), full(xv).numpy(), rtol=1e-6)
    assert tail.get_layer("second") is second
    # The full model is unchanged by the node copied onto `second`.
    assert [layer.name for layer in full.layers] == ["input_1", "first", "second"]
    np.testing.assert_allclose(full(xv).numpy(), dense_forward(second, dense_forward(first, xv)),
                               rtol=1e-5, atol=1e-6)


# --- graph errors ----------------------------------------------------------------------------------
def test_disconnected_graph_raises_tf_keras_message():
    a = keras.Input((2,), name="a")
    b = keras.Input((2,), name="b")
    hidden = layers.Dense(2, name="hidden")(a)
    out = Difference(name="diff")([hidden, b])
    with pytest.raises(ValueError, match=r"Graph disconnected: cannot obtain value for tensor "
                                         r"KerasTensor\(type_spec=TensorSpec\(shape=\(None, 2\), "
                                         r"dtype=tf.float32, name='b'\), name='b', description="
                                         r"\"created by layer 'b'\"\) at layer \"diff\". The "
                                         r"following previous layers were accessed without "
                                         r"issue: \['hidden'\]"):
        keras.Model(a, out)


def test_inputs_must_be_keras_tensors():
    with pytest.raises(ValueError, match="Found unexpected instance while processing input tensors "
                                         "for keras functional model. Expecting KerasTensor"):
        keras.Model(np.ones((2, 3)), layers.Dense(1)(keras.Input((3,))))
    inputs = keras.Input((3,))
    with pytest.raises(ValueError, match="Output tensors of a Functional model must be the output "
                                         "of a Keras `Layer`"):
        keras.Model(inputs, np.ones((2, 3)))
    with pytest.raises(ValueError, match="contains the same input multiple times"):
        keras.Model([inputs, inputs], layers.Dense(1)(inputs))


def test_intermediate_input_not_reaching_outputs_raises():
    a = keras.Input((2,))
    hidden = layers.Dense(2)(a)
    other = layers.Dense(2)(keras.Input((2,)))
    with pytest.raises(ValueError, match="Found input tensor cannot be reached given provided "
                                         "output tensors"):
        keras.Model(hidden, layers.Dense(1)(Difference()([hidden, other])))


def test_duplicate_layer_names_are_rejected():
    inputs = keras.Input((2,))
    first = layers.Dense(2, name="same")(inputs)
    with pytest.raises(ValueError, match='The name "same" is used 2 times in the model. All layer '
                                         "names should be unique."):
        keras.Model(inputs, layers.Dense(2, name="same")(first))


def test_get_layer_by_name_and_index():
    inputs = keras.Input((2,), name="in")
    model = keras.Model(inputs, layers.Dense(1, name="out")(inputs))
    assert model.get_layer("out").name == "out" and model.get_layer(index=0).name == "in"
    with pytest.raises(ValueError, match=r"No such layer: nope. Existing layers are: \['in', "
                                         r"'out'\]."):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="Was asked to retrieve layer at index 5 but model only "
                                         "has 2 layers."):
        model.get_layer(index=5)
    with pytest.raises(ValueError, match="Provide only a layer name or a layer index"):
        model.get_layer("out", 1)


# --- subclassed models -----------------------------------------------------------------------------
class TwoLayerNet(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(4, activation="relu")
        self.head = layers.Dense(2)
        self.unused = layers.Dense(7)

    def call(self, inputs, training=None):
        return self.head(self.hidden(inputs))


def test_subclassed_model_tracks_layers_and_trains():
    model = TwoLayerNet()
    assert model.name == "two_layer_net"
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "dense_2"]
    xv = np.random.default_rng(6).standard_normal((8, 3)).astype(np.float32)
    out = model(xv)
    expected = dense_forward(model.head, dense_forward(model.hidden, xv, "relu"))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    # tf.keras 2.21 names them under the model's scope (peer_recipes/fid2/nested_names.py)
    assert [w.name for w in model.weights] == [
        "two_layer_net/dense/kernel:0", "two_layer_net/dense/bias:0",
        "two_layer_net/dense_1/kernel:0", "two_layer_net/dense_1/bias:0"]
    model.compile(keras.optimizers.SGD(0.1), "mse")
    history = model.fit(xv, np.zeros((8, 2), np.float32), epochs=3, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_subclass_calling_model_init_with_inputs_and_outputs_is_functional():
    class Wrapped(keras.Model):
        def __init__(self):
            inputs = keras.Input((3,))
            super().__init__(inputs, layers.Dense(2)(inputs))

    model = Wrapped()
    assert isinstance(model, Functional) and model.name == "wrapped"
    assert [layer.name for layer in model.layers] == ["input_1", "dense"]
    assert model.predict(np.ones((2, 3), np.float32), verbose=0).shape == (2, 2)


def test_subclassed_model_summary_before_and_after_build():
    model = TwoLayerNet()
    with pytest.raises(ValueError, match="This model has not yet been built"):
        model.summary()
    model(np.ones((1, 3), np.float32))
    lines = []
    model.summary(print_fn=lines.append)
    body = "\n".join(lines)
    assert lines[0] == 'Model: "two_layer_net"'
    # tf.keras: layers of a subclassed model have no graph, hence "multiple"; unused: 0 (unused).
    assert " dense (Dense)               multiple                  16        " in lines
    assert " dense_2 (Dense)             multiple                  0 (unused)" in lines
    assert "Total params: 26 (104.00 Byte)" in body


def test_gradients_flow_through_nested_models(float64):
    inner_in = keras.Input((3,))
    inner = keras.Model(inner_in, layers.Dense(4, activation="tanh")(inner_in))
    head = keras.Sequential([layers.Dense(2, activation="sigmoid", input_shape=(4,))])
    x = keras.Input((3,))
    features = inner(x)
    model = keras.Model(x, [head(features), layers.Dense(1)(features)])
    assert len(model.trainable_weights) == 6
    check_layer_gradients(model, np.random.default_rng(8).standard_normal((2, 3)))


class _KeepsWeakref(keras.layers.Layer):
    """Identity layer that remembers a weak reference to the array it returned."""

    def call(self, inputs):
        out = inputs * 1.0
        self.seen = weakref.ref(out.data)
        return out


@pytest.mark.parametrize("train", [False, True])
def test_functional_call_frees_intermediates_without_the_garbage_collector(train):
    # A reference cycle through the run's tensor table would keep every intermediate of a call
    # (a whole step's activations in training) alive until the collector happened to run.
    inputs = keras.Input(shape=(3,))
    marker = _KeepsWeakref()
    hidden = marker(keras.layers.Dense(4)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Add()([hidden, hidden])))
    model.compile("sgd", "mse")
    x, y = np.ones((5, 3), "float32"), np.zeros((5, 2), "float32")
    gc.collect()
    gc.disable()
    try:
        if train:
            model.train_on_batch(x, y)
        else:
            model(x)
        assert marker.seen() is None
    finally:
        gc.enable()
