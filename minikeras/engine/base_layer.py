"""The Layer base class: weights, building, calling (eager or symbolic), configs."""
import contextlib
import functools
import inspect
import io
import itertools
import threading
import warnings

import numpy as np

from ..core import config
from ..core.session import fresh_name_counters, to_snake_case, unique_object_name
from ..core.concrete_scope import made_before_concrete_scope, symbolic_in_concrete_scope_error
from ..core.tensor import Tensor, Variable, is_recording, unwrap
from ..core.tensor_shape import TensorShape
from .argument_checks import shape_tuple, weight_shape
from . import autocast
from .input_spec import assert_input_compatibility
from ..core.nest import flatten, map_structure, pack_sequence_as
from .keras_tensor import KerasTensor, Node
from .. import initializers, regularizers, constraints, ops
from ..metrics.base import Mean, Metric
from ..ops import cast

_PACKAGE = __name__.split(".")[0]   # "minikeras": where the built-in layers live

# Keyword arguments every Layer accepts (tf.keras 2.x `base_layer` allow-list).
# tf.keras' wording when a script assigns a read-only property (`layer.name`, `model.weights`;
# tf_keras 2.21, book_scripts fixture)
_READ_ONLY_ERROR = ("Can't set the attribute \"{}\", likely because it conflicts with an "
                    "existing read-only @property of the object. Please choose a different "
                    "name.")
_ALLOWED_KWARGS = {"input_dim", "input_shape", "batch_input_shape", "batch_size", "weights",
                   "activity_regularizer", "autocast", "implementation", "dynamic"}


class _CallContext(threading.local):
    def __init__(self):
        self.training = None     # training flag inherited by nested layer calls
        self.placeholder_runs = 0   # > 0 while `call` runs on placeholders to infer shapes


def running_on_placeholders():
    """Whether a layer's `call` is running on the placeholder data of a functional shape
    inference (strings are "", numbers zeros), where tf.keras would run it symbolically."""
    return _call_context.placeholder_runs > 0


_call_context = _CallContext()


def _metrics_in(value):
    """The metrics an attribute value holds: itself, or the items of a list, tuple or dict."""
    if isinstance(value, Metric):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, Metric)]
    return []


def shape_of(x):
    if isinstance(x, (KerasTensor, Tensor, np.ndarray)):
        return tuple(x.shape)
    return tuple(np.shape(x))


