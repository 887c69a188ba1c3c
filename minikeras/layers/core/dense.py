"""Dense: the densely-connected layer."""
from ... import activations, constraints, initializers, ops, regularizers
from ...engine.argument_checks import python_int
from ...engine.base_layer import Layer
from ...engine.flops import per_sample_size
from ...engine.input_spec import InputSpec
from ...ops.nn import FUSABLE_ACTIVATIONS


class Dense(Layer):
    """`output = activation(dot(input, kernel) + bias)` over the last axis of the input.

    Example:
    >>> layer = Dense(4, activation="relu")
    >>> layer(np.ones((2, 3), "float32")).shape
    (2, 4)
    """

    _integer_inputs = "cast"    # as tf.keras' kernels

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        # tf.keras int()s units (2.5 -> 2, "3" -> 3) and builds Dense(0) (an empty output);
        # negative sizes are refused.
        self.units = python_int(units, "units", "Dense")
        if self.units < 0:
            raise ValueError("Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        last_dim = input_shape[-1]
        if last_dim is None:
            raise ValueError("The last dimension of the inputs to a Dense layer should be "
                             f"defined. Found None. Full input shape received: {input_shape}")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: last_dim})
        self.kernel = self.add_weight("kernel", shape=(last_dim, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, trainable=True)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", shape=(self.units,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, trainable=True)
        self.built = True

    def call(self, inputs):
        fused = self._fusable_activation()
        if fused is not False:
            return ops.dense(inputs, self.kernel, self.bias, fused)
        outputs = ops.dense(inputs, self.kernel, self.bias)
        # tf.keras skips an activation set to None after construction (keras.io Grad-CAM)
        return outputs if self.activation is None else self.activation(outputs)

    def _fusable_activation(self):
        """The activation's name when ops.dense can apply it in place, else False. Looked up
        at call time: `layer.activation` may have been reassigned since __init__."""
        name = getattr(self.activation, "__name__", None)
        if name in FUSABLE_ACTIVATIONS and activations.get(name) is self.activation:
            return name
        return False

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError("The last dimension of the input shape of a Dense layer should be "
                             f"defined. Found None. Received: input_shape={input_shape}")
        return input_shape[:-1] + (self.units,)

    def count_flops(self, input_shape, output_shape):
        """2 x (input features) x units multiply-adds, per position of the other axes."""
        return 2 * per_sample_size(input_shape) * self.units

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _maybe(regularizers.serialize, self.kernel_regularizer),
            "bias_regularizer": _maybe(regularizers.serialize, self.bias_regularizer),
            "activity_regularizer": _maybe(regularizers.serialize, self.activity_regularizer),
            "kernel_constraint": _maybe(constraints.serialize, self.kernel_constraint),
            "bias_constraint": _maybe(constraints.serialize, self.bias_constraint),
        })
        return config


def _maybe(serialize, value):
    return None if value is None else serialize(value)
