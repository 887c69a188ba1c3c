"""TimeDistributed: applies a layer to every timestep of a sequence."""
import numpy as np

from ... import ops
from ...core.tensor import Tensor
from ...engine.base_layer import Layer
from .base_wrapper import Wrapper


class TimeDistributed(Wrapper):
    """Applies `layer` to each slice `inputs[:, t]` with the same weights, by folding the time
    axis into the batch (one call of the inner layer). Weights are named under the wrapper,
    `time_distributed/kernel:0`, as tf.keras.

    Example:
    >>> TimeDistributed(keras.layers.Dense(8))(np.zeros((32, 10, 16), "float32")).shape
    (32, 10, 8)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _inner_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape ` with at "
                             f"least 3 dimensions, received: {input_shape}")
        return (None,) + input_shape[2:]

    def build(self, input_shape):
        # tf.keras builds the inner layer for (batch, features...): the outer batch size kept
        inner_shape = (tuple(input_shape)[0],) + self._inner_shape(input_shape)[1:]
        if not self.layer.built:
            self.layer.build(inner_shape)
            self.layer.built = True
            self.layer._build_input_shape = inner_shape
            for weight in self.layer.weights:
                # tf.keras builds the inner layer inside the wrapper's name scope only
                short = weight.name.split("/", 1)[-1]
                weight.name = f"{self.name}/{short}"
        self.built = True

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        inner = self.layer.compute_output_shape(self._inner_shape(input_shape))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def call(self, inputs, training=None, mask=None):
        batch, steps = inputs.shape[0], inputs.shape[1]
        folded = ops.reshape(inputs, (batch * steps,) + tuple(inputs.shape[2:]))
        kwargs = {}
        if self.layer._call_accepts_training:
            kwargs["training"] = training
        if mask is not None and self.layer._call_accepts_mask:
            mask_data = _array(mask)
            kwargs["mask"] = Tensor(mask_data.reshape((batch * steps,) + mask_data.shape[2:]))
        outputs = self.layer(folded, **kwargs)
        return ops.reshape(outputs, (batch, steps) + tuple(outputs.shape[1:]))

    def compute_mask(self, inputs, mask=None):
        """The inner layer's mask unfolded back to (batch, time, ...), else the input mask."""
        if mask is None:
            return None
        inner_mask = None
        if isinstance(inputs, Tensor) and type(self.layer).compute_mask is not Layer.compute_mask:
            data = inputs.data
            batch, steps = data.shape[0], data.shape[1]
            folded = Tensor(data.reshape((batch * steps,) + data.shape[2:]))
            mask_data = _array(mask)
            inner_mask = self.layer.compute_mask(
                folded, Tensor(mask_data.reshape((batch * steps,) + mask_data.shape[2:])))
        if inner_mask is None:
            return mask
        inner = _array(inner_mask)
        return Tensor(inner.reshape((batch, steps) + inner.shape[1:]))


def _array(value):
    """The NumPy array of a Tensor or array-like (an ndarray's own `.data` is a memoryview)."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)