class Layer:
    """Base class of all layers.

    Subclasses create weights in `build(input_shape)` with `add_weight`, compute outputs in
    `call(inputs)`, and describe themselves in `get_config()`.

    Example:
    >>> class Scale(Layer):
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")
    ...     def call(self, inputs):
    ...         return inputs * self.w
    """

    def __new__(cls, *args, **kwargs):
        """Record the constructor's arguments: tf.keras 2's `get_config` of a layer that does
        not define one returns them (when all are str, int, float, bool or None)."""
        instance = super().__new__(cls)
        arguments = dict(kwargs)
        arguments.update(zip(_init_arguments(cls)[0][1:len(args) + 1], args))
        serializable = all(isinstance(value, AUTO_CONFIG_TYPES) for value in flatten(arguments))
        object.__setattr__(instance, "_auto_config", arguments if serializable else None)
        return instance

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            # tf.keras' built-in layers end their `build` with `Layer.build`, which keeps the
            # shape (their build config) also when `build` is called directly; a user's layer
            # keeps it only if its `build` calls `super().build`
            keeps_shape = cls.__module__.startswith("minikeras.") and \
                getattr(cls, "_direct_build_keeps_shape", True)
            cls.build = _in_name_scope(cls.__dict__["build"], keeps_shape)

    def __init__(self, trainable=True, name=None, dtype=None, dynamic=False, **kwargs):
        for key in kwargs:
            if key not in _ALLOWED_KWARGS:
                raise TypeError("Keyword argument not understood:", key)
        assigned_early = list(self.__dict__.items())
        object.__setattr__(self, "_tracked_layers", [])
        for attribute, value in assigned_early:
            # set before `super().__init__()` (HOML2 ch17's DenseTranspose keeps its Dense so):
            # tf.keras tracks those too
            self._track_layers_of(attribute, value)
        self._trainable = bool(trainable)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Expected `name` argument to be a string, but got: {name}")
        self._name = name or unique_object_name(to_snake_case(type(self).__name__))
        self._set_dtype_policy(autocast.layer_policy(dtype))
        self.built = False
        self.input_spec = None
        self.supports_masking = False
        self._own_weights = []
        for attribute, value in assigned_early:
            self._track_variables_of(attribute, value)
        self._activity_losses = []
        self._extra_losses = []
        self._callable_losses = []
        self._added_metrics = []       # `add_metric` means, by name, and attribute metrics
        self._attribute_metrics = []   # (metric, tracked layer set before it or None)
        self._inbound_nodes = []
        self._outbound_nodes = []
        self._build_input_shape = None
        self.dynamic = dynamic
        self._initial_weights = kwargs.get("weights")
        self.activity_regularizer = None
        if kwargs.get("activity_regularizer") is not None:
            self.activity_regularizer = regularizers.get(kwargs["activity_regularizer"])

        batch_input_shape = kwargs.get("batch_input_shape")
        if batch_input_shape is None and ("input_shape" in kwargs or "input_dim" in kwargs):
            if "input_shape" in kwargs:
                input_shape = shape_tuple(kwargs["input_shape"], "input_shape")
            else:
                input_shape = (kwargs["input_dim"],)
            batch_input_shape = (kwargs.get("batch_size"),) + input_shape
        self._batch_input_shape = shape_tuple(batch_input_shape, "batch_input_shape") \
            if batch_input_shape is not None else None

        signature = inspect.signature(self.call)
        self._call_accepts_training = "training" in signature.parameters
        self._call_accepts_mask = "mask" in signature.parameters
        self._call_has_kwargs = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())

    @property
    def name(self):
        """The layer's name. Read-only as in tf.keras: tf.keras 2 scripts rename a layer or a
        model through `_name` (`model._name = "encoder"`)."""
        return self._name

    # --- attribute tracking of nested layers ------------------------------------------------
    def __setattr__(self, name, value):
        self._forget_replaced(name, value)
        for metric in _metrics_in(value):
            self._track_attribute_metric(metric)
        self._track_layers_of(name, value)
        self._track_variables_of(name, value)
        try:
            object.__setattr__(self, name, value)
        except AttributeError:
            raise AttributeError(_READ_ONLY_ERROR.format(name)) from None

    def _forget_replaced(self, name, value):
        """tf.keras: an attribute set anew lets go of the variable or layer it held, unless
        another attribute still holds it (a layer built twice keeps one kernel, as
        `build_from_config` and then a parent's `build` do). A variable made by `add_weight`
        stays where it was added; another new variable takes the old one's place."""
        old = self.__dict__.get(name)
        if old is value or not isinstance(old, (Variable, Layer)) or \
                self._held_elsewhere(name, old):
            return
        if isinstance(old, Variable):
            own = self.__dict__.get("_own_weights")
            if own is None or not any(w is old for w in own):
                return
            takes_place = isinstance(value, Variable) and not any(w is value for w in own)
            own[:] = [value if w is old else w for w in own if w is not old or takes_place]
        else:
            tracked = self.__dict__.get("_tracked_layers")
            if tracked is not None:
                tracked[:] = [layer for layer in tracked if layer is not old]

    def _held_elsewhere(self, name, value):
        """Whether an attribute other than `name` holds `value` (alone or in a list / dict)."""
        for key, held in self.__dict__.items():
            if key == name or key in ("_own_weights", "_tracked_layers"):
                continue
            if held is value or (isinstance(held, (list, tuple, dict)) and
                                 any(item is value for item in flatten(held))):
                return True
        return False

    def _track_variables_of(self, name, value):
        """tf.keras tracks a `tf.Variable` set as an attribute (alone or in a list or dict) as
        one of the layer's own weights, after those it already has (the TensorFlow guides'
        `self.w = tf.Variable(...)` layers)."""
        own = self.__dict__.get("_own_weights")
        if own is None or name == "_own_weights":
            return
        for item in flatten(value) if isinstance(value, (list, tuple, dict)) else [value]:
            if isinstance(item, Variable) and not any(w is item for w in own):
                own.append(item)

    def _track_attribute_metric(self, metric):
        """tf.keras 2 tracks a metric set as an attribute (alone, in a list or in a dict): it
        is in the model's `metrics` (reset at every epoch, reported in the logs under its own
        name), and a Model lists its variables among its weights, after the layers set before
        it (`_attribute_metrics` keeps the last tracked layer at that time as its anchor)."""
        tracked = self.__dict__.get("_added_metrics")
        if tracked is None or any(m is metric for m in tracked):
            return
        tracked.append(metric)
        layers = self.__dict__.get("_tracked_layers") or [None]
        self.__dict__.setdefault("_attribute_metrics", []).append((metric, layers[-1]))

    def _track_layers_of(self, name, value):
        """Track a layer set as an attribute, or the layers in a list or dict."""
        tracked = self.__dict__.get("_tracked_layers")
        if tracked is None:
            return
        if isinstance(value, Layer) and name not in ("_outer",):
            if value not in tracked and value is not self:
                tracked.append(value)
        elif isinstance(value, (list, tuple, dict)) and value and self._tracks_container(name, value):
            # tf.keras tracks the layers inside lists and dicts, also beside other things
            # (HOML2 ch14's ResidualUnit keeps an activation function among its layers)
            for v in flatten(value):
                if isinstance(v, Layer) and v not in tracked and v is not self:
                    tracked.append(v)

    @staticmethod
    def _tracks_container(name, value):
        """A list of layers always; other lists and dicts unless private (our own graph
        bookkeeping keeps layers in `(layer, node, index)` tuples)."""
        if isinstance(value, (list, tuple)) and all(isinstance(v, Layer) for v in value):
            return True
        return not name.startswith("_")

    def _flatten_layers(self, include_self=True, recursive=True):
        if include_self:
            yield self
        seen = {id(self)}
        stack = list(self._tracked_layers)
        for layer in stack:
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            yield layer
            if recursive:
                for sub in layer._flatten_layers(include_self=False):
                    if id(sub) not in seen:
                        seen.add(id(sub))
                        yield sub

    # --- properties ------------------------------------------------------------------------
    @property
    def dtype(self):
        """The dtype of the layer's variables (float32 under 'mixed_float16', as tf.keras)."""
        return self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self._dtype_policy.variable_dtype

    @property
    def dtype_policy(self):
        """The layer's `keras.mixed_precision.Policy`."""
        return self._dtype_policy

    # --- mixed precision: `_dtype` is the compute dtype (inputs are cast to it), the
    # variables are made in `_variable_dtype` ----------------------------------------------
    _mixed = False                        # True under 'mixed_float16'
    # tf.keras' normalizations and Embedding keep float32 weights unread as float16 and
    # compute in float32 under 'mixed_float16', returning float16
    _computes_in_variable_dtype = False

    def _set_dtype_policy(self, policy):
        self._dtype_policy = policy
        self._variable_dtype = config.numpy_dtype(policy.variable_dtype)
        # graph models cast nothing themselves (tf.keras' Functional does not autocast)
        casts_itself = not self._resets_name_scope
        self._mixed = autocast.is_mixed(policy) and casts_itself
        self._dtype = config.numpy_dtype(policy.compute_dtype) if casts_itself else \
            self._variable_dtype

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        for layer in self._flatten_layers():
            layer._trainable = bool(value)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        weights = [w for w in self._own_weights if w.trainable]
        for layer in self._tracked_layers:
            weights += layer.trainable_weights
        return _dedup(weights)

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            # tf.keras: the trainable variables first, then the others, then the children's
            weights = [w for w in self._own_weights if w.trainable] + \
                [w for w in self._own_weights if not w.trainable]
            for layer in self._tracked_layers:
                weights += layer.weights
            return _dedup(weights)
        weights = [w for w in self._own_weights if not w.trainable]
        for layer in self._tracked_layers:
            weights += layer.non_trainable_weights
        return _dedup(weights)

    # tf.keras 2 keeps a layer's own variables in `_trainable_weights` and
    # `_non_trainable_weights`; Keras 2 wrappers read them (and some append to them) when they
    # override `trainable_weights` to add their inner layers' variables.
    @property
    def _trainable_weights(self):
        return _OwnWeightList(self, [w for w in self._own_weights if w.trainable])

    @_trainable_weights.setter
    def _trainable_weights(self, weights):
        self._own_weights = _dedup(list(weights) + [w for w in self._own_weights if not w.trainable])

    @property
    def _non_trainable_weights(self):
        return _OwnWeightList(self, [w for w in self._own_weights if not w.trainable])

    @_non_trainable_weights.setter
    def _non_trainable_weights(self, weights):
        self._own_weights = _dedup([w for w in self._own_weights if w.trainable] + list(weights))

    @property
    def weights(self):
        return _dedup(self.trainable_weights + self.non_trainable_weights)

    @property
    def metrics(self):
        """The metrics of this layer and the layers it tracks: those set as attributes and
        those added with `add_metric`, as tf.keras 2's `Layer.metrics`."""
        return [metric for layer in self._flatten_layers() for metric in layer._added_metrics]

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    @property
    def losses(self):
        """tf.keras' order, layer by layer: the losses of the last call (`add_loss` in `call`,
        then the activity regularizer's), then the callable ones (weight regularizers computed
        now, then `add_loss(callable)`). Before an eager call, the losses a symbolic call
        would add are KerasTensors, as tf.keras lists graph tensors there."""
        return losses_of_layers(self._flatten_layers())

    def add_loss(self, losses, **kwargs):
        """Adds a loss (a tensor, a zero-argument callable, or a list of them; None entries are
        skipped). A callable added outside `call` is kept and evaluated whenever `losses` is
        read, as tf.keras does; one added by `call` counts for that call.
        `inputs=` is Keras 2's old conditioning argument, accepted and ignored as tf.keras 2.x
        does."""
        kwargs.pop("inputs", None)
        if kwargs:
            raise TypeError(f"Unknown keyword arguments: {kwargs.keys()}")
        for loss in flatten(losses):
            if callable(loss) and not isinstance(loss, Tensor):
                if self._calling:
                    # one per call (tf.keras keeps one per trace of `call`, a count we do
                    # not model)
                    self._extra_losses.append(loss())
                elif all(loss is not kept for kept in self._callable_losses):
                    self._callable_losses.append(loss)
            elif loss is not None:
                self._extra_losses.append(loss)

    def add_metric(self, value, name=None, **kwargs):
        """tf.keras 2.x: a `Mean` metric named `name`, tracked by this layer (and listed in the
        model's `metrics`, so in the training logs), updated with `value` at each call. A
        value returned by calling a metric object tracks that metric under its own name and
        is not counted twice (tf.keras' `value._metric_obj`)."""
        if len(kwargs) > 1 or (kwargs and "aggregation" not in kwargs):
            raise TypeError(f"Unknown keyword arguments: {list(kwargs)}. Expected "
                            "`aggregation`.")
        if kwargs.get("aggregation") not in (None, "mean"):
            raise ValueError(f"We currently support only `mean` sample-wise metric aggregation. "
                             f"You provided aggregation=`{kwargs['aggregation']}`")
        source = getattr(value, "_metric_obj", None)
        if source is not None:
            if all(m is not source and m.name != source.name for m in self._added_metrics):
                self._added_metrics.append(source)
            return
        if name is None:
            raise ValueError("Please provide a name for your metric like "
                             "`self.add_metric(tf.reduce_sum(inputs), name='mean_activation')`")
        if isinstance(value, KerasTensor):
            raise ValueError("Expected a symbolic Tensor for the metric value, received: "
                             f"{value} (add a symbolic metric with `model.add_metric` on a "
                             "functional model).")
        metric = next((m for m in self._added_metrics if m.name == name), None)
        if metric is None:
            metric = Mean(name=name)
            self._added_metrics.append(metric)
        metric.update_state(value)

    def add_update(self, updates):
        """Keras 2 layers hand their state updates here (`K.moving_average_update(...)`). Our
        calls run eagerly, so an update op has already run when it gets here; a callable runs
        now, unless the layer is frozen or runs on a functional model's placeholders (tf.keras
        2: no updates while a graph is being built)."""
        if running_on_placeholders() or not self.trainable:
            return
        for update in flatten(updates):
            if callable(update):
                update()

    @property
    def updates(self):
        warnings.warn("`layer.updates` will be removed in a future version. This property "
                      "should not be used in TensorFlow 2.0, as `updates` are applied "
                      "automatically.", stacklevel=2)
        return []

    # tf.keras 2.x semantics: `input`/`output` are those of the first call (node 0);
    # `input_shape`/`output_shape` are defined when every call agrees on them.
    @property
    def input_shape(self):
        if not self._inbound_nodes:
            if self._batch_input_shape is not None:
                return self._batch_input_shape
            raise AttributeError(
                f'The layer "{self.name}" has never been called and thus has no defined input '
                "shape. Note that the `input_shape` property is only available for Functional "
                "and Sequential models.")
        return self._shared_node_shape(_node_input_shapes, "input")

    @property
    def output_shape(self):
        if not self._inbound_nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has '
                                 "no defined output shape.")
        return self._shared_node_shape(_node_output_shapes, "output")

    def _shared_node_shape(self, shapes_of, kind):
        shapes = [shapes_of(node) for node in self._inbound_nodes]
        if any(str(shape) != str(shapes[0]) for shape in shapes[1:]):
            raise AttributeError(
                f'The layer "{self.name}" has multiple inbound nodes, with different {kind} '
                f'shapes. Hence the notion of "{kind} shape" is ill-defined for the layer. Use '
                f"`get_{kind}_shape_at(node_index)` instead.")
        return shapes[0]

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no input to return.")
        return self.get_input_at(0)

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} has no inbound nodes.")
        return self.get_output_at(0)

    def _node_at(self, node_index, what):
        if not self._inbound_nodes:
            raise RuntimeError(f"The layer {self.name} has never been called and thus has no "
                               f"defined {what}.")
        if not len(self._inbound_nodes) > node_index:
            raise ValueError(f"Asked to get {what} at node {node_index}, but the layer has only "
                             f"{len(self._inbound_nodes)} inbound nodes.")
        return self._inbound_nodes[node_index]

    def get_input_at(self, node_index):
        return _single(_node_inputs(self._node_at(node_index, "input")))

    def get_output_at(self, node_index):
        return _single(_node_outputs(self._node_at(node_index, "output")))

    def get_input_shape_at(self, node_index):
        return _single(_node_input_shapes(self._node_at(node_index, "input shape")))

    def get_output_shape_at(self, node_index):
        return _single(_node_output_shapes(self._node_at(node_index, "output shape")))

    # --- weights ---------------------------------------------------------------------------
    def add_weight(self, name=None, shape=None, dtype=None, initializer=None, regularizer=None,
                   trainable=None, constraint=None, use_resource=None, synchronization=None,
                   aggregation=None, **kwargs):
        shape = weight_shape(shape, name, f"Layer '{self.name}'")
        dtype = np.dtype(dtype) if dtype is not None else self._variable_dtype
        if initializer is None:
            initializer = "glorot_uniform" if dtype.kind == "f" else "zeros"
        initializer = initializers.get(initializer)
        value = np.asarray(initializer(shape, dtype=dtype.name), dtype=dtype)
        if trainable is None:
            trainable = True
        # tf.keras names a variable in the name scope it is made in: the layer's while it
        # builds or is called, none in its constructor; `tf.Variable`'s default name without one
        name = "Variable" if name is None else name
        if self._building or self._names_scoped:
            name = f"{self.name}/{name}"
        variable = Variable(value, dtype=dtype, trainable=trainable,
                            name=name, constraint=constraints.get(constraint))
        variable.regularizer = regularizers.get(regularizer)
        self._own_weights.append(variable)
        return variable

    def get_weights(self):
        return [np.array(w.data) for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(
                f'You called `set_weights(weights)` on layer "{self.name}" with a weight list of '
                f"length {len(weights)}, but the layer was expecting {len(params)} weights. "
                f"Provided weights: {str(weights)[:50]}...")
        for param, value in zip(params, weights):
            value = np.asarray(value)
            if value.shape != param.shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {param.shape} is not compatible with "
                    f"provided weight shape {value.shape}.")
        for param, value in zip(params, weights):
            param.assign(np.asarray(value, dtype=param.dtype))

    def count_params(self):
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer {self.name}, but the layer isn't built. "
                "You can build it manually via: "
                f"`{self.name}.build(batch_input_shape)`.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def count_flops(self, input_shape, output_shape):
        """Floating-point operations of one call on one sample, a multiply-add counting 2
        (a minikeras extension, shown by `summary(show_flops=True)`). The shapes are those of
        the call, batch axis included. `None`: this layer's cost is not modelled; layers
        override this hook with their closed form."""
        return None

    # --- building and calling --------------------------------------------------------------
    def build(self, input_shape):
        self._build_input_shape = input_shape
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def get_build_config(self):
        """tf.keras 2.13+: `{"input_shape": ...}`, the shape the layer was built with (None if
        none was recorded); `.keras` files keep it and `build_from_config` builds from it.
        A layer with other state to create before its weights load overrides both."""
        if self._build_input_shape is None:
            return None
        return {"input_shape": _shape_tuples(self._build_input_shape)}

    def build_from_config(self, config):
        """Build from what `get_build_config` returned (called when a file is loaded)."""
        input_shape = config["input_shape"]
        if input_shape is None:
            return
        shapes = _build_shapes(input_shape)
        self.build(shapes)
        self.built = True
        if self._build_input_shape is None:
            self._build_input_shape = _shape_tuples(shapes)

    def compute_output_shape(self, input_shape):
        raise NotImplementedError(
            "Please implement the compute_output_shape method on your layer "
            f"({type(self).__name__}).")

    def compute_mask(self, inputs, mask=None):
        if not self.supports_masking:
            return None
        return mask

    def _maybe_build(self, inputs):
        if self.built:
            return
        # tf.keras 2 hands build() TensorShapes: user layers call `input_shape.as_list()`
        shapes = map_structure(lambda t: TensorShape(shape_of(t)), inputs)
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and not isinstance(inputs, list):
            shapes = shapes[0]
        assert_input_compatibility(self.input_spec, [shape_of(t) for t in flatten(inputs)], self.name)
        self.build(shapes)
        self.built = True
        if self._build_input_shape is None:
            self._build_input_shape = shapes
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    # tf.keras builds and first calls a layer inside its name scope, so the layers it calls then
    # name their weights under it (`block/dense/kernel:0`); a Functional or Sequential model
    # builds its graph in a fresh scope (its layers keep `dense/kernel:0`).
    _names_scoped = False          # True once the first call has named the new weights
    _building = 0                  # > 0 while `build` runs (its weights take the layer's name)
    _calling = False               # True while `call` runs (its add_loss are per call)
    _resets_name_scope = False     # True for graph models
    # Integer or bool inputs of a float layer: tf.keras' Dense and normalizations cast them
    # ("cast"), its convolutions and RNNs refuse them ("refuse"); others pass them on (None).
    _integer_inputs = None

    def __call__(self, *args, **kwargs):
        if not self._names_scoped:
            return self._first_call(args, kwargs)
        if not args:
            if "inputs" not in kwargs:
                raise ValueError(f'Layer "{self.name}" was called without any input.')
            args = (kwargs.pop("inputs"),)
        inputs = args[0]
        if type(inputs) is Tensor and len(args) == 1 and not kwargs.keys() - {"training"}:
            # Fast path of the common case: one concrete tensor in.
            if inputs.data.dtype != self._dtype and (
                    inputs.data.dtype.kind == "f" or self._integer_inputs is not None):
                inputs = self._convert_input(inputs)
            return self._eager_call((inputs,), kwargs)
        if type(inputs) is np.ndarray and len(args) == 1 and _only_plain_training(kwargs):
            # one array in (a model called on a batch): nothing symbolic to look for
            return self._eager_call((self._convert_input(inputs),), kwargs)
        if any(isinstance(t, KerasTensor) for t in flatten((args, kwargs))):
            return self._functional_call(args, kwargs)
        inputs = map_structure(self._convert_input, inputs)
        args = (inputs,) + tuple(args[1:])
        return self._eager_call(args, kwargs)

    def _first_call(self, args, kwargs):
        """Call once, then put the weights the layers under this one created meanwhile under
        this layer's name (their own first calls have already scoped them under theirs)."""
        scoping = not self._resets_name_scope
        before = {id(w) for w in self._scoped_weights()} if scoping else None
        self._names_scoped = True
        try:
            outputs = Layer.__call__(self, *args, **kwargs)   # a subclass' __call__ ran already
        except BaseException:
            self._names_scoped = False
            raise
        if scoping:
            prefix = f"{self.name}/"
            for weight in self._scoped_weights():
                if id(weight) not in before and not weight.name.startswith(prefix):
                    weight.name = prefix + weight.name
                    weight._handle_name = prefix + weight._handle_name
        return outputs

    def _scoped_weights(self, seen=None):
        """This layer's weights and those of the layers it tracks, not looking inside graph
        models (they name their layers' weights in a fresh scope)."""
        seen = seen if seen is not None else {id(self)}
        weights = list(self._own_weights)
        for layer in self._tracked_layers:
            if id(layer) not in seen and not layer._resets_name_scope:
                seen.add(id(layer))
                weights += layer._scoped_weights(seen)
        return weights

    def _convert_input(self, x):
        """Arrays become Tensors; float inputs are cast to the layer's dtype (autocast). A cast
        tensor keeps the Keras mask of the original."""
        if self._integer_inputs is not None and isinstance(x, (Tensor, np.ndarray, np.generic)):
            x = self._integer_input_as_float(x)
        if isinstance(x, Tensor):
            if x.dtype.kind == "f" and x.dtype != self._dtype and self._dtype.kind == "f":
                mask = getattr(x, "_keras_mask", None)
                x = cast(x, self._dtype)
                if mask is not None:
                    x._keras_mask = mask
            return x
        if isinstance(x, (np.ndarray, np.generic, list, float, int)):
            arr = np.asarray(x)
            # autocast only into a float dtype (an int64 layer, e.g. Discretization, reads floats)
            if arr.dtype.kind == "f" and arr.dtype != self._dtype and self._dtype.kind == "f":
                arr = arr.astype(self._dtype)
            return Tensor(arr)
        return x

    def _integer_input_as_float(self, x):
        """An integer/bool input cast to the layer's float dtype, or refused as tf.keras does
        (its kernels take float tensors only). Complex inputs likewise: Dense's cast keeps their
        real part."""
        if x.dtype.kind not in "biuc" or self._dtype.kind != "f":
            return x
        if self._integer_inputs == "refuse":
            raise TypeError(
                f"Exception encountered when calling layer '{self.name}' (type "
                f"{type(self).__name__}).\n\ncannot compute {type(self).__name__} as input "
                f"#0(zero-based) was expected to be a float tensor but is a {x.dtype} tensor "
                "(cast the inputs to float first).")
        return cast(x, self._dtype) if isinstance(x, Tensor) else cast(x, self._dtype).data

    def _resolve_training(self, kwargs):
        """Keras' rule: an explicit argument wins, then the enclosing call's, then the default."""
        if not self._call_accepts_training:
            kwargs.pop("training", None) if not self._call_has_kwargs else None
            return _call_context.training
        training = kwargs.get("training")
        if training is None:
            training = _call_context.training
            if training is not None:
                kwargs["training"] = training
            else:
                kwargs.pop("training", None)
        elif isinstance(training, Tensor):
            training = bool(training.data)
            kwargs["training"] = training
        return training

    def _eager_call(self, args, kwargs):
        inputs = args[0]
        flat_inputs = [inputs] if isinstance(inputs, Tensor) else flatten(inputs)
        if not self.built:
            self._maybe_build(inputs)
        if self.input_spec is not None:
            assert_input_compatibility(self.input_spec, [shape_of(t) for t in flat_inputs], self.name)
        training = self._resolve_training(kwargs)
        input_masks = [getattr(t, "_keras_mask", None) for t in flat_inputs]
        has_mask = input_masks[0] is not None if len(input_masks) == 1 else \
            any(m is not None for m in input_masks)
        if has_mask and self._call_accepts_mask and "mask" not in kwargs:
            kwargs["mask"] = input_masks[0] if len(input_masks) == 1 else input_masks
        previous = _call_context.training
        _call_context.training = training
        # plain attribute writes: an empty list or a flag tracks nothing (`__setattr__`'s
        # tracking costs ~2 us a write, four a call)
        set_plain = object.__setattr__
        set_plain(self, "_activity_losses", [])
        set_plain(self, "_extra_losses", [])
        set_plain(self, "_calling", True)
        try:
            outputs = autocast.mixed_call(self, args, kwargs) if self._mixed else \
                self.call(*args, **kwargs)
        finally:
            _call_context.training = previous
            set_plain(self, "_calling", False)
        if isinstance(outputs, np.ndarray):
            outputs = Tensor(outputs)
        elif not isinstance(outputs, Tensor):
            outputs = map_structure(lambda o: Tensor(o) if isinstance(o, np.ndarray) else o, outputs)
        if self.activity_regularizer is not None:
            for out in flatten(outputs):
                batch = out.shape[0] if out.ndim else 1
                self._activity_losses.append(
                    ops.divide(self.activity_regularizer(out), np.asarray(batch, out.dtype)))
        # (an explicit `mask=` argument is the previous mask too: Softmax passes it on)
        if has_mask or type(self).compute_mask is not Layer.compute_mask or \
                kwargs.get("mask") is not None:
            self._set_output_masks(inputs, outputs, kwargs.get("mask"))
        return outputs

    def _set_output_masks(self, inputs, outputs, mask):
        if mask is None:
            masks = [getattr(t, "_keras_mask", None) for t in flatten(inputs)]
            if all(m is None for m in masks):
                if not hasattr(type(self), "compute_mask") or type(self).compute_mask is Layer.compute_mask:
                    return
                mask = None
            else:
                mask = masks[0] if len(masks) == 1 else masks
        out_mask = self.compute_mask(inputs, mask)
        if out_mask is None:
            return
        flat_out = flatten(outputs)
        # tf.keras pairs the outputs with the flattened masks: one mask for a layer returning
        # several outputs (Attention with its scores) goes on the first output only.
        flat_mask = flatten(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask]
        for out, m in zip(flat_out, flat_mask):
            if isinstance(out, Tensor):
                out._keras_mask = m

    # --- symbolic (functional API) calls ---------------------------------------------------
    def _functional_call(self, args, kwargs):
        captured = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)
                    and made_before_concrete_scope(getattr(t, "_serial", -1))]
        if captured:
            raise symbolic_in_concrete_scope_error(captured[0])
        inputs = args[0]
        # tf.keras builds and runs the layer in a scratch graph: layers created meanwhile (in a
        # `build`, in a Lambda's function) count their automatic names from zero there
        with fresh_name_counters():
            self._maybe_build(inputs)
        assert_input_compatibility(self.input_spec, [shape_of(t) for t in flatten(inputs)], self.name)
        self._extra_losses = []
        with fresh_name_counters():
            outputs = self._infer_outputs(args, kwargs)
        self._set_symbolic_losses(inputs, outputs)
        node_index = len(self._inbound_nodes)
        flat = flatten(outputs)
        for i, out in enumerate(flat):
            out._keras_history = (self, node_index, i)
            out.name = f"{self.name}/output_{i}" if len(flat) > 1 else self.name
        node = Node(self, args, kwargs, outputs)
        self._inbound_nodes.append(node)
        for layer in node.inbound_layers:
            layer._outbound_nodes.append(node)
        self._infer_output_masks(inputs, outputs, kwargs)
        return outputs

    def _set_symbolic_losses(self, inputs, outputs):
        """The losses of a symbolic call, as KerasTensors: those `call` added while run on
        placeholders, then one per output for the activity regularizer."""
        self._extra_losses = [
            loss if isinstance(loss, KerasTensor) else
            KerasTensor(np.shape(loss), dtype=np.asarray(unwrap(loss)).dtype,
                        name=f"{self.name}/add_loss")
            for loss in self._extra_losses]
        self._extra_losses += self._losses_of_symbolic_call(inputs)
        self._activity_losses = []
        if self.activity_regularizer is not None:
            self._activity_losses = [
                KerasTensor((), dtype=out.dtype, name=f"{self.name}/ActivityRegularizer")
                for out in flatten(outputs)]

    def _losses_of_symbolic_call(self, inputs):
        """Losses a layer adds without running `call` on placeholders (AddLoss: its input)."""
        return []

    def _infer_output_masks(self, inputs, outputs, kwargs):
        in_masks = [t._keras_mask for t in flatten(inputs) if isinstance(t, KerasTensor)]
        produces_mask = type(self).compute_mask is not Layer.compute_mask
        if not produces_mask and all(m is None for m in in_masks):
            return
        if not produces_mask and not self.supports_masking:
            return
        if produces_mask and self._computes_no_mask(inputs):
            return
        for out in flatten(outputs):
            out._keras_mask = True   # symbolic marker: a mask flows along this edge

    def _computes_no_mask(self, inputs):
        """Whether `compute_mask` gives None on placeholders standing for these inputs (a
        GlobalMaxPooling1D, a Lambda without `mask=`, an Embedding without mask_zero): then,
        as in tf.keras, the next layer's `call` gets no mask while the model is built."""
        def placeholder(t):
            if not isinstance(t, KerasTensor):
                return t
            return Tensor(np.zeros(tuple(2 if d is None else d for d in t.shape), t.dtype))
        try:
            with np.errstate(all="ignore"):
                out_mask = self.compute_mask(map_structure(placeholder, inputs),
                                             _placeholder_masks(inputs, 2))
        except Exception:   # noqa: BLE001 - a user's compute_mask may want real tensors: keep it
            return False
        return all(m is None for m in flatten(out_mask)) if isinstance(out_mask, (list, tuple)) \
            else out_mask is None

    def _infer_outputs(self, args, kwargs):
        """Output KerasTensors: from compute_output_shape, else by running `call` on zeros."""
        if self._runs_call_symbolically():
            return self._infer_by_running(args, kwargs)
        inputs = args[0]
        input_shapes = map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else t, inputs)
        try:
            shapes = self.compute_output_shape(input_shapes)
        except NotImplementedError:
            return self._infer_by_running(args, kwargs)
        dtype = self._output_dtype(inputs)
        return _shapes_to_keras_tensors(shapes, dtype)

    def _runs_call_symbolically(self):
        """tf.keras 2 builds a functional graph by running a layer's `call` symbolically; it
        consults compute_output_shape only for `dynamic=True` layers. Our own layers' shape
        rules are faithful and cheaper, but a user's may be written for TensorShape arguments
        (`input_shape.as_list()`) or simply be wrong, which tf.keras would never notice."""
        # A subclass overriding `call` only (keras-bert's TokenEmbedding returning [x, weights]
        # from an Embedding) must not get its parent's shape rule.
        ours = all((getattr(type(self), method).__module__ or "").startswith(_PACKAGE + ".")
                   for method in ("call", "compute_output_shape"))
        return not self.dynamic and not ours

    def _output_dtype(self, inputs):
        first = flatten(inputs)[0]
        if self._dtype.kind == "f":
            return self._dtype
        return getattr(first, "dtype", self._dtype)

    def _infer_by_running(self, args, kwargs):
        """Run `call` on zero placeholders twice with different sizes for unknown dimensions;
        dimensions of the result that change are unknown (None). tf.keras runs `call` once
        (symbolically): what the runs after the first print is not shown, and the state
        updates they make (`K.moving_average_update`, `variable.assign`) are undone."""
        # each layer's own variables (`weights` refuses an unbuilt Sequential under this one)
        held = [(weight, weight.numpy()) for layer in self._flatten_layers()
                for weight in layer._own_weights if isinstance(weight, Variable)]
        try:
            return self._infer_on_placeholders(args, kwargs)
        finally:
            for weight, value in held:
                weight.assign(value)

    def _infer_on_placeholders(self, args, kwargs):
        runs = itertools.count()
        try:
            return self._infer_with_fills(args, kwargs, (2, 3), runs)
        except ValueError as error:
            if not _is_broadcast_error(error):
                raise
        # `call` broadcasts an unknown dimension against a fixed one (GDL's and Keras-GAN's
        # RandomWeightedAverage: `K.random_uniform((batch_size, 1, 1, 1)) * inputs[0]`), which
        # TensorFlow's static shapes allow: size 1 always broadcasts, and a second size the
        # result shows may be the fixed one.
        first = self._infer_with_fills(args, kwargs, (1, 1), runs)
        sizes = sorted({d for t in flatten(first) for d in t.shape if d is not None and d > 1})
        for size in sizes:
            try:
                return self._infer_with_fills(args, kwargs, (1, size), runs)
            except ValueError as error:
                if not _is_broadcast_error(error):
                    raise
        return first

    def _infer_with_fills(self, args, kwargs, fills, runs):
        results = []
        for fill in fills:
            def placeholder(t, fill=fill):
                if not isinstance(t, KerasTensor):
                    return t
                shape = tuple(fill if d is None else d for d in t.shape)
                if config.dtype_name(t.dtype) == "string":   # lookup layers read str, not 0
                    return Tensor(np.full(shape, "", dtype=object))
                return Tensor(np.zeros(shape, dtype=t.dtype))
            concrete_args = map_structure(placeholder, args)
            concrete_kwargs = map_structure(placeholder, kwargs)
            if self._call_accepts_mask:
                concrete_kwargs.pop("mask", None)
                masks = _placeholder_masks(args[0], fill)
                if masks is not None and "mask" not in kwargs:
                    concrete_kwargs["mask"] = masks
            concrete_kwargs.setdefault("training", False) if self._call_accepts_training else None
            self._extra_losses = []   # the losses of one run count
            # a print in `call` shows once, as in tf.keras
            quiet = contextlib.redirect_stdout(io.StringIO()) if next(runs) else \
                contextlib.nullcontext()
            with np.errstate(all="ignore"), quiet:   # zeros: log(0), 0 / 0 are no user error
                self._calling = True
                _call_context.placeholder_runs += 1
                try:
                    out = autocast.mixed_call(self, concrete_args, concrete_kwargs) \
                        if self._mixed else self.call(*concrete_args, **concrete_kwargs)
                finally:
                    self._calling = False
                    _call_context.placeholder_runs -= 1
            results.append(out)
            if not any(d is None for t in flatten(args) if isinstance(t, KerasTensor) for d in t.shape):
                results.append(out)
                break

        def merge(a, b):
            shape = tuple(None if da != db else da for da, db in zip(np.shape(a), np.shape(b)))
            dtype = a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype
            return KerasTensor(shape, dtype=dtype)
        flat_a, flat_b = flatten(results[0]), flatten(results[1])
        merged = [merge(a, b) for a, b in zip(flat_a, flat_b)]
        return pack_sequence_as(results[0], merged)

    # --- config ----------------------------------------------------------------------------
    def get_config(self):
        config_ = {"name": self.name, "trainable": self.trainable,
                   "dtype": autocast.serialized_policy(self._dtype_policy)}
        if self._batch_input_shape is not None:
            config_["batch_input_shape"] = self._batch_input_shape
        if type(self).get_config is not Layer.get_config:
            return config_      # a subclass' own get_config extends this one
        return self._auto_get_config(config_)

    def _auto_get_config(self, config_):
        """tf.keras 2's config of a layer without `get_config`: the base keys and the
        arguments it was made with; the base keys its `__init__` does not name are left out
        unless it takes `**kwargs` (spelled so). Other argument values cannot be written."""
        auto = self.__dict__.get("_auto_config", {})
        if auto is None:
            raise NotImplementedError(
                f"Layer {type(self).__name__} was created by passing non-serializable argument "
                "values in `__init__()`, and therefore the layer must override `get_config()` "
                "in order to be serializable. Please implement `get_config()`.")
        base_keys = set(config_)
        config_.update(auto)
        names, varkw = _init_arguments(type(self))
        if varkw != "kwargs":
            for key in base_keys - set(names[1:]):
                config_.pop(key, None)
        return config_

    @classmethod
    def from_config(cls, config_):
        try:
            return cls(**config_)
        except NotImplementedError:     # what minikeras lacks, not a bad config
            raise
        except Exception as error:      # tf.keras' words: which class, which config, what went wrong
            raise TypeError(f"Error when deserializing class '{cls.__name__}' using "
                            f"config={config_}.\n\nException encountered: {error}") from error

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _is_broadcast_error(error):
    """A shape clash of an elementwise op (ours, or NumPy's own)."""
    message = str(error)
    return message.startswith("Incompatible shapes") or "could not be broadcast" in message


