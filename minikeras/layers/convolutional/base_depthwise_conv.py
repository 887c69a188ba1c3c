"""Depthwise convolution: each input channel convolved with its own `depth_multiplier` filters."""
import numpy as np

from ... import activations, constraints, initializers, ops, regularizers
from ...engine.argument_checks import integer
from ...engine.flops import per_sample_size
from ...engine.input_spec import InputSpec
from ...ops.conv import depthwise_conv
from .base_conv import Conv, serialize_or_none


class DepthwiseConv(Conv):
    """Kernel `depthwise_kernel` of shape `(*kernel_size, in_channels, depth_multiplier)`;
    output channel `c * depth_multiplier + m` comes from input channel `c`."""

    def __init__(self, rank, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, None, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias, bias_initializer=bias_initializer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        depth_multiplier = integer(depth_multiplier, "depth_multiplier", type(self).__name__)
        if depth_multiplier <= 0:
            raise ValueError("Invalid value for argument `depth_multiplier`. Expected a strictly "
                             f"positive value. Received depth_multiplier={depth_multiplier}.")
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def build(self, input_shape):
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError("The channel dimension of the inputs to `DepthwiseConv` should be "
                             f"defined. Found `None`. Full input shape received: {input_shape}")
        self.compute_output_shape(input_shape)     # raises when the kernel exceeds the input
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, trainable=True)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", shape=(channels * self.depth_multiplier,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, trainable=True)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        self.built = True

    def call(self, inputs):
        outputs = depthwise_conv(inputs, self.depthwise_kernel, self.strides, self.padding,
                                 self.dilation_rate, self.data_format)
        if self.use_bias:
            outputs = ops.bias_add(outputs, self.bias, axis=self._channel_axis)
        return outputs if self.activation is None else self.activation(outputs)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        channels = input_shape[self._channel_axis]
        out_channels = None if channels is None else channels * self.depth_multiplier
        if self.data_format == "channels_first":
            return (input_shape[0], out_channels) + self._spatial_output_shape(input_shape[2:])
        return (input_shape[0],) + self._spatial_output_shape(input_shape[1:-1]) + (out_channels,)

    def count_flops(self, input_shape, output_shape):
        """Each output element (Cin * depth_multiplier channels) sums its kernel taps of one
        input channel."""
        return 2 * per_sample_size(output_shape) * int(np.prod(self.kernel_size))

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            config.pop(key)
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": serialize_or_none(regularizers, self.depthwise_regularizer),
            "depthwise_constraint": serialize_or_none(constraints, self.depthwise_constraint),
        })
        config["activation"] = activations.serialize(self.activation)
        return config


class DepthwiseConv1D(DepthwiseConv):
    """1-D depthwise convolution. Example: `DepthwiseConv1D(3, depth_multiplier=2)`."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, kernel_size, strides=strides, padding=padding,
                         depth_multiplier=depth_multiplier, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class DepthwiseConv2D(DepthwiseConv):
    """2-D depthwise convolution. Example: `DepthwiseConv2D(3, padding="same")`."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, kernel_size, strides=strides, padding=padding,
                         depth_multiplier=depth_multiplier, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
