"""Inference fusion plans: chains of built-in layers run as one fused kernel (ops/fused.py).

When a Functional or Sequential model runs without a gradient tape (predict, evaluate,
`model(x, training=False)`), chains of layers of these exact classes (no subclass) are run
together, a chunk of samples at a time:

    head       Conv1D/2D/3D, DepthwiseConv2D (channels_last) or Dense, with its bias and
               activation; or no head (the chain starts with one of the layers below)
    then       BatchNormalization (inference, last axis), Activation / ReLU (relu, relu6,
               sigmoid, tanh, linear), in any order
    then       at most one Add of the chain's tensor and another tensor, more elementwise layers
    then       at most one MaxPooling / AveragePooling (1-3 D, channels_last; not after Dense),
               and more elementwise layers on the pooled output

A chain holds at least two layers. A chain without a head (e.g. a pre-activation block's
BatchNormalization -> ReLU) copies each chunk of its input once and runs every step on it in
cache.

Every tensor inside a chain must have the chain's next layer as its only reader and must not
be a model output, and no layer may have an activity regularizer, a dtype other than float32
or arguments other than its inputs recorded in the graph. A batch normalization right after
the head (linear activation) is folded into the head's kernel and bias. A user's own layer,
anything else, or a layer in training mode breaks a chain; at call time a chain whose input
has a mask, another dtype, or whose batch normalizations would run in training mode is run
layer by layer instead.

A plan is built once per model graph (Functional: per run plan; Sequential: per stack of
layers). Every call checks that each chain's layers can still join it (`role`, cheap: chain
members only); when one cannot (its activation was reassigned, an activity regularizer set,
...) that call runs the chain layer by layer and the next call builds a new plan. Weights are
read at every call, so assigning them needs no new plan. (A layer that becomes fusable later
is only taken up when the graph changes.)
"""
import functools
import os
import threading

import numpy as np

from .. import activations
from ..core.nest import flatten
from ..core.tensor import Tensor
from ..engine.input_spec import assert_input_compatibility
from ..layers import (Activation, Add, AveragePooling1D, AveragePooling2D, AveragePooling3D,
                      BatchNormalization, Conv1D, Conv2D, Conv3D, Dense, DepthwiseConv2D,
                      MaxPooling1D, MaxPooling2D, MaxPooling3D, ReLU)
from ..ops import conv_pool, fused
from ..ops.batch_norm import max_pool_after_activation
from ..ops.conv import conv_pads

_HEADS = (Conv1D, Conv2D, Conv3D, DepthwiseConv2D, Dense)
_POOLS = {MaxPooling1D: "max", MaxPooling2D: "max", MaxPooling3D: "max",
          AveragePooling1D: "avg", AveragePooling2D: "avg", AveragePooling3D: "avg"}
_FLOAT32 = np.dtype("float32")

# `MINIKERAS_FUSION=0` turns fusion off (every layer runs on its own).
ENABLED = os.environ.get("MINIKERAS_FUSION", "1") != "0"


_ACTIVATION_NAMES = {activations.linear: "linear", activations.relu: "relu",
                     activations.relu6: "relu6", activations.sigmoid: "sigmoid",
                     activations.tanh: "tanh"}


def _activation_name(function):
    """The fused.ACTIVATIONS name of a Keras activation function, or None."""
    try:
        return _ACTIVATION_NAMES.get(function)
    except TypeError:                     # an unhashable callable
        return None


def _relu_layer_step(layer):
    """The activation step of a ReLU layer, or None when its leak or threshold is not zero."""
    if layer.negative_slope != 0 or layer.threshold != 0:
        return None
    if layer.max_value is None:
        return fused.activation_step("relu")
    if layer.max_value > 0:
        return fused.activation_step("relu6", float(layer.max_value))
    return None


# ---------------------------------------------------------------------------------------
# which layers may join a chain (static settings; checked again at every call)
# ---------------------------------------------------------------------------------------
def _plain(layer):
    return layer.built and layer._dtype == _FLOAT32 and layer.activity_regularizer is None


