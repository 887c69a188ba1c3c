"""Activation: applies an activation function."""
from ... import activations
from ...engine.base_layer import Layer


class Activation(Layer):
    """Applies `activation` (a name such as `'relu'` or a callable) to its input.

    Example: `Activation("softmax")(logits)`.
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_flops(self, input_shape, output_shape):
        return 0   # elementwise, no multiply-adds

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config
