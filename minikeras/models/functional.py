"""Functional models: a graph of layers from `keras.Input` tensors to outputs.

The graph is the one recorded while layers were called on KerasTensors: every call is a
`Node` on the called layer, every KerasTensor knows the node that made it
(`_keras_history = (layer, node_index, tensor_index)`). `Model(inputs, outputs)` walks that
record back from the outputs and orders it as tf.keras 2.x does (by depth, inputs first),
which fixes `model.layers`, the weight order and the `summary()` layout.
"""
import collections


import warnings

import numpy as np

from ..core.session import unique_object_name
from ..core.tensor import Tensor, is_recording
from ..core.registry import register_builtins
from ..core.nest import flatten, map_structure, pack_sequence_as
from ..engine.input_spec import assert_input_compatibility
from ..engine.keras_tensor import KerasTensor, Node, remember_recorded_values
from .training import Model, _get_layer
from . import fusion
from ..layers.core.input_layer import InputLayer
from .. import ops
from ..engine.add_loss import AddLoss, AddMetric


class Functional(Model):
    """`Model(inputs, outputs)`: runs the layer graph recorded by calling layers on inputs.

    Example:
    >>> inputs = keras.Input(shape=(3,))
    >>> outputs = keras.layers.Dense(2)(inputs)
    >>> model = keras.Model(inputs, outputs)
    >>> model.output_shape
    (None, 2)
    """
    _resets_name_scope = True   # tf.keras builds a graph model's layers in a fresh name scope

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        for key in kwargs:
            raise TypeError("Keyword argument not understood:", key)
        if name is None and type(self) is Functional:
            name = unique_object_name("model")   # tf.keras names functional models `model`, ...
        super().__init__(name=name, trainable=trainable)
        init_graph_network(self, inputs, outputs)

    # --- graph construction ----------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        """Validate the graph between `inputs` and `outputs` and record it on the model."""
        # tf.keras: a list holding a single tensor means that tensor.
        if isinstance(inputs, list) and len(flatten(inputs)) == 1:
            inputs = inputs[0]
        if isinstance(outputs, list) and len(flatten(outputs)) == 1:
            outputs = outputs[0]
        flat_inputs, flat_outputs = flatten(inputs), flatten(outputs)
        _validate_graph_inputs_and_outputs(self, flat_inputs, flat_outputs)
        nodes_by_depth, layers = _map_graph_network(flat_inputs, flat_outputs)
        ordered_nodes = [node for depth in sorted(nodes_by_depth, reverse=True)
                         for node in nodes_by_depth[depth]]
        attributes = {
            "_nested_inputs": inputs, "_nested_outputs": outputs,
            "inputs": flat_inputs, "outputs": flat_outputs,
            "_input_layers": [t._keras_history[0] for t in flat_inputs],
            "_output_layers": [t._keras_history[0] for t in flat_outputs],
            "_output_coordinates": [tuple(t._keras_history) for t in flat_outputs],
            "_nodes_by_depth": nodes_by_depth,
            "_network_nodes": set(ordered_nodes),
            "_nodes_in_order": ordered_nodes,
            "_layers_in_order": list(layers),
            "_tracked_layers": list(layers),
        }
        # object.__setattr__: these lists of layers are not sub-layers to track again.
        for key, value in attributes.items():
            object.__setattr__(self, key, value)
        # What running the graph needs, computed once: per layer call, the ids of the tensors
        # it reads and writes; per input, the shape its data must match.
        object.__setattr__(self, "_run_plan", [
            (node, [id(t) for t in node.input_tensors], [id(t) for t in node.output_tensors])
            for node in ordered_nodes if not node.is_input])
        self._input_spec_shapes = [_spec_shape(t) for t in flat_inputs]
        self.input_names = [layer.name for layer in self._input_layers]
        self.output_names = _unique_output_names(self._output_layers)
        self._is_graph_network = True
        self.built = True
        self._build_input_shape = map_structure(lambda t: t.shape, inputs)

    # --- losses on symbolic tensors (tf.keras' `_graph_network_add_loss`) ------------------------
    def add_loss(self, losses, **kwargs):
        """A KerasTensor loss computed from the model's inputs joins the graph: the layers that
        compute it and an `AddLoss` layer are inserted, so it is recomputed at every call."""
        symbolic = [loss for loss in flatten(losses) if isinstance(loss, KerasTensor)]
        if not symbolic:
            return super().add_loss(losses, **kwargs)
        kwargs.pop("inputs", None)
        if kwargs:
            raise TypeError(f"Unknown keyword arguments: {kwargs.keys()}")
        for loss in symbolic:
            nodes_by_depth, layers = _map_graph_network(self.inputs, [loss])
            new_nodes = [node for depth in sorted(nodes_by_depth, reverse=True)
                         for node in nodes_by_depth[depth]]
            add_loss_layer = AddLoss(unconditional=False, dtype=loss.dtype.name)
            add_loss_layer(loss)
            self._insert_layers(list(layers) + [add_loss_layer],
                                new_nodes + list(add_loss_layer._inbound_nodes))
        return None

    def add_metric(self, value, name=None, **kwargs):
        """A KerasTensor computed from the model's inputs joins the graph through an
        `AddMetric` layer (tf.keras); other values are the layer's `add_metric`."""
        if not isinstance(value, KerasTensor):
            return super().add_metric(value, name=name, **kwargs)
        if name is None:
            raise ValueError("Please provide a name for your metric like "
                             "`self.add_metric(tf.reduce_sum(inputs), name='mean_activation')`")
        nodes_by_depth, layers = _map_graph_network(self.inputs, [value])
        new_nodes = [node for depth in sorted(nodes_by_depth, reverse=True)
                     for node in nodes_by_depth[depth]]
        add_metric_layer = AddMetric("mean", name, dtype=value.dtype.name)
        add_metric_layer(value)
        self._insert_layers(list(layers) + [add_metric_layer],
                            new_nodes + list(add_metric_layer._inbound_nodes))
        return None

    def _connect_ancillary_layers(self, created_layers):
        """Layers of a config that do not lead to the outputs (an `AddLoss` and the ops
        feeding it) are inserted after the graph, as tf.keras' `from_config` does."""
        ancillary = [layer for layer in created_layers if layer not in self.layers]
        if ancillary:
            nodes = [node for layer in created_layers for node in layer._inbound_nodes]
            self._insert_layers(ancillary, nodes)

    def _insert_layers(self, layers, relevant_nodes):
        """Add nodes computed after the model's own (deeper than its outputs, i.e. at negative
        depth) and their layers at the end of `model.layers`, as tf.keras does."""
        node_depth = {node: depth for depth, nodes in self._nodes_by_depth.items()
                      for node in nodes}
        pending = [node for node in relevant_nodes if node not in node_depth]
        candidates = set(pending)
        for _ in range(10000):
            if not pending:
                break
            node = pending.pop(0)
            parents = [] if node.is_input else node.parent_nodes()
            if any(parent in candidates and parent not in node_depth for parent in parents):
                pending.append(node)      # an input of it is not placed yet
                continue
            depth = min([0] + [node_depth[p] for p in parents if p in node_depth]) - 1
            node_depth[node] = depth
            self._nodes_by_depth.setdefault(depth, []).append(node)
        else:
            raise ValueError("Layers could not be added due to missing dependencies.")
        for layer in layers:
            if layer not in self._tracked_layers:
                self._tracked_layers.append(layer)
                self._layers_in_order.append(layer)
        ordered = [node for depth in sorted(self._nodes_by_depth, reverse=True)
                   for node in self._nodes_by_depth[depth]]
        object.__setattr__(self, "_nodes_in_order", ordered)
        object.__setattr__(self, "_network_nodes", set(ordered))
        object.__setattr__(self, "_run_plan", [
            (node, [id(t) for t in node.input_tensors], [id(t) for t in node.output_tensors])
            for node in ordered if not node.is_input])

    # --- structure -------------------------------------------------------------------------
    @property
    def input(self):
        return self._nested_inputs

    @property
    def output(self):
        return self._nested_outputs

    @property
    def input_shape(self):
        self._assert_has_graph("input shape")
        return map_structure(lambda t: tuple(t.shape), self._nested_inputs)

    @property
    def output_shape(self):
        self._assert_has_graph("output shape")
        return map_structure(lambda t: tuple(t.shape), self._nested_outputs)

    def _assert_has_graph(self, what):
        if getattr(self, "_nested_inputs", None) is None:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has no '
                                 f"defined {what}.")

    def get_layer(self, name=None, index=None):
        return _get_layer(self.layers, name, index)

    def __call__(self, *args, **kwargs):
        if args and isinstance(args[0], dict):
            args = (self._without_unknown_keys(args[0]),) + tuple(args[1:])
        return super().__call__(*args, **kwargs)

    def _without_unknown_keys(self, inputs):
        """tf.keras drops (with a warning) the keys of an input dict that name no model input,
        e.g. image_ocr's generator adds a list of strings under 'source_str' for its callback."""
        if getattr(self, "_nested_inputs", None) is None:
            return inputs
        nested = self._nested_inputs
        names = set(nested) if isinstance(nested, dict) else set(self.input_names)
        unknown = [key for key in inputs if key not in names]
        if not unknown or not names <= set(inputs):
            return inputs
        warnings.warn(f"Input dict contained keys {unknown} which did not match any model "
                      "input. They will be ignored by the model.", stacklevel=2)
        return {key: value for key, value in inputs.items() if key in names}

    def _convert_input(self, x):
        # A model takes numbers: refuse string/object arrays here, not inside a layer's NumPy
        # (unless an `Input(dtype="string")` takes them; each input is checked on its own later).
        model_inputs = getattr(self, "inputs", None) or ()
        takes_strings = any(t.dtype.kind == "O" for t in model_inputs) or not model_inputs
        if isinstance(x, (np.ndarray, list, str, bytes)) and not takes_strings:
            numeric_input(x, self._dtype if self._dtype.kind in "biuf" else "float32")
        return super()._convert_input(x)

    # --- running the graph -----------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        return self._run_internal_graph(inputs, training=training, mask=mask)

    def _run_internal_graph(self, inputs, training=None, mask=None):
        """Feed the inputs to the recorded layer calls, by depth, and collect the outputs."""
        flat_inputs = self._flatten_to_reference_inputs(inputs)
        self._assert_input_compatibility(flat_inputs)
        masks = [None] * len(flat_inputs) if mask is None else \
            self._flatten_to_reference_inputs(mask)
        values = {}
        for reference, value, input_mask in zip(self.inputs, flat_inputs, masks):
            value = _conform_to_reference_input(value, reference)
            if input_mask is not None:
                value._keras_mask = input_mask
            values[id(reference)] = value
        release = not is_recording()          # a tape would keep the intermediates anyway
        keras3_training = training is None and self._keras3_training_nodes()
        plan = fusion.graph_plan(self) if release and not keras3_training else None
        if plan is not None:                  # inference: chains of layers run fused
            fusion.run_graph(plan, values, training)
            return self._collect_outputs(values)
        # training: BatchNormalization -> Activation pairs and conv -> max pooling pairs run
        # as one op each (fusion.py)
        bn_pairs = {} if release else fusion.training_graph_pairs(self)
        conv_pool_pairs = {} if release else fusion.conv_pool_pairs(self)
        pools = fusion.training_graph_pools(self, bn_pairs) if bn_pairs else {}
        fused_into = {}                       # activation step -> its output, made by the BN
        fused_steps = set()                   # pooling steps already done by their conv
        for step, ((node, input_ids, output_ids), released) in enumerate(
                zip(self._run_plan, self._released_after())):
            if step in fused_into:
                values[output_ids[0]] = fused_into.pop(step)
                if step in pools:             # a max pooling after the fused activation
                    pool_node, _, pool_outputs = self._run_plan[pools[step]]
                    out = fusion.run_pool_after_activation(pool_node.layer,
                                                           values[output_ids[0]])
                    if out is not None:
                        values[pool_outputs[0]] = out
                        fused_steps.add(pools[step])
                continue
            if step in fused_steps or not all(i in values for i in input_ids):
                continue   # a node that cannot be computed is skipped (tf.keras)
            if step in conv_pool_pairs:
                pool_step = conv_pool_pairs[step]
                out = fusion.run_conv_pool(node.layer, self._run_plan[pool_step][0].layer,
                                           values[input_ids[0]])
                if out is not None:
                    values[self._run_plan[pool_step][2][0]] = out
                    fused_steps.add(pool_step)
                    continue
            args, kwargs = node.map_arguments(values)
            if training is not None and node.layer._call_accepts_training:
                kwargs.setdefault("training", training)
            elif keras3_training and node in keras3_training:
                kwargs["training"] = node.keras3_training
            if release:
                for tensor_id in released:
                    del values[tensor_id]
            activation = fusion.fused_training_step(self, step, args[0], bn_pairs) \
                if step in bn_pairs else None
            if activation is not None:
                fused_into[bn_pairs[step]] = node.layer(*args, _fused_activation=activation,
                                                        **kwargs)
                continue
            outputs = node.layer(*args, **kwargs)
            del args, kwargs
            if len(output_ids) == 1 and isinstance(outputs, Tensor):
                values[output_ids[0]] = outputs
            else:
                values.update(zip(output_ids, flatten(outputs)))
        if not release:
            remember_recorded_values(values)      # for K.gradients in a compiled loss
        return self._collect_outputs(values)

    def _keras3_training_nodes(self):
        """The nodes of this graph loaded from a Keras 3 file with a recorded `training`
        (`serialization.KERAS3_TRAINING`) that the layer's call accepts."""
        return {node for node, _, _ in self._run_plan
                if getattr(node, "keras3_training", None) is not None
                and node.layer._call_accepts_training}

    def _collect_outputs(self, values):
        results = [values[id(t)] for t in self.outputs]
        if len(results) == 1 and not isinstance(self._nested_outputs, (list, tuple, dict)):
            return results[0]
        return pack_sequence_as(self._nested_outputs, results)

    def _released_after(self):
        """Per run-plan step, the ids of the tensors read there for the last time (model
        outputs excepted): inference drops them as it goes, holding only what later layers
        read. Cached per run plan (layers inserted later, e.g. by `add_loss`, extend it)."""
        cached = self.__dict__.get("_released_cache")
        if cached is not None and cached[0] is self._run_plan and cached[1] == len(self._run_plan):
            return cached[2]
        last_read = {}
        for step, (_, input_ids, _) in enumerate(self._run_plan):
            for tensor_id in input_ids:
                last_read[tensor_id] = step
        keep = {id(t) for t in self.outputs}
        released = [[] for _ in self._run_plan]
        for tensor_id, step in last_read.items():
            if tensor_id not in keep:
                released[step].append(tensor_id)
        object.__setattr__(self, "_released_cache", (self._run_plan, len(self._run_plan),
                                                     released))
        return released

    def _flatten_to_reference_inputs(self, inputs):
        """User inputs (one value, a list, or a dict by input name or by the dict keys the
        model was built with) -> one value per `model.inputs` entry."""
        if isinstance(inputs, dict):
            if isinstance(self._nested_inputs, dict):
                names = sorted(self._nested_inputs)
            else:
                names = list(self.input_names)
            missing = [name for name in names if name not in inputs]
            if not missing:
                return [inputs[name] for name in names]
            layer_names = list(self.input_names)
            if all(name in inputs for name in layer_names):
                return [inputs[name] for name in layer_names]   # keyed by Input layer names
            # tf.keras' input check: never feed a dict to the inputs by position
            raise ValueError(f'Missing data for input "{missing[0]}". You passed a data '
                             f"dictionary with keys {list(inputs)}. Expected the following "
                             f"keys: {names}")
        return flatten(inputs)

    def _assert_input_compatibility(self, flat_inputs):
        """tf.keras' check of a functional model's InputSpecs (batch size free, a trailing
        axis of size 1 may be squeezed on either side)."""
        if len(flat_inputs) != len(self.inputs):
            raise ValueError(
                f'Layer "{self.name}" expects {len(self.inputs)} input(s), but it received '
                f"{len(flat_inputs)} input tensors. Inputs received: "
                f"{[_short(x) for x in flat_inputs]}")
        for index, (expected, value) in enumerate(zip(self._input_spec_shapes, flat_inputs)):
            got = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
            if not expected or (len(got) == len(expected) and got[1:] == expected[1:]):
                continue   # no spec, or an exact match
            spec_shape, shape = expected, got
            if shape and shape[-1] == 1:
                shape = shape[:-1]
            if spec_shape and spec_shape[-1] == 1:
                spec_shape = spec_shape[:-1]
            for spec_dim, dim in zip(spec_shape, shape):
                if spec_dim is not None and dim is not None and spec_dim != dim:
                    raise ValueError(
                        f'Input {index} of layer "{self.name}" is incompatible with the layer: '
                        f"expected shape={_shape_text(expected)}, found shape={_shape_text(got)}")

    def _check_input_count(self, flat_inputs):
        """A symbolic call may feed inputs of another shape (a fully convolutional model on
        larger images, an extra axis a later layer accepts): tf.keras 2.21 says nothing (its
        older "Model was constructed with shape ..." warning is gone), and the inner layers
        check what they receive. Only the number of inputs is checked here."""
        if len(flat_inputs) != len(self.inputs):
            self._assert_input_compatibility(flat_inputs)

    # --- symbolic calls and shapes -----------------------------------------------------------
    def _infer_outputs(self, args, kwargs):
        """Output KerasTensors of a call on KerasTensors: each inner layer infers its own
        outputs, nothing is recorded on the inner layers (only the model gets a node)."""
        flat_inputs = self._flatten_to_reference_inputs(args[0])
        self._check_input_count(flat_inputs)
        values = {id(reference): _conform_symbolic_input(value, reference)
                  for reference, value in zip(self.inputs, flat_inputs)}
        for node in self._nodes_in_order:
            if node.is_input or any(id(t) not in values for t in node.input_tensors):
                continue
            node_args, node_kwargs = node.map_arguments(values)
            node_kwargs.pop("mask", None)
            if node.layer.input_spec is not None and node_args:
                # inputs of another shape than the model was built for: each layer checks its
                # own, as in tf.keras' symbolic call
                assert_input_compatibility(node.layer.input_spec,
                                           [t.shape for t in flatten(node_args[0])],
                                           node.layer.name)
            outputs = node.layer._infer_outputs(node_args, node_kwargs)
            for reference, value in zip(node.output_tensors, flatten(outputs)):
                # the graph's mask markers ride along: a later layer's `call(..., mask=None)`
                # gets its mask while a nested model infers shapes (keras.io English-to-Spanish
                # transformer's decoder model, called on the encoder's output)
                marker = getattr(reference, "_keras_mask", None)
                if marker is not None and isinstance(value, KerasTensor):
                    value._keras_mask = marker
                values[id(reference)] = value
        results = [KerasTensor(values[id(t)].shape, dtype=values[id(t)].dtype) for t in self.outputs]
        return pack_sequence_as(self._nested_outputs, results)

    def compute_output_shape(self, input_shape):
        shapes = _flatten_shapes(input_shape)
        if len(shapes) != len(self.inputs):
            raise ValueError(f"Invalid `input_shape` argument {input_shape}: the model expects "
                             f"{len(self.inputs)} input tensors.")
        placeholders = [KerasTensor(shape, dtype=reference.dtype)
                        for shape, reference in zip(shapes, self.inputs)]
        outputs = self._infer_outputs((pack_sequence_as(self._nested_inputs, placeholders),), {})
        return map_structure(lambda t: t.shape, outputs)