def role(layer):
    """"head", "elementwise", "add", "pool" or None (cannot join a chain)."""
    kind = type(layer)
    if not _plain(layer):
        return None
    if kind in (Conv1D, Conv2D, Conv3D, DepthwiseConv2D):
        ok = layer.data_format == "channels_last" and \
            _activation_name(layer.activation) is not None
        return "head" if ok else None
    if kind is Dense:
        return "head" if _activation_name(layer.activation) is not None else None
    if kind is BatchNormalization:
        ndim = layer.input_spec.ndim if layer.input_spec is not None else None
        ok = ndim is not None and list(layer.axis) == [ndim - 1] and \
            layer.virtual_batch_size is None and len(layer._param_shape) == 1
        return "elementwise" if ok else None
    if kind is Activation:
        return "elementwise" if _activation_name(layer.activation) is not None else None
    if kind is ReLU:
        return "elementwise" if _relu_layer_step(layer) is not None else None
    if kind is Add:
        return "add"
    if kind in _POOLS:
        return "pool" if layer.data_format == "channels_last" else None
    return None


def _is_sigmoid(layer):
    return _activation_name(getattr(layer, "activation", None)) == "sigmoid"


# ---------------------------------------------------------------------------------------
# building chains over a sequence of (layer, input ids, output ids) steps
# ---------------------------------------------------------------------------------------
class Chain:
    """Steps `members` (indices into the run plan) forming one fused chain: the head's input
    id, the residual's id (or None) and the id of the last layer's output."""

    def __init__(self, members, layers, input_id, residual_id, output_id):
        self.members, self.layers = members, layers
        self.roles = [role(layer) for layer in layers]
        self.input_id, self.residual_id, self.output_id = input_id, residual_id, output_id
        self.input_ids = [input_id] + ([residual_id] if residual_id is not None else [])
        self.weights = WeightsMemo()


def find_chains(steps, model_output_ids):
    """Chains over `steps`, a list of `(layer, call_kwargs, input_ids, output_ids)` in run
    order. Each step joins at most one chain."""
    readers = {}
    for index, (_, _, input_ids, _) in enumerate(steps):
        for tensor_id in input_ids:
            readers.setdefault(tensor_id, []).append(index)
    claimed, chains = set(), []
    for index, (layer, kwargs, input_ids, output_ids) in enumerate(steps):
        kind = role(layer)
        if index in claimed or kind in (None, "pool") or kwargs or len(output_ids) != 1 or \
                len(input_ids) != (2 if kind == "add" else 1) or \
                (kind == "add" and input_ids[0] == input_ids[1]):
            continue
        chain = _grow(index, steps, readers, model_output_ids, claimed)
        if chain is not None:
            claimed.update(chain.members)
            chains.append(chain)
    return chains


def _grow(head, steps, readers, model_output_ids, claimed):
    """The chain starting at step `head` (a product, or an elementwise layer or Add that no
    chain took), or None when it would hold a single layer."""
    members, layers = [head], [steps[head][0]]
    current = steps[head][3][0]
    has_add = role(layers[0]) == "add"
    residual_id = steps[head][2][1] if has_add else None
    if _is_sigmoid(layers[0]) and current in model_output_ids:
        return None
    pooled = False
    while current not in model_output_ids and len(readers.get(current, ())) == 1:
        index = readers[current][0]
        layer, kwargs, input_ids, output_ids = steps[index]
        kind = role(layer)
        if index in claimed or kwargs or len(output_ids) != 1 or kind is None or \
                kind == "head":
            break
        if kind == "add":
            if has_add or len(input_ids) != 2 or input_ids[0] == input_ids[1]:
                break
        elif len(input_ids) != 1:
            break
        if kind == "pool" and type(layers[0]) is Dense:
            break
        if _is_sigmoid(layer) and output_ids[0] in model_output_ids:
            break      # a loss reads the logits of a model's sigmoid output (_keras_logits)
        if pooled and kind != "elementwise":
            break                  # after the pooling: elementwise layers only
        if kind == "add":          # taken only once the Add joins (not for an Add after a pool)
            residual_id = input_ids[1] if input_ids[0] == current else input_ids[0]
            has_add = True
        members.append(index)
        layers.append(layer)
        current = output_ids[0]
        pooled = pooled or kind == "pool"
    if len(members) < 2:
        return None
    return Chain(members, layers, steps[head][2][0], residual_id, current)