def _placeholder_masks(inputs, fill):
    """All-true masks standing for the symbolic masks of `inputs` while `call` runs on
    placeholders: tf.keras hands `call` the inputs' masks during functional construction too
    (a layer may index `mask[1]`). The marker carries no shape: a sequence mask drops the
    feature axis of a 3D+ input (Embedding, Masking), a 2D input's mask has its shape."""
    flat = flatten(inputs)
    masks = []
    for t in flat:
        marker = getattr(t, "_keras_mask", None) if isinstance(t, KerasTensor) else None
        if marker is None:
            masks.append(None)
            continue
        shape = marker.shape if isinstance(marker, KerasTensor) else \
            (t.shape[:-1] if len(t.shape) > 2 else t.shape)
        masks.append(Tensor(np.ones(tuple(fill if d is None else d for d in shape), dtype=bool)))
    if all(m is None for m in masks):
        return None
    return masks[0] if len(masks) == 1 else masks


# Argument types tf.keras 2's automatic configs (of layers and subclassed models) can write.
AUTO_CONFIG_TYPES = (str, int, float, bool, type(None))
_INIT_ARGUMENTS = {}


def _init_arguments(cls):
    """(argument names, name of the `**` argument) of `cls.__init__`, cached per class."""
    if cls not in _INIT_ARGUMENTS:
        spec = inspect.getfullargspec(cls.__init__)
        _INIT_ARGUMENTS[cls] = (spec.args, spec.varkw)
    return _INIT_ARGUMENTS[cls]


