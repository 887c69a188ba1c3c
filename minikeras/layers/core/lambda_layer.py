"""Lambda: wraps an arbitrary differentiable expression as a layer."""
import inspect

from ... import ops
from ...engine.base_layer import Layer


class Lambda(Layer):
    """Wraps `function(inputs, **arguments)` as a layer. The function may use `keras.backend`
    or `keras.ops` functions; gradients flow through it with no hand-written backward.

    Example:
    >>> Lambda(lambda x: x * 2)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"Lambda expects a callable `function`, received: {function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        self._mask = mask
        self.supports_masking = mask is not None
        params = inspect.signature(function).parameters
        self._fn_accepts_mask = "mask" in params
        self._fn_accepts_training = "training" in params

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_accepts_mask:
            kwargs["mask"] = mask
        if self._fn_accepts_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            raise NotImplementedError
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        shape = tuple(self._output_shape)
        batch = input_shape[0] if isinstance(input_shape, tuple) and input_shape else None
        if isinstance(input_shape, list):
            batch = input_shape[0][0]
        return (batch,) + shape

    def compute_mask(self, inputs, mask=None):
        if callable(self._mask):
            return self._mask(inputs, mask)
        return self._mask

    def get_config(self):
        from ...saving.lambda_serialization import serialize_function
        config = super().get_config()
        config.update(serialize_function(self.function, "function"))
        config["arguments"] = self.arguments
        if self._output_shape is not None:
            if callable(self._output_shape):
                config.update(serialize_function(self._output_shape, "output_shape"))
            else:
                config["output_shape"] = list(self._output_shape)
                config["output_shape_type"] = "raw"
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        from ...saving.lambda_serialization import deserialize_function
        config = dict(config)
        config["function"] = deserialize_function(config, "function", custom_objects, safe_mode)
        if config.get("output_shape_type") == "raw" or not isinstance(config.get("output_shape"), (str, list, tuple)):
            pass
        elif config.get("output_shape_type") in ("lambda", "function"):
            config["output_shape"] = deserialize_function(config, "output_shape", custom_objects, safe_mode)
        for key in ("function_type", "module", "output_shape_type", "output_shape_module"):
            config.pop(key, None)
        return cls(**config)


class TFOpLambda(Lambda):
    """What arithmetic on symbolic tensors (`x * 2`, `x[:, 0]`) becomes in a functional model."""


def symbolic_op(name, tensor, other=None, reverse=False):
    fn = getattr(ops, name)
    if name == "negative":
        layer = TFOpLambda(lambda x: fn(x), name=None)
        return layer(tensor)
    from ...engine.keras_tensor import KerasTensor
    if isinstance(other, KerasTensor):
        layer = TFOpLambda(lambda xs: fn(xs[1], xs[0]) if reverse else fn(xs[0], xs[1]))
        return layer([tensor, other])
    layer = TFOpLambda(lambda x: fn(other, x) if reverse else fn(x, other))
    return layer(tensor)


def symbolic_getitem(tensor, index):
    return TFOpLambda(lambda x: ops.getitem(x, index))(tensor)
