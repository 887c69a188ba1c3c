"""Bidirectional: one copy of an RNN reads the sequence forwards, another backwards."""
import numpy as np

from ... import ops
from ...core.nest import flatten
from ...engine.base_layer import Layer
from ...engine.keras_tensor import KerasTensor
from .base_wrapper import Wrapper
from .dropout_rnn_cell import prefix_weight_names
from .serialization import deserialize_layer, serialize_layer

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


class Bidirectional(Wrapper):
    """Runs `layer` (an RNN) forwards and a copy with `go_backwards` flipped backwards, reverses
    the backward outputs back into time order and merges the two (`merge_mode` 'concat',
    'sum', 'mul', 'ave', or None for a list). The copies are named `forward_<name>` and
    `backward_<name>`; `backward_layer` supplies the backward one instead.

    Example:
    >>> Bidirectional(keras.layers.LSTM(4))(np.zeros((2, 5, 3), "float32")).shape
    (2, 8)
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a "
                             f"`tf.keras.layers.Layer` instance. Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `tf.keras.layers.Layer` instance. "
                             f"Received: {backward_layer}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be "
                             'one of {"sum", "mul", "ave", "concat", None}')
        Layer.__init__(self, **kwargs)     # not Wrapper's: the template layer stays untracked
        object.__setattr__(self, "layer", layer)
        # a Keras 3 config names the template `forward_...` and its backward layer
        # `backward_...` already
        base_name = layer.name[len("forward_"):] if layer.name.startswith("forward_") else layer.name
        self.forward_layer = _recreate(layer, go_backwards=False, name=f"forward_{base_name}")
        # the given backward layer's config is kept as given: reloading it renames it again
        object.__setattr__(self, "_backward_layer_config",
                           None if backward_layer is None else serialize_layer(backward_layer))
        if backward_layer is None:
            self.backward_layer = _recreate(layer, go_backwards=True, name=f"backward_{base_name}")
        else:
            if not backward_layer.name.startswith("backward_"):
                backward_layer._name = f"backward_{backward_layer.name}"
            self.backward_layer = backward_layer
        self._verify_layer_config()
        for copy in (self.forward_layer, self.backward_layer):
            if hasattr(copy, "zero_output_for_mask"):
                # tf.keras: masked timesteps give zeros when the sequences are returned
                copy.zero_output_for_mask = copy.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = getattr(layer, "stateful", False)
        self.supports_masking = True
        self._initial_weights_value = weights

    def _verify_layer_config(self):
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError("Forward layer and backward layer should have different "
                             "`go_backwards` value. Received: forward_layer.go_backwards "
                             f"{self.forward_layer.go_backwards}, backward_layer.go_backwards="
                             f"{self.backward_layer.go_backwards}")
        for attribute in ("stateful", "return_sequences", "return_state"):
            forward = getattr(self.forward_layer, attribute)
            backward = getattr(self.backward_layer, attribute)
            if forward != backward:
                raise ValueError("Forward layer and backward layer are expected to have the same "
                                 f'value for attribute "{attribute}", got "{forward}" for forward '
                                 f'layer and "{backward}" for backward layer')

    # --- shapes ------------------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        forward = self.forward_layer.compute_output_shape(input_shape)
        backward = self.backward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            states = list(forward[1:]) + list(backward[1:])
            forward, backward = forward[0], backward[0]
        if self.merge_mode == "concat":
            output = tuple(forward[:-1]) + (_add(forward[-1], backward[-1]),)
        elif self.merge_mode is None:
            output = [tuple(forward), tuple(backward)]
        else:
            output = tuple(forward)
        if not self.return_state:
            return output
        return (output if isinstance(output, list) else [output]) + [tuple(s) for s in states]

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        output_mask = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            n_states = len(self.forward_layer.states) * 2
            return output_mask + [None] * n_states
        return output_mask if self.merge_mode is None else output_mask[0]

    # --- building and calling -------------------------------------------------------------------
    def build(self, input_shape):
        for copy in (self.forward_layer, self.backward_layer):
            if not copy.built:
                copy.build(input_shape)
                copy.built = True
                copy._build_input_shape = input_shape
            prefix_weight_names(copy, self.name)
        self.built = True
        if self._initial_weights_value is not None:
            self.set_weights(self._initial_weights_value)
            self._initial_weights_value = None

    def __call__(self, *args, **kwargs):
        if args and isinstance(args[0], (list, tuple)) and kwargs.get("initial_state") is None \
                and len(args[0]) > 1:
            kwargs["initial_state"] = list(args[0][1:])
            args = (args[0][0],) + tuple(args[1:])
        if kwargs.get("initial_state") is None:
            kwargs.pop("initial_state", None)
        elif any(isinstance(s, KerasTensor) for s in flatten(kwargs["initial_state"])):
            # symbolic states are inputs of the node, `layer([x, h, c])`, as tf.keras records
            # (and saves) them
            args = ([args[0]] + flatten(kwargs.pop("initial_state")),) + tuple(args[1:])
            return Layer.__call__(self, *args, **kwargs)
        return super().__call__(*args, **kwargs)

    def call(self, inputs, training=None, mask=None, initial_state=None, constants=None):
        if constants is not None:
            raise NotImplementedError("Bidirectional `constants` are not supported by minikeras.")
        forward_kwargs = {"training": training, "mask": mask}
        backward_kwargs = dict(forward_kwargs)
        if initial_state is not None:
            states = list(initial_state)
            if len(states) % 2:
                raise ValueError("When passing `initial_state` to a Bidirectional RNN, the state "
                                 "should be a list containing the states of the underlying RNNs. "
                                 f"Received: {initial_state}")
            half = len(states) // 2
            forward_kwargs["initial_state"] = states[:half]
            backward_kwargs["initial_state"] = states[half:]
        forward = self.forward_layer(inputs, **forward_kwargs)
        backward = self.backward_layer(inputs, **backward_kwargs)
        states = []
        if self.return_state:
            states = list(forward[1:]) + list(backward[1:])
            forward, backward = forward[0], backward[0]
        if self.return_sequences:
            time_axis = 0 if getattr(self.forward_layer, "time_major", False) else 1
            backward = ops.flip(backward, axis=time_axis)
        output = self._merge(forward, backward)
        if not self.return_state:
            return output
        return (output if isinstance(output, list) else [output]) + states

    def _merge(self, forward, backward):
        if self.merge_mode == "concat":
            return ops.concatenate([forward, backward], axis=-1)
        if self.merge_mode == "sum":
            return ops.add(forward, backward)
        if self.merge_mode == "ave":
            return ops.multiply(ops.add(forward, backward), np.asarray(0.5, forward.dtype))
        if self.merge_mode == "mul":
            return ops.multiply(forward, backward)
        return [forward, backward]

    def reset_states(self, states=None):
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    # --- config -----------------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config["layer"] = serialize_layer(self.layer)
        config["merge_mode"] = self.merge_mode
        if self._backward_layer_config is not None:
            config["backward_layer"] = self._backward_layer_config
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = deserialize_layer(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)


def _recreate(layer, go_backwards, name):
    config = layer.get_config()
    if go_backwards:
        config["go_backwards"] = not config["go_backwards"]
    config["name"] = name
    return type(layer).from_config(config)


def _add(a, b):
    return None if a is None or b is None else a + b