register_builtins("layers", {"Functional": Functional})   # configs name models among layers




def init_graph_network(model, inputs, outputs):
    """Set up `model` as a graph network; intermediate tensors given as inputs first get
    fresh `Input`s (tf.keras >= 2.7 builds sub-models this way)."""
    if not all(_is_input_keras_tensor(t) for t in flatten(inputs)):
        inputs, outputs = _clone_graph_nodes(inputs, outputs)
    Functional._init_graph(model, inputs, outputs)


# --- validation ------------------------------------------------------------------------------
_KERAS_TENSOR_TYPE_CHECK_ERROR_MSG = (
    "Found unexpected instance while processing input tensors for keras functional model. "
    "Expecting KerasTensor which is from keras.Input() or output from keras layer call(). "
    "Got: {}")


def _is_keras_tensor(value):
    return isinstance(value, KerasTensor) and value._keras_history is not None


def _is_input_keras_tensor(tensor):
    if not _is_keras_tensor(tensor):
        raise ValueError(_KERAS_TENSOR_TYPE_CHECK_ERROR_MSG.format(tensor))
    return tensor.node.is_input


def _validate_graph_inputs_and_outputs(model, inputs, outputs):
    if len({id(t) for t in inputs}) != len(inputs):
        raise ValueError("The list of inputs passed to the model contains the same input multiple "
                         "times. All inputs should only appear once."
                         f"Received inputs={inputs}")
    cls_name = type(model).__name__
    for tensor in inputs:
        if not _is_keras_tensor(tensor):
            raise ValueError(f"Input tensors to a {cls_name} model must come from `keras.Input`. "
                             f"Received inputs={tensor} (missing previous layer metadata).")
        if not tensor.node.is_input:
            raise ValueError(f"{cls_name} model inputs must come from `keras.Input` (thus "
                             "holding past layer metadata). They cannot be the output of a "
                             f'previous non-Input layer. Here, a tensor specified as input to "'
                             f'{model.name}" was not an Input tensor, it was generated by layer "'
                             f'{tensor._keras_history[0].name}".')
    for tensor in outputs:
        if not _is_keras_tensor(tensor):
            raise ValueError(f"Output tensors of a {cls_name} model must be the output of a "
                             "Keras `Layer` (thus holding past layer metadata). "
                             f"Found: {tensor}")


