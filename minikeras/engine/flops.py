"""FLOPs of a model, layer by layer (a minikeras extension: `model.summary(show_flops=True)`
and `keras.utils.count_flops(model)`).

Counted per sample (batch axis excluded), at inference, with the convention of papers: a
multiply-add is 2 FLOPs. Each layer reports its own closed form through
`Layer.count_flops(input_shape, output_shape)`; `None` means "not modelled" and such layers
are left out of totals. What the built-in layers count:

- Dense, Conv1D/2D/3D (any stride, dilation, groups), Conv*Transpose, DepthwiseConv,
  SeparableConv: 2 x the multiply-adds of their products; bias additions and the fused
  activation are not counted.
- Pooling: one operation (comparison or addition) per window element of each output;
  global pooling one per input element.
- BatchNormalization: one multiply-add per element (inference folds it into an affine map).
- Add, Subtract, Multiply, Maximum, Minimum, Average: one operation per output element for
  each input after the first.
- Layers that only move, copy or pass data (Input, Flatten, Reshape, Dropout at inference,
  padding, cropping, Concatenate) and elementwise activation layers: 0.
- A nested model: the sum of its layers.
"""
import numpy as np

from .base_layer import _node_input_shapes, _node_output_shapes


def per_sample_size(shape):
    """Number of elements of one sample of a tensor of `shape` (batch axis first)."""
    return int(np.prod(shape[1:], dtype=np.int64))


def _call_shapes(model, layer):
    """`(input_shape, output_shape)` of every call of `layer` inside `model`'s graph; for a
    model without a graph (subclassed), the shape the layer was built with."""
    network_nodes = getattr(model, "_network_nodes", None)
    if getattr(model, "_is_graph_network", False) and network_nodes is not None:
        return [(_node_input_shapes(node), _node_output_shapes(node))
                for node in layer._inbound_nodes if node in network_nodes]
    input_shape = layer._build_input_shape
    if input_shape is None:
        return []
    try:
        return [(input_shape, layer.compute_output_shape(input_shape))]
    except (NotImplementedError, ValueError, TypeError):
        return []


def layer_flops(model, layer):
    """FLOPs per sample of all the calls of `layer` in `model`; None if not modelled."""
    calls = _call_shapes(model, layer)
    if not calls:
        return None
    counts = [layer.count_flops(input_shape, output_shape) for input_shape, output_shape in calls]
    if any(count is None for count in counts):
        return None
    return int(sum(counts))


def model_flops(model):
    """FLOPs per sample of a whole model: the sum over its layers (unmodelled ones left out)."""
    return sum(flops for flops in (layer_flops(model, layer) for layer in model.layers)
               if flops is not None)


def flops_rows(model, expand_nested=False, layers=None, level=0):
    """One row per layer, `{"name", "class_name", "flops", "nested_level"}`, in `model.layers`
    order (or that of `layers`), an expanded nested model's rows after its own."""
    rows = []
    for layer in model.layers if layers is None else layers:
        rows.append({"name": layer.name, "class_name": type(layer).__name__,
                     "flops": layer_flops(model, layer), "nested_level": level})
        inner_layers = getattr(layer, "layers", None) if expand_nested else None
        if inner_layers:
            rows.extend(flops_rows(layer, True, inner_layers, level + 1))
    return rows
