"""What the built-in recurrent cells share: Keras' arguments, weight creation, dropout masks
kept for a whole sequence, and the description the fused sequence op needs."""
import numbers

import numpy as np

from ... import activations, constraints, initializers, ops, regularizers
from ...core.random import make_rng
from ...engine.base_layer import Layer
from ...ops.recurrent import FUSED_ACTIVATIONS


def fused_activation_name(fn):
    """'tanh', 'sigmoid', ... for Keras' own functions that the fused op implements; else None."""
    name = getattr(fn, "__name__", None)
    if name in FUSED_ACTIVATIONS and activations.get(name) is fn:
        return name
    return None


def fused_kernel(call):
    """Mark a built-in cell's `call` as having a fused whole-sequence kernel; a subclass that
    overrides `call` loses the mark and is stepped instead."""
    call.has_fused_kernel = True
    return call


def has_fused_kernel(cell):
    return (isinstance(cell, BuiltinCell) and getattr(type(cell).call, "has_fused_kernel", False)
            and cell.fused_spec() is not None)


def check_rate(name, value):
    if not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"Invalid value received for argument `{name}`. Expected a float value "
                         f"between 0 and 1. Received: {name}={value}")
    return float(min(1.0, max(0.0, value)))


def prefix_weight_names(layer, scope):
    """Put every variable of `layer` under `scope/` (tf.keras builds a cell inside its RNN's
    name scope: `lstm/lstm_cell/kernel:0`)."""
    for weight in layer.weights:
        weight.name = f"{scope}/{weight.name}"
        weight._handle_name = f"{scope}/{weight._handle_name}"


class DropoutRNNCellMixin:
    """Dropout masks drawn once per sequence and reused at every timestep (as Keras does).

    The owning RNN layer calls `reset_dropout_mask()` and `reset_recurrent_dropout_mask()`
    before each sequence; a cell asks for `get_dropout_mask_for_cell(inputs, training)`.
    With `count=1` one mask serves every gate (tf.keras' implementation 2); `count=G` gives G
    independent masks, one per gate (implementation 1, which recurrent dropout forces).
    """

    def _init_dropout(self, dropout, recurrent_dropout, seed=None):
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self._dropout_rng = make_rng(seed) if seed is not None else None
        self._dropout_mask = None
        self._recurrent_dropout_mask = None
        self._gate_masks = {}

    def reset_dropout_mask(self):
        self._dropout_mask = None
        self._gate_masks.pop("input", None)

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None
        self._gate_masks.pop("recurrent", None)

    def _draw_mask(self, shape, rate, dtype):
        if rate >= 1:
            return np.zeros(shape, dtype)
        rng = self._dropout_rng if self._dropout_rng is not None else make_rng(None)
        keep = rng.random(shape, dtype=np.float32) >= rate
        return (keep * np.asarray(1.0 / (1.0 - rate), dtype)).astype(dtype)

    def _gate_mask_list(self, kind, x, rate, count):
        """`count` independent masks shaped like `x`, drawn once per sequence."""
        if kind not in self._gate_masks:
            shape = tuple(np.shape(x))
            self._gate_masks[kind] = [self._draw_mask(shape, rate, _dtype_of(x))
                                      for _ in range(count)]
        return self._gate_masks[kind]

    def get_dropout_mask_for_cell(self, inputs, training, count=1):
        """The input dropout mask of this sequence, shaped like one timestep of `inputs` (a
        list of `count` masks when count > 1)."""
        if not training or self.dropout == 0:
            return None
        if count > 1:
            return self._gate_mask_list("input", inputs, self.dropout, count)
        if self._dropout_mask is None:
            shape = tuple(np.shape(inputs))
            self._dropout_mask = self._draw_mask(shape, self.dropout, _dtype_of(inputs))
        return self._dropout_mask

    def get_recurrent_dropout_mask_for_cell(self, state, training, count=1):
        if not training or self.recurrent_dropout == 0:
            return None
        if count > 1:
            return self._gate_mask_list("recurrent", state, self.recurrent_dropout, count)
        if self._recurrent_dropout_mask is None:
            shape = tuple(np.shape(state))
            self._recurrent_dropout_mask = self._draw_mask(shape, self.recurrent_dropout,
                                                           _dtype_of(state))
        return self._recurrent_dropout_mask