def _unique_output_names(output_layers):
    """Layer names, with `_1`, `_2` ... appended when one layer gives several outputs."""
    names, used, counts = [], set(), {}
    for layer in output_layers:
        proposal = layer.name
        while proposal in used:
            count = counts.get(layer.name, 1)
            proposal = f"{layer.name}_{count}"
            counts[layer.name] = count + 1
        used.add(proposal)
        names.append(proposal)
    return names


# --- graph walking -----------------------------------------------------------------------------
def _build_map(outputs):
    """Depth-first walk from the outputs: nodes in post-order (inputs first) and each layer's
    first-visit index, which orders layers of equal depth."""
    finished, in_progress = set(), set()
    post_order, layer_indices = [], {}
    for output in outputs:
        stack = []

        def enter(tensor):
            layer, node_index, _ = tensor._keras_history
            node = layer._inbound_nodes[node_index]
            if node in finished:
                return
            if node in in_progress:
                raise ValueError(f'Tensor {tensor} from layer "{layer.name}" is part of a cycle.')
            layer_indices.setdefault(layer, len(layer_indices))
            in_progress.add(node)
            stack.append((node, iter([] if node.is_input else node.input_tensors)))

        enter(output)
        while stack:
            node, parents = stack[-1]
            parent = next(parents, None)
            if parent is not None:
                enter(parent)
                continue
            stack.pop()
            in_progress.discard(node)
            finished.add(node)
            post_order.append(node)
    return post_order, layer_indices