def still_fusable(chain, plan):
    """Whether the chain's layers can still join it; if not, the plan is marked stale (the
    next call builds a new one)."""
    for layer, expected in zip(chain.layers, chain.roles):
        if role(layer) != expected:
            plan.stale = True
            return False
        if layer._activity_losses or layer._extra_losses:
            layer._activity_losses, layer._extra_losses = [], []    # as a call of it would
    return True


# ---------------------------------------------------------------------------------------
# running a chain
# ---------------------------------------------------------------------------------------
def _usable(tensor, ndim=None):
    return type(tensor) is Tensor and tensor.data.dtype == _FLOAT32 and \
        getattr(tensor, "_keras_mask", None) is None and (ndim is None or tensor.ndim == ndim)


# predict may run two batches at once (predict_pipeline.py): a memo's check and replacement are
# one step under this lock, so a thread never sees copies and values that disagree (the values
# a thread fills in are the same whichever thread derives them). One lock for all memos keeps
# them picklable (a model is deep-copied with its fusion plan).
_MEMO_LOCK = threading.Lock()


class WeightsMemo:
    """What a chain derives from its weights (batch normalizations' affine maps, the kernel
    and bias with one folded in, the kernel's Winograd transform), kept while the weights and
    settings it was derived from are unchanged: checked at every call by comparing them bit
    by bit with copies (a 3x3x128x128 kernel: ~20 us, against ~90 us to fold and transform it
    again, on the main thread while the worker waits)."""

    def __init__(self):
        self._copies, self._settings, self.values = None, None, {}

    def current(self, arrays, settings):
        """The dict of derived values for `arrays` and `settings`: the kept one when they
        equal those it was derived from, else a new empty one."""
        with _MEMO_LOCK:
            if self._copies is not None and settings == self._settings and \
                    len(arrays) == len(self._copies) and \
                    all(_same_bits(a, c) for a, c in zip(arrays, self._copies)):
                return self.values
            self._copies = [_bits_copy(a) for a in arrays]
            self._settings, self.values = settings, {}
            return self.values


# Arrays up to this many bytes are kept and compared as bytes objects (a copy and a memcmp:
# ~0.3 us for a batch normalization's vector, against ~3 us for np.array_equal).
_BYTES_COMPARED = 1 << 16


def _bits_copy(array):
    """What `_same_bits` compares `array` with later: its dtype, shape and values."""
    if array.nbytes <= _BYTES_COMPARED:
        return array.dtype, array.shape, array.tobytes()
    return array.dtype, array.shape, np.array(array, copy=True)


def _same_bits(array, copy):
    dtype, shape, values = copy
    if array.shape != shape or array.dtype != dtype:
        return False
    if isinstance(values, bytes):
        return array.tobytes() == values
    if dtype.itemsize in (1, 2, 4, 8):
        bits = np.dtype(f"u{dtype.itemsize}")
        return bool(np.array_equal(array.view(bits), values.view(bits)))
    return bool(np.array_equal(array, values))


def _chain_sources(layers, kernel, bias):
    """The arrays and settings `run_chain` derives its kernel, bias and affine maps from."""
    arrays = [a for a in (kernel, bias) if a is not None]
    settings = []
    for layer in layers:
        if type(layer) is BatchNormalization:
            arrays += [layer.moving_mean.data, layer.moving_variance.data]
            arrays += [v.data for v in (layer.gamma, layer.beta) if v is not None]
            settings.append((layer.epsilon, layer.fused, layer.gamma is None,
                             layer.beta is None))
    return arrays, tuple(settings)


