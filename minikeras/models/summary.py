"""`model.summary()`: collects each layer's row and prints it in tf.keras 2.x's layout.

Which layout (three columns, or four with `Connected to`) follows tf.keras' rule: Sequential
and subclassed models, and functional models that are a plain chain (one node per depth,
each with one input, no layer called twice), print like a Sequential.
"""
import re

import numpy as np

from ..engine.flops import flops_rows
from .summary_format import format_shape, format_summary
from .model_kind import is_functional, is_sequential


def _weights_size(weights):
    unique = {id(w): w for w in weights}.values()
    count = int(sum(int(np.prod(w.shape)) for w in unique))
    nbytes = int(sum(int(np.prod(w.shape)) * w.dtype.itemsize for w in unique))
    return count, nbytes


def _is_sequential_like(model):
    if is_sequential(model) or not is_functional(model):
        return True
    nodes = []
    for depth_nodes in model._nodes_by_depth.values():
        if len(depth_nodes) > 1 or (len(depth_nodes) == 1 and
                                    len(depth_nodes[0].input_tensors) > 1):
            return False
        nodes += depth_nodes
    node_set = set(nodes)
    for layer in model.layers:   # a layer called twice in the model (shared weights)
        if sum(1 for node in layer._inbound_nodes if node in node_set) > 1:
            return False
    return True


def _output_shape_text(layer):
    try:
        return format_shape(layer.output_shape)
    except AttributeError:
        return "multiple"
    except RuntimeError:
        return "?"


def _params_text(layer, sequential_like):
    if sequential_like and not layer.built and not is_functional(layer):
        return "0 (unused)"   # e.g. a layer of a subclassed model that `call` never used
    return layer.count_params()


def _connections(layer, relevant_nodes):
    """`name[node_index][tensor_index]` of every tensor feeding the layer's calls that belong
    to the summarised model (layers of an expanded nested model thus show `[]`)."""
    result = []
    for node in layer._inbound_nodes:
        if relevant_nodes and node not in relevant_nodes:
            continue
        for inbound, node_index, tensor_index, _ in node.iterate_inbound():
            result.append(f"{inbound.name}[{node_index}][{tensor_index}]")
    return result


def _rows(layers, sequential_like, relevant_nodes, expand_nested, level=0):
    rows = []
    for layer in layers:
        # a recorded `keras.ops` call shows its Keras 3 operation class, as Keras 3 does
        class_name = getattr(layer, "summary_class_name", None) or type(layer).__name__
        row = {"name": layer.name, "class_name": class_name,
               "output_shape": _output_shape_text(layer),
               "params": _params_text(layer, sequential_like),
               "trainable": layer.trainable, "nested_level": level}
        if not sequential_like:
            row["connected_to"] = _connections(layer, relevant_nodes)
        rows.append(row)
        inner = getattr(layer, "layers", None) if expand_nested else None
        if inner:
            rows.extend(_rows(inner, sequential_like, relevant_nodes, True, level + 1))
    return rows


def _layer_index_bounds(model, layer_range):
    """tf.keras' `layer_range`: first layer matching `layer_range[0]` to the last one
    matching `layer_range[1]` (regular expressions, `re.match`), both included."""
    if layer_range is None:
        return 0, len(model.layers)
    if len(layer_range) != 2:
        raise ValueError("layer_range must be a list or tuple of length 2. Received: "
                         f"layer_range = {layer_range} of length {len(layer_range)}")
    if not isinstance(layer_range[0], str) or not isinstance(layer_range[1], str):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, layer in enumerate(model.layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(model.layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError("Passed layer_names do not match the layer names in the model. "
                         f"Received: {layer_range}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def _flops_total(rows):
    """FLOPs of the top-level rows that have a count, and how many rows have none."""
    top = [row["flops"] for row in rows if row["nested_level"] == 0]
    return sum(f for f in top if f is not None), sum(1 for f in top if f is None)


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None, show_flops=False):
    sequential_like = _is_sequential_like(model)
    relevant_nodes = None if sequential_like else set(
        node for nodes in model._nodes_by_depth.values() for node in nodes)
    start, end = _layer_index_bounds(model, layer_range)
    rows = _rows(model.layers[start:end], sequential_like, relevant_nodes, expand_nested)
    flops = None
    if show_flops:   # minikeras extension: a FLOPs column and total
        counted = flops_rows(model, expand_nested, model.layers[start:end])
        for row, counted_row in zip(rows, counted):
            row["flops"] = counted_row["flops"]
        flops = _flops_total(counted)
    trainable, trainable_bytes = _weights_size(model.trainable_weights)
    non_trainable, non_trainable_bytes = _weights_size(model.non_trainable_weights)
    if positions is not None:
        positions = list(positions)   # tf.keras appends the Trainable column to the caller's list
    format_summary(model.name, rows, trainable + non_trainable, trainable, non_trainable,
                   functional=not sequential_like, line_length=line_length, positions=positions,
                   show_trainable=show_trainable, print_fn=print_fn,
                   trainable_bytes=trainable_bytes, non_trainable_bytes=non_trainable_bytes,
                   flops=flops)
