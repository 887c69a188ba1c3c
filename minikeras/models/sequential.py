"""Sequential: a plain stack of layers, each with one input and one output."""
import warnings

from ..engine.base_layer import Layer
from ..core.registry import register_builtins
from ..core.tensor import is_recording, unwrap
from .functional import Functional, _conform_to_reference_input
from ..engine.keras_tensor import KerasTensor
from .training import Model
from . import fusion
from . import serialization
from .model_kind import is_functional, is_sequential
from ..layers.core.input_layer import InputLayer

# What `Functional._init_graph` derives from the layer graph. A Sequential growing layer by
# layer drops them and derives them again only when one is read: adding n layers one at a time
# costs O(n), not n graph walks (O(n^2) and more).
_DERIVED_GRAPH_ATTRIBUTES = frozenset({
    "_nested_inputs", "_nested_outputs", "inputs", "outputs", "_input_layers", "_output_layers",
    "_output_coordinates", "_nodes_by_depth", "_network_nodes", "_nodes_in_order",
    "_layers_in_order", "_run_plan", "_input_spec_shapes", "input_names", "output_names",
    "_build_input_shape",
})


# `_build_from_sample`'s default: the batch size of the sample itself
_SAMPLE_BATCH = object()


class Sequential(Functional):
    """A linear stack of layers.

    Example:
    >>> model = Sequential([keras.layers.Dense(8, activation="relu", input_shape=(4,)),
    ...                     keras.layers.Dense(1)])
    >>> model.output_shape
    (None, 1)
    """

    def __init__(self, layers=None, name=None, trainable=True):
        Model.__init__(self, name=name, trainable=trainable)
        self._stack = []
        self._input_layer = None
        self._nodes_in_order = None
        self.inputs, self.outputs = [], []
        self.built = False
        if layers and not isinstance(layers, (list, tuple)):
            layers = [layers]       # tf.keras takes a single layer for a list of one
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        # a layer instance added several times runs several times but is listed once (tf.keras)
        return _unique(self._stack)

    def add(self, layer):
        if isinstance(layer, KerasTensor) and layer._keras_history is not None:
            layer = layer._keras_history[0]
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError("An InputLayer can only be the first layer of a Sequential model.")
            self._input_layer = layer
            self._rebuild()
            return
        if not isinstance(layer, Layer):
            raise TypeError("The added layer must be an instance of class Layer. "
                            f"Received: layer={layer} of type {type(layer)}.")
        repeated = any(existing is layer for existing in self._stack)
        if layer.name in self._stack_names() and not repeated:
            raise ValueError("All layers added to a Sequential model should have unique names. "
                             f'Name "{layer.name}" is already the name of a layer in this model. '
                             "Update the `name` argument to pass a unique name.")
        names = self._stack_names()
        self._stack.append(layer)
        names.add(layer.name)
        self.__dict__["_names_of_stack"] = (len(self._stack), names)
        if not repeated:
            self._tracked_layers.append(layer)
        batch_shape, dtype = _input_shape_and_dtype(layer)
        if self._input_layer is None and len(self._stack) == 1 and batch_shape is not None:
            self._input_layer = InputLayer(batch_input_shape=batch_shape, dtype=dtype,
                                           name=f"{layer.name}_input")
            self._rebuild()
        elif self._input_layer is not None and self._has_output():
            self._connect(layer)
        elif self._input_layer is not None:
            self._rebuild()

    def _stack_names(self):
        """Names of the stacked layers, kept in step with `_stack` (a set: O(1) checks)."""
        names = self.__dict__.get("_names_of_stack")
        if names is None or names[0] != len(self._stack):
            names = (len(self._stack), {existing.name for existing in self._stack})
            self.__dict__["_names_of_stack"] = names
        return names[1]

    def _connect(self, layer):
        self._defer_graph(_single_output(layer(self._last_output())))

    def _has_output(self):
        return self.__dict__.get("_pending_output") is not None or bool(self.outputs)

    def _last_output(self):
        pending = self.__dict__.get("_pending_output")
        return pending if pending is not None else self.outputs[0]

    def _defer_graph(self, output):
        """Record the new output; the graph attributes are derived again on first read."""
        for name in _DERIVED_GRAPH_ATTRIBUTES:
            self.__dict__.pop(name, None)
        self.__dict__["_pending_output"] = output

    def __getattr__(self, name):
        # Only reached for attributes missing from the instance: the derived graph attributes
        # after `_defer_graph`.
        pending = self.__dict__.get("_pending_output")
        if name in _DERIVED_GRAPH_ATTRIBUTES and pending is not None:
            self._set_graph(self._input_layer._inbound_nodes[0].outputs, pending)
            return getattr(self, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _rebuild(self):
        """(Re)connect every layer to the input layer's tensor."""
        tensor = self._input_layer._inbound_nodes[0].outputs
        created = []
        for layer in self._stack:
            tensor = _single_output(layer(tensor))
            created.append(layer._inbound_nodes[-1])
        self.__dict__["_created_nodes"] = created
        self._set_graph(self._input_layer._inbound_nodes[0].outputs, tensor)

    def _set_graph(self, inputs, outputs):
        self.__dict__.pop("_pending_output", None)
        stack = _unique(self._stack)
        self._init_graph(inputs, outputs)
        object.__setattr__(self, "_tracked_layers", stack)

    def pop(self):
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        if not any(existing is layer for existing in self._stack):
            self._tracked_layers.remove(layer)
        if not self._stack:
            # tf.keras forgets the input too: the next layers start a deferred model
            self._forget_graph()
        elif self._input_layer is not None:
            tensor = self._input_layer._inbound_nodes[0].outputs
            for remaining in self._stack:
                tensor = remaining._inbound_nodes[-1].outputs if remaining._inbound_nodes else tensor
            self._set_graph(self._input_layer._inbound_nodes[0].outputs, tensor)
        return layer

    def _forget_graph(self):
        self.__dict__.pop("_pending_output", None)
        self.__dict__.pop("_input_shape_inferred", None)
        self._input_layer = None
        self._set_graph([], [])
        self.inputs, self.outputs = [], []
        self.built = False

    def build(self, input_shape=None, input_dtype=None):
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError("You must provide an `input_shape` argument.")
            return
        if self._input_layer is None:
            # tf.keras builds a deferred model from `model.layers`, where a layer instance
            # added several times appears once: it then runs once
            self._stack[:] = _unique(self._stack)
            self._input_layer = InputLayer(batch_input_shape=tuple(input_shape), dtype=input_dtype,
                                           name=f"{self._stack[0].name}_input" if self._stack else None)
            self.__dict__["_input_shape_inferred"] = True
            self._rebuild()
        self.built = True

    def call(self, inputs, training=None, mask=None):
        if isinstance(inputs, dict):      # by input name, as tf.keras allows
            if self._input_layer is None:
                raise ValueError(f"Sequential model '{self.name}' takes one input array, not a "
                                 f"dict (received keys {list(inputs)}).")
            inputs = self._flatten_to_reference_inputs(inputs)[0]
        elif isinstance(inputs, (list, tuple)) and len(inputs) == 1 and self._input_layer:
            inputs = inputs[0]         # `[x]`: one input as a list, as tf.keras' graph allows
        elif isinstance(inputs, (list, tuple)) and self._input_layer and len(inputs) > 1 and \
                all(hasattr(value, "shape") for value in inputs):
            self._assert_input_compatibility(list(inputs))   # several arrays for one input
        if self._input_layer is not None and not isinstance(inputs, KerasTensor):
            # tf.keras runs a Sequential with a known input through its functional graph,
            # which casts the data to the input's dtype (bool one-hot arrays become float32)
            self._assert_input_compatibility([inputs])
            inputs = _conform_to_reference_input(inputs, self.inputs[0])
        kwargs = {} if training is None else {"training": training}

        def call_layer(layer, x):
            return layer(x, **(kwargs if layer._call_accepts_training else {}))
        if is_recording():     # training: conv + max pooling, batch norm + activation fused
            def call_fused(layer, x, activation):
                return layer(x, _fused_activation=activation, **kwargs)
            return fusion.run_training_stack(self._stack, inputs, call_layer, call_fused)
        plan = fusion.stack_plan(self, self._stack)
        if plan is not None:                  # inference: chains of layers run fused
            return fusion.run_stack(plan, inputs, training, call_layer)
        outputs = inputs
        for layer in self._stack:
            outputs = call_layer(layer, outputs)
        return outputs

    def _build_from_sample(self, x, batch_size=_SAMPLE_BATCH):
        """Build from the first data: tf.keras traces its step with the data's shape, whose
        batch size is the sample's own (train_on_batch) or, for `fit` / `evaluate` /
        `predict`, the `batch_size` their data handler gives (None when batches differ)."""
        if self.built:
            return
        import numpy as np
        shape = tuple(np.shape(x))
        batch = shape[0] if batch_size is _SAMPLE_BATCH else batch_size
        self.build((batch,) + shape[1:], self._input_dtype_for(x))

    def _maybe_build(self, inputs):
        if not self.built and self._stack:
            import numpy as np
            # a direct call on data builds with its shape, batch size included (tf.keras'
            # summary shows (2, 32) after `model(x[:2])`); a later call with another batch
            # size relaxes it to None (`_relax_inferred_input_shape`)
            shape = tuple(np.shape(inputs))
            if isinstance(inputs, (list, tuple, dict)):
                shape = (None,) + shape[1:]
            self.build(shape, self._input_dtype_for(inputs))

    def _input_dtype_for(self, data):
        """A deferred Sequential whose first layer reads strings (lookup, text, hashing layers)
        gets a string input for string data, as tf.keras builds it with the data's dtype."""
        first = self._stack[0] if self._stack else None
        if getattr(first, "_takes_string_inputs", False):
            return _string_dtype_of(data)
        return None

    def __call__(self, *args, **kwargs):
        if args and isinstance(args[0], KerasTensor) and self._input_layer is None:
            self.build(args[0].shape)
        elif args:
            self._relax_inferred_input_shape(args[0])
        return super().__call__(*args, **kwargs)

    def _relax_inferred_input_shape(self, inputs):
        """A Sequential whose input shape was inferred (built from its first data or by
        `build`, not given by an Input / `input_shape`) takes inputs of other sizes as tf.keras'
        does: the dimensions that differ become None and the graph is built again. A layer
        such as DLwP's TransformerEncoder creates its Sequential in `__init__` and calls it on
        sequences of any length."""
        if not self.__dict__.get("_input_shape_inferred") or self._input_layer is None:
            return
        shape = getattr(inputs, "shape", None)
        known = self._input_layer._batch_input_shape
        if shape is None or isinstance(inputs, (list, tuple, dict)) or len(shape) != len(known):
            return
        relaxed = tuple(None if k is None or s is None or k != s else k
                        for k, s in zip(known, tuple(shape)))
        if relaxed != tuple(known):
            dtype = self._input_layer.dtype
            _remove_nodes(self.__dict__.pop("_created_nodes", ()))
            self._input_layer = None
            self.build(relaxed, dtype)

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2 (tf.keras <= 2.5): `predict`, for a model ending in a probability layer."""
        warnings.warn("`model.predict_proba()` is deprecated and will be removed after "
                      "2021-01-01. Please use `model.predict()` instead.", stacklevel=2)
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2 (tf.keras <= 2.5): the argmax of `predict` over the last axis, or
        `(p > 0.5).astype("int32")` when that axis has one unit."""
        warnings.warn("`model.predict_classes()` is deprecated and will be removed after "
                      "2021-01-01. Please use instead:* `np.argmax(model.predict(x), axis=-1)`, "
                      "  if your model does multi-class classification   (e.g. if it uses a "
                      "`softmax` last-layer activation).* `(model.predict(x) > 0.5)."
                      "astype(\"int32\")`,   if your model does binary classification   (e.g. "
                      "if it uses a `sigmoid` last-layer activation).", stacklevel=2)
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self):
        return serialization.sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return serialization.sequential_from_config(cls, config, custom_objects)