def run_chain(layers, x, residual, training, weights=None):
    """The output Tensor of `layers` on `x` (and the Add's other operand `residual`), or None
    when this call must run layer by layer (masks, dtypes, training-mode normalization).
    `weights` (the chain's `WeightsMemo`) keeps what is derived from the weights between
    calls."""
    head = layers[0]
    if not _usable(x) or (residual is not None and not _usable(residual)):
        return None
    if any(type(layer) is BatchNormalization and layer._get_training_value(training)
           for layer in layers):
        return None
    if head.input_spec is not None:
        assert_input_compatibility(head.input_spec, [x.shape], head.name)
    kind = type(head)
    headless = kind not in _HEADS
    if headless and x.ndim < 2:
        return None
    kernel = bias = None
    if kind is Dense:
        kernel = head.kernel.data
    elif kind is DepthwiseConv2D:
        kernel = head.depthwise_kernel.data
    elif not headless:
        kernel = head.kernel.data
        if x.ndim != head.rank + 2:
            return None                          # extra batch axes: Conv.call folds them
    if not headless:
        bias = head.bias.data if head.use_bias else None
    steps, pooling, pooled_steps = [], None, []
    head_activation = "linear" if headless else _activation_name(head.activation)
    foldable = head_activation == "linear" and not headless
    shape = tuple(x.shape) if headless else head.compute_output_shape(x.shape)
    derived = {} if weights is None else weights.current(*_chain_sources(layers, kernel, bias))
    folded = derived.get("folded")
    if folded is not None:
        kernel, bias = folded
    affines = derived.setdefault("affines", {})
    for position, layer in enumerate(layers if headless else layers[1:]):
        layer_kind = type(layer)
        if layer_kind is BatchNormalization:
            if layer.input_spec.ndim != len(shape):
                return None
            if position not in affines:
                affines[position] = _batch_norm_affine(layer)
            gain, shift = affines[position]
            if foldable:
                if folded is None:
                    kernel, bias = _fold(kind, head, kernel, bias, gain, shift)
            else:
                (steps if pooling is None else pooled_steps).append(
                    fused.affine_step(gain, shift))
            continue
        foldable = False
        if layer_kind is Activation:
            (steps if pooling is None else pooled_steps).append(
                fused.activation_step(_activation_name(layer.activation)))
        elif layer_kind is ReLU:
            (steps if pooling is None else pooled_steps).append(_relu_layer_step(layer))
        elif layer_kind is Add:
            if tuple(residual.shape) != tuple(shape):
                return None                      # broadcasting adds run layer by layer
            steps.append(fused.residual_step(residual.data))
        else:
            if len(shape) != len(layer.pool_size) + 2:
                return None
            layer.compute_output_shape(shape)    # raises when a window exceeds the input
            pads = conv_pads(shape[1:-1], layer.pool_size, layer.strides, layer.padding,
                             (1,) * len(layer.pool_size))
            pooling = fused.Pooling(_POOLS[layer_kind], layer.pool_size, layer.strides, pads)
    if not headless and folded is None:
        derived["folded"] = (kernel, bias)
    head_steps = [] if bias is None else [fused.bias_step(bias)]
    if head_activation != "linear":
        head_steps.append(fused.activation_step(head_activation))
    epilogue = fused.Epilogue(head_steps + steps, pooling, pooled_steps)
    xd = x.data
    if headless:
        out = fused.elementwise_chain(xd, epilogue)
    elif kind is Dense:
        out = fused.dense_chain(xd, kernel, epilogue)
    else:
        pads = conv_pads(xd.shape[1:-1], kernel.shape[:-2], head.strides, head.padding,
                         head.dilation_rate)
        if kind is DepthwiseConv2D:
            out = fused.depthwise_chain(xd, kernel, head.strides, pads, head.dilation_rate,
                                        epilogue)
        else:
            out = fused.conv_chain(xd, kernel, head.strides, pads, head.dilation_rate,
                                   head.groups, epilogue, derived)
    return Tensor(out)


def _batch_norm_affine(layer):
    """`(gain, shift)` of an inference BatchNormalization layer."""
    epsilon = layer.epsilon    # TF 2.21's fused kernel no longer raises it to 1.001e-5
    return fused.inference_affine(
        layer.moving_mean.data, layer.moving_variance.data,
        None if layer.gamma is None else layer.gamma.data,
        None if layer.beta is None else layer.beta.data, epsilon, _FLOAT32)


def _fold(kind, head, kernel, bias, gain, shift):
    """Kernel and bias with a batch normalization's `x * gain + shift` folded in."""
    if kind is DepthwiseConv2D:
        grid = kernel.shape[-2:]          # output channel c * multiplier + m
        folded, bias = fused.fold_affine(kernel, None if bias is None else bias.reshape(grid),
                                         gain.reshape(grid), shift.reshape(grid))
        return folded, bias.reshape(-1)
    return fused.fold_affine(kernel, bias, gain, shift)


