"""InputLayer and `keras.Input`: the entry points of a functional graph."""
import numpy as np

from ...core import config
from ...core.session import get_uid
from ...engine.argument_checks import shape_tuple
from ...engine.base_layer import Layer
from ...engine.keras_tensor import KerasTensor, Node


class InputLayer(Layer):
    """The layer behind `keras.Input`: it has no weights and produces one KerasTensor."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, input_tensor=None,
                 sparse=None, name=None, ragged=None, type_spec=None, batch_input_shape=None,
                 batch_shape=None, optional=False, **kwargs):
        if optional:
            raise NotImplementedError("InputLayer(optional=True) is not supported by minikeras.")
        if sparse or ragged:
            raise NotImplementedError("Sparse and ragged inputs are not supported by minikeras.")
        if type_spec is not None:
            raise NotImplementedError("InputLayer(type_spec=...) is not supported by minikeras.")
        if name is None:
            name = f"input_{get_uid('input')}"
        batch_input_shape = batch_input_shape or batch_shape
        if input_tensor is not None:
            batch_input_shape = input_tensor.shape
            dtype = dtype or np.dtype(input_tensor.dtype).name
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("Please provide to Input a `shape` or a `tensor` or a "
                                 "`type_spec` argument. Note that `shape` does not include the "
                                 "batch dimension.")
            batch_input_shape = (batch_size,) + tuple(input_shape)
        super().__init__(name=name, dtype=dtype or config.floatx(), **kwargs)
        self._batch_input_shape = shape_tuple(batch_input_shape, "shape")
        self.built = True
        self.sparse = False
        self.ragged = False
        # the eager tensor or variable given as `tensor=`: models are fed as usual, but
        # K.function feeds it when it is not among its inputs (Keras 2 graph scripts)
        self._held_value = None
        if input_tensor is None or not isinstance(input_tensor, KerasTensor):
            # tf.keras 2.x turns an eager tensor or variable given as `tensor=` into a symbolic
            # input of its shape and dtype.
            self._held_value = input_tensor
            input_tensor = KerasTensor(self._batch_input_shape, dtype=self.dtype, name=name)
        input_tensor._keras_history = (self, 0, 0)
        node = Node(self, (), {}, input_tensor)
        node.is_input = True
        self._inbound_nodes.append(node)

    @property
    def output_shape(self):
        return [self._batch_input_shape]

    def count_flops(self, input_shape, output_shape):
        return 0   # no computation

    def get_config(self):
        return {"batch_input_shape": self._batch_input_shape, "dtype": self.dtype,
                "sparse": False, "ragged": False, "name": self.name, "optional": False}

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        return cls(**config_)


def Input(shape=None, batch_size=None, name=None, dtype=None, sparse=None, tensor=None,
          ragged=None, type_spec=None, batch_shape=None, **kwargs):
    """A symbolic input of a functional model.

    Example:
    >>> x = Input(shape=(784,))
    >>> x.shape
    TensorShape([None, 784])
    """
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {list(kwargs)}")
    if shape is not None and not isinstance(shape, (str, bytes)) and np.isscalar(shape):
        shape = (shape,)
    layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                       sparse=sparse, input_tensor=tensor, ragged=ragged, type_spec=type_spec,
                       batch_input_shape=batch_shape)
    return layer._inbound_nodes[0].outputs
