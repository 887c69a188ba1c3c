"""Symbolic tensors of the functional API and the nodes that connect layers."""
import weakref

import numpy as np

from ..core import config
from ..core.concrete_scope import next_symbolic_serial
from ..core.tensor import Tensor
from ..core.tensor_shape import TensorShape
from ..core.nest import flatten, map_structure, pack_sequence_as  # noqa: F401  (old home)


# The value each KerasTensor took in the latest recorded (training) run of a functional model,
# held weakly (gone with that step's graph), by the KerasTensor's id: what
# `K.gradients(y_pred, averaged_samples)` differentiates inside a compiled loss, as a Keras 2
# graph would (improved_wgan). Plain weak references (a WeakValueDictionary cost ~6 us a value).
_recorded_values = {}


def remember_recorded_values(values_by_id):
    """Note a recorded run's Tensor values (`{id(keras_tensor): value}`)."""
    _recorded_values.update((key, weakref.ref(value)) for key, value in values_by_id.items()
                            if isinstance(value, Tensor))


def recorded_value(keras_tensor):
    """The value `keras_tensor` took in the latest recorded run of its model, or None."""
    ref = _recorded_values.get(id(keras_tensor))
    return None if ref is None else ref()


class KerasTensor:
    """A placeholder with a shape and dtype, produced by `keras.Input` or by calling a layer
    on other KerasTensors. It holds no data: it records where it came from so that a
    `Model(inputs, outputs)` can replay the graph.
    """

    _is_keras_tensor = True    # what `backend.dispatch` looks for
    # tf.keras' `inferred_value` of a shape tensor (int32, rank 0 or 1: `K.shape(x)` and what
    # is computed from it): the values known before the data, None where unknown
    # (`[None, 3, 4]`); set by TFOpLambda.
    inferred_value = None

    def __init__(self, shape, dtype=None, name=None, keras_history=None, sparse=False):
        # a TensorShape (a tuple) as tf.keras 2's KerasTensor.shape: `x.shape.as_list()`
        self.shape = TensorShape(None if d is None else int(d) for d in shape)
        self.dtype = config.numpy_dtype(dtype or config.floatx())
        self.name = name
        self._keras_history = keras_history   # (layer, node_index, tensor_index)
        self._keras_mask = None                # a KerasTensor of the mask, or None
        self._serial = next_symbolic_serial()   # creation order (core/concrete_scope.py)

    @property
    def ndim(self):
        return len(self.shape)

    def get_shape(self):
        """tf.keras 2's KerasTensor.get_shape(): the shape as a TensorShape (`as_list()`)."""
        return TensorShape(self.shape)

    @property
    def node(self):
        layer, node_index, _ = self._keras_history
        return layer._inbound_nodes[node_index]

    def __repr__(self):
        created = f" (created by layer '{self._keras_history[0].name}')" if self._keras_history else ""
        inferred = "" if self.inferred_value is None else f" inferred_value={self.inferred_value}"
        return (f"<KerasTensor: shape={self.shape} dtype={config.dtype_name(self.dtype)}"
                f"{inferred}{created}>")

    def __str__(self):
        """tf.keras' long form, used in graph error messages."""
        is_input = self._keras_history is not None and self.node.is_input
        spec_name = repr(self.name) if is_input and self.name is not None else None
        text = (f"KerasTensor(type_spec=TensorSpec(shape={_shape_text(self.shape)}, "
                f"dtype=tf.{config.dtype_name(self.dtype)}, name={spec_name})")
        if self.name is not None:
            text += f", name='{self.name}'"
        if self._keras_history is not None:
            text += f", description=\"created by layer '{self._keras_history[0].name}'\""
        return text + ")"

    def __hash__(self):
        return id(self)

    def __len__(self):
        raise TypeError("len is not well defined for symbolic Tensors "
                        f"({self.name or 'KerasTensor'}, shape {self.shape}).")

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"You are passing {self!r}, an intermediate Keras symbolic input/output, to a "
            "function that needs concrete values (e.g. a NumPy call). Wrap such "
            "computations in a `keras.layers.Lambda` layer or a custom layer.")

    # `array <op> KerasTensor`: NumPy defers to our reflected operators instead of trying
    # to convert the symbolic tensor.
    __array_ufunc__ = None

    # Arithmetic on KerasTensors builds TFOpLambda layers, as tf.keras does: `_op` and
    # `__getitem__` are installed by engine/tf_op_layer.py (it defines those layers).

    def __add__(self, o):
        return self._op("add", o)

    def __radd__(self, o):
        return self._op("add", o, True)

    def __sub__(self, o):
        return self._op("subtract", o)

    def __rsub__(self, o):
        return self._op("subtract", o, True)

    def __mul__(self, o):
        return self._op("multiply", o)

    def __rmul__(self, o):
        return self._op("multiply", o, True)

    def __truediv__(self, o):
        return self._op("divide", o)

    def __rtruediv__(self, o):
        return self._op("divide", o, True)

    def __neg__(self):
        return self._op("negative")

    def __pow__(self, o):
        return self._op("power", o)

    def __rpow__(self, o):
        return self._op("power", o, True)

    def __matmul__(self, o):
        return self._op("matmul", o)

    def __rmatmul__(self, o):
        return self._op("matmul", o, True)

    def __abs__(self):
        return self._op("abs")


class Node:
    """One call of a layer on symbolic inputs: the edge list of the functional graph.

    `call_args`/`call_kwargs` keep the structure the layer was called with, where every
    KerasTensor stands for a value to fill in when the graph is run. `input_tensors` (alias
    `keras_inputs`) lists those KerasTensors in `flatten((call_args, call_kwargs))` order.
    """

    def __init__(self, layer, call_args, call_kwargs, outputs):
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.input_tensors = [t for t in flatten((call_args, call_kwargs)) if isinstance(t, KerasTensor)]
        self.outputs = outputs
        self.output_tensors = flatten(outputs)
        self.is_input = False
        # The common call `layer(tensor)`: mapped without walking the argument structure.
        self._single_positional = (not call_kwargs and len(call_args) == 1 and
                                   isinstance(call_args[0], KerasTensor))

    @property
    def keras_inputs(self):
        return self.input_tensors

    @property
    def inbound_layers(self):
        return [t._keras_history[0] for t in self.input_tensors]

    def parent_nodes(self):
        return [t.node for t in self.input_tensors]

    def iterate_inbound(self):
        """(inbound layer, node index, tensor index, tensor) for every KerasTensor input."""
        for tensor in self.input_tensors:
            layer, node_index, tensor_index = tensor._keras_history
            yield layer, node_index, tensor_index, tensor

    def map_arguments(self, values):
        """`(args, kwargs)` of this call with every KerasTensor replaced by `values[id(tensor)]`."""
        if self._single_positional:
            return (values[id(self.call_args[0])],), {}
        return _fill(self.call_args, values), _fill(self.call_kwargs, values)


def _fill(obj, values):
    """`obj` with every KerasTensor in its lists, tuples and dicts replaced from `values`. A
    module-level function: a recursive closure would be a reference cycle holding `values` (every
    intermediate of a model call) until the garbage collector ran."""
    if isinstance(obj, KerasTensor):
        return values[id(obj)]
    if isinstance(obj, list):
        return [_fill(o, values) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_fill(o, values) for o in obj)
    if isinstance(obj, dict):
        return {k: _fill(v, values) for k, v in obj.items()}
    return obj


def _shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
