"""Separable convolution: a depthwise convolution followed by a 1x1 (pointwise) convolution."""
import numpy as np

from ... import constraints, initializers, ops, regularizers
from ...engine.argument_checks import positive_int
from ...engine.flops import per_sample_size
from ...engine.input_spec import InputSpec
from ...ops.conv import conv, depthwise_conv
from .base_conv import Conv, _check_some_channels, serialize_or_none


class SeparableConv(Conv):
    """Weights as Keras: `depthwise_kernel (*k, in, depth_multiplier)`,
    `pointwise_kernel (1.., in * depth_multiplier, filters)`, `bias (filters,)`."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias, bias_initializer=bias_initializer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier",
                                             type(self).__name__)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. Found `None`.")
        _check_some_channels(channels, input_shape)
        self.compute_output_shape(input_shape)     # raises when the kernel exceeds the input
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, trainable=True)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, trainable=True)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", shape=(self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, trainable=True)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        self.built = True

    def call(self, inputs):
        depthwise = depthwise_conv(inputs, self.depthwise_kernel, self.strides, self.padding,
                                   self.dilation_rate, self.data_format)
        outputs = conv(depthwise, self.pointwise_kernel, (1,) * self.rank, "valid", (1,) * self.rank,
                       1, self.data_format)
        if self.use_bias:
            outputs = ops.bias_add(outputs, self.bias, axis=self._channel_axis)
        return outputs if self.activation is None else self.activation(outputs)

    def count_flops(self, input_shape, output_shape):
        """Depthwise step (kernel taps per intermediate channel) plus pointwise step (one
        product per intermediate channel and filter), at every output position."""
        positions = per_sample_size(output_shape) // self.filters
        middle = input_shape[self._channel_axis] * self.depth_multiplier
        depthwise = positions * middle * int(np.prod(self.kernel_size))
        pointwise = positions * middle * self.filters
        return 2 * (depthwise + pointwise)

    def get_config(self):
        # tf.keras keeps the base Conv entries (groups, kernel_initializer, ...) in the config.
        config = super().get_config()
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "depthwise_regularizer": serialize_or_none(regularizers, self.depthwise_regularizer),
            "pointwise_regularizer": serialize_or_none(regularizers, self.pointwise_regularizer),
            "depthwise_constraint": serialize_or_none(constraints, self.depthwise_constraint),
            "pointwise_constraint": serialize_or_none(constraints, self.pointwise_constraint),
        })
        return config


class SeparableConv1D(SeparableConv):
    """1-D separable convolution. Example: `SeparableConv1D(16, 3, depth_multiplier=2)`."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         depth_multiplier=depth_multiplier, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         pointwise_initializer=pointwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)

    def _allows_causal_padding(self):
        return True


class SeparableConv2D(SeparableConv):
    """2-D separable convolution. Example: `SeparableConv2D(32, 3, padding="same")`."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         depth_multiplier=depth_multiplier, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         pointwise_initializer=pointwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