def _map_graph_network(inputs, outputs):
    """`(nodes_by_depth, layers)` as tf.keras computes them: a node's depth is one more than
    the deepest node consuming it (outputs have depth 0), a shared layer takes its deepest
    node's depth; layers are listed by decreasing depth, then by first visit from the outputs.
    Raises on graphs that need a tensor the inputs cannot provide, or repeat a layer name."""
    post_order, layer_indices = _build_map(outputs)
    node_depths, layer_depths = {}, {}
    for node in reversed(post_order):
        depth = max(node_depths.setdefault(node, 0), layer_depths.get(node.layer, 0))
        layer_depths[node.layer] = depth
        node_depths[node] = depth
        for parent in node.parent_nodes():
            node_depths[parent] = max(depth + 1, node_depths.get(parent, 0))
    # An input that no output needs is kept (tf.keras: it may feed losses or metrics).
    for tensor in inputs:
        layer = tensor._keras_history[0]
        if layer not in layer_depths:
            layer_depths[layer] = 0
            layer_indices[layer] = -1
            node_depths[layer._inbound_nodes[0]] = 0

    nodes_by_depth = {}
    for node, depth in node_depths.items():
        nodes_by_depth.setdefault(depth, []).append(node)
    layers_by_depth = {}
    for layer, depth in layer_depths.items():
        layers_by_depth.setdefault(depth, []).append(layer)
    layers = []
    for depth in sorted(layers_by_depth, reverse=True):
        layers.extend(sorted(layers_by_depth[depth], key=lambda layer: layer_indices[layer]))

    _check_computable(inputs, nodes_by_depth)
    counts = collections.Counter(layer.name for layer in layers)
    for name, count in counts.items():
        if count != 1:
            raise ValueError(f'The name "{name}" is used {count} times in the model. '
                             "All layer names should be unique.")
    return nodes_by_depth, layers