def _node_inputs(node):
    """The first call argument (an input node stands for its own output, in a list)."""
    return [node.outputs] if node.is_input else node.call_args[0]


def _node_outputs(node):
    return [node.outputs] if node.is_input else node.outputs


def _node_input_shapes(node):
    shapes = map_structure(lambda t: tuple(t.shape) if hasattr(t, "shape") else t, _node_inputs(node))
    if isinstance(shapes, list) and len(shapes) == 1 and not node.is_input:
        return shapes[0]
    return shapes


def _node_output_shapes(node):
    return map_structure(lambda t: tuple(t.shape), _node_outputs(node))


def _single(values):
    return values[0] if isinstance(values, list) and len(values) == 1 else values


def _shapes_to_keras_tensors(shapes, dtype):
    if _is_shape(shapes):
        return KerasTensor(shapes, dtype=dtype)
    if isinstance(shapes, dict):
        return {k: _shapes_to_keras_tensors(v, dtype) for k, v in shapes.items()}
    return type(shapes)(_shapes_to_keras_tensors(s, dtype) for s in shapes) \
        if isinstance(shapes, tuple) else [_shapes_to_keras_tensors(s, dtype) for s in shapes]


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer))
                                                     for d in value)


class _OwnWeightList(list):
    """A copy of a layer's own variables of one kind; appending to it adds to the layer."""

    def __init__(self, layer, weights):
        super().__init__(weights)
        self._layer = layer

    def append(self, weight):
        super().append(weight)
        if not any(w is weight for w in self._layer._own_weights):
            self._layer._own_weights.append(weight)

    def extend(self, weights):
        for weight in weights:
            self.append(weight)

    def __iadd__(self, weights):
        self.extend(weights)
        return self


