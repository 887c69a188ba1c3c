"""StackedRNNCells: several cells run as one, each feeding its output to the next."""
import inspect

from ...core.nest import flatten, pack_sequence_as
from ...engine.base_layer import Layer
from .dropout_rnn_cell import prefix_weight_names
from .serialization import deserialize_layer, serialize_layer
from .states import initial_state_of


class StackedRNNCells(Layer):
    """Wraps a list of cells so that `RNN(StackedRNNCells(cells))` (or `RNN(cells)`) runs them
    stacked at every timestep. States: one entry per cell (each cell's own structure).

    Example:
    >>> cells = [keras.layers.LSTMCell(8), keras.layers.GRUCell(4)]
    >>> keras.layers.RNN(cells)(np.zeros((2, 5, 3), "float32")).shape
    (2, 4)
    """

    def __init__(self, cells, **kwargs):
        for cell in cells:
            if "call" not in dir(cell):
                raise ValueError("All cells must have a `call` method. "
                                 f"Received cell without a `call` method: {cell}")
            if "state_size" not in dir(cell):
                raise ValueError("All cells must have a `state_size` attribute. "
                                 f"Received cell without a `state_size`: {cell}")
        super().__init__(**kwargs)
        self.cells = list(cells)

    @property
    def state_size(self):
        return tuple(cell.state_size for cell in self.cells)

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        size = last.state_size
        return size[0] if isinstance(size, (list, tuple)) else size

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        return [initial_state_of(cell, inputs, batch_size, dtype) for cell in self.cells]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(shape)
                cell.built = True
                cell._build_input_shape = shape
                prefix_weight_names(cell, self.name)
            size = getattr(cell, "output_size", None)
            if size is None:
                size = cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) \
                    else cell.state_size
            shape = shape[:-1] + (size,) if isinstance(size, int) else (shape[0],) + tuple(size)
        self.built = True

    def call(self, inputs, states, training=None):
        # flat or nested in, one entry per cell out
        nested = pack_sequence_as(list(self.state_size), flatten(states))
        new_states = []
        for cell, cell_states in zip(self.cells, nested):
            cell_states = cell_states if isinstance(cell_states, (list, tuple)) else [cell_states]
            kwargs = {"training": training} if _accepts_training(cell) else {}
            inputs, cell_new = cell.call(inputs, cell_states, **kwargs)
            if not isinstance(cell.state_size, (list, tuple)) and isinstance(cell_new, (list, tuple)):
                cell_new = cell_new[0]
            new_states.append(cell_new)
        return inputs, new_states

    def get_config(self):
        config = super().get_config()
        config["cells"] = [serialize_layer(cell) for cell in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [deserialize_layer(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def _accepts_training(cell):
    return "training" in inspect.signature(cell.call).parameters