def _check_computable(inputs, nodes_by_depth):
    computable = {id(t) for t in inputs}
    reached = []
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            if node.is_input:
                continue
            for tensor in node.input_tensors:
                if id(tensor) not in computable:
                    raise ValueError(
                        f"Graph disconnected: cannot obtain value for tensor {tensor} at layer "
                        f'"{node.layer.name}". The following previous layers were accessed '
                        f"without issue: {reached}")
            computable.update(id(t) for t in node.output_tensors)
            reached.append(node.layer.name)


# --- sub-models from intermediate tensors ---------------------------------------------------------
def _find_nodes_between(inputs, outputs):
    """Nodes from `outputs` back to `inputs` (breadth first); errors when an output needs an
    `Input` that is not among `inputs`, or an input does not lead to any output."""
    start, end = flatten(outputs), flatten(inputs)
    for tensor in start + end:
        if not _is_keras_tensor(tensor):
            raise ValueError(_KERAS_TENSOR_TYPE_CHECK_ERROR_MSG.format(tensor))
    end_ids, found = {id(t) for t in end}, set()
    to_visit, visited, nodes = [t.node for t in start], set(), []
    while to_visit:
        node = to_visit.pop(0)
        if node in visited:
            continue
        visited.add(node)
        nodes.append(node)
        for tensor in node.input_tensors:
            if id(tensor) in end_ids:
                found.add(id(tensor))
                continue
            if tensor.node.is_input:
                raise ValueError("Found input tensor cannot be reached given provided output "
                                 f"tensors. Please make sure the tensor {tensor} is included in "
                                 "the model inputs when building functional model.")
            to_visit.append(tensor.node)
    if found != end_ids:
        unvisited = [t for t in end if id(t) not in found]
        raise ValueError("Found unvisited input tensors that are disconnected from the outputs: "
                         f"{unvisited}")
    return nodes


