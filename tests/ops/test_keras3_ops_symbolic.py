"""`keras.ops` functions on symbolic tensors (`keras.Input`) record graph nodes
(KerasOpLambda layers), as Keras 3 records operations; a Keras 3 `.keras` file holding such
operations loads. Fixture: tests/fixtures/keras3_ops_graph/ (Keras 3.15, TensorFlow backend)."""
import io
import json
import contextlib

import numpy as np
import pytest

import minikeras as keras
from minikeras import ops
from conftest import fixture_path
from minikeras.engine.tf_op_layer import KerasOpLambda
from minikeras.saving.keras3_config import _operation_as_keras_op

PEER = json.load(open(fixture_path("keras3_ops_graph", "ops_graph.json")))
DATA = np.load(fixture_path("keras3_ops_graph", "ops_graph.npz"))


def build_peer_graph():
    """The graph of the fixture's recipe, written with minikeras."""
    x = keras.Input((3, 4), name="x")
    y = keras.Input((3, 4), name="y")
    a = ops.exp(x) + ops.square(y) * 2.0
    b = ops.matmul(a, ops.transpose(y, (0, 2, 1)))
    c = ops.mean(b, axis=-1, keepdims=True)
    d = ops.concatenate([c, ops.expand_dims(ops.max(a, axis=1), 2)[:, :3]], axis=-1)
    e = ops.softmax(ops.reshape(d, (-1, 6)), axis=-1)
    f = ops.where(ops.greater(e, 0.1), ops.relu(e), ops.sigmoid(e))
    g = ops.cast(ops.stack([f, f], axis=1), "float32")
    h = ops.squeeze(ops.sum(g, axis=1, keepdims=True), axis=1)
    k = ops.sqrt(ops.abs(h)) + ops.log(1.0 + ops.abs(h))
    k = ops.clip(ops.tanh(k), -0.9, 0.9) - ops.minimum(ops.maximum(k, 0.2), 0.5)
    k = ops.einsum("bi,bi->bi", k, ops.ones_like(k))
    return keras.Model([x, y], keras.layers.Dense(2)(k))


def test_peer_keras3_file_with_operations_loads_and_predicts():
    model = keras.models.load_model(fixture_path("keras3_ops_graph", "ops_graph.keras"))
    prediction = model.predict([DATA["x"], DATA["y"]], verbose=0)
    np.testing.assert_allclose(prediction, DATA["prediction"], rtol=1e-5, atol=1e-5)


def test_built_graph_matches_keras3_numbers_and_operation_names():
    model = build_peer_graph()
    peer = keras.models.load_model(fixture_path("keras3_ops_graph", "ops_graph.keras"))
    model.layers[-1].set_weights(peer.layers[-1].get_weights())
    np.testing.assert_allclose(model.predict([DATA["x"], DATA["y"]], verbose=0),
                               DATA["prediction"], rtol=1e-5, atol=1e-5)
    # Every op Keras 3 records as an operation of its own class is a node named and shown so
    # here; the operators (`+`, `*`, `-`, `[...]`) stay tf.keras' TFOpLambda layers.
    recorded = {layer.name: layer.summary_class_name for layer in model.layers
                if isinstance(layer, KerasOpLambda)}
    peer_classes = dict(PEER["nodes"])
    operators = {"InputLayer", "Dense", "Add", "Multiply", "Subtract", "GetItem"}
    assert len(recorded) == sum(cls not in operators for _, cls in PEER["nodes"]) == 28
    for name, class_name in recorded.items():
        assert peer_classes[name] == class_name, name


def test_summary_shows_operation_classes():
    x = keras.Input((4,))
    model = keras.Model(x, ops.expand_dims(ops.mean(ops.exp(x), axis=-1), -1))
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        model.summary()
    assert "exp (Exp)" in text.getvalue()
    assert "expand_dims (ExpandDims)" in text.getvalue()
    assert "mean (Mean)" in text.getvalue()


