"""GRUCell: the gated recurrent unit, gates in Keras' order z (update), r (reset), h."""
from ... import activations, ops
from .dropout_rnn_cell import BuiltinCell, fused_kernel, first_state
from .lstm_cell import _check_implementation


class GRUCell(BuiltinCell):
    """One GRU timestep. `reset_after=True` (default, cuDNN-compatible): the reset gate
    multiplies `h U_h + b_h` and the bias has two rows (input, recurrent); `reset_after=False`:
    the reset gate multiplies `h` before `U_h`, one bias row. New state `z h + (1 - z) h~`.
    """

    fused_kind = "gru"
    n_gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, implementation=2,
                 reset_after=True, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.implementation = _check_implementation(implementation, self.recurrent_dropout)
        self.reset_after = bool(reset_after)

    def build(self, input_shape):
        width = 3 * self.units
        self._build_kernels(input_shape[-1], (2, width) if self.reset_after else (width,))
        self.built = True

    def fused_spec(self):
        spec = super().fused_spec()
        if spec is not None:
            spec["reset_after"] = self.reset_after
        return spec

    @fused_kernel
    def call(self, inputs, states, training=None):
        h_prev = first_state(states)
        if self.needs_gate_masks(training):
            return self._call_with_gate_masks(inputs, states, h_prev, training)
        inputs, h_rec = self._inputs_after_dropout(inputs, h_prev, training)
        units = self.units
        if self.bias is None:
            input_bias = recurrent_bias = None
        elif self.reset_after:
            input_bias, recurrent_bias = ops.getitem(self.bias, 0), ops.getitem(self.bias, 1)
        else:
            input_bias, recurrent_bias = self.bias, None
        x_z, x_r, x_h = ops.split(ops.dense(inputs, self.kernel, input_bias), 3, axis=-1)
        if self.reset_after:
            inner = ops.matmul(h_rec, self.recurrent_kernel)
            if recurrent_bias is not None:
                inner = ops.add(inner, recurrent_bias)
            r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
        else:
            u_zr = ops.getitem(self.recurrent_kernel, (slice(None), slice(0, 2 * units)))
            r_z, r_r = ops.split(ops.matmul(h_rec, u_zr), 2, axis=-1)
        z = self.recurrent_activation(ops.add(x_z, r_z))
        r = self.recurrent_activation(ops.add(x_r, r_r))
        if self.reset_after:
            recurrent_h = ops.multiply(r, r_h)
        else:
            u_h = ops.getitem(self.recurrent_kernel, (slice(None), slice(2 * units, None)))
            recurrent_h = ops.matmul(ops.multiply(r, h_rec), u_h)
        candidate = self.activation(ops.add(x_h, recurrent_h))
        h = ops.add(candidate, ops.multiply(z, ops.subtract(h_prev, candidate)))
        return h, [h] if isinstance(states, (list, tuple)) else h

    def _call_with_gate_masks(self, inputs, states, h_prev, training):
        """Implementation 1: the z, r and h gates each see their own dropout-masked copies
        of the inputs and of the state (as tf.keras' GRUCell)."""
        (x_z_in, x_r_in, x_h_in), (h_z, h_r, h_h) = self._gate_inputs_after_dropout(
            inputs, h_prev, training)
        if self.bias is None:
            input_biases = recurrent_biases = [None] * 3
        elif self.reset_after:
            input_biases = self._split_gates(ops.getitem(self.bias, 0))
            recurrent_biases = self._split_gates(ops.getitem(self.bias, 1))
        else:
            input_biases, recurrent_biases = self._split_gates(self.bias), [None] * 3
        w_z, w_r, w_h = self._split_gates(self.kernel)
        u_z, u_r, u_h = self._split_gates(self.recurrent_kernel)
        x_z = ops.dense(x_z_in, w_z, input_biases[0])
        x_r = ops.dense(x_r_in, w_r, input_biases[1])
        x_h = ops.dense(x_h_in, w_h, input_biases[2])
        r_z = ops.dense(h_z, u_z, recurrent_biases[0])
        r_r = ops.dense(h_r, u_r, recurrent_biases[1])
        z = self.recurrent_activation(ops.add(x_z, r_z))
        r = self.recurrent_activation(ops.add(x_r, r_r))
        if self.reset_after:
            recurrent_h = ops.multiply(r, ops.dense(h_h, u_h, recurrent_biases[2]))
        else:
            recurrent_h = ops.matmul(ops.multiply(r, h_h), u_h)
        candidate = self.activation(ops.add(x_h, recurrent_h))
        h = ops.add(candidate, ops.multiply(z, ops.subtract(h_prev, candidate)))
        return h, [h] if isinstance(states, (list, tuple)) else h