def _clone_graph_nodes(inputs, outputs):
    """Copy the graph between intermediate `inputs` and `outputs` onto fresh KerasTensors,
    with a new `Input` for each intermediate input; the layers gain one node per copied call."""
    nodes = _find_nodes_between(inputs, outputs)
    copies = {}
    new_inputs = []
    for tensor in flatten(inputs):
        if tensor.node.is_input:
            copies[id(tensor)] = tensor
        else:
            layer = InputLayer(input_tensor=KerasTensor(tensor.shape, dtype=tensor.dtype),
                               dtype=tensor.dtype.name)
            copies[id(tensor)] = layer._inbound_nodes[0].outputs
        new_inputs.append(copies[id(tensor)])
    new_outputs = [_copy_keras_tensor(t, copies) for t in flatten(outputs)]
    for node in nodes:
        node_outputs = map_structure(lambda t: _copy_keras_tensor(t, copies), node.outputs)
        node_args = map_structure(lambda t: _copy_keras_tensor(t, copies), node.call_args)
        node_kwargs = map_structure(lambda t: _copy_keras_tensor(t, copies), node.call_kwargs)
        add_node(node.layer, node_args, node_kwargs, node_outputs)
    return pack_sequence_as(inputs, new_inputs), pack_sequence_as(outputs, new_outputs)


