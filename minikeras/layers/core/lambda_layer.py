"""Lambda: wraps an arbitrary differentiable expression as a layer."""
import inspect

import numpy as np

from ... import ops
from ...engine.base_layer import Layer
from .lambda_serialization import serialize_function, deserialize_function
from ...engine.keras_tensor import KerasTensor


class Lambda(Layer):
    """Wraps `function(inputs, **arguments)` as a layer. The function may use `keras.backend`
    or `keras.ops` functions; gradients flow through it with no hand-written backward.

    `output_shape` (optional: by default the shape is found by running the function on
    placeholder inputs, as tf.keras traces it) is a shape without the batch axis or a function
    of the input shape; `mask` is None, a mask, or a function `(inputs, mask) -> mask`.

    Example:
    >>> Lambda(lambda x: x * 2)(np.ones((2, 3), "float32")).numpy()[0]
    array([2., 2., 2.], dtype=float32)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"Lambda expects a callable `function`, received: {function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        self.mask = mask
        self.supports_masking = mask is not None
        params = _parameters(function)
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
            return _shapes_of(self._traced_outputs(input_shape))
        if callable(self._output_shape):
            return _as_shapes(self._output_shape(input_shape))
        # A fixed shape without the batch axis: the batch size is the (first) input's.
        first = input_shape
        while isinstance(first, (list, tuple)) and first and isinstance(first[0], (list, tuple)):
            first = first[0]
        batch = first[0] if first else None
        return _add_batch(_as_shapes(self._output_shape), batch)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self, functions_by_name=False):
        """tf.keras 2's config: every Python function as bytecode (`function_type: "lambda"`);
        `functions_by_name=True` keeps named functions by name (Keras 3's `.keras` form)."""
        config = super().get_config()
        config.update(serialize_function(self.function, "function", functions_by_name))
        if callable(self._output_shape):
            config.update(serialize_function(self._output_shape, "output_shape",
                                             functions_by_name))
        else:
            raw = self._output_shape
            config.update({"output_shape": list(raw) if isinstance(raw, tuple) else raw,
                           "output_shape_type": "raw", "output_shape_module": None})
        if self.mask is not None:
            if callable(self.mask):
                config.update(serialize_function(self.mask, "mask", functions_by_name))
            else:
                config.update({"mask": np.asarray(ops.unwrap(self.mask)).tolist(),
                               "mask_type": "raw", "mask_module": None})
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        config = dict(config)
        config["function"] = deserialize_function(config, "function", custom_objects, safe_mode)
        for key in ("output_shape", "mask"):
            if config.get(f"{key}_type") in ("lambda", "function") or \
                    isinstance(config.get(key), dict):      # Keras 3 stores callables as dicts
                config[key] = deserialize_function(config, key, custom_objects, safe_mode)
        arguments = dict(config.get("arguments") or {})
        for name, value in arguments.items():
            # NumPy arguments were stored as {"type": "ndarray", "value": [...]} by tf.keras.
            if isinstance(value, dict) and value.get("type") == "ndarray":
                arguments[name] = np.array(value["value"])
        config["arguments"] = arguments
        for key in ("function_type", "module", "output_shape_type", "output_shape_module",
                    "mask_type", "mask_module"):
            config.pop(key, None)
        return cls(**config)

    # --- symbolic calls ---------------------------------------------------------------------
    def _infer_outputs(self, args, kwargs):
        """tf.keras finds a Lambda's symbolic output by tracing the function (its dtype and
        shape), not from `output_shape`; that is used only when the function cannot run on
        placeholders."""
        try:
            with np.errstate(all="ignore"):
                return self._infer_by_running(args, kwargs)
        except Exception:
            if self._output_shape is None:
                raise
            return super()._infer_outputs(args, kwargs)

    def _traced_outputs(self, input_shape):
        """Output placeholders of the function run on zero inputs of `input_shape`."""
        placeholders = _map_shapes(lambda shape: KerasTensor(shape, dtype=self.dtype), input_shape)
        try:
            with np.errstate(all="ignore"):
                return self._infer_by_running((placeholders,), {})
        except NotImplementedError:
            raise NotImplementedError("We could not automatically infer the shape of the Lambda's "
                                      "output. Please specify `output_shape` for this Lambda.") from None


def _parameters(function):
    try:
        return inspect.signature(function).parameters
    except (TypeError, ValueError):   # some builtins have no signature
        return {}


def _is_shape(value):
    return isinstance(value, (list, tuple)) and all(d is None or isinstance(d, (int, np.integer))
                                                     for d in value)


def _map_shapes(fn, shapes):
    """Apply `fn` to every shape in a (nested) list of shapes."""
    if _is_shape(shapes):
        return fn(tuple(None if d is None else int(d) for d in shapes))
    return [_map_shapes(fn, s) for s in shapes]


def _as_shapes(shapes):
    return _map_shapes(lambda s: s, shapes)


def _add_batch(shapes, batch):
    return _map_shapes(lambda s: (batch,) + s, shapes)


def _shapes_of(outputs):
    """Shapes of a (nested) structure of KerasTensors."""
    if isinstance(outputs, (list, tuple)):
        return [_shapes_of(o) for o in outputs]
    return tuple(outputs.shape)
