"""Weights of layers called inside a custom layer or subclassed model are named under its name
scope, as tf.keras 2.21 names them (`my_block/dense/kernel:0`); graph models (Sequential,
Functional) name their layers' weights in a fresh scope. Facts and files: tests/fixtures/
nested_names (peer_recipes/fid2/nested_names*.py)."""
import json
import os

import h5py
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "nested_names")


def load_json(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


class InitBlock(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(4)
        self.dense2 = layers.Dense(3, name="proj")

    def call(self, x):
        return self.dense2(self.dense(x))


class BuildBlock(layers.Layer):
    def build(self, input_shape):
        self.dense = layers.Dense(4)
        self.w = self.add_weight(name="w", shape=(4,))

    def call(self, x):
        return self.dense(x) * self.w


class Outer(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = InitBlock()
        self.bn = layers.BatchNormalization()

    def call(self, x):
        return self.bn(self.inner(x))


class ListBlock(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stack = [layers.Dense(4), layers.Dense(4)]

    def call(self, x):
        for layer in self.stack:
            x = layer(x)
        return x


class SeqInLayer(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seq = keras.Sequential([layers.Dense(4), layers.Dense(2)])
        inp = keras.Input((4,))
        self.fn = keras.Model(inp, layers.Dense(3)(inp))

    def call(self, x):
        return self.fn(self.seq(x) @ np.ones((2, 4), np.float32))


class SubModel(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.d1 = layers.Dense(4)
        self.block = InitBlock()

    def call(self, x):
        return self.block(self.d1(x))


class Sub(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.d = layers.Dense(4)
        self.e = layers.Dense(1)

    def call(self, x):
        return self.e(self.d(x))


class SubInSub(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = Sub()
        self.d = layers.Dense(1)

    def call(self, x):
        return self.d(self.inner(x))


X = np.ones((2, 5), np.float32)
LAYER_CASES = {"init_block": lambda: InitBlock(name="my_block"),
               "build_block": lambda: BuildBlock(name="my_block"),
               "outer": Outer, "list_block": ListBlock, "seq_in_layer": SeqInLayer}


def names(obj):
    return [w.name for w in obj.weights]


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layers_called_in_a_custom_layer_are_scoped_eagerly(case):
    layer = LAYER_CASES[case]()
    layer(X)
    assert names(layer) == load_json("layer_cases.json")[f"{case}_eager"]


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layers_called_in_a_custom_layer_are_scoped_in_a_functional_model(case):
    layer = LAYER_CASES[case]()
    inputs = keras.Input((5,))
    model = keras.Model(inputs, layer(inputs))
    assert names(model) == load_json("layer_cases.json")[f"{case}_functional"]


def test_subclassed_models_scope_their_layers_but_build_does_not():
    facts = load_json("layer_cases.json")
    model = SubModel()
    model(X)
    assert names(model) == facts["submodel_eager"]
    keras.backend.clear_session()
    model = SubModel(name="sm")
    model.build((None, 5))
    assert names(model) == facts["submodel_build"]


def test_blocks_in_sequential_and_functional_models():
    facts = load_json("layer_cases.json")
    model = keras.Sequential([keras.Input((5,)), InitBlock(name="blk"), layers.Dense(2)])
    assert names(model) == facts["seq_with_block"]
    keras.backend.clear_session()
    inner = keras.Sequential([layers.Dense(3)], name="inner")
    model = keras.Sequential([keras.Input((5,)), inner, layers.Dense(2)])
    assert names(model) == facts["seq_in_seq"]
    keras.backend.clear_session()
    inputs = keras.Input((5,))
    first, second = InitBlock(), InitBlock()
    model = keras.Model(inputs, second(first(inputs)))
    assert names(model) == facts["two_blocks_functional"]


def test_subclassed_models_first_called_by_fit_predict_or_a_functional_model():
    facts = load_json("layer_cases2.json")
    model = Sub()
    model.compile("sgd", "mse")
    model.fit(X, np.ones((2, 1)), verbose=0)
    assert names(model) == facts["submodel_fit_first"]
    keras.backend.clear_session()
    inputs = keras.Input((5,))
    model = keras.Model(inputs, Sub(name="sub")(inputs))
    assert names(model) == facts["submodel_in_functional"]
    keras.backend.clear_session()
    model = Sub()
    model.predict(X, verbose=0)
    assert names(model) == facts["submodel_predict_first"]
    keras.backend.clear_session()
    model = SubInSub()
    model(X)
    assert names(model) == facts["sub_in_sub"]


def test_wrappers_inside_keep_their_names():
    facts = load_json("layer_cases2.json")
    for case, make in [("bidirectional", lambda: layers.Bidirectional(layers.LSTM(2))),
                       ("time_distributed", lambda: layers.TimeDistributed(layers.Dense(2))),
                       ("rnn_cell", lambda: layers.RNN(layers.LSTMCell(2))),
                       ("stacked_cells",
                        lambda: layers.RNN([layers.LSTMCell(2), layers.GRUCell(2)]))]:
        keras.backend.clear_session()
        inputs = keras.Input((3, 5))
        assert names(keras.Model(inputs, make()(inputs))) == facts[case]


# --- files tf.keras wrote for such models ---------------------------------------------------
@keras.utils.register_keras_serializable(package="fid2")
class Block(layers.Layer):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units, activation="relu")
        self.proj = layers.Dense(units, name="proj")

    def call(self, x):
        return self.proj(self.dense(x)) + x[..., :1]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Net(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.b1 = Block(name="b1")
        self.b2 = Block(name="b2")
        self.head = layers.Dense(2)

    def call(self, x):
        return self.head(self.b2(self.b1(x)))


def block_model():
    inputs = keras.Input((5,))
    return keras.Model(inputs, layers.Dense(1, name="head")(Block(name="my_block")(inputs)))


def weight_names_of(path):
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        return {name: [n.decode() if isinstance(n, bytes) else n
                       for n in group[name].attrs["weight_names"]]
                for name in group.attrs["layer_names"]}


def test_tf_keras_h5_of_a_block_model_loads_and_ours_lists_the_same_names(tmp_path):
    facts = load_json("nested_names_files.json")
    x = np.asarray(facts["x"], np.float32)
    loaded = keras.models.load_model(os.path.join(FIXTURES, "nested_block_model.h5"))
    assert names(loaded) == facts["functional_names"]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), facts["functional_y"], atol=1e-5)
    for weights_file, by_name in [("nested_block_model_weights.h5", False),
                                  ("nested_block_model_weights.h5", True),
                                  ("nested_block_model.weights.h5", False)]:
        keras.backend.clear_session()
        model = block_model()
        model.load_weights(os.path.join(FIXTURES, weights_file), by_name=by_name) if by_name \
            else model.load_weights(os.path.join(FIXTURES, weights_file))
        np.testing.assert_allclose(model.predict(x, verbose=0), facts["functional_y"], atol=1e-5)
    model.save(tmp_path / "ours.h5")
    assert weight_names_of(tmp_path / "ours.h5") == \
        weight_names_of(os.path.join(FIXTURES, "nested_block_model.h5"))


def test_tf_keras_weights_of_a_subclassed_model_with_blocks_load(tmp_path):
    facts = load_json("nested_names_files.json")
    x = np.asarray(facts["x"], np.float32)
    for weights_file in ["nested_subclassed.h5", "nested_subclassed.weights.h5"]:
        keras.backend.clear_session()
        net = Net(name="net")
        net(x)
        net.load_weights(os.path.join(FIXTURES, weights_file))
        np.testing.assert_allclose(net.predict(x, verbose=0), facts["subclassed_y"], atol=1e-5)
    net.save_weights(tmp_path / "ours.h5")
    # same names as tf.keras' file, up to the instance counters of the inner Dense layers
    ours, theirs = weight_names_of(tmp_path / "ours.h5"), \
        weight_names_of(os.path.join(FIXTURES, "nested_subclassed.h5"))
    assert list(ours) == ["b1", "b2", "dense_2"] and list(theirs) == ["b1", "b2", "dense_3"]
    assert ours["b1"] == ["net/b1/dense/kernel:0", "net/b1/dense/bias:0",
                          "net/b1/proj/kernel:0", "net/b1/proj/bias:0"]


class Encoder(layers.Layer):
    """The NMT tutorial's encoder: an Embedding, a Bidirectional GRU and an LSTM."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.emb = layers.Embedding(20, 4)
        self.rnn = layers.Bidirectional(layers.GRU(3, return_sequences=True))
        self.lstm = layers.LSTM(2)

    def call(self, x):
        return self.lstm(self.rnn(self.emb(x)))


class AttnBlock(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.mha = layers.MultiHeadAttention(2, 3)
        self.td = layers.TimeDistributed(layers.Dense(2))
        self.ln = layers.LayerNormalization()

    def call(self, x):
        return self.td(self.ln(x + self.mha(x, x)))


def test_wrappers_and_attention_inside_a_custom_layer():
    facts = load_json("layer_cases3.json")
    encoder = Encoder(name="encoder")
    encoder(np.zeros((2, 5), "int32"))
    assert names(encoder) == facts["encoder"]
    block = AttnBlock(name="attn")
    block(np.zeros((2, 5, 4), "float32"))
    assert names(block) == facts["attn"]