def _copy_keras_tensor(value, copies):
    if not isinstance(value, KerasTensor):
        return value
    if id(value) not in copies:
        copy = KerasTensor(value.shape, dtype=value.dtype, name=value.name)
        copy._keras_history = value._keras_history
        copies[id(value)] = copy
    return copies[id(value)]


def add_node(layer, call_args, call_kwargs, outputs):
    """Record one call of `layer` in the graph: a Node, the outputs' history, the edges."""
    node = Node(layer, call_args, call_kwargs, outputs)
    layer._inbound_nodes.append(node)
    node_index = len(layer._inbound_nodes) - 1
    for tensor_index, tensor in enumerate(node.output_tensors):
        tensor._keras_history = (layer, node_index, tensor_index)
    for inbound in node.inbound_layers:
        inbound._outbound_nodes.append(node)
    return node


# --- small helpers -------------------------------------------------------------------------------
def _spec_shape(reference):
    """The shape an input's data must have: the `Input`'s, with any batch size."""
    return (None,) + tuple(reference.shape[1:]) if reference.shape else ()


def numeric_input(value, dtype):
    """`value` as an array a `dtype` input can take; strings, objects and the like are refused
    with a clear error instead of failing inside NumPy. Complex values give their real part,
    as tf.cast does to the `Input`'s dtype (silently: no ComplexWarning)."""
    array = np.asarray(value)
    if array.dtype.kind == "c" and np.dtype(dtype).kind in "biuf":
        return np.real(array)
    if array.dtype.kind not in "biuf" and np.dtype(dtype).kind in "biuf":
        raise ValueError(f"Failed to convert a NumPy array to a Tensor (Unsupported object type "
                         f"{array.dtype}): the model's input takes {np.dtype(dtype).name} "
                         f"values, received an array of shape {array.shape} and dtype "
                         f"{array.dtype}.")
    return array


