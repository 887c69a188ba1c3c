"""Global pooling: the mean or max over every spatial axis."""
import numpy as np

from ... import ops
from ...core.config import normalize_data_format
from ...core.tensor import Tensor
from ...engine.base_layer import Layer
from ...engine.flops import per_sample_size
from ...engine.input_spec import InputSpec


class GlobalPooling(Layer):
    """Reduces the spatial axes; `keepdims=True` keeps them with size 1."""

    def __init__(self, rank, mode, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self._mode = mode
        self.data_format = normalize_data_format(data_format)
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=rank + 2)
        # tf.keras: only GlobalAveragePooling1D takes a mask (it averages the unmasked steps).
        self.supports_masking = rank == 1 and mode == "avg"
        # the others' call takes no `mask`: an upstream mask is not handed to them, and an
        # explicit `mask=` is a TypeError
        self._call_accepts_mask = self.supports_masking

    def _axes(self):
        start = 2 if self.data_format == "channels_first" else 1
        return tuple(range(start, start + self.rank))

    def call(self, inputs, mask=None):
        if mask is not None and not self._call_accepts_mask:
            raise TypeError(f"{type(self).__name__}.call() got an unexpected keyword argument "
                            "'mask'")
        axes = self._axes()
        if self._mode == "max":
            return ops.max(inputs, axis=axes, keepdims=self.keepdims)
        if mask is not None and self.rank == 1:
            weights = np.asarray(mask.data if isinstance(mask, Tensor) else mask).astype(inputs.dtype)
            weights = weights[:, None, :] if self.data_format == "channels_first" else weights[..., None]
            total = ops.sum(ops.multiply(inputs, weights), axis=axes, keepdims=self.keepdims)
            count = np.sum(weights, axis=axes, keepdims=self.keepdims)
            return ops.divide(total, count)
        return ops.mean(inputs, axis=axes, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def count_flops(self, input_shape, output_shape):
        """One comparison (max) or addition (average) per input element."""
        return per_sample_size(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


def _global(name, rank, mode, default_format):
    doc = f"Global {'max' if mode == 'max' else 'average'} pooling over {rank} spatial axes."

    def __init__(self, data_format=default_format, keepdims=False, **kwargs):
        GlobalPooling.__init__(self, rank, mode, data_format=data_format, keepdims=keepdims, **kwargs)
    return type(name, (GlobalPooling,), {"__init__": __init__, "__doc__": doc})


GlobalMaxPooling1D = _global("GlobalMaxPooling1D", 1, "max", "channels_last")
GlobalMaxPooling2D = _global("GlobalMaxPooling2D", 2, "max", None)
GlobalMaxPooling3D = _global("GlobalMaxPooling3D", 3, "max", None)
GlobalAveragePooling1D = _global("GlobalAveragePooling1D", 1, "avg", "channels_last")
GlobalAveragePooling2D = _global("GlobalAveragePooling2D", 2, "avg", None)
GlobalAveragePooling3D = _global("GlobalAveragePooling3D", 3, "avg", None)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D, GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)
