"""`keras.utils.model_to_dot` / `plot_model`: the Graphviz source of a model's layer graph."""
import os

import pytest

import minikeras as keras
from minikeras import layers
from minikeras.utils import vis_utils

pydot = pytest.importorskip("pydot", reason="pydot (the `plot` extra) is not installed")


def _labels(dot):
    """Every node's label by node name, clusters included."""
    labels = {}

    def collect(graph):
        for node in graph.get_nodes():
            label = node.get("label")
            if label is not None:
                labels[node.get_name()] = label.strip('"')
        for sub in graph.get_subgraphs():
            collect(sub)
    collect(dot)
    return labels


def _graph(dot):
    """(labels by layer name, set of (source, target) layer-name edges) of a pydot graph whose
    labels start with the layer name."""
    labels = _labels(dot)

    def first_field(label):
        return label.lstrip("{").split("|")[0].strip("{}")
    edges = set()

    def collect_edges(graph):
        for edge in graph.get_edges():
            source, target = labels[edge.get_source()], labels[edge.get_destination()]
            edges.add((first_field(source), first_field(target)))
        for sub in graph.get_subgraphs():
            collect_edges(sub)
    collect_edges(dot)
    return {first_field(label): label for label in labels.values()}, edges


def _sequential():
    return keras.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1), name="conv"),
        layers.Flatten(name="flat"),
        layers.Dense(10, activation="softmax", name="out"),
    ], name="seq")


def _branched():
    inputs = keras.Input((16,), name="x")
    left = layers.Dense(8, activation="relu", name="left")(inputs)
    right = layers.Dense(8, activation="tanh", name="right")(inputs)
    merged = layers.Add(name="sum")([left, right])
    joined = layers.Concatenate(name="cat")([merged, left])
    return keras.Model(inputs, layers.Dense(3, name="head")(joined), name="branched")


def test_sequential_nodes_edges_and_shapes():
    nodes, edges = _graph(vis_utils.model_to_dot(_sequential(), show_shapes=True))
    assert set(nodes) == {"conv_input", "conv", "flat", "out"}
    assert edges == {("conv_input", "conv"), ("conv", "flat"), ("flat", "out")}
    assert nodes["conv"] == "{conv|Conv2D}|{input:|output:}|{{(None, 8, 8, 1)}|{(None, 6, 6, 4)}}"
    assert "{(None, 144)}|{(None, 10)}" in nodes["out"]
    assert "[(None, 8, 8, 1)]" in nodes["conv_input"]   # an InputLayer's shapes are lists


def test_graph_attributes_follow_arguments():
    dot = vis_utils.model_to_dot(_sequential(), rankdir="LR", dpi=48)
    source = dot.to_string()
    assert "rankdir=LR;" in source and "dpi=48;" in source and "concentrate=true;" in source
    assert "node [shape=record];" in source


def test_branched_functional_model_has_merge_edges():
    nodes, edges = _graph(vis_utils.model_to_dot(_branched()))
    assert set(nodes) == {"x", "left", "right", "sum", "cat", "head"}
    assert edges == {("x", "left"), ("x", "right"), ("left", "sum"), ("right", "sum"),
                     ("sum", "cat"), ("left", "cat"), ("cat", "head")}
    assert nodes["sum"] == "sum|Add"


def test_multi_input_multi_output():
    a, b = keras.Input((4,), name="a"), keras.Input((6,), name="b")
    shared = layers.Concatenate(name="joined")([a, b])
    first = layers.Dense(2, name="first")(shared)
    second = layers.Dense(3, name="second")(shared)
    nodes, edges = _graph(vis_utils.model_to_dot(keras.Model([a, b], [first, second]),
                                                 show_shapes=True))
    assert edges == {("a", "joined"), ("b", "joined"), ("joined", "first"), ("joined", "second")}
    assert "{[(None, 4), (None, 6)]}|{(None, 10)}" in nodes["joined"]


