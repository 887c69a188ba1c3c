"""Functional models: a graph of layers from `keras.Input` tensors to outputs."""
import numpy as np

from ..backend.tensor import Tensor
from .keras_tensor import KerasTensor, flatten, pack_sequence_as
from .training import Model


class Functional(Model):
    """`Model(inputs, outputs)`: runs the layer graph recorded by calling layers on inputs.

    Example:
    >>> inputs = keras.Input(shape=(3,))
    >>> outputs = keras.layers.Dense(2)(inputs)
    >>> model = keras.Model(inputs, outputs)
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        if name is None and type(self) is Functional:
            from ..backend.functions import unique_object_name
            name = unique_object_name("model")   # tf.keras names functional models `model`, ...
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        if isinstance(inputs, dict) or isinstance(outputs, dict):
            pass
        self._nested_inputs = inputs
        self._nested_outputs = outputs
        self.inputs = flatten(inputs)
        self.outputs = flatten(outputs)
        for tensor in self.inputs:
            history = getattr(tensor, "_keras_history", None)
            if not isinstance(tensor, KerasTensor) or history is None or \
                    not history[0]._inbound_nodes[history[1]].is_input:
                raise ValueError(
                    "Input tensors to a Functional must come from `tf.keras.Input`. "
                    f"Received: {tensor} (missing previous layer metadata).")
        for tensor in self.outputs:
            if not isinstance(tensor, KerasTensor) or getattr(tensor, "_keras_history", None) is None:
                raise ValueError(
                    "Output tensors of a Functional model must be the output of a TensorFlow "
                    f"`Layer` (thus holding past layer metadata). Found: {tensor}")
        self._nodes_in_order, self._layers_in_order = _map_graph(self.inputs, self.outputs)
        self._input_layers = [t._keras_history[0] for t in self.inputs]
        self._output_layers = [t._keras_history[0] for t in self.outputs]
        self.input_names = [layer.name for layer in self._input_layers]
        self.output_names = [layer.name for layer in self._output_layers]
        object.__setattr__(self, "_tracked_layers", [])
        for layer in self._layers_in_order:
            self._tracked_layers.append(layer)
        self._is_graph_network = True
        self.built = True
        self._batch_input_shape = None

    @property
    def layers(self):
        return list(self._layers_in_order)

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input(self):
        return self._nested_inputs

    @property
    def output(self):
        return self._nested_outputs

    def _flatten_model_inputs(self, inputs):
        """Match user inputs (array, list or dict by input name) to the model's input tensors."""
        if isinstance(inputs, dict):
            if isinstance(self._nested_inputs, dict):
                missing = [k for k in self._nested_inputs if k not in inputs]
                if missing:
                    raise ValueError(f"Missing data for input(s) {missing}. Expected keys: "
                                     f"{sorted(self._nested_inputs)}")
                return flatten({k: inputs[k] for k in self._nested_inputs})
            try:
                return [inputs[name] for name in self.input_names]
            except KeyError as error:
                raise ValueError(f"No data provided for input {error}. Expected inputs named "
                                 f"{self.input_names}") from None
        flat = flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(
                f'Layer "{self.name}" expects {len(self.inputs)} input(s), but it received '
                f"{len(flat)} input tensors. Inputs received: {[_short(x) for x in flat]}")
        return flat

    def call(self, inputs, training=None, mask=None):
        flat_inputs = self._flatten_model_inputs(inputs)
        values = {}
        for tensor, value in zip(self.inputs, flat_inputs):
            if not isinstance(value, Tensor):
                value = Tensor(np.asarray(value, dtype=tensor.dtype)
                               if np.asarray(value).dtype.kind == "f" or tensor.dtype.kind == "f"
                               else np.asarray(value))
            _check_input_shape(self, tensor, value)
            values[id(tensor)] = value
        for node in self._nodes_in_order:
            if node.is_input:
                continue

            def fill(obj):
                if isinstance(obj, KerasTensor):
                    return values[id(obj)]
                if isinstance(obj, list):
                    return [fill(o) for o in obj]
                if isinstance(obj, tuple):
                    return tuple(fill(o) for o in obj)
                if isinstance(obj, dict):
                    return {k: fill(v) for k, v in obj.items()}
                return obj
            args = fill(node.call_args)
            kwargs = fill(node.call_kwargs)
            if training is not None and node.layer._call_accepts_training:
                kwargs.setdefault("training", training)
            outputs = node.layer(*args, **kwargs)
            for symbolic, concrete in zip(node.output_tensors, flatten(outputs)):
                values[id(symbolic)] = concrete
        results = [values[id(t)] for t in self.outputs]
        return pack_sequence_as(self._nested_outputs, results)

    def compute_output_shape(self, input_shape):
        shapes = [t.shape for t in self.outputs]
        flat_in = input_shape if isinstance(input_shape, list) else [input_shape]
        if all(tuple(s[1:]) == tuple(t.shape[1:]) for s, t in zip(flat_in, self.inputs)):
            batch = flat_in[0][0] if flat_in and flat_in[0] else None
            shapes = [(batch,) + tuple(s[1:]) for s in shapes]
            return pack_sequence_as(self._nested_outputs, shapes) if len(shapes) > 1 else shapes[0]
        raise NotImplementedError

    def get_layer(self, name=None, index=None):
        return _get_layer(self.layers, name, index)


