"""AddLoss: what `model.add_loss(symbolic_tensor)` inserts into a functional model."""
from ..core.registry import register_builtins
from .base_layer import Layer


class AddLoss(Layer):
    """Adds its input to the losses of the layer (and so of the model containing it) at each
    call and returns the input unchanged (tf.keras' `base_layer.AddLoss`)."""

    def __init__(self, unconditional, **kwargs):
        kwargs.setdefault("name", None)
        super().__init__(**kwargs)
        self.unconditional = unconditional

    def call(self, inputs):
        self.add_loss(inputs)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["unconditional"] = self.unconditional
        return config


register_builtins("layers", {"AddLoss": AddLoss})   # configs name it among layers