def _conform_symbolic_input(value, reference):
    """`_conform_to_reference_input` for a KerasTensor: only the shape (a trailing axis of size
    1 squeezed or added to match the `Input`)."""
    rank, reference_rank = len(value.shape), len(reference.shape)
    if rank == reference_rank + 1 and value.shape[-1] == 1:
        return KerasTensor(value.shape[:-1], dtype=value.dtype)
    if rank == reference_rank - 1 and reference.shape and reference.shape[-1] == 1:
        return KerasTensor(tuple(value.shape) + (1,), dtype=value.dtype)
    return value


def _conform_to_reference_input(value, reference):
    """tf.keras: a trailing axis of size 1 is squeezed or added to match the `Input`, and the
    value is cast to the `Input`'s dtype."""
    if not isinstance(value, Tensor):
        value = Tensor(numeric_input(value, reference.dtype))
    elif value.dtype == reference.dtype and value.ndim == len(reference.shape):
        return value
    rank, reference_rank = value.ndim, len(reference.shape)
    if rank == reference_rank + 1 and value.shape[-1] == 1:
        value = ops.squeeze(value, axis=-1)
    elif rank == reference_rank - 1 and reference.shape and reference.shape[-1] == 1:
        value = ops.expand_dims(value, -1)
    if value.dtype != reference.dtype:
        value = ops.cast(value, reference.dtype)
    return value


def _flatten_shapes(input_shape):
    """One shape, or a list/dict of shapes -> a flat list of shape tuples."""
    if isinstance(input_shape, dict):
        return [tuple(input_shape[k]) for k in sorted(input_shape)]
    if isinstance(input_shape, (list, tuple)) and all(
            d is None or isinstance(d, (int, np.integer)) for d in input_shape):
        return [tuple(input_shape)]
    return [tuple(s) for s in input_shape]


def _short(x):
    return f"<{type(x).__name__} shape={getattr(x, 'shape', None)}>"


def _shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