def test_nested_model_collapsed_and_expanded():
    inner = keras.Sequential([layers.Dense(4, input_shape=(8,), name="in1"),
                              layers.Dense(3, name="in2")], name="inner")
    inputs = keras.Input((8,), name="x")
    outputs = layers.Dense(2, name="head")(inner(layers.Dense(8, name="pre")(inputs)))
    model = keras.Model(inputs, outputs)

    nodes, edges = _graph(vis_utils.model_to_dot(model, show_shapes=True))
    assert set(nodes) == {"x", "pre", "inner", "head"}
    assert edges == {("x", "pre"), ("pre", "inner"), ("inner", "head")}
    assert "{inner|Sequential}" in nodes["inner"]

    dot = vis_utils.model_to_dot(model, expand_nested=True)
    nodes, edges = _graph(dot)
    assert set(nodes) == {"x", "pre", "in1_input", "in1", "in2", "head"}
    # edges into and out of the cluster attach to its first and last node
    assert edges == {("x", "pre"), ("pre", "in1_input"), ("in1_input", "in1"), ("in1", "in2"),
                     ("in2", "head")}
    (cluster,) = dot.get_subgraphs()
    assert cluster.get_name() == "cluster_inner"
    assert cluster.get("style") == "dashed" and cluster.get("label") == "inner"


def test_label_options():
    model = _sequential()
    model.get_layer("flat").trainable = False
    labels = set(_labels(vis_utils.model_to_dot(
        model, show_layer_activations=True, show_dtype=True, show_trainable=True,
        show_layer_names=False)).values())
    assert "T|{Conv2D|relu}|float32" in labels
    assert "NT|Flatten|float32" in labels
    assert "T|{Dense|softmax}|float32" in labels


def test_layer_range_keeps_the_matching_layers():
    nodes, edges = _graph(vis_utils.model_to_dot(_branched(), layer_range=["left", "cat"]))
    assert set(nodes) == {"left", "right", "sum", "cat"}
    assert edges == {("left", "sum"), ("right", "sum"), ("sum", "cat"), ("left", "cat")}
    with pytest.raises(ValueError, match="layer_range must be of shape"):
        vis_utils.model_to_dot(_branched(), layer_range=["left"])


def test_subclassed_model_is_one_node():
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__(name="tiny")
            self.dense = layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    model = Tiny()
    model.build((None, 3))
    nodes, edges = _graph(vis_utils.model_to_dot(model))
    assert list(nodes) == ["tiny"] and not edges


def test_unbuilt_model_raises():
    with pytest.raises(ValueError, match="has not yet been built"):
        vis_utils.model_to_dot(keras.Sequential([layers.Dense(2)]))


def test_missing_pydot_raises_keras_import_error(monkeypatch):
    monkeypatch.setattr(vis_utils, "_import_pydot", lambda: None)
    with pytest.raises(ImportError, match=r"You must install pydot \(`pip install pydot`\)"):
        vis_utils.model_to_dot(_sequential())
    with pytest.raises(ImportError, match="install graphviz"):
        keras.utils.plot_model(_sequential())


def test_missing_graphviz_inside_ipython_prints_instead(monkeypatch, capsys):
    monkeypatch.setattr(vis_utils, "check_graphviz", lambda: False)
    monkeypatch.setattr(vis_utils, "_in_ipython_shell", lambda: True)
    assert keras.utils.plot_model(_sequential()) is None
    assert "install graphviz" in capsys.readouterr().out


def test_plot_model_writes_the_file(tmp_path):
    if not vis_utils.check_graphviz():
        pytest.skip("Graphviz' dot program is not installed")
    target = tmp_path / "model.png"
    keras.utils.plot_model(_branched(), to_file=str(target), show_shapes=True)
    with open(target, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    source = tmp_path / "model.dot"
    assert keras.utils.plot_model(_branched(), to_file=source) is None   # not an inline image
    assert "head" in source.read_text() and os.path.getsize(source) > 0


class Wrapper(layers.Layer):
    """Stands for keras.layers.Wrapper (TimeDistributed, Bidirectional): holds `.layer`."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, inputs):
        return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


def test_wrapper_labels_and_wrapped_model_cluster():
    inputs = keras.Input((4,), name="x")
    wrapped = Wrapper(layers.Dense(2, name="inner"), name="wrap")(inputs)
    nodes, edges = _graph(vis_utils.model_to_dot(keras.Model(inputs, wrapped)))
    assert nodes["wrap(inner)"] == "wrap(inner)|Wrapper(Dense)"

    inner_model = keras.Sequential([layers.Dense(3, input_shape=(4,), name="d")], name="sub")
    outputs = layers.Dense(1, name="head")(Wrapper(inner_model, name="wrap2")(inputs))
    nodes, edges = _graph(vis_utils.model_to_dot(keras.Model(inputs, outputs), expand_nested=True))
    assert set(nodes) == {"x", "wrap2", "d_input", "d", "head"}
    # into the wrapper, from the wrapper into the cluster, out of the cluster's last node
    assert edges == {("x", "wrap2"), ("wrap2", "d_input"), ("d_input", "d"), ("d", "head")}