@pytest.mark.parametrize("filename", ["m.keras", "m.h5"])
def test_recorded_ops_round_trip_through_minikeras_files(tmp_path, filename):
    a, b = keras.Input((3,)), keras.Input((3,))
    product = ops.einsum("bi,bi->b", a, b)
    first, second = ops.meshgrid(ops.mean(a, axis=0), ops.mean(b, axis=0))
    parts = ops.split(a, 3, axis=-1)
    values, indices = ops.top_k(a, 2)
    model = keras.Model([a, b], [product, first + second, parts[1], values, indices])
    x = [np.arange(6, dtype="float32").reshape(2, 3), np.linspace(0, 1, 6, dtype="float32")
         .reshape(2, 3)]
    expected = model.predict(x, verbose=0)
    left, right = np.mean(x[0], axis=0), np.mean(x[1], axis=0)
    grid = np.meshgrid(left, right)
    np.testing.assert_allclose(expected[0], np.einsum("bi,bi->b", *x), rtol=1e-6)
    np.testing.assert_allclose(expected[1], grid[0] + grid[1], rtol=1e-6)
    np.testing.assert_array_equal(expected[2], x[0][:, 1:2])
    np.testing.assert_array_equal(expected[4], np.argsort(-x[0], axis=-1)[:, :2])
    assert expected[4].dtype == np.int32
    path = str(tmp_path / filename)
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    for got, want in zip(loaded.predict(x, verbose=0), expected):
        np.testing.assert_array_equal(got, want)


def test_symbolic_shapes_dtypes_and_training_through_ops():
    x = keras.Input((5, 3))
    pooled = ops.max(ops.relu(x), axis=1)                    # (None, 3)
    assert pooled.shape == (None, 3) and pooled.dtype == np.float32
    assert ops.argmax(x, axis=-1).dtype == np.int32
    assert ops.shape(x) == (None, 5, 3) and ops.dtype(x) == "float32"
    model = keras.Model(x, keras.layers.Dense(1)(ops.sigmoid(pooled) * 2.0))
    model.compile("sgd", "mse")
    data = np.random.default_rng(0).random((8, 5, 3)).astype("float32")
    before = model.evaluate(data, np.ones((8, 1)), verbose=0)
    model.fit(data, np.ones((8, 1)), epochs=3, verbose=0)
    assert model.evaluate(data, np.ones((8, 1)), verbose=0) < before


def test_concrete_calls_are_unchanged_and_unknown_operation_is_named():
    np.testing.assert_allclose(ops.exp(np.zeros(2, "float32")).numpy(), [1.0, 1.0])
    assert not isinstance(ops.mean(np.ones(3)), keras.layers.Layer)
    with pytest.raises(ValueError, match="NoSuchOp"):
        _operation_as_keras_op(
            {"class_name": "NoSuchOp", "module": "keras.src.ops.numpy", "config": {}})


def test_namespaced_ops_record_their_own_function(tmp_path):
    """`keras.ops.image.resize`, `keras.ops.nn.softmax`: recorded under the qualified name;
    `keras.ops.nn.hard_sigmoid` and `keras.ops.hard_sigmoid` are Keras 3's, in the graph and
    after a round trip."""
    x = keras.Input((4, 4, 3))
    resized = ops.image.resize(x, (2, 2))
    outputs = [resized, ops.nn.softmax(x), ops.nn.hard_sigmoid(x), ops.hard_sigmoid(x),
               ops.numpy.exp(x), ops.linalg.norm(x, axis=-1)]
    assert [t.node.layer.summary_class_name for t in outputs] == \
        ["Resize", "Softmax", "HardSigmoid", "HardSigmoid", "Exp", "Norm"]
    assert resized.shape == (None, 2, 2, 3)
    model = keras.Model(x, outputs)
    data = np.linspace(-6, 6, 2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    expected = model.predict(data, verbose=0)
    np.testing.assert_allclose(expected[2], np.clip(data + 3, 0, 6) / 6, atol=1e-6)
    np.testing.assert_allclose(expected[3], np.clip(data + 3, 0, 6) / 6, atol=1e-6)
    np.testing.assert_allclose(expected[0], ops.image.resize(data, (2, 2)).numpy(), atol=1e-6)
    path = str(tmp_path / "m.keras")
    model.save(path)
    for got, want in zip(keras.models.load_model(path).predict(data, verbose=0), expected):
        np.testing.assert_array_equal(got, want)
