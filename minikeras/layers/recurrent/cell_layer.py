"""What SimpleRNN, LSTM and GRU share: an RNN around one built-in cell made from the layer's
own arguments, whose config is the cell's arguments beside the RNN's."""
from .base_rnn import RNN

_CELL_ATTRIBUTES = ("units", "activation", "recurrent_activation", "use_bias",
                    "kernel_initializer", "recurrent_initializer", "bias_initializer",
                    "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer",
                    "bias_regularizer", "kernel_constraint", "recurrent_constraint",
                    "bias_constraint", "dropout", "recurrent_dropout", "implementation",
                    "reset_after")


class CellLayer(RNN):
    """An RNN whose cell (class `cell_class`, named `cell_name`) takes the layer's arguments."""

    cell_class = None

    def __init__(self, cell_kwargs, activity_regularizer=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, time_major=False,
                 unroll=False, **kwargs):
        # Keras 3 arguments: `use_cudnn` only picks a device kernel (same numbers)
        kwargs.pop("use_cudnn", None)
        implementation = kwargs.pop("implementation", None)
        if implementation is not None:
            cell_kwargs["implementation"] = implementation
        cell_name = self.cell_class.__name__.replace("RNNCell", "_rnn_cell").replace(
            "Cell", "_cell").lower()
        cell = self.cell_class(name=cell_name, dtype=kwargs.get("dtype"),
                               trainable=kwargs.get("trainable", True), **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, time_major=time_major,
                         unroll=unroll, activity_regularizer=activity_regularizer, **kwargs)

    def get_config(self):
        config = self._rnn_config()
        config.update(self.cell.cell_config(self.activity_regularizer, with_activity=True))
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def _delegate(name):
    return property(lambda self: getattr(self.cell, name),
                    doc=f"The cell's `{name}`.")


for _name in _CELL_ATTRIBUTES:
    setattr(CellLayer, _name, _delegate(_name))
