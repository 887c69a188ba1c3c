"""Lambda: wraps an arbitrary differentiable expression as a layer."""
import inspect

import numpy as np

from ... import ops
from ...backend.tensor import Tensor
from ...engine.base_layer import Layer


class Lambda(Layer):
    """Wraps `function(inputs, **arguments)` as a layer. The function may use `keras.backend`
    or `keras.ops` functions; gradients flow through it with no hand-written backward.

    `output_shape` (optional: by default the shape is found by running the function on
    placeholder inputs, as tf.keras traces it) is a shape without the batch axis or a function
    of the input shape; `mask` is None, a mask, or a function `(inputs, mask) -> mask`.

    Example:
    >>> Lambda(lambda x: x * 2)(np.ones((2, 3), "float32")).numpy()[0, 0]
    2.0
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

    def get_config(self):
        from ...saving.lambda_serialization import serialize_function
        config = super().get_config()
        config.update(serialize_function(self.function, "function"))
        if callable(self._output_shape):
            config.update(serialize_function(self._output_shape, "output_shape"))
        else:
            raw = self._output_shape
            config.update({"output_shape": list(raw) if isinstance(raw, tuple) else raw,
                           "output_shape_type": "raw", "output_shape_module": None})
        if self.mask is not None:
            if callable(self.mask):
                config.update(serialize_function(self.mask, "mask"))
            else:
                config.update({"mask": np.asarray(ops.data(self.mask)).tolist(),
                               "mask_type": "raw", "mask_module": None})
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        from ...saving.lambda_serialization import deserialize_function
        config = dict(config)
        config["function"] = deserialize_function(config, "function", custom_objects, safe_mode)
        for key in ("output_shape", "mask"):
            if config.get(f"{key}_type") in ("lambda", "function"):
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
        from ...engine.keras_tensor import KerasTensor
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


# --- TFOpLambda: arithmetic and indexing on symbolic tensors ------------------------------------
# The TF symbol (without the `tf.` prefix) tf.keras 2.x records for each operator, and ours.
_TF_SYMBOLS = {
    "__operators__.add": ops.add,
    "math.subtract": ops.subtract,
    "math.multiply": ops.multiply,
    "math.truediv": ops.divide,
    "math.pow": ops.power,
    "math.negative": ops.negative,
    "math.abs": ops.abs,
    "linalg.matmul": ops.matmul,
    "__operators__.getitem": ops.getitem,
}
_OPERATOR_SYMBOLS = {"add": "__operators__.add", "subtract": "math.subtract",
                     "multiply": "math.multiply", "divide": "math.truediv",
                     "power": "math.pow", "negative": "math.negative", "abs": "math.abs",
                     "matmul": "linalg.matmul"}
_UNARY = ("math.negative", "math.abs")
# The name of the op's second parameter, under which configs store the other operand.
_SECOND_OPERAND = {"linalg.matmul": "b"}
_ELLIPSIS = {"class_name": "__ellipsis__"}   # how tf.keras' JSON encoder writes `...`


# Ops given by a TF symbol with the TF op's parameter names (`math.reduce_sum(input_tensor,
# axis, keepdims)`), registered by `symbolic_functions`; called with the recorded arguments.
_GENERIC_SYMBOLS = {}


def register_tf_symbol(symbol, function):
    _TF_SYMBOLS[symbol] = function
    _GENERIC_SYMBOLS[symbol] = function


def _keras_function(symbol):
    """`keras.backend.<name>` / `keras.losses.<name>`: a Keras function recorded whole."""
    from ... import backend, losses
    module_name, _, name = symbol[len("keras."):].partition(".")
    module = {"backend": backend, "losses": losses}.get(module_name)
    function = getattr(module, name, None) if module is not None and name else None
    if not callable(function):
        return None
    return getattr(function, "__wrapped_keras_function__", function)


def _symbol_name(function):
    if isinstance(function, str):
        symbol = function[3:] if function.startswith("tf.") else function
        if symbol not in _TF_SYMBOLS:
            keras_function = _keras_function(symbol) if symbol.startswith("keras.") else None
            if keras_function is None:
                raise ValueError(f"TF symbol `{function}` could not be found.")
            register_tf_symbol(symbol, keras_function)
        return symbol
    for symbol, fn in _TF_SYMBOLS.items():
        if fn is function:
            return symbol
    raise ValueError(f"TFOpLambda supports only the TF symbols {sorted(_TF_SYMBOLS)}; "
                     f"received: {function!r}")


class TFOpLambda(Layer):
    """A TF op applied to symbolic tensors, as tf.keras 2.x records `x * 2` or `x + y` in a
    functional model: the layer keeps only the op's name (`function`, e.g. "math.multiply");
    the operands are the call's arguments (`layer(x, y=2, name=None)`), stored in the model
    config's inbound nodes.

    Example:
    >>> x = keras.Input((4,)); (x * 2).node.layer.name
    'tf.math.multiply'
    """

    def __init__(self, function, **kwargs):
        self.symbol = _symbol_name(function)
        self.function = _TF_SYMBOLS[self.symbol]
        if kwargs.get("name") is None:
            from ...backend.functions import unique_object_name
            kwargs["name"] = unique_object_name("tf." + self.symbol)
        super().__init__(**kwargs)

    def call(self, x, *args, y=None, name=None, b=None, **kwargs):
        # `name` is the TF op name argument: recorded in configs, ignored (as tf.keras does).
        # `b` is matmul's name for the second operand (`tf.linalg.matmul(a, b)`).
        if self.symbol in _GENERIC_SYMBOLS:
            if y is not None:
                kwargs["y"] = y
            if b is not None:
                kwargs["b"] = b
            return self.function(x, *args, **kwargs)
        if self.symbol in _UNARY:
            return self.function(x)
        y = b if self.symbol == "linalg.matmul" else y
        x, y = _as_operand(x, like=y), _as_operand(y, like=x)
        return self.function(x, y)

    def _infer_outputs(self, args, kwargs):
        """Shape and dtype by running the op on zero placeholders twice, with different sizes
        for unknown dimensions (the symbolic operand may be any argument, e.g. `2 - x`)."""
        from ...engine.keras_tensor import KerasTensor, map_structure
        results = []
        for fill in (2, 3):
            def placeholder(t, fill=fill):
                if not isinstance(t, KerasTensor):
                    return t
                return Tensor(np.zeros(tuple(fill if d is None else d for d in t.shape), t.dtype))
            with np.errstate(all="ignore"):
                out = self.call(*map_structure(placeholder, args),
                                **map_structure(placeholder, kwargs))
            results.append(np.asarray(ops.data(out)))
        first, second = results
        shape = tuple(None if a != b else a for a, b in zip(first.shape, second.shape))
        return KerasTensor(shape, dtype=first.dtype)

    def _convert_input(self, x):
        # A constant operand keeps its Python/NumPy type as an op argument would.
        return x

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        config["function"] = self.symbol
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**dict(config))


def _as_operand(value, like):
    """A constant operand (number, list, array) takes the float dtype of the tensor it meets,
    as TF converts it, so `float32 * 2.5` or `[1., 2.] - float32` stays float32."""
    if isinstance(value, Tensor) or not isinstance(like, Tensor):
        return value
    if like.dtype.kind == "f":
        return np.asarray(value, dtype=like.dtype)
    return np.asarray(value)


class SlicingOpLambda(TFOpLambda):
    """`x[...]` on a symbolic tensor (tf.keras' `tf.__operators__.getitem`): the slice spec is
    a call argument, with every `slice` written as `{"start", "stop", "step"}`.

    Example:
    >>> x = keras.Input((4,)); x[:, :2].shape
    (None, 2)
    """

    def call(self, tensor, slice_spec, var=None):
        return self.function(tensor, _spec_to_index(slice_spec))


def _index_to_spec(index):
    """A Python index -> its JSON form (slices as dicts, `...` as tf.keras writes it)."""
    def one(item):
        if isinstance(item, slice):
            return {"start": _plain(item.start), "stop": _plain(item.stop), "step": _plain(item.step)}
        if item is Ellipsis:
            return dict(_ELLIPSIS)
        return _plain(item)
    return [one(i) for i in index] if isinstance(index, tuple) else one(index)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _spec_to_index(spec):
    def one(item):
        if isinstance(item, dict):
            if item.get("class_name") == "__ellipsis__":
                return Ellipsis
            return slice(item["start"], item["stop"], item["step"])
        if isinstance(item, list):
            return np.asarray(item)
        return item
    return tuple(one(i) for i in spec) if isinstance(spec, (list, tuple)) else one(spec)


def symbolic_op(name, tensor, other=None, reverse=False):
    """`tensor <op> other` (or `other <op> tensor` when `reverse`) as tf.keras records it."""
    layer = TFOpLambda(_OPERATOR_SYMBOLS[name])
    if layer.symbol in _UNARY:
        return layer(tensor)
    from ...engine.keras_tensor import KerasTensor
    operand = _SECOND_OPERAND.get(layer.symbol, "y")
    if isinstance(other, KerasTensor) or not reverse:
        first, second = (other, tensor) if reverse else (tensor, other)
        if isinstance(second, np.generic):
            second = second.item()
        return layer(first, **{operand: second, "name": None})
    # tf.Tensor's reflected operators convert the constant to the tensor's dtype first.
    constant = np.asarray(other, dtype=tensor.dtype).tolist()
    return layer(constant, **{operand: tensor, "name": None})


def symbolic_getitem(tensor, index):
    return SlicingOpLambda("__operators__.getitem")(tensor, slice_spec=_index_to_spec(index))
