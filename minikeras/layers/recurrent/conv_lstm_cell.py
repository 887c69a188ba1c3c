"""ConvLSTMCell: an LSTM cell whose products are convolutions (Shi et al., 2015)."""
import numpy as np

from ... import activations, initializers, ops
from ...core.config import normalize_data_format
from ...ops.conv import conv
from ...ops.recurrent import lstm_gate_update
from .. import conv_utils
from .dropout_rnn_cell import BuiltinCell


class ConvLSTMCell(BuiltinCell):
    """One ConvLSTM timestep over `rank` spatial axes: gates i, f, c, o from
    `conv(x, W) + conv_same(h, U) + b`; states `[h, c]` of shape `(*spatial_out, filters)`.
    """

    n_gates = 4

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="hard_sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(filters, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                         **kwargs)
        self.rank = rank
        self.filters = filters
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = conv_utils.normalize_tuple(strides, rank, "strides")
        self.padding = conv_utils.normalize_padding(padding)
        if self.padding == "causal":
            raise ValueError("ConvLSTM does not support `padding='causal'`; use 'valid' or 'same'.")
        self.data_format = normalize_data_format(data_format)
        self.dilation_rate = conv_utils.normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [filters, filters]
        self._state_shape = None

    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def state_shape_for(self, input_shape):
        """The state's shape (batch excluded) for one step's input shape; no weights made."""
        input_shape = tuple(input_shape)
        spatial = input_shape[2:] if self.data_format == "channels_first" else input_shape[1:-1]
        out_spatial = tuple(
            None if n is None else conv_utils.conv_output_length(n, k, self.padding, s, d)
            for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate))
        return ((self.filters,) + out_spatial if self.data_format == "channels_first"
                else out_spatial + (self.filters,))

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        channels = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. "
                             f"Found `None`. Full input shape received: {input_shape}")
        self._state_shape = self.state_shape_for(input_shape)
        width = 4 * self.filters
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (channels, width),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=self.kernel_size + (self.filters, width),
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            bias_initializer = self.bias_initializer
            if self.unit_forget_bias:
                filters, base = self.filters, self.bias_initializer

                def bias_initializer(shape, dtype=None, **kwargs):
                    return np.concatenate([
                        np.asarray(base((filters,), dtype=dtype)),
                        np.asarray(initializers.get("ones")((filters,), dtype=dtype)),
                        np.asarray(base((2 * filters,), dtype=dtype))])
            self.bias = self.add_weight(name="bias", shape=(width,), initializer=bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def fused_spec(self):
        return None     # stepped: each step is two convolutions on the tape

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        batch = batch_size if batch_size is not None else np.shape(inputs)[0]
        return [np.zeros((batch,) + self._state_shape, dtype or self.dtype) for _ in range(2)]

    def input_convolution(self, inputs):
        """conv(x, W) + b for any number of leading samples (the whole sequence at once)."""
        return conv(inputs, self.kernel, self.strides, self.padding, self.dilation_rate,
                        data_format=self.data_format, bias=self.bias)

    def recurrent_step(self, x_projection, states, training=None):
        h_prev, c_prev = states[0], states[1]
        recurrent_mask = self.get_recurrent_dropout_mask_for_cell(h_prev, training)
        h_rec = h_prev if recurrent_mask is None else ops.multiply(h_prev, recurrent_mask)
        ones = (1,) * self.rank
        z = ops.add(x_projection, conv(h_rec, self.recurrent_kernel, ones, "same", ones,
                                           data_format=self.data_format))
        spec = BuiltinCell.fused_spec(self)
        if spec is not None:       # Keras' own activations: the gate math as one op
            h, c = lstm_gate_update(z, c_prev, axis=self._channel_axis(), **spec)
            return h, [h, c]
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=self._channel_axis())
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = ops.add(ops.multiply(f, c_prev), ops.multiply(i, self.activation(z_c)))
        o = self.recurrent_activation(z_o)
        h = ops.multiply(o, self.activation(c))
        return h, [h, c]

    def call(self, inputs, states, training=None):
        input_mask = self.get_dropout_mask_for_cell(inputs, training)
        if input_mask is not None:
            inputs = ops.multiply(inputs, input_mask)
        return self.recurrent_step(self.input_convolution(inputs), states, training)

    def conv_config(self):
        config = {"filters": self.filters, "kernel_size": self.kernel_size,
                  "strides": self.strides, "padding": self.padding,
                  "data_format": self.data_format, "dilation_rate": self.dilation_rate}
        cell = self.cell_config()
        del cell["units"]
        config.update(cell)
        return config

    def get_config(self):
        config = super(BuiltinCell, self).get_config()
        config["rank"] = self.rank
        config.update(self.conv_config())
        return config