register_builtins("layers", {"Sequential": Sequential})   # configs name models among layers


def _single_output(output):
    """A Sequential layer's output: one tensor (tf.keras checks the first layer too, e.g.
    Bidirectional(..., merge_mode=None, input_shape=...) added first)."""
    if isinstance(output, (list, tuple)):
        raise ValueError("All layers in a Sequential model should have a single output tensor. "
                         "For multi-output layers, use the functional API.")
    return output


def _remove_nodes(nodes):
    """Take the nodes of a Sequential's earlier graph off its layers, as tf.keras'
    `clear_previously_created_nodes` does when the graph is built again, so a layer's
    `input_shape` / `output_shape` / summary read the new graph's shapes, not "multiple". The
    nodes left are numbered again: a KerasTensor's history holds its node's position."""
    for node in nodes:
        layer = node.layer
        layer._inbound_nodes[:] = [n for n in layer._inbound_nodes if n is not node]
        for inbound in node.inbound_layers:
            inbound._outbound_nodes[:] = [n for n in inbound._outbound_nodes if n is not node]
        for index, kept in enumerate(layer._inbound_nodes):
            for tensor_index, tensor in enumerate(kept.output_tensors):
                tensor._keras_history = (layer, index, tensor_index)


def _unique(layers):
    """The layers in order of first appearance, each instance once."""
    seen = set()
    return [layer for layer in layers if not (id(layer) in seen or seen.add(id(layer)))]


def _string_dtype_of(data):
    """"string" for string data (a deferred Sequential then gets a string input, as tf.keras
    builds its input with the data's dtype), else None (floatx)."""
    array = unwrap(data)
    kind = getattr(getattr(array, "dtype", None), "kind", None)
    if kind in ("U", "S") or (kind == "O" and array.size and isinstance(array.flat[0], (str, bytes))):
        return "string"
    return None


def _input_shape_and_dtype(layer):
    """The declared input of a layer; for a nested graph model, that of its first layer
    (recursively), as tf.keras' `get_input_shape_and_dtype`."""
    while is_functional(layer) or is_sequential(layer):
        if not layer.layers:
            raise ValueError("An empty Model cannot be used as a Layer.")
        layer = layer.layers[0]
    shape = getattr(layer, "_batch_input_shape", None)
    return (tuple(shape), layer.dtype) if shape is not None else (None, None)