def _in_name_scope(build, keeps_shape=False):
    """`build`, counting in `_building` that it runs (it names the weights it makes under the
    layer's name, as tf.keras' name scope does); `keeps_shape`: the shape it was given becomes
    the build config once it returns (if nothing recorded one)."""
    @functools.wraps(build)
    def scoped_build(self, *args, **kwargs):
        self._building += 1
        try:
            result = build(self, *args, **kwargs)
        finally:
            self._building -= 1
        if keeps_shape and self._build_input_shape is None:
            shape = args[0] if args else kwargs.get("input_shape")
            if shape is not None:
                self._build_input_shape = _shape_tuples(shape)
        return result
    return scoped_build


def _only_plain_training(kwargs):
    """Whether the call's keyword arguments are at most a Python `training` flag."""
    return not kwargs or (len(kwargs) == 1 and type(kwargs.get("training", 0)) in (bool, type(None)))


def losses_of_layers(layers):
    """`Layer.losses` of the walk `layers` (`_flatten_layers`' list, which a fit keeps)."""
    result = []
    for layer in layers:
        result.extend(layer._extra_losses)
        result.extend(layer._activity_losses)
        for weight in layer._own_weights:
            if weight.regularizer is not None:
                result.append(weight.regularizer(weight))
        result.extend(loss() for loss in layer._callable_losses)
    return result


