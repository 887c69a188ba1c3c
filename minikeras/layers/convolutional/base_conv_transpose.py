"""The N-D transposed convolution that Conv1DTranspose/2D/3D specialise."""
import numpy as np

from ... import ops
from ...core.dtype_errors import InvalidArgumentError
from ...core.tensor import Tensor
from ...engine.flops import per_sample_size
from ...engine.input_spec import InputSpec
from ...ops.conv import conv_transpose
from .. import conv_utils
from .base_conv import Conv


class ConvTranspose(Conv):
    """Transposed ("de-") convolution: the gradient of a convolution with respect to its input.

    Kernel layout as Keras: `(*kernel_size, filters, in_channels)`.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, **kwargs):
        if kwargs.get("groups", 1) != 1:
            raise NotImplementedError("`groups` other than 1 is not supported by transposed "
                                      f"convolutions. Received: groups={kwargs['groups']}")
        kwargs.pop("groups", None)
        super().__init__(rank, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)
        self.output_padding = output_padding
        if output_padding is not None:
            self.output_padding = conv_utils.normalize_tuple(output_padding, rank, "output_padding",
                                                             allow_zero=True)
            for stride, pad in zip(self.strides, self.output_padding):
                if pad >= stride:
                    raise ValueError("Strides must be greater than output padding. Received "
                                     f"strides={self.strides}, output_padding="
                                     f"{self.output_padding}.")

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"Inputs should have rank {self.rank + 2}. Received "
                             f"input_shape={tuple(input_shape)}.")
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError("The channel dimension of the inputs to "
                             f"`{type(self).__name__}` should be "
                             f"defined. The input_shape received is {input_shape}, where axis "
                             f"{self._channel_axis} (0-based) is the channel dimension, which found "
                             "to be `None`.")
        self.kernel = self.add_weight("kernel", shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, trainable=True)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", shape=(self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, trainable=True)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        self.built = True

    def _spatial_output_shape(self, spatial):
        pads = self.output_padding or (None,) * self.rank
        return tuple(conv_utils.deconv_output_length(n, k, self.padding, p, s, d) for n, k, p, s, d in
                     zip(spatial, self.kernel_size, pads, self.strides, self.dilation_rate))

    def call(self, inputs):
        spatial = inputs.shape[2:] if self.data_format == "channels_first" else inputs.shape[1:-1]
        out_spatial = self._spatial_output_shape(spatial)
        self._check_output_padding_fits(spatial, out_spatial)
        if inputs.shape[self._channel_axis] == 0:
            # no input channel contributes: tf.keras gives zeros (then bias and activation)
            outputs = Tensor(np.zeros(self._output_shape_of(inputs.shape[0], out_spatial),
                                      self.kernel.dtype))
        else:
            # bias and a relu/tanh applied inside the op, as Conv2D's (one output array)
            fused = self._fusable_activation()
            outputs = conv_transpose(inputs, self.kernel, self.strides, self.padding,
                                     self.dilation_rate, out_spatial, self.data_format,
                                     bias=self.bias if self.use_bias else None,
                                     activation=fused if fused is not False else None)
            if fused is not False or self.activation is None:
                return outputs
            return self.activation(outputs)
        if self.use_bias:
            outputs = ops.bias_add(outputs, self.bias, axis=self._channel_axis)
        return outputs if self.activation is None else self.activation(outputs)

    def _check_output_padding_fits(self, spatial, out_spatial):
        """TF computes the transposed convolution as a convolution's input gradient, and
        refuses an output (set by an explicit `output_padding`) that the convolution would not
        map back onto the input: with 'same', `ceil(out / stride)` must be the input size."""
        if self.output_padding is None:
            return
        op = "Conv3DBackpropInputV2" if self.rank == 3 else "Conv2DBackpropInput"
        for axis, (size, out, k, s, d) in enumerate(zip(spatial, out_spatial, self.kernel_size,
                                                         self.strides, self.dilation_rate)):
            if size is None or out is None:
                continue
            effective = (k - 1) * d + 1
            computed = -(-out // s) if self.padding == "same" else \
                max((out - effective) // s + 1, 0)
            if computed != size:
                raise InvalidArgumentError(
                    f"Exception encountered when calling layer '{self.name}' (type "
                    f"{type(self).__name__}).\n\n{op}: Size of out_backprop doesn't match "
                    f"computed: actual = {size}, computed = {computed} spatial_dim: "
                    f"{axis + 1 + (self.rank == 1)} input: {out} filter: {k} output: {size} "
                    f"stride: {s} dilation: {d} [Op:{op}]")

    def _output_shape_of(self, batch_size, out_spatial):
        if self.data_format == "channels_first":
            return (batch_size, self.filters) + tuple(out_spatial)
        return (batch_size,) + tuple(out_spatial) + (self.filters,)

    def count_flops(self, input_shape, output_shape):
        """The adjoint of a convolution: each input element meets every kernel tap of every
        filter, 2*H*W*Cin*Kh*Kw*Cout for Conv2DTranspose."""
        taps = int(np.prod(self.kernel_size))
        return 2 * per_sample_size(input_shape) * taps * self.filters

    def get_config(self):
        config = super().get_config()
        config["output_padding"] = self.output_padding
        return config