def _short(x):
    return f"<{type(x).__name__} shape={getattr(x, 'shape', None)}>"


def _check_input_shape(model, tensor, value):
    expected = tensor.shape
    got = tuple(value.shape)
    if len(expected) != len(got) or any(e is not None and e != g for e, g in zip(expected, got)):
        if len(expected) == len(got) or len(expected) != len(got):
            layer = tensor._keras_history[0]
            raise ValueError(
                f'Input 0 of layer "{model.name}" is incompatible with the layer: expected '
                f"shape={expected}, found shape={got}"
                if len(expected) == len(got) else
                f'Input 0 of layer "{layer.name}" is incompatible with the layer: expected '
                f"ndim={len(expected)}, found ndim={len(got)}. Full shape received: {got}")


def _get_layer(layers, name, index):
    if index is not None and name is not None:
        raise ValueError("Provide only a layer name or a layer index. Received: "
                         f"index={index}, name={name}.")
    if index is not None:
        if len(layers) <= index:
            raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                             f"{len(layers)} layers.")
        return layers[index]
    if name is not None:
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in layers]}.")
    raise ValueError("Provide either a layer name or layer index at `get_layer`.")


def _map_graph(inputs, outputs):
    """Order nodes and layers as tf.keras does: by depth from the outputs (deepest, i.e. the
    inputs, first); within one depth, by first visit in a depth-first walk from the outputs.
    Raises on a graph that needs an input it was not given."""
    layer_index = {}
    finished, in_progress = set(), set()
    post_order = []

    def visit(tensor):
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(f"Tensor {tensor} from layer '{layer.name}' is part of a cycle.")
        layer_index.setdefault(id(layer), (len(layer_index), layer))
        in_progress.add(id(node))
        if not node.is_input:
            for parent in node.input_tensors:
                visit(parent)
        finished.add(id(node))
        in_progress.discard(id(node))
        post_order.append(node)

    for out in outputs:
        visit(out)

    node_depth, layer_depth = {}, {}
    for node in reversed(post_order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        if not node.is_input:
            for parent in node.parent_nodes():
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))

    nodes_by_depth = {}
    for node in post_order:
        nodes_by_depth.setdefault(node_depth[id(node)], []).append(node)
    layers_by_depth = {}
    for key, (index, layer) in layer_index.items():
        layers_by_depth.setdefault(layer_depth[key], []).append((index, layer))

    ordered_nodes, ordered_layers = [], []
    for depth in sorted(nodes_by_depth, reverse=True):
        ordered_nodes.extend(nodes_by_depth[depth])
    for depth in sorted(layers_by_depth, reverse=True):
        ordered_layers.extend(layer for _, layer in sorted(layers_by_depth[depth], key=lambda p: p[0]))

    # Every input layer reached must be one of the model's inputs.
    given = {id(t) for t in inputs}
    computable = set(given)
    for node in ordered_nodes:
        if node.is_input:
            if id(node.output_tensors[0]) not in given:
                reached = [layer.name for layer in ordered_layers if not layer._inbound_nodes[0].is_input]
                raise ValueError(
                    f"Graph disconnected: cannot obtain value for tensor {node.output_tensors[0]} "
                    f'at layer "{node.layer.name}". The following previous layers were accessed '
                    f"without issue: {reached[:0]}")
            continue
        for t in node.input_tensors:
            if id(t) not in computable:
                raise ValueError(f"Graph disconnected: cannot obtain value for tensor {t} at layer "
                                 f'"{node.layer.name}".')
        computable.update(id(t) for t in node.output_tensors)
    return ordered_nodes, ordered_layers
