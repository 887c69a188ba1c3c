"""ConvLSTM: the base of ConvLSTM1D, ConvLSTM2D and ConvLSTM3D."""
from ... import ops, regularizers
from ...core.nest import pack_sequence_as
from ...core.session import unique_object_name
from .base_rnn import RNN
from .states import state_structure
from .conv_lstm_cell import ConvLSTMCell


class ConvLSTM(RNN):
    """An RNN of a ConvLSTMCell over `(batch, time, *spatial, channels)` sequences. The input
    convolution of every timestep is one convolution over the folded (batch x time) axis; each
    step adds the recurrent convolution. Weights `conv_lstm2d/kernel:0`, ... as tf.keras."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="hard_sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        if kwargs.get("name") is None:
            kwargs["name"] = unique_object_name(f"conv_lstm{rank}d")   # not `conv_lst_m2d`
        unroll = kwargs.pop("unroll", False)
        time_major = kwargs.pop("time_major", False)
        if time_major:
            raise NotImplementedError("ConvLSTM layers do not take `time_major=True` (tf.keras "
                                      "neither).")
        cell = ConvLSTMCell(
            rank, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation,
            recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, name="conv_lstm_cell",
            dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank

    def build(self, input_shape):
        shape = self._data_shape(input_shape)
        if len(shape) != self.rank + 3:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim={self.rank + 3}, found ndim={len(shape)}. Full shape "
                             f"received: {shape}")
        built_before = self.cell.built
        super().build(input_shape)
        if not built_before:
            # tf.keras names these under the layer only: `conv_lstm2d/kernel:0`
            for weight in self.cell.weights:
                parts = weight.name.split("/")
                weight.name = f"{parts[0]}/{parts[-1]}"

    def compute_output_shape(self, input_shape):
        shape = self._data_shape(input_shape)
        batch, steps = shape[0], shape[1]
        step_shape = (batch,) + tuple(shape[2:])
        # (building the cell here would make its weights outside the layer's first call,
        # under the wrong names: tf.keras' are `conv_lstm2d/kernel:0` whatever the order)
        state = (batch,) + tuple(self.cell.state_shape_for(step_shape))
        output = (batch, steps) + state[1:] if self.return_sequences else state
        return [output, state, state] if self.return_state else output

    def _run(self, x, states, mask, training):
        cell = self.cell
        input_mask = cell.get_dropout_mask_for_cell(x.data[:, 0], training)
        if input_mask is not None:
            x = ops.multiply(x, input_mask[:, None])
        batch, steps = x.shape[0], x.shape[1]
        # time-major before the input convolution (the input has fewer channels than the four
        # gates' projections): each step's projections are then contiguous, and so is their
        # gradient, without transposing it back
        x = ops.transpose(x, (1, 0) + tuple(range(2, x.ndim)))
        folded = ops.reshape(x, (steps * batch,) + tuple(x.shape[2:]))
        projections = cell.input_convolution(folded)
        projections = ops.reshape(projections, (steps, batch) + tuple(projections.shape[1:]))
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        structure = state_structure(cell)
        outputs, previous = [], None
        for t in order:
            output, new_states = cell.recurrent_step(ops.getitem(projections, t),
                                                     pack_sequence_as(structure, states), training)
            if mask is not None:
                keep = mask[:, t].reshape((-1,) + (1,) * (output.ndim - 1))
                new_states = [ops.where(keep, s, old) for s, old in zip(new_states, states)]
                fallback = previous if (previous is not None and not self.zero_output_for_mask) \
                    else ops.multiply(output, 0.0)
                output = ops.where(keep, output, fallback)
            states, previous = list(new_states), output
            outputs.append(output)
        if self.return_sequences:
            return ops.stack(outputs, axis=1), states
        return outputs[-1], states

    def get_config(self):
        config = self._rnn_config()
        conv = self.cell.conv_config()
        for key, value in conv.items():
            config[key] = value
            if key == "bias_regularizer":
                config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