# ---------------------------------------------------------------------------------------
# plans of Functional and Sequential models
# ---------------------------------------------------------------------------------------
class GraphPlan:
    """A Functional model's run plan with its chains: `steps` are `(kind, item, input_ids,
    output_ids, released)` with kind "node" (item: a run-plan node) or "chain"."""

    def __init__(self, run_plan, model_output_ids):
        entries = [(node.layer, node.call_kwargs, input_ids, output_ids)
                   for node, input_ids, output_ids in run_plan]
        self.chains = find_chains(entries, model_output_ids)
        self.stale = False
        last_member = {chain.members[-1]: chain for chain in self.chains}
        members = {index for chain in self.chains for index in chain.members}
        steps = []
        for index, (node, input_ids, output_ids) in enumerate(run_plan):
            if index in last_member:
                chain = last_member[index]
                steps.append(("chain", chain, chain.input_ids, [chain.output_id]))
            elif index not in members:
                steps.append(("node", node, input_ids, output_ids))
        last_read = {}
        for position, (_, _, input_ids, _) in enumerate(steps):
            for tensor_id in input_ids:
                last_read[tensor_id] = position
        released = [[] for _ in steps]
        for tensor_id, position in last_read.items():
            if tensor_id not in model_output_ids:
                released[position].append(tensor_id)
        self.steps = [step + (gone,) for step, gone in zip(steps, released)]
        self.nodes = {chain: [run_plan[i][0] for i in chain.members] for chain in self.chains}


def graph_plan(model):
    """The model's GraphPlan (built once per run plan, again after a chain went stale), or
    None when it has no chain or fusion is off."""
    if not ENABLED:
        return None
    run_plan = model._run_plan
    cached = model.__dict__.get("_fusion_plan")
    if cached is not None and cached[0] is run_plan and cached[1] == len(run_plan) and \
            not cached[2].stale:
        plan = cached[2]
    else:
        plan = GraphPlan(run_plan, {id(t) for t in model.outputs})
        object.__setattr__(model, "_fusion_plan", (run_plan, len(run_plan), plan))
    return plan if plan.chains else None


def run_graph(plan, values, training):
    """Run a GraphPlan over `values` (tensor id -> value, the inputs filled in), dropping each
    tensor after its last reader, as `Functional._run_internal_graph` does."""
    for kind, item, input_ids, output_ids, released in plan.steps:
        if not all(i in values for i in input_ids):
            continue                      # a node that cannot be computed is skipped (tf.keras)
        if kind == "chain":
            inputs = [values[i] for i in input_ids]
            for tensor_id in released:
                del values[tensor_id]
            out = None
            if still_fusable(item, plan):
                out = run_chain(item.layers, inputs[0], inputs[1] if len(inputs) > 1 else None,
                                training, item.weights)
            if out is None:
                out = _run_nodes(plan.nodes[item], dict(zip(input_ids, inputs)), training,
                                 item.output_id)
            values[output_ids[0]] = out
            continue
        args, kwargs = item.map_arguments(values)
        if training is not None and item.layer._call_accepts_training:
            kwargs.setdefault("training", training)
        for tensor_id in released:
            del values[tensor_id]
        outputs = item.layer(*args, **kwargs)
        del args, kwargs
        if len(output_ids) == 1 and isinstance(outputs, Tensor):
            values[output_ids[0]] = outputs
        else:
            values.update(zip(output_ids, flatten(outputs)))
    return values


def _run_nodes(nodes, values, training, output_id):
    """A chain's nodes one by one (its own intermediates only live in `values`)."""
    for node in nodes:
        args, kwargs = node.map_arguments(values)
        if training is not None and node.layer._call_accepts_training:
            kwargs.setdefault("training", training)
        outputs = node.layer(*args, **kwargs)
        values[id(node.output_tensors[0])] = outputs
    return values[output_id]


