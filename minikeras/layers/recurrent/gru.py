"""GRU: the gated recurrent unit layer (Cho et al., 2014)."""
from ... import activations
from .cell_layer import CellLayer
from .gru_cell import GRUCell


class GRU(CellLayer):
    """A GRUCell over the timesteps as one fused op. `reset_after=True` (default) has a
    (2, 3 units) bias and applies the reset gate after the recurrent product, as tf.keras 2.

    Example:
    >>> GRU(4)(np.zeros((32, 10, 8), "float32")).shape
    (32, 4)
    """

    cell_class = GRUCell

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0,
                 return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, time_major=False,
                 reset_after=True, seed=None, **kwargs):
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
            seed=seed)
        super().__init__(cell_kwargs, activity_regularizer=activity_regularizer,
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, time_major=time_major,
                         unroll=unroll, **kwargs)

    def _whole_sequence_input_dropout(self):
        """tf.keras takes its cuDNN-compatible route (tanh, sigmoid, a bias, no recurrent
        dropout, not unrolled, reset_after) and then multiplies the whole input sequence by one
        dropout mask of its shape: a fresh mask at every timestep, shared by the gates."""
        cell = self.cell
        return (cell.activation is activations.tanh and
                cell.recurrent_activation is activations.sigmoid and cell.use_bias and
                cell.recurrent_dropout == 0 and not self.unroll and cell.reset_after)
