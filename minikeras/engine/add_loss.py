"""AddLoss and AddMetric: what `model.add_loss(symbolic_tensor)` and
`model.add_metric(symbolic_tensor, name)` insert into a functional model."""
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

    def _losses_of_symbolic_call(self, inputs):
        return [inputs]

    def get_config(self):
        config = super().get_config()
        config["unconditional"] = self.unconditional
        return config


class AddMetric(Layer):
    """What `model.add_metric(symbolic_tensor, name)` inserts into a functional model: updates
    the mean metric `metric_name` with its input at each call, returns the input unchanged."""

    def __init__(self, aggregation=None, metric_name=None, **kwargs):
        super().__init__(**kwargs)
        self.aggregation = aggregation
        self.metric_name = metric_name

    def call(self, inputs):
        self.add_metric(inputs, name=self.metric_name, aggregation=self.aggregation)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"aggregation": self.aggregation, "metric_name": self.metric_name})
        return config


register_builtins("layers", {"AddLoss": AddLoss, "AddMetric": AddMetric})   # named in configs