class StackPlan:
    """A Sequential model's layers as segments: `(layers, chain)`, a fused Chain or a single
    layer and None."""

    def __init__(self, layers):
        entries = [(layer, {}, [index], [index + 1]) for index, layer in enumerate(layers)]
        self.stale = False
        chains = find_chains(entries, {len(layers)})
        starts = {chain.members[0]: chain for chain in chains}
        self.segments = []
        index = 0
        while index < len(layers):
            chain = starts.get(index)
            if chain is not None:
                self.segments.append((chain.layers, chain))
                index = chain.members[-1] + 1
            else:
                self.segments.append(([layers[index]], None))
                index += 1
        self.has_chains = bool(chains)


def stack_plan(model, layers):
    """The Sequential model's StackPlan for its current `layers`, or None without chains."""
    if not ENABLED:
        return None
    key = tuple(map(id, layers))
    cached = model.__dict__.get("_fusion_plan")
    if cached is not None and cached[0] == key and not cached[1].stale:
        plan = cached[1]
    else:
        plan = StackPlan(layers)
        object.__setattr__(model, "_fusion_plan", (key, plan))
    return plan if plan.has_chains else None


def run_stack(plan, x, training, call_layer):
    """Run a StackPlan on `x`; `call_layer(layer, x)` calls one layer as Sequential does."""
    for layers, chain in plan.segments:
        out = run_chain(layers, x, None, training, chain.weights if chain else None) \
            if chain is not None and still_fusable(chain, plan) else None
        if out is None:
            for layer in layers:
                x = call_layer(layer, x)
        else:
            x = out
    return x


# ---------------------------------------------------------------------------------------
# training: BatchNormalization -> Activation pairs of a Sequential stack
# ---------------------------------------------------------------------------------------
# Activations the training batch normalization applies itself (ops/batch_norm.py: one recorded
# op, the activation's passes done tile by tile with the normalisation's).
_TRAINING_ACTIVATIONS = {activations.sigmoid: "sigmoid", activations.tanh: "tanh",
                         activations.relu: "relu", activations.relu6: "relu6"}

# `MINIKERAS_TRAINING_FUSION=0` turns the training pairs off (each layer runs on its own).
TRAINING_ENABLED = ENABLED and os.environ.get("MINIKERAS_TRAINING_FUSION", "1") != "0"


def training_activation(bn, activation_layer, is_last):
    """The name of the activation that `bn` (a BatchNormalization) may apply for the Activation
    layer after it while recording, or None. Exact classes, float32, no activity regularizers,
    both built; the Activation must not be the stack's output (a sigmoid output keeps its
    logits for the losses, `_keras_logits`)."""
    if is_last or type(bn) is not BatchNormalization or \
            type(activation_layer) not in (Activation, ReLU):
        return None
    if not (_plain(bn) and _plain(activation_layer)):
        return None
    if type(activation_layer) is ReLU:
        return _training_relu_name(activation_layer)
    try:
        return _TRAINING_ACTIVATIONS.get(activation_layer.activation)
    except TypeError:                     # an unhashable callable
        return None


def _training_relu_name(layer):
    """"relu" or "relu6" for a ReLU layer that is one of them (no leak or threshold, no cap
    or a cap of 6), else None."""
    step = _relu_layer_step(layer)
    if step is None or (step[1] == "relu6" and step[2] != 6.0):
        return None
    return step[1]


def _plan_readers(run_plan):
    """`{tensor id: [indices of the run-plan steps reading it]}` of a functional run plan."""
    readers = {}
    for step, (_, input_ids, _) in enumerate(run_plan):
        for tensor_id in input_ids:
            readers.setdefault(tensor_id, []).append(step)
    return readers


def _per_run_plan(attribute):
    """Keep a functional model's graph analysis `analyse(model, run_plan, readers, outputs,
    *args)` on the model under `attribute`, made again when the run plan changes."""
    def decorate(analyse):
        @functools.wraps(analyse)
        def cached_analysis(model, *args):
            run_plan = model._run_plan
            cached = model.__dict__.get(attribute)
            if cached is not None and cached[0] is run_plan and cached[1] == len(run_plan):
                return cached[2]
            outputs = {id(t) for t in model.outputs}
            result = analyse(model, run_plan, _plan_readers(run_plan), outputs, *args)
            object.__setattr__(model, attribute, (run_plan, len(run_plan), result))
            return result
        return cached_analysis
    return decorate


