"""RNN: runs a cell over the time axis of a sequence.

Built-in cells (SimpleRNNCell, LSTMCell, GRUCell, and stacks of them) run the whole sequence as
one fused op (`ops.recurrent.fused_sequence`); any other cell (a user's layer with `state_size`
and `call(inputs, states)`) is stepped on the tape, one `call` per timestep.
"""
import inspect

import numpy as np

from ... import ops
from ...core.nest import flatten, pack_sequence_as
from ...core.tensor import Tensor
from ...engine.base_layer import Layer
from ...engine.keras_tensor import KerasTensor
from ...ops.recurrent import fused_sequence
from .dropout_rnn_cell import has_fused_kernel, prefix_weight_names
from .serialization import deserialize_layer, serialize_layer
from .stacked_rnn_cells import StackedRNNCells
from .states import dims, initial_state_of, is_shape, state_structure

_PACKAGE = __name__.split(".")[0]   # "minikeras": where the built-in cells live

_STATEFUL_BATCH_ERROR = (
    "If a RNN is stateful, it needs to know its batch size. Specify the batch size of your "
    "input tensors: \n- If using a Sequential model, specify the batch size by passing a "
    "`batch_input_shape` argument to your first layer.\n- If using the functional API, specify "
    "the batch size by passing a `batch_shape` argument to your Input layer.")