def _shape_tuples(shape):
    """A shape as tf.keras' build configs hold it: a tuple of dims, or a list / tuple / dict
    of such tuples (JSON lists and TensorShapes become tuples)."""
    if isinstance(shape, dict):
        return {key: _shape_tuples(value) for key, value in shape.items()}
    if isinstance(shape, (list, tuple)) and any(isinstance(d, (list, tuple, dict)) for d in shape):
        nested = [_shape_tuples(d) for d in shape]
        return nested if isinstance(shape, list) else tuple(nested)
    if isinstance(shape, (list, tuple)):
        return tuple(None if d is None else int(d) for d in shape)
    return shape


def _build_shapes(shape):
    """What `build` is given for a build config's shape: TensorShapes, as tf.keras'
    `build_from_config` hands them."""
    shape = _shape_tuples(shape)
    if isinstance(shape, dict):
        return {key: _build_shapes(value) for key, value in shape.items()}
    if isinstance(shape, list):
        return [_build_shapes(d) for d in shape]
    if isinstance(shape, tuple) and any(isinstance(d, (tuple, dict)) for d in shape):
        return tuple(_build_shapes(d) for d in shape)
    return TensorShape(shape) if isinstance(shape, tuple) else shape


def _dedup(weights):
    seen, out = set(), []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


def training_flag():
    """The training flag of the innermost active layer call (None outside any call)."""
    return _call_context.training


__all__ = ["Layer", "to_snake_case", "training_flag", "is_recording"]
