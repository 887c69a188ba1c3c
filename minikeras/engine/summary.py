"""`model.summary()`: collects each layer's row and prints it in tf.keras 2.x's layout."""
import numpy as np

from .summary_format import format_shape, format_summary


def _weights_size(weights):
    count = int(sum(int(np.prod(w.shape)) for w in weights))
    nbytes = int(sum(int(np.prod(w.shape)) * w.dtype.itemsize for w in weights))
    return count, nbytes


def _is_sequential_like(model):
    if type(model).__name__ == "Sequential" or getattr(model, "_nodes_in_order", None) is None:
        return True
    nodes = [n for n in model._nodes_in_order]
    depths = {}
    for node in nodes:
        depths.setdefault(id(node.layer), []).append(node)
    for node in nodes:
        if len(node.input_tensors) > 1:
            return False
    # A chain has exactly one node per depth: compare node count with layer count.
    if len(nodes) != len({id(n.layer) for n in nodes}):
        return False
    consumers = {}
    for node in nodes:
        for t in node.input_tensors:
            consumers[id(t)] = consumers.get(id(t), 0) + 1
    return all(count <= 1 for count in consumers.values())


def _output_shape_text(layer):
    try:
        shape = layer.output_shape
    except (AttributeError, RuntimeError):
        return "multiple"
    return format_shape(shape)


def _params_text(layer):
    if not layer.built:
        return "0 (unused)"
    return layer.count_params()


def _connections(layer, model_nodes):
    result = []
    for node in layer._inbound_nodes:
        if id(node) not in model_nodes or node.is_input:
            continue
        for tensor in node.input_tensors:
            inbound, node_index, tensor_index = tensor._keras_history
            result.append(f"{inbound.name}[{node_index}][{tensor_index}]")
    return result


def _rows(model, functional, expand_nested, level=0):
    model_nodes = {id(n) for n in getattr(model, "_nodes_in_order", []) or []}
    rows = []
    for layer in model.layers:
        row = {"name": layer.name, "class_name": type(layer).__name__,
               "output_shape": _output_shape_text(layer), "params": _params_text(layer),
               "trainable": layer.trainable, "nested_level": level}
        if functional:
            row["connected_to"] = _connections(layer, model_nodes)
        rows.append(row)
        if expand_nested and hasattr(layer, "layers") and getattr(layer, "_is_model", lambda: True)():
            rows.extend(_rows(layer, functional and not _is_sequential_like(layer), True, level + 1))
    return rows


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    if layer_range is not None:
        raise NotImplementedError("summary(layer_range=...) is not supported by minikeras.")
    functional = not _is_sequential_like(model)
    rows = _rows(model, functional, expand_nested)
    trainable, trainable_bytes = _weights_size(model.trainable_weights)
    non_trainable, non_trainable_bytes = _weights_size(model.non_trainable_weights)
    format_summary(model.name, rows, trainable + non_trainable, trainable, non_trainable,
                   functional=functional, line_length=line_length, positions=positions,
                   show_trainable=show_trainable, print_fn=print_fn,
                   trainable_bytes=trainable_bytes, non_trainable_bytes=non_trainable_bytes)