class RNN(Layer):
    """Base class of the recurrent layers: `RNN(cell)` iterates `cell` over the timesteps.

    `cell` is a layer with `state_size` and `call(inputs, states) -> (output, new_states)`, or a
    list of cells (stacked). The input is `(batch, timesteps, ...)` (`(timesteps, batch, ...)`
    with `time_major`). Masked timesteps keep the previous states and repeat the previous
    output.

    Example:
    >>> layer = RNN(keras.layers.LSTMCell(8), return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 8)
    """

    _integer_inputs = "refuse"    # as tf.keras' kernels

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, time_major=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell}")
        if "state_size" not in dir(cell):
            raise ValueError("The RNN cell should have a `state_size` attribute (tuple of "
                             "integers, one integer per RNN state). Received: "
                             f"cell={cell}")
        if "input_shape" not in kwargs and ("input_dim" in kwargs or "input_length" in kwargs):
            # Keras 1's `LSTM(32, input_dim=8, input_length=10)`, still read by tf.keras 2
            kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim", None))
        self.zero_output_for_mask = kwargs.pop("zero_output_for_mask", False)
        if kwargs.pop("num_constants", None):
            raise NotImplementedError("RNN `constants` (num_constants) are not supported by "
                                      "minikeras.")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.time_major = time_major
        self.supports_masking = True
        self._states = None

    # --- shapes ----------------------------------------------------------------------------
    def _data_shapes(self, input_shape):
        """The shapes of the sequence itself (nested like the inputs: a tuple of sequences is
        one nested input, as tf.keras), without the initial states a list of inputs carries."""
        if isinstance(input_shape, list) and input_shape and not is_shape(input_shape):
            input_shape = input_shape[0]
        return _map_shapes(tuple, input_shape)

    def _data_shape(self, input_shape):
        """The shape of the (first) sequence."""
        return _first_shape(self._data_shapes(input_shape))

    def _batch_and_time(self, shape):
        return (shape[1], shape[0]) if self.time_major else (shape[0], shape[1])

    def _outputdims(self):
        """The shape of one step's output without the batch axis (a list of them for a cell
        with nested outputs, `output_size = [TensorShape([10]), TensorShape([20, 30])]`)."""
        size = getattr(self.cell, "output_size", None)
        if size is None:
            state = self.cell.state_size
            size = state[0] if isinstance(state, (list, tuple)) else state
        if isinstance(size, (list, tuple)) and not is_shape(size):
            return [dims(part) for part in size]
        return dims(size)

    def compute_output_shape(self, input_shape):
        shape = self._data_shape(input_shape)
        batch, steps = self._batch_and_time(shape)
        if self.return_sequences:
            leading = (steps, batch) if self.time_major else (batch, steps)
        else:
            leading = (batch,)
        output = _map_shapes(lambda step_dims: leading + step_dims, self._outputdims())
        if not self.return_state:
            return output
        sizes = flatten(state_structure(self.cell))
        return [output] + [(batch,) + dims(size) for size in sizes]

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(flatten(state_structure(self.cell)))
        return output_mask

    # --- building ----------------------------------------------------------------------------
    def _cells_step_on_vectors(self):
        cells = self.cell.cells if isinstance(self.cell, StackedRNNCells) else [self.cell]
        return all(getattr(type(cell).call, "has_fused_kernel", False) for cell in cells)

    def build(self, input_shape):
        shape = self._data_shape(input_shape)
        # LSTM, GRU and SimpleRNN take (batch, time, features) only (tf.keras' InputSpec(ndim=3),
        # checked while a functional model is built, too)
        if len(shape) < 3 or (len(shape) > 3 and self._cells_step_on_vectors()):
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim=3, found ndim={len(shape)}. Full shape received: "
                             f"{shape}")
        batch, steps = self._batch_and_time(shape)
        if steps == 0:      # TensorFlow fails while building ("slice index 0 ... out of bounds")
            raise ValueError("Cannot run a recurrent layer over a sequence of 0 timesteps.")
        if self.unroll and steps is None:
            raise ValueError("Cannot unroll a RNN if the time dimension is undefined. \n"
                             "- If using a Sequential model, specify the time dimension by "
                             "passing an `input_shape` or `batch_input_shape` argument to your "
                             "first layer. If your first layer is an Embedding, you can also use "
                             "the `input_length` argument.\n- If using the functional API, "
                             "specify the time dimension by passing a `shape` or `batch_shape` "
                             "argument to your Input layer.")
        step_shape = _map_shapes(lambda s: (s[1] if self.time_major else s[0],) + tuple(s[2:]),
                                 self._data_shapes(input_shape))
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)
            self.cell.built = True
            self.cell._build_input_shape = step_shape
            self._trace_user_cell(step_shape)
            prefix_weight_names(self.cell, self.name)
        if self.stateful:
            if batch is None and self._batch_input_shape is not None:
                batch = self._batch_input_shape[0]
            if batch is None:
                raise ValueError(_STATEFUL_BATCH_ERROR)
            self._stateful_batch = batch
            self.reset_states()
        self.built = True

    # --- stateful ----------------------------------------------------------------------------
    def _trace_user_cell(self, step_shape):
        """tf.keras runs a cell's `call` symbolically when its RNN is built, which builds the
        layers a user's cell calls (HOML2 ch15's LNSimpleRNNCell: a SimpleRNNCell and a
        LayerNormalization). Run it once on zeros so their weights exist from the start,
        named inside the cell's scope as tf.keras names them (`rnn/cell/simple_rnn_cell/...`)."""
        cell = self.cell
        if type(cell).__module__.startswith(_PACKAGE + ".") or not is_shape(step_shape):
            return
        own = {id(weight) for weight in cell.weights}
        step = Tensor(np.zeros((1,) + tuple(step_shape[1:]), self.dtype))
        zeros = [Tensor(np.asarray(z, self.dtype))
                 for z in flatten(initial_state_of(cell, None, 1, self.dtype))]
        kwargs = {"training": False} if _accepts(cell, "training") else {}
        cell.call(step, pack_sequence_as(state_structure(cell), zeros), **kwargs)
        for weight in cell.weights:
            if id(weight) not in own:
                weight.name = f"{cell.name}/{weight.name}"
                weight._handle_name = f"{cell.name}/{weight._handle_name}"

    @property
    def states(self):
        if self._states is None:
            return [None] * len(flatten(state_structure(self.cell)))
        return list(self._states)

    @states.setter
    def states(self, values):
        self._states = None if values is None else [Tensor(np.asarray(getattr(v, "data", v)))
                                                      for v in flatten(values)]

    def reset_states(self, states=None):
        """Zero the states of a stateful RNN (or set them to `states`)."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        batch = getattr(self, "_stateful_batch", None)
        if batch is None:
            raise ValueError(_STATEFUL_BATCH_ERROR)
        zeros = flatten(initial_state_of(self.cell, None, batch, self.dtype))
        if states is None:
            self._states = [Tensor(np.array(z)) for z in zeros]
            return
        values = flatten(states) if isinstance(states, (list, tuple)) else [states]
        if len(values) != len(zeros):
            raise ValueError(f"Layer {self.name} expects {len(zeros)} states, but it received "
                             f"{len(values)} state values. States received: {states}")
        for index, (value, zero) in enumerate(zip(values, zeros)):
            value = np.asarray(getattr(value, "data", value))
            if value.shape != zero.shape:
                raise ValueError(f"State {index} is incompatible with layer {self.name}: "
                                 f"expected shape={zero.shape} but found shape={value.shape}")
        self._states = [Tensor(np.array(v, dtype=self.dtype)) for v in
                        (np.asarray(getattr(v, "data", v)) for v in values)]

    # --- calling -------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if not args and "inputs" in kwargs:
            # `cell(inputs=x, initial_state=[a, c])` (the Coursera NMT / jazz loops)
            args = (kwargs.pop("inputs"),)
        # `layer([x, h, c])`: the states are the inputs after the first (tf.keras); a tuple
        # `layer((x1, x2))` is one nested input, stepped together
        if args and isinstance(args[0], list) and kwargs.get("initial_state") is None \
                and len(args[0]) > 1:
            kwargs["initial_state"] = list(args[0][1:])
            args = (args[0][0],) + tuple(args[1:])
        if kwargs.get("initial_state") is not None and not isinstance(kwargs["initial_state"], list):
            initial = kwargs["initial_state"]
            kwargs["initial_state"] = list(initial) if isinstance(initial, tuple) else [initial]
        if kwargs.get("constants") is not None:
            raise NotImplementedError("RNN `constants` are not supported by minikeras.")
        if kwargs.get("initial_state") is None:
            kwargs.pop("initial_state", None)
        elif any(isinstance(s, KerasTensor) for s in flatten(kwargs["initial_state"])):
            # symbolic states are inputs of the node, `layer([x, h, c])`, as tf.keras records
            # (and saves) them
            args = ([args[0]] + flatten(kwargs.pop("initial_state")),) + tuple(args[1:])
            return Layer.__call__(self, *args, **kwargs)
        return super().__call__(*args, **kwargs)

    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        x = inputs
        for leaf in flatten(x):
            if leaf.ndim < 3:
                raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the '
                                 f"layer: expected ndim=3, found ndim={leaf.ndim}. Full shape "
                                 f"received: {tuple(leaf.shape)}")
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        mask = None if mask is None else np.asarray(getattr(mask, "data", mask), bool)
        if self.time_major:
            x = _map_leaves(lambda t: ops.transpose(t, (1, 0) + tuple(range(2, t.ndim))), x)
            mask = None if mask is None else mask.T
        if mask is not None and mask.all():
            mask = None                 # nothing masked: the same numbers, the fast path
        states = self._initial_states(flatten(x)[0], initial_state)
        self._reset_dropout_masks()
        if isinstance(x, (list, tuple)):
            output, final_states = self._run_steps(x, states, mask, training)
        else:
            output, final_states = self._run(x, states, mask, training)
        if self.stateful:
            self._states = [Tensor(np.array(s.data)) for s in final_states]
        if self.return_sequences and self.time_major:
            output = _map_leaves(lambda t: ops.transpose(t, (1, 0) + tuple(range(2, t.ndim))),
                                 output)
        if not self.return_state:
            return output
        return [output] + list(pack_sequence_as(state_structure(self.cell), final_states))

    def _initial_states(self, x, initial_state):
        """A flat list of state tensors: given, stateful, or zeros."""
        expected = len(flatten(state_structure(self.cell)))
        if initial_state is not None:
            states = flatten(initial_state)
            if len(states) != expected:
                raise ValueError(f"Layer {self.name} expects {expected} states, but it received "
                                 f"{len(states)} state values. Input received: {initial_state}")
            return [s if isinstance(s, Tensor) else Tensor(np.asarray(s, x.dtype)) for s in states]
        if self.stateful:
            if self._states is None:
                self.reset_states()
            if self._states[0].shape[0] != x.shape[0]:
                raise ValueError(f"Layer {self.name} is stateful with batch size "
                                 f"{self._states[0].shape[0]}, but received a batch of "
                                 f"{x.shape[0]} samples.")
            return list(self._states)
        zeros = initial_state_of(self.cell, x, x.shape[0], x.dtype)
        return [Tensor(np.asarray(z, x.dtype)) for z in flatten(zeros)]

    def get_initial_state(self, inputs):
        """The zero states for `inputs` (a flat list, one tensor per state), as tf.keras."""
        x = inputs if hasattr(inputs, "shape") else np.asarray(inputs)
        batch = x.shape[1] if self.time_major else x.shape[0]
        dtype = x.dtype if np.dtype(x.dtype).kind == "f" else self.dtype
        return [Tensor(np.asarray(z, dtype)) for z in
                flatten(initial_state_of(self.cell, None, batch, dtype))]

    def _whole_sequence_input_dropout(self):
        """Whether input dropout draws a fresh mask at every timestep (tf.keras' LSTM and GRU
        on their cuDNN-compatible route) rather than one mask per sequence."""
        return False

    def _reset_dropout_masks(self):
        cells = self.cell.cells if isinstance(self.cell, StackedRNNCells) else [self.cell]
        for cell in cells:
            if hasattr(cell, "reset_dropout_mask"):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()

    def _run(self, x, states, mask, training):
        cells = self.cell.cells if isinstance(self.cell, StackedRNNCells) else [self.cell]
        if all(has_fused_kernel(c) for c in cells):
            if x.ndim != 3:     # the built-in cells take (batch, features) at each step
                raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the '
                                 f"layer: expected ndim=3, found ndim={x.ndim}. Full shape "
                                 f"received: {tuple(x.shape)}")
            return self._run_fused(cells, x, states, mask, training)
        return self._run_steps(x, states, mask, training)

    def _run_fused(self, cells, x, states, mask, training):
        """Each built-in cell over the whole sequence as one op (a stack: one after another;
        the same numbers as stepping the stack, since a cell only sees the one below)."""
        zero_output = bool(self.zero_output_for_mask)
        final_states, position = [], 0
        go_backwards = self.go_backwards
        for index, cell in enumerate(cells):
            last = index == len(cells) - 1
            n_states = len(flatten(state_structure(cell)))
            cell_states = states[position:position + n_states]
            position += n_states
            input_gate_masks = None
            if self._whole_sequence_input_dropout() and training and cell.dropout > 0:
                x = ops.multiply(x, cell._draw_mask(tuple(x.shape), cell.dropout, x.dtype))
                recurrent_mask = self._shared_recurrent_mask(cell, cell_states, training, x.dtype)
            elif cell.needs_gate_masks(training):
                input_gate_masks, recurrent_mask = self._gate_masks(cell, x, cell_states,
                                                                    training)
            else:
                input_mask = cell.get_dropout_mask_for_cell(np.empty(x.shape[:1] + x.shape[2:]),
                                                            training)
                if input_mask is not None:
                    x = ops.multiply(x, input_mask.astype(x.dtype)[:, None])
                recurrent_mask = self._shared_recurrent_mask(cell, cell_states, training, x.dtype)
            x, cell_final = fused_sequence(
                cell.fused_kind, x, cell.kernel, cell.recurrent_kernel, cell.bias, cell_states,
                mask=mask, go_backwards=go_backwards,
                return_sequences=self.return_sequences or not last,
                zero_output_for_mask=zero_output and last, recurrent_mask=recurrent_mask,
                input_gate_masks=input_gate_masks, **cell.fused_spec())
            final_states.extend(cell_final)
            if go_backwards:
                # the next cell reads this one's outputs, already in processing order
                go_backwards = False
                mask = None if mask is None else mask[:, ::-1]
        return x, final_states

    @staticmethod
    def _shared_recurrent_mask(cell, cell_states, training, dtype):
        recurrent_mask = cell.get_recurrent_dropout_mask_for_cell(
            np.empty(tuple(cell_states[0].shape)), training)
        return None if recurrent_mask is None else recurrent_mask.astype(dtype)

    @staticmethod
    def _gate_masks(cell, x, cell_states, training):
        """tf.keras' implementation 1: a dropout mask per gate for the inputs and for the
        state, drawn in the order the cell's own step draws them (the same masks). Returns
        (gates, batch, features) and (gates, batch, units) arrays, each or None."""
        step_input = np.empty(x.shape[:1] + x.shape[2:], x.dtype)
        state = np.empty(tuple(cell_states[0].shape), x.dtype)
        input_masks = cell.get_dropout_mask_for_cell(step_input, training, count=cell.n_gates)
        recurrent_masks = cell.get_recurrent_dropout_mask_for_cell(state, training,
                                                                   count=cell.n_gates)
        return (None if input_masks is None else np.stack(input_masks),
                None if recurrent_masks is None else np.stack(recurrent_masks))

    def _run_steps(self, x, states, mask, training):
        """The generic path: the cell's `call` once per timestep, recorded on the tape. `x` may
        be nested (a tuple of sequences); the cell then gets each step as that nesting, and
        may return nested outputs."""
        structure = state_structure(self.cell)
        kwargs = {"training": training} if _accepts(self.cell, "training") else {}
        sequences = flatten(x)
        steps = sequences[0].shape[1]
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        time_major = [ops.transpose(s, (1, 0) + tuple(range(2, s.ndim))) for s in sequences]
        outputs, previous = [], None
        for t in order:
            step_input = pack_sequence_as(x, [ops.getitem(s, t) for s in time_major])
            output, new_states = self.cell.call(step_input, pack_sequence_as(structure, states),
                                                **kwargs)
            new_states = flatten(new_states if isinstance(new_states, (list, tuple)) else [new_states])
            flat_output = flatten(output)
            if mask is not None:
                keep = mask[:, t]
                new_states = [ops.where(_expand(keep, s), s, old) for s, old in zip(new_states, states)]
                if self.zero_output_for_mask or previous is None:
                    flat_output = [ops.where(_expand(keep, o), o, np.zeros((), o.dtype))
                                   for o in flat_output]
                else:
                    flat_output = [ops.where(_expand(keep, o), o, p)
                                   for o, p in zip(flat_output, previous)]
            states, previous = new_states, flat_output
            outputs.append(flat_output)
        if self.return_sequences:
            stacked = [ops.stack([step[k] for step in outputs], axis=1)
                       for k in range(len(outputs[0]))]
            return pack_sequence_as(output, stacked), states
        return pack_sequence_as(output, outputs[-1]), states

    # --- config ----------------------------------------------------------------------------------
    def _rnn_config(self):
        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful,
            "unroll": self.unroll, "time_major": self.time_major,
        })
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = self.zero_output_for_mask
        return config

    def get_config(self):
        config = self._rnn_config()
        config["cell"] = serialize_layer(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = deserialize_layer(config.pop("cell"), custom_objects)
        return cls(cell, **config)


def _map_shapes(fn, shapes):
    """`fn` applied to every shape of a nesting of shapes (the nesting kept)."""
    if is_shape(shapes):
        return fn(shapes)
    return [_map_shapes(fn, s) for s in shapes] if isinstance(shapes, list) \
        else tuple(_map_shapes(fn, s) for s in shapes)


def _first_shape(shapes):
    return shapes if is_shape(shapes) else _first_shape(shapes[0])


def _map_leaves(fn, structure):
    return pack_sequence_as(structure, [fn(t) for t in flatten(structure)])


def _expand(keep, like):
    """The (batch,) step mask shaped to broadcast against `like`."""
    return keep.reshape((-1,) + (1,) * (like.ndim - 1))


def _accepts(cell, name):
    return name in inspect.signature(cell.call).parameters
