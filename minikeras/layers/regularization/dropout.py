"""Dropout: randomly zeroes inputs during training."""
import numbers

from ... import ops
from ...core.random import make_rng
from ...engine.argument_checks import integer
from ...engine.base_layer import Layer


class Dropout(Layer):
    """Sets inputs to 0 with probability `rate` in training, scaling the others by
    `1 / (1 - rate)`; the identity at inference.

    `noise_shape` gives the shape of the random mask (`None` entries take the input's size),
    e.g. `(batch, 1, features)` to drop the same features at every timestep.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, numbers.Real):
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value "
                             f"between 0 and 1. Received: rate={rate}")
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value {rate} received for `rate`, expected a value between "
                             "0 and 1.")
        self.rate = rate
        if noise_shape is not None:
            if not isinstance(noise_shape, (list, tuple)):
                raise TypeError("`noise_shape` must be a tuple of integers or None. Received: "
                                f"noise_shape={noise_shape!r}")
            noise_shape = tuple(integer(d, "noise_shape", "Dropout", allow_none=True)
                                for d in noise_shape)
        self.noise_shape = noise_shape
        self.seed = seed
        self.supports_masking = True
        self._rng = make_rng(seed) if seed is not None else None

    def _noise_shape(self, inputs):
        if self.noise_shape is None:
            return None
        shape = tuple(inputs.shape)
        noise = tuple(self.noise_shape)
        resolved = tuple(shape[i] if d is None else d
                         for i, d in enumerate(noise)) if len(noise) == len(shape) else noise
        if len(noise) != len(shape) or any(n not in (1, s) for n, s in zip(resolved, shape)):
            raise ValueError(f"Dropout layer '{self.name}': `noise_shape`={noise} is not "
                             f"compatible with the input shape {shape}: it needs one entry per "
                             "input axis, each None, 1 or the input's size on that axis.")
        return resolved

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            # tf.keras refuses to drop everything (the kept units' scale 1 / (1 - rate)).
            raise ValueError("`rate` must be a scalar tensor or a float in the range [0, 1). "
                             f"Received: rate={self.rate}")
        rng = self._rng if self._rng is not None else make_rng(None)
        return ops.dropout(inputs, self.rate, rng, self._noise_shape(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_flops(self, input_shape, output_shape):
        return 0   # the identity at inference

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config
