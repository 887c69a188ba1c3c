"""LSTMCell: the long short-term memory cell, gates in Keras' order i, f, c, o."""
import numpy as np

from ... import activations, initializers, ops
from .dropout_rnn_cell import BuiltinCell, fused_kernel


class LSTMCell(BuiltinCell):
    """One LSTM timestep: `z = x W + h U + b` split into the input, forget, cell and output
    gates; `c = f c_prev + i act(z_c)`, `h = o act(c)`. States `[h, c]`.

    `unit_forget_bias=True` initializes the forget gate's bias to ones (Jozefowicz et al.).
    `implementation` (1 or 2) is accepted for compatibility: both give the same numbers.
    """

    fused_kind = "lstm"
    n_gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, implementation=2, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.implementation = _check_implementation(implementation, self.recurrent_dropout)
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        bias_initializer = self.bias_initializer
        if self.use_bias and self.unit_forget_bias:
            units, base = self.units, self.bias_initializer

            def bias_initializer(shape, dtype=None, **kwargs):
                return np.concatenate([
                    np.asarray(base((units,), dtype=dtype)),
                    np.asarray(initializers.get("ones")((units,), dtype=dtype)),
                    np.asarray(base((2 * units,), dtype=dtype))])
        self._build_kernels(input_shape[-1], (4 * self.units,), bias_initializer)
        self.built = True

    @fused_kernel
    def call(self, inputs, states, training=None):
        h_prev, c_prev = states[0], states[1]
        if self.needs_gate_masks(training):
            z_i, z_f, z_c, z_o = self._gate_preactivations(inputs, h_prev, training)
        else:
            inputs, h_rec = self._inputs_after_dropout(inputs, h_prev, training)
            z = ops.add(ops.dense(inputs, self.kernel, self.bias),
                        ops.matmul(h_rec, self.recurrent_kernel))
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = ops.add(ops.multiply(f, c_prev), ops.multiply(i, self.activation(z_c)))
        o = self.recurrent_activation(z_o)
        h = ops.multiply(o, self.activation(c))
        return h, [h, c]

    def _gate_preactivations(self, inputs, h_prev, training):
        """Implementation 1: each gate's product from its own dropout-masked copies."""
        xs, hs = self._gate_inputs_after_dropout(inputs, h_prev, training)
        kernels, recurrent = self._split_gates(self.kernel), self._split_gates(self.recurrent_kernel)
        biases = self._split_gates(self.bias)
        return [ops.add(ops.dense(x, w, b), ops.matmul(h, u))
                for x, h, w, u, b in zip(xs, hs, kernels, recurrent, biases)]


def _check_implementation(implementation, recurrent_dropout):
    if implementation not in (0, 1, 2):
        raise ValueError(f"`implementation` must be 1 or 2. Received: implementation={implementation}")
    implementation = max(int(implementation), 1)
    # tf.keras: recurrent dropout runs the cell in implementation 1
    return 1 if recurrent_dropout != 0 else implementation
