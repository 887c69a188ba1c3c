"""Sequential: a plain stack of layers, each with one input and one output."""
from ..engine.base_layer import Layer
from ..core.registry import register_builtins
from .functional import Functional
from ..engine.keras_tensor import KerasTensor
from .training import Model
from . import serialization
from ..layers.core.input_layer import InputLayer


class Sequential(Functional):
    """A linear stack of layers.

    Example:
    >>> model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(1)])
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
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return list(self._stack)

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
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError("All layers added to a Sequential model should have unique names. "
                             f'Name "{layer.name}" is already the name of a layer in this model. '
                             "Update the `name` argument to pass a unique name.")
        self._stack.append(layer)
        self._tracked_layers.append(layer)
        batch_shape, dtype = _input_shape_and_dtype(layer)
        if self._input_layer is None and len(self._stack) == 1 and batch_shape is not None:
            self._input_layer = InputLayer(batch_input_shape=batch_shape, dtype=dtype,
                                           name=f"{layer.name}_input")
            self._rebuild()
        elif self._input_layer is not None and self.outputs:
            self._connect(layer)
        elif self._input_layer is not None:
            self._rebuild()

    def _connect(self, layer):
        output = layer(self.outputs[0])
        if isinstance(output, (list, tuple)):
            raise ValueError("All layers in a Sequential model should have a single output tensor. "
                             "For multi-output layers, use the functional API.")
        self._set_graph(self._input_layer._inbound_nodes[0].outputs, output)

    def _rebuild(self):
        """(Re)connect every layer to the input layer's tensor."""
        tensor = self._input_layer._inbound_nodes[0].outputs
        for layer in self._stack:
            tensor = layer(tensor)
        self._set_graph(self._input_layer._inbound_nodes[0].outputs, tensor)

    def _set_graph(self, inputs, outputs):
        stack = list(self._stack)
        self._init_graph(inputs, outputs)
        object.__setattr__(self, "_tracked_layers", stack)

    def pop(self):
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self._tracked_layers.remove(layer)
        if self._input_layer is not None:
            tensor = self._input_layer._inbound_nodes[0].outputs
            for remaining in self._stack:
                tensor = remaining._inbound_nodes[-1].outputs if remaining._inbound_nodes else tensor
            self._set_graph(self._input_layer._inbound_nodes[0].outputs, tensor)
        return layer

    def build(self, input_shape=None):
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError("You must provide an `input_shape` argument.")
            return
        if self._input_layer is None:
            self._input_layer = InputLayer(batch_input_shape=tuple(input_shape),
                                           name=f"{self._stack[0].name}_input" if self._stack else None)
            self._rebuild()
        self.built = True

    def call(self, inputs, training=None, mask=None):
        outputs = inputs
        kwargs = {} if training is None else {"training": training}
        for layer in self._stack:
            layer_kwargs = kwargs if layer._call_accepts_training else {}
            outputs = layer(outputs, **layer_kwargs)
        return outputs

    def _build_from_sample(self, x):
        if self.built:
            return
        import numpy as np
        shape = (None,) + tuple(np.shape(x)[1:])
        self.build(shape)

    def _maybe_build(self, inputs):
        if not self.built and self._stack:
            import numpy as np
            self.build((None,) + tuple(np.shape(inputs)[1:]))

    def __call__(self, *args, **kwargs):
        if args and isinstance(args[0], KerasTensor) and self._input_layer is None:
            self.build(args[0].shape)
        return super().__call__(*args, **kwargs)

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


def _input_shape_and_dtype(layer):
    """The declared input of a layer; for a nested graph model, that of its first layer
    (recursively), as tf.keras' `get_input_shape_and_dtype`."""
    while getattr(layer, "_is_graph_network", False) or type(layer).__name__ == "Sequential":
        if not layer.layers:
            raise ValueError("An empty Model cannot be used as a Layer.")
        layer = layer.layers[0]
    shape = getattr(layer, "_batch_input_shape", None)
    return (tuple(shape), layer.dtype) if shape is not None else (None, None)