@_per_run_plan("_bn_activation_pairs")
def training_graph_pairs(model, run_plan, readers, outputs):
    """Functional models: `{bn_step: activation_step}` of the run plan, for each
    BatchNormalization call whose only output is read by exactly one step, an Activation call
    on that tensor alone (a single positional input, no other arguments), where neither tensor
    is a model output. Whether a pair fuses is checked at call time (`training_activation`).
    Cached per run plan."""
    pairs = {}
    for step, (node, _, output_ids) in enumerate(run_plan):
        if type(node.layer) is not BatchNormalization or len(output_ids) != 1 or \
                output_ids[0] in outputs or len(readers.get(output_ids[0], ())) != 1:
            continue
        (reader,) = readers[output_ids[0]]
        reader_node, reader_inputs, reader_outputs = run_plan[reader]
        if type(reader_node.layer) in (Activation, ReLU) and reader_node._single_positional and \
                reader_inputs == output_ids and len(reader_outputs) == 1 and \
                reader_outputs[0] not in outputs and node._single_positional:
            pairs[step] = reader
    return pairs


def fused_training_step(model, step, x, pairs):
    """The activation name when run-plan step `step` (a BatchNormalization on `x`) may apply
    the Activation step after it while recording, else None."""
    if not TRAINING_ENABLED or step not in pairs or getattr(x, "_keras_mask", None) is not None:
        return None
    bn_node, activation_node = model._run_plan[step][0], model._run_plan[pairs[step]][0]
    return training_activation(bn_node.layer, activation_node.layer, False)


# ---------------------------------------------------------------------------------------
# training: a few-tap convolution and the max pooling after it as one recorded op
# ---------------------------------------------------------------------------------------
# While a tape records (fit's train step, `model(x, training=True)` under a GradientTape), a
# Conv1D/2D (exact class, channels_last, relu or linear activation) directly followed by a
# MaxPooling of the same rank (exact class, channels_last) runs as ops/conv_pool.py's op when
# that op applies (stride-1 convolution with at most 4 taps, pooling windows tiling its
# output): the full-size convolution output, its relu mask and the pooling's backward routing
# never exist. Anything else runs layer by layer. Not Conv3D + MaxPooling3D: the op routes a
# tie to the first maximum, tf's MaxPool3DGrad (and our MaxPooling3D) to every tied maximum.
_CONV_POOL = {Conv1D: MaxPooling1D, Conv2D: MaxPooling2D}


def _conv_pool_pair(conv, pool):
    """Whether `conv` then `pool` may run as one training op (static settings)."""
    return type(pool) is _CONV_POOL.get(type(conv)) and _plain(conv) and _plain(pool) and \
        conv.data_format == "channels_last" and pool.data_format == "channels_last" and \
        _activation_name(conv.activation) in ("relu", "linear")


def run_conv_pool(conv, pool, x):
    """The pooled output Tensor of `conv` then `pool` on `x` as one recorded op, or None when
    this call must run them one by one."""
    if isinstance(x, np.ndarray) and x.dtype == _FLOAT32:
        x = Tensor(x)
    if not _usable(x, conv.rank + 2) or not _conv_pool_pair(conv, pool):
        return None
    if conv.input_spec is not None:
        assert_input_compatibility(conv.input_spec, [x.shape], conv.name)
    pool.compute_output_shape(conv.compute_output_shape(x.shape))   # raises as the layers do
    if any(s != 1 for s in conv.strides) or conv.groups != 1:
        return None
    out = conv_pool.conv_max_pool(x, conv.kernel, conv.bias if conv.use_bias else None,
                                  conv.padding, tuple(conv.dilation_rate),
                                  _activation_name(conv.activation), tuple(pool.pool_size),
                                  pool.padding) \
        if tuple(pool.strides) == tuple(pool.pool_size) else None
    if out is not None:
        for layer in (conv, pool):                  # as a call of each would
            layer._activity_losses, layer._extra_losses = [], []
    return out


def conv_pool_pairs(model):
    """`{conv step: pool step}` of a Functional model's run plan: a conv whose only reader is
    the max pooling that `_conv_pool_pair` accepts (not a model output, plain calls), built
    once per run plan; empty when fusion is off."""
    return _conv_pool_pairs(model) if ENABLED else {}


