"""LayerNormalization: normalise each sample over its feature axes."""
from ... import constraints, initializers, regularizers
from ...engine.argument_checks import validate_axis
from ...engine.base_layer import Layer
from ...ops.layer_norm import layer_norm


class LayerNormalization(Layer):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta`, the moments taken over `axis` of each
    sample (not over the batch); `gamma` and `beta` span the normalised axes.

    Example:
    >>> layer = LayerNormalization(axis=1)
    >>> layer(np.array([[0., 10.], [20., 30.]], "float32")).numpy().round(3)
    array([[-1.,  1.],
           [-1.,  1.]], dtype=float32)
    """
    # under mixed_float16: float32 weights and arithmetic, float16 output (as tf.keras)
    _computes_in_variable_dtype = True

    _integer_inputs = "cast"    # as tf.keras' kernels

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis:
                raise ValueError("Invalid value for `axis` argument: expected an int or a "
                                 "non-empty list of ints (the axes to normalize). Received: "
                                 f"axis={axis!r}")
            self.axis = list(axis)
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError("Expected an int or a list/tuple of ints for the argument 'axis', "
                            f"but received: {axis!r}")
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self.axis = validate_axis(self.axis, input_shape)
        param_shape = [input_shape[dim] for dim in self.axis]
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight("gamma", shape=param_shape,
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, trainable=True)
        if self.center:
            self.beta = self.add_weight("beta", shape=param_shape,
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, trainable=True)
        self.built = True

    def call(self, inputs):
        ndim = inputs.ndim
        # tf.keras *reshapes* (not transposes) gamma/beta to the broadcast shape, so an axis
        # list given out of order pairs the weights with the axes in sorted order.
        broadcast_shape = [1] * ndim
        for dim in self.axis:
            broadcast_shape[dim] = inputs.shape[dim]
        return layer_norm(inputs, self.gamma, self.beta, sorted(self.axis), self.epsilon,
                          tuple(broadcast_shape))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        })
        return config
