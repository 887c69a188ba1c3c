"""Arithmetic and indexing on symbolic tensors: TFOpLambda / SlicingOpLambda layers named and
serialized as tf.keras 2.x does (op name in the layer config, operands in the inbound nodes)."""
import io
import json
import os
import sys
from contextlib import redirect_stdout

import numpy as np
import pytest

import minikeras as keras

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from gradcheck import check_gradients  # noqa: E402


def _model():
    """Every supported operator, reflected ones, two symbolic operands and three slicings."""
    x = keras.Input((4,))
    w = keras.Input((4,))
    y = x * 2 + 1
    z = 3.0 - y
    u = -z / w
    v = (u ** 2)[:, :2]
    e = u[..., 1]
    return keras.Model([x, w], [v, e])


def _reference(a, b):
    u = -(3.0 - (a * 2 + 1)) / b
    return (u ** 2)[:, :2], u[..., 1]


def _data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((5, 4)).astype("float32"),
            (rng.random((5, 4)) + 1).astype("float32"))


def _layer(model, name):
    return next(entry for entry in json.loads(model.to_json())["config"]["layers"]
                if entry["name"] == name)


def test_layers_are_named_after_the_tf_op():
    x = keras.Input((4,))
    a, b = x * 2, x * 3
    names = [t._keras_history[0].name
             for t in (a, b, x + 1, 1 + x, x - 1, x / 2, -x, x ** 2, x[:, 0], x[:, 1])]
    assert names == ["tf.math.multiply", "tf.math.multiply_1", "tf.__operators__.add",
                     "tf.__operators__.add_1", "tf.math.subtract", "tf.math.truediv",
                     "tf.math.negative", "tf.math.pow", "tf.__operators__.getitem",
                     "tf.__operators__.getitem_1"]


def test_summary_shows_op_name_and_class():
    x = keras.Input((4,))
    model = keras.Model(x, (x * 2)[:, :2])
    out = io.StringIO()
    with redirect_stdout(out):
        model.summary(line_length=120)   # wide enough not to wrap the names
    text = out.getvalue()
    assert " tf.math.multiply (TFOpLambda)" in text
    assert "(None, 2)" in text
    assert "SlicingOpLambda" in text


def test_predict_matches_numpy():
    model = _model()
    a, b = _data()
    got = model.predict([a, b], verbose=0)
    for g, want in zip(got, _reference(a, b)):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, want, rtol=1e-6)
    assert model.output_shape == [(None, 2), (None,)]


def test_config_in_tf_keras_form():
    """The structure of tf.keras 2.x model JSON: layer config holds only the op's symbol; the
    node is a bare `[layer, node, tensor, kwargs]` entry with the constant operand in kwargs."""
    model = _model()
    assert _layer(model, "tf.math.multiply") == {
        "module": "tf_keras.src.layers.core.tf_op_layer", "registered_name": "TFOpLambda",
        "build_config": {"input_shape": [None, 4]},
        "class_name": "TFOpLambda",
        "config": {"name": "tf.math.multiply", "trainable": True, "dtype": "float32",
                   "function": "math.multiply"},
        "name": "tf.math.multiply",
        "inbound_nodes": [["input_1", 0, 0, {"y": 2, "name": None}]]}
    # Two symbolic operands: the second is a tensor reference in kwargs.
    assert _layer(model, "tf.math.truediv")["inbound_nodes"] == [
        ["tf.math.negative", 0, 0, {"y": ["input_2", 0, 0], "name": None}]]
    # A reflected operator: the constant (cast to the tensor's dtype) is the first argument.
    assert _layer(model, "tf.math.subtract")["inbound_nodes"] == [
        ["_CONSTANT_VALUE", -1, 3.0, {"y": ["tf.__operators__.add", 0, 0], "name": None}]]
    assert _layer(model, "tf.math.negative")["inbound_nodes"] == [["tf.math.subtract", 0, 0, {}]]
    getitem = _layer(model, "tf.__operators__.getitem")
    assert getitem["class_name"] == "SlicingOpLambda"
    assert getitem["config"]["function"] == "__operators__.getitem"
    assert getitem["inbound_nodes"] == [["tf.math.pow", 0, 0, {"slice_spec": [
        {"start": None, "stop": None, "step": None}, {"start": None, "stop": 2, "step": None}]}]]
    assert _layer(model, "tf.__operators__.getitem_1")["inbound_nodes"][0][3] == {
        "slice_spec": [{"class_name": "__ellipsis__"}, 1]}
    # Nothing executable is stored: no Lambda-style serialized function.
    assert "function_type" not in model.to_json()


def test_reads_a_tf_keras_config():
    """A config written by hand in tf.keras' form (not by minikeras) builds the same model."""
    config = {"class_name": "Functional", "config": {
        "name": "model", "trainable": True,
        "layers": [
            {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
             "config": {"batch_input_shape": [None, 3], "dtype": "float32", "sparse": False,
                        "ragged": False, "name": "input_1"}},
            {"class_name": "TFOpLambda", "name": "tf.math.subtract",
             "config": {"name": "tf.math.subtract", "trainable": True, "dtype": "float32",
                        "function": "math.subtract"},
             "inbound_nodes": [["_CONSTANT_VALUE", -1, 1.0,
                                {"y": ["tf.math.multiply", 0, 0], "name": None}]]},
            {"class_name": "TFOpLambda", "name": "tf.math.multiply",
             "config": {"name": "tf.math.multiply", "trainable": True, "dtype": "float32",
                        "function": "math.multiply"},
             "inbound_nodes": [["input_1", 0, 0, {"y": 0.5, "name": None}]]},
            {"class_name": "SlicingOpLambda", "name": "tf.__operators__.getitem",
             "config": {"name": "tf.__operators__.getitem", "trainable": True,
                        "dtype": "float32", "function": "__operators__.getitem"},
             "inbound_nodes": [["tf.math.subtract", 0, 0, {"slice_spec": [
                 {"start": None, "stop": None, "step": None},
                 {"start": 1, "stop": None, "step": None}]}]]}],
        "input_layers": [["input_1", 0, 0]],
        "output_layers": [["tf.__operators__.getitem", 0, 0]]}}
    model = keras.models.model_from_json(json.dumps(config))
    a = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(model.predict(a, verbose=0), (1.0 - a * 0.5)[:, 1:])
    assert [layer.name for layer in model.layers][1:] == [
        "tf.math.multiply", "tf.math.subtract", "tf.__operators__.getitem"]   # graph order


