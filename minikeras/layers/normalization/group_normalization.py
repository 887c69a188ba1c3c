"""GroupNormalization (Wu & He, 2018): normalise each sample over groups of channels."""
import numpy as np

from ... import constraints, initializers, ops, regularizers
from ...engine.argument_checks import validate_axis
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec


class GroupNormalization(Layer):
    """The channels on `axis` are split into `groups`; each sample is normalised by the mean
    and variance of each group (over the group's channels and all other non-batch axes), then
    scaled by `gamma` and shifted by `beta` (one per channel). `groups=-1` is instance
    normalisation; `groups=1` layer normalisation over all axes.

    Example:
    >>> layer = GroupNormalization(groups=2)
    >>> layer(np.arange(8, dtype="float32").reshape(1, 2, 4)).shape
    (1, 2, 4)
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.groups = groups
        self.axis = axis
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        rank = len(input_shape)
        validate_axis(self.axis, input_shape)
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension "
                             f"but the layer received an input with shape {input_shape}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the number "
                             f"of channels ({dim}).")
        if dim % self.groups != 0:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the number "
                             f"of channels ({dim}).")
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: dim})
        self.gamma = self.add_weight("gamma", shape=(dim,), initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", shape=(dim,), initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.built = True

    def call(self, inputs, mask=None):
        if mask is not None:
            raise NotImplementedError("GroupNormalization with a mask is not supported.")
        shape = tuple(inputs.shape)
        rank = len(shape)
        axis = self.axis % rank
        grouped_shape = shape[:axis] + (self.groups, shape[axis] // self.groups) + shape[axis + 1:]
        grouped = ops.reshape(inputs, grouped_shape)
        # moments over every axis but the batch and the group axis
        reduce_axes = tuple(i for i in range(1, rank + 1) if i != axis)
        mean = ops.mean(grouped, axis=reduce_axes, keepdims=True)
        centered = ops.subtract(grouped, mean)
        variance = ops.mean(ops.square(centered), axis=reduce_axes, keepdims=True)
        dtype = ops.unwrap(grouped).dtype
        inv = ops.power(ops.add(variance, np.asarray(self.epsilon, dtype)), -0.5)
        broadcast = [1] * (rank + 1)
        broadcast[axis], broadcast[axis + 1] = self.groups, shape[axis] // self.groups
        if self.gamma is not None:
            inv = ops.multiply(inv, ops.reshape(self.gamma, broadcast))
        out = ops.multiply(centered, inv)
        if self.beta is not None:
            out = ops.add(out, ops.reshape(self.beta, broadcast))
        return ops.reshape(out, shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        })
        return config
