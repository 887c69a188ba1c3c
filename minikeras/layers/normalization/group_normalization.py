"""GroupNormalization: normalise each sample over groups of channels (tf.keras 2.11+)."""
import numpy as np

from ... import constraints, initializers, ops, regularizers
from ...core.tensor import as_array
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec


class GroupNormalization(Layer):
    """The channels (`axis`) are split into `groups`; each sample is normalised over each group
    and all the other non-batch axes: `(x - mean) / sqrt(var + epsilon) * gamma + beta`, with
    per-channel `gamma` and `beta` (`groups=-1`: one group per channel, instance norm;
    `groups=1`: layer norm). A mask from the previous layer weights the moments.

    Example:
    >>> layer = GroupNormalization(groups=2)
    >>> layer(np.array([[0., 2., 10., 30.]], "float32")).numpy().round(3)
    array([[-1.,  1., -1.,  1.]], dtype=float32)
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
        rank = len(input_shape)
        if not isinstance(self.axis, int) or not -rank <= self.axis < rank:
            raise ValueError(f"Invalid value for `axis` argument. Expected 0 <= axis < "
                             f"inputs.rank (with inputs.rank={rank}). Received: "
                             f"axis={self.axis}")
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
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the "
                             f"number of channels ({dim}).")
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: dim})
        self.gamma = self.add_weight("gamma", shape=(dim,), initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", shape=(dim,), initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.built = True

    def call(self, inputs, mask=None):
        shape = tuple(inputs.shape)
        axis = self.axis % len(shape)
        grouped_shape = shape[:axis] + (self.groups, shape[axis] // self.groups) + shape[axis + 1:]
        grouped = ops.reshape(inputs, grouped_shape)
        reduce_axes = tuple(a for a in range(1, len(grouped_shape)) if a != axis)
        if mask is None:
            mean = ops.mean(grouped, axis=reduce_axes, keepdims=True)
            variance = ops.mean(ops.square(ops.subtract(grouped, mean)), axis=reduce_axes,
                                keepdims=True)
        else:
            mean, variance = _weighted_moments(grouped, mask, shape, grouped_shape, reduce_axes)
        broadcast = [1] * len(grouped_shape)
        broadcast[axis], broadcast[axis + 1] = self.groups, shape[axis] // self.groups
        # tf.nn.batch_normalization: x * inv + (beta - mean * inv), inv = gamma / sqrt(var + eps)
        inv = ops.divide(1.0, ops.sqrt(ops.add(variance, np.asarray(self.epsilon,
                                                                     variance.dtype))))
        if self.gamma is not None:
            inv = ops.multiply(inv, ops.reshape(self.gamma, broadcast))
        offset = ops.negative(ops.multiply(mean, inv))
        if self.beta is not None:
            offset = ops.add(ops.reshape(self.beta, broadcast), offset)
        return ops.reshape(ops.add(ops.multiply(grouped, inv), offset), shape)

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


def _weighted_moments(grouped, mask, shape, grouped_shape, reduce_axes):
    """tf.nn.weighted_moments with the mask (broadcast to the input) as frequency weights."""
    weights = np.asarray(as_array(mask)).astype(grouped.dtype)
    while weights.ndim < len(shape):
        weights = weights[..., None]
    weights = np.broadcast_to(weights, shape).reshape(grouped_shape)
    total = weights.sum(axis=reduce_axes, keepdims=True)
    mean = ops.divide(ops.sum(ops.multiply(grouped, weights), axis=reduce_axes, keepdims=True),
                      total)
    deviation = ops.square(ops.subtract(grouped, mean))
    variance = ops.divide(ops.sum(ops.multiply(deviation, weights), axis=reduce_axes,
                                  keepdims=True), total)
    return mean, variance
