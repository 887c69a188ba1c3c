"""The N-D convolution layer that Conv1D, Conv2D and Conv3D specialise."""
import numpy as np

from ... import activations, constraints, initializers, ops, regularizers
from ...core.config import normalize_data_format
from ...engine.argument_checks import integer
from ...engine.base_layer import Layer
from ...engine.flops import per_sample_size
from ...engine.input_spec import InputSpec
from ...ops.conv import FUSABLE_ACTIVATIONS, conv
from .. import conv_utils


def serialize_or_none(module, value):
    return None if value is None else module.serialize(value)


class Conv(Layer):
    """`rank`-D convolution: `activation(conv(inputs, kernel) + bias)`.

    The kernel has Keras' layout `(*kernel_size, in_channels // groups, filters)`.
    """

    _integer_inputs = "refuse"    # as tf.keras' kernels

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        if isinstance(filters, float):      # tf.keras int()s float filters (2.5 -> 2)
            filters = int(filters)
        filters = integer(filters, "filters", type(self).__name__, allow_none=True)
        if filters is not None and filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly positive "
                             f"value. Received filters={filters}.")
        self.filters = filters
        self.groups = groups or 1
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = conv_utils.normalize_tuple(strides, rank, "strides", allow_zero=True)
        self.padding = conv_utils.normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.dilation_rate = conv_utils.normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=rank + 2)
        self._validate_init()

    def _validate_init(self):
        if self.filters is not None and self.filters % self.groups != 0:
            raise ValueError("The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={self.groups}, filters={self.filters}")
        if not all(self.strides):
            raise ValueError("The argument `strides` cannot contains 0(s). Received: "
                             f"{self.strides}")
        if self.padding == "causal" and not self._allows_causal_padding():
            raise ValueError("Causal padding is only supported for `Conv1D`and `SeparableConv1D`.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate="
                             f"{self.dilation_rate}")

    def _allows_causal_padding(self):
        # Keras accepts 'causal' for Conv1D (and its subclasses) and SeparableConv1D only.
        return False

    @property
    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def build(self, input_shape):
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. The input_shape "
                             f"received is {input_shape}, where axis {self._channel_axis} (0-based) "
                             "is the channel dimension, which found to be `None`.")
        _check_some_channels(channels, input_shape)
        if channels % self.groups != 0:
            raise ValueError(f"The number of input channels must be evenly divisible by the number "
                             f"of groups. Received groups={self.groups}, but the input has "
                             f"{channels} channels (full input shape is {input_shape}).")
        kernel_shape = self.kernel_size + (channels // self.groups, self.filters)
        self.compute_output_shape(input_shape)     # raises if an output dimension is negative
        self.kernel = self.add_weight("kernel", shape=kernel_shape,
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, trainable=True)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", shape=(self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, trainable=True)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: channels})
        self.built = True

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)   # a clear error for too-small inputs
        batch_shape = tuple(inputs.shape[:inputs.ndim - self.rank - 1])
        if len(batch_shape) > 1:      # Keras folds extra leading batch axes into one
            inputs = ops.reshape(inputs, (-1,) + tuple(inputs.shape[len(batch_shape):]))
        fused = self._fusable_activation()
        outputs = conv(inputs, self.kernel, self.strides, self.padding, self.dilation_rate,
                       self.groups, self.data_format, bias=self.bias if self.use_bias else None,
                       activation=fused if fused is not False else None)
        if len(batch_shape) > 1:
            outputs = ops.reshape(outputs, batch_shape + tuple(outputs.shape[1:]))
        if fused is not False or self.activation is None:   # None: set after construction
            return outputs
        return self.activation(outputs)

    def _fusable_activation(self):
        """The activation's name when the conv op can apply it in place, else False."""
        name = getattr(self.activation, "__name__", None)
        if name in FUSABLE_ACTIVATIONS and activations.get(name) is self.activation:
            return name
        return False

    def _spatial_output_shape(self, spatial):
        out = tuple(conv_utils.conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                    zip(spatial, self.kernel_size, self.strides, self.dilation_rate))
        if any(size is not None and size <= 0 for size in out):
            raise ValueError(f"One of the dimensions in the output is <= 0 due to downsampling in "
                             f"{self.name}. Consider increasing the input size. Received input "
                             f"spatial shape {list(spatial)} (kernel_size={self.kernel_size}, "
                             f"dilation_rate={self.dilation_rate}, padding='{self.padding}') "
                             f"which would produce output shape {list(out)} with a zero or "
                             "negative value in a dimension.")
        return out

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        batch = input_shape[:len(input_shape) - self.rank - 1]
        if self.data_format == "channels_first":
            spatial = self._spatial_output_shape(input_shape[len(batch) + 1:])
            output_shape = batch + (self.filters,) + spatial
        else:
            spatial = self._spatial_output_shape(input_shape[len(batch):-1])
            output_shape = batch + spatial + (self.filters,)
        return output_shape

    def count_flops(self, input_shape, output_shape):
        """Each output element: kernel taps x (input channels / groups) multiply-adds, i.e.
        2*Ho*Wo*Cout*Kh*Kw*Cin/groups for Conv2D."""
        in_channels = input_shape[self._channel_axis]
        taps = int(np.prod(self.kernel_size))
        return 2 * per_sample_size(output_shape) * taps * (in_channels // self.groups)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": self.dilation_rate, "groups": self.groups,
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": serialize_or_none(regularizers, self.kernel_regularizer),
            "bias_regularizer": serialize_or_none(regularizers, self.bias_regularizer),
            "activity_regularizer": serialize_or_none(regularizers, self.activity_regularizer),
            "kernel_constraint": serialize_or_none(constraints, self.kernel_constraint),
            "bias_constraint": serialize_or_none(constraints, self.bias_constraint),
        })
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_some_channels(channels, input_shape):
    """TensorFlow's convolution refuses an empty channel axis (NumPy failed in a reshape)."""
    if channels == 0:
        raise ValueError(f"Depth of filter must not be 0: the input of shape {tuple(input_shape)} "
                         "has no channels.")