@pytest.mark.parametrize("filename", ["m.h5", "m.keras", "json"])
def test_round_trip_predicts_the_same(tmp_path, filename):
    model = _model()
    a, b = _data()
    expected = model.predict([a, b], verbose=0)
    if filename == "json":
        loaded = keras.models.model_from_json(model.to_json())
    else:
        path = str(tmp_path / filename)
        model.save(path)
        with pytest.warns(UserWarning) if filename.endswith("h5") else _nothing():
            loaded = keras.models.load_model(path, safe_mode=True)
    got = loaded.predict([a, b], verbose=0)
    for g, want in zip(got, expected):
        np.testing.assert_array_equal(g, want)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert json.loads(loaded.to_json()) == json.loads(model.to_json())


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_layer_config_round_trip_and_unknown_symbol():
    layer = keras.models.model_from_json(_model().to_json()).get_layer("tf.math.pow")
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    from minikeras.engine.tf_op_layer import TFOpLambda
    with pytest.raises(ValueError, match="TF symbol `math.cosh` could not be found"):
        TFOpLambda.from_config({"name": "tf.math.cosh", "function": "math.cosh"})


def test_gradients_through_tf_ops(float64):
    x = keras.Input((4,))
    w = keras.Input((4,))
    model = keras.Model([x, w], [((2.0 - x * w) / (w + 3)) ** 2, (-x)[:, 1:3]])
    rng = np.random.default_rng(1)
    check_gradients(lambda a, b: model([a, b]), [rng.standard_normal((3, 4)),
                                                 rng.random((3, 4))])


@pytest.mark.parametrize("filename", ["m.h5", "m.keras"])
def test_array_operands_stay_float32_and_round_trip(tmp_path, filename):
    x = keras.Input((4,))
    c = np.array([1.0, 2.0, 3.0, 4.0])   # float64 array: TF converts it to the tensor's dtype
    model = keras.Model(x, [x * c, c - x, x[:, np.int64(1)]])
    assert _layer(model, "tf.math.multiply")["inbound_nodes"][0][3] == {
        "y": [1.0, 2.0, 3.0, 4.0], "name": None}
    a = np.arange(8, dtype="float32").reshape(2, 4)
    expected = [a * c, c - a, a[:, 1]]
    path = str(tmp_path / filename)
    model.save(path)
    with pytest.warns(UserWarning) if filename.endswith("h5") else _nothing():
        loaded = keras.models.load_model(path)
    for m in (model, loaded):
        for got, want in zip(m.predict(a, verbose=0), expected):
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, want)


def test_clone_model_keeps_ops():
    model = _model()
    clone = keras.models.clone_model(model)
    a, b = _data()
    for got, want in zip(clone.predict([a, b], verbose=0), _reference(a, b)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert [type(layer).__name__ for layer in clone.layers] == \
        [type(layer).__name__ for layer in model.layers]


def test_matmul_abs_and_reflected_pow(tmp_path):
    """`@` is `tf.linalg.matmul`, whose second operand is called `b`; `abs()` is `tf.math.abs`."""
    x = keras.Input((4,))
    kernel = np.arange(12, dtype="float32").reshape(4, 3)
    model = keras.Model(x, [abs(x) @ kernel, 2.0 ** x])
    assert [layer.name for layer in model.layers][1:] == [
        "tf.math.abs", "tf.linalg.matmul", "tf.math.pow"]
    assert _layer(model, "tf.linalg.matmul")["inbound_nodes"] == [
        ["tf.math.abs", 0, 0, {"b": kernel.tolist(), "name": None}]]
    assert _layer(model, "tf.math.abs")["inbound_nodes"] == [["input_1", 0, 0, {}]]
    assert _layer(model, "tf.math.pow")["inbound_nodes"] == [
        ["_CONSTANT_VALUE", -1, 2.0, {"y": ["input_1", 0, 0], "name": None}]]
    a = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    path = str(tmp_path / "m.keras")
    model.save(path)
    for m in (model, keras.models.load_model(path)):
        got = m.predict(a, verbose=0)
        np.testing.assert_allclose(got[0], np.abs(a) @ kernel, rtol=1e-6)
        np.testing.assert_allclose(got[1], 2.0 ** a, rtol=1e-6)


def test_matmul_gradients(float64):
    x = keras.Input((4,))
    w = keras.Input((4,))
    model = keras.Model([x, w], abs(x) @ np.ones((4, 2)) + (w ** 2.0) @ np.eye(4)[:, :2])
    rng = np.random.default_rng(2)
    check_gradients(lambda a, b: model([a, b]), [rng.standard_normal((3, 4)) + 0.1,
                                                 rng.standard_normal((3, 4))])