def _dtype_of(x):
    return x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype


class BuiltinCell(DropoutRNNCellMixin, Layer):
    """Base of SimpleRNNCell, LSTMCell and GRUCell: kernel, recurrent kernel and bias with
    Keras' initializers, regularizers and constraints."""

    fused_kind = None          # 'simple_rnn', 'lstm' or 'gru'
    n_gates = 1

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError("Received an invalid value for argument `units`, expected a positive "
                             f"integer, got {units}.")
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_dropout(dropout, recurrent_dropout, seed)
        self.state_size = self.units
        self.output_size = self.units

    def _build_kernels(self, input_dim, bias_shape, bias_initializer=None):
        width = self.n_gates * self.units
        self.kernel = self.add_weight(name="kernel", shape=(input_dim, width),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, width),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=bias_shape,
                                        initializer=bias_initializer or self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def fused_spec(self):
        """Keyword arguments of `fused_sequence` for this cell, or None (no fused kernel for
        its activations: the RNN then steps the cell's `call` on the tape)."""
        act = fused_activation_name(self.activation)
        ract = fused_activation_name(getattr(self, "recurrent_activation", activations.sigmoid))
        if act is None or ract is None:
            return None
        return {"activation": act, "recurrent_activation": ract}

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        batch = batch_size if batch_size is not None else np.shape(inputs)[0]
        dtype = dtype or self.dtype
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [np.zeros((batch, size), dtype) for size in sizes]

    def cell_config(self, activity_regularizer=None, with_activity=False):
        """The cell's arguments in tf.keras' key order (a layer adds `activity_regularizer`
        after `bias_regularizer`)."""
        config = {"units": self.units, "activation": activations.serialize(self.activation)}
        if hasattr(self, "recurrent_activation"):
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config.update({
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        })
        if hasattr(self, "unit_forget_bias"):
            config["unit_forget_bias"] = self.unit_forget_bias
        config.update({
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        })
        if with_activity:
            config["activity_regularizer"] = regularizers.serialize(activity_regularizer)
        config.update({
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        })
        if self.seed is not None:
            config["seed"] = self.seed        # Keras 3's argument (tf.keras 2 has none)
        if hasattr(self, "implementation"):
            config["implementation"] = self.implementation
        if hasattr(self, "reset_after"):
            config["reset_after"] = self.reset_after
        return config

    def get_config(self):
        config = super().get_config()
        config.update(self.cell_config())
        return config

    def needs_gate_masks(self, training):
        """tf.keras' implementation 1 draws a dropout mask per gate (LSTM, GRU in training)."""
        return bool(training) and getattr(self, "implementation", 2) == 1 and \
            self.n_gates > 1 and (self.dropout > 0 or self.recurrent_dropout > 0)

    def _gate_inputs_after_dropout(self, inputs, h_prev, training):
        """([inputs for each gate], [state for each gate's recurrent product]), each with its
        own dropout mask (implementation 1)."""
        count = self.n_gates
        input_masks = self.get_dropout_mask_for_cell(inputs, training, count=count)
        recurrent_masks = self.get_recurrent_dropout_mask_for_cell(h_prev, training, count=count)
        xs = [inputs if input_masks is None else ops.multiply(inputs, m)
              for m in (input_masks or [None] * count)]
        hs = [h_prev if recurrent_masks is None else ops.multiply(h_prev, m)
              for m in (recurrent_masks or [None] * count)]
        return xs, hs

    def _split_gates(self, weight, axis=-1):
        return [None] * self.n_gates if weight is None else \
            ops.split(weight, self.n_gates, axis=axis)

    def _inputs_after_dropout(self, inputs, h_prev, training):
        """(inputs, state for the recurrent product) with this sequence's dropout masks."""
        input_mask = self.get_dropout_mask_for_cell(inputs, training)
        recurrent_mask = self.get_recurrent_dropout_mask_for_cell(h_prev, training)
        if input_mask is not None:
            inputs = ops.multiply(inputs, input_mask)
        h_rec = h_prev if recurrent_mask is None else ops.multiply(h_prev, recurrent_mask)
        return inputs, h_rec


def first_state(states):
    return states[0] if isinstance(states, (list, tuple)) else states
