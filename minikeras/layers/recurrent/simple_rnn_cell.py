"""SimpleRNNCell: `h = activation(x W + h_prev U + b)`, one timestep."""
from ... import ops
from .dropout_rnn_cell import BuiltinCell, fused_kernel, first_state


class SimpleRNNCell(BuiltinCell):
    """The cell of a fully-connected RNN whose output is fed back as its state.

    Example:
    >>> rnn = keras.layers.RNN(SimpleRNNCell(4))
    >>> rnn(np.zeros((2, 3, 5), "float32")).shape
    (2, 4)
    """

    fused_kind = "simple_rnn"
    n_gates = 1

    def build(self, input_shape):
        self._build_kernels(input_shape[-1], (self.units,))
        self.built = True

    @fused_kernel
    def call(self, inputs, states, training=None):
        h_prev = first_state(states)
        inputs, h_rec = self._inputs_after_dropout(inputs, h_prev, training)
        pre = ops.add(ops.dense(inputs, self.kernel, self.bias),
                      ops.matmul(h_rec, self.recurrent_kernel))
        output = self.activation(pre)
        return output, [output] if isinstance(states, (list, tuple)) else output