@_per_run_plan("_conv_pool_pairs")
def _conv_pool_pairs(model, run_plan, readers, outputs):
    pairs = {}
    for index, (node, input_ids, output_ids) in enumerate(run_plan):
        if node.call_kwargs or len(input_ids) != 1 or len(output_ids) != 1 or \
                output_ids[0] in outputs or len(readers.get(output_ids[0], ())) != 1:
            continue
        reader = readers[output_ids[0]][0]
        pool_node, pool_inputs, pool_outputs = run_plan[reader]
        if not pool_node.call_kwargs and len(pool_inputs) == 1 and len(pool_outputs) == 1 and \
                _conv_pool_pair(node.layer, pool_node.layer):
            pairs[index] = reader
    return pairs


# A max pooling right after a fused batch norm + activation takes the activation's gradient on
# its pooled gradient (`batch_norm.max_pool_after_activation`): LeNet's sigmoid gradients over a
# quarter of the values. Off: the pooling layer is called as usual.
POOL_AFTER_ACTIVATION = True
_MAX_POOLS = (MaxPooling1D, MaxPooling2D, MaxPooling3D)


def run_pool_after_activation(pool, x):
    """The pooled output Tensor of the max pooling layer `pool` on `x`, the output of a fused
    batch norm + activation, as `max_pool_after_activation` computes it; None when this call
    must run the layer (other layers or settings, or `x` not from the fused op)."""
    if not POOL_AFTER_ACTIVATION or type(pool) not in _MAX_POOLS or not _plain(pool) or \
            pool.data_format != "channels_last" or \
            tuple(pool.strides) != tuple(pool.pool_size) or \
            getattr(x, "_keras_mask", None) is not None or not isinstance(x, Tensor):
        return None
    if pool.input_spec is not None:
        assert_input_compatibility(pool.input_spec, [x.shape], pool.name)
    pool.compute_output_shape(x.shape)                 # raises as the layer does
    out = max_pool_after_activation(x, tuple(pool.pool_size), pool.padding)
    if out is not None:
        pool._activity_losses, pool._extra_losses = [], []    # as a call would
    return out


@_per_run_plan("_pool_after_activation_steps")
def training_graph_pools(model, run_plan, readers, outputs, bn_pairs):
    """Functional models: `{activation step: pool step}` for the BatchNormalization ->
    Activation pairs of `bn_pairs` whose activation output is read by one step only, a max
    pooling call on that tensor alone (a single positional input, no other arguments), neither
    tensor a model output. Cached per run plan."""
    pools = {}
    for activation_step in bn_pairs.values():
        (tensor_id,) = run_plan[activation_step][2]
        if tensor_id in outputs or len(readers.get(tensor_id, ())) != 1:
            continue
        (reader,) = readers[tensor_id]
        node, input_ids, output_ids = run_plan[reader]
        if type(node.layer) in _MAX_POOLS and node._single_positional and \
                input_ids == [tensor_id] and len(output_ids) == 1 and \
                output_ids[0] not in outputs:
            pools[activation_step] = reader
    return pools


def run_training_stack(layers, x, call_layer, call_fused):
    """Run a Sequential stack while recording: a convolution and the max pooling after it as
    one op where `run_conv_pool` takes them; a BatchNormalization followed by a fusable
    Activation as `call_fused(bn, x, name)` (it applies the activation itself, the Activation
    layer is skipped); every other layer as `call_layer(layer, x)`."""
    index, count = 0, len(layers)
    while index < count:
        layer = layers[index]
        if ENABLED and index + 1 < count and _conv_pool_pair(layer, layers[index + 1]):
            out = run_conv_pool(layer, layers[index + 1], x)
            if out is not None:
                x = out
                index += 2
                continue
        name = None
        if TRAINING_ENABLED and index + 1 < count and getattr(x, "_keras_mask", None) is None:
            name = training_activation(layer, layers[index + 1], index + 2 == count)
        if name is not None:
            x = call_fused(layer, x, name)
            index += 2
            pooled = run_pool_after_activation(layers[index], x) if index < count else None
            if pooled is not None:
                x = pooled
                index += 1
        else:
            x = call_layer(layer, x)
            index += 1
    return x


