"""TFOpLambda and SlicingOpLambda: arithmetic and indexing on KerasTensors recorded as layers,
as tf.keras 2.x does (`x * 2` in a functional model is a `tf.math.multiply` layer).

This module gives `KerasTensor` its operators (installed at the bottom), so it is imported
with the engine package.
"""
import inspect

import numpy as np

from .. import ops
from ..core.registry import register_builtins
from ..core.session import unique_object_name
from ..core.tensor import Tensor, Variable
from .base_layer import Layer
from ..core import dispatch, dtype_errors
from ..core.nest import flatten, map_structure, pack_sequence_as
from .keras_tensor import KerasTensor


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
    "math.equal": ops.equal,            # Keras 3 writes these (e.g. an Embedding's mask) as
    "math.not_equal": ops.not_equal,    # operation layers: read back as TFOpLambdas
    "math.logical_or": lambda a, b: Tensor(np.logical_or(ops.unwrap(a), ops.unwrap(b))),
    "math.logical_and": lambda a, b: Tensor(np.logical_and(ops.unwrap(a), ops.unwrap(b))),
}
_OPERATOR_SYMBOLS = {"add": "__operators__.add", "subtract": "math.subtract",
                     "multiply": "math.multiply", "divide": "math.truediv",
                     "power": "math.pow", "negative": "math.negative", "abs": "math.abs",
                     "matmul": "linalg.matmul"}
_UNARY = ("math.negative", "math.abs")
# TF's op behind each binary operator symbol and its two parameter names (in dtype errors).
_TF_BINARY_OPS = {"__operators__.add": ("AddV2", "x", "y"), "math.subtract": ("Sub", "x", "y"),
                  "math.multiply": ("Mul", "x", "y"), "math.pow": ("Pow", "x", "y"),
                  "linalg.matmul": ("MatMul", "a", "b"), "math.truediv": ("RealDiv", "x", "y")}
# The name of the op's second parameter, under which configs store the other operand.
_SECOND_OPERAND = {"linalg.matmul": "b"}
_ELLIPSIS = {"class_name": "__ellipsis__"}   # how tf.keras' JSON encoder writes `...`


# Ops given by a TF symbol with the TF op's parameter names (`math.reduce_sum(input_tensor,
# axis, keepdims)`), registered by `backend.symbolic_functions`; called with the recorded
# arguments.
_GENERIC_SYMBOLS = {}
# Functions that find an op for a symbol not registered yet (`keras.backend.<name>` is
# resolved by the backend package, which sits above this floor).
_SYMBOL_RESOLVERS = []


def register_tf_symbol(symbol, function):
    _TF_SYMBOLS[symbol] = function
    _GENERIC_SYMBOLS[symbol] = function


def register_symbol_resolver(resolver):
    """`resolver(symbol)` returns the function for `symbol`, or None."""
    _SYMBOL_RESOLVERS.append(resolver)


def _resolve(symbol):
    for resolver in _SYMBOL_RESOLVERS:
        function = resolver(symbol)
        if function is not None:
            register_tf_symbol(symbol, function)
            return True
    return False


def _symbol_name(function):
    if isinstance(function, str):
        symbol = function[3:] if function.startswith("tf.") else function
        if symbol not in _TF_SYMBOLS and not _resolve(symbol):
            raise ValueError(f"TF symbol `{function}` could not be found.")
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
        if isinstance(x, Tensor) and isinstance(y, Tensor) and x.dtype != y.dtype and \
                not self._promotes_dtypes:
            self._refuse_mixed_dtypes(x.dtype, y.dtype)
        x, y = _as_operand(x, like=y), _as_operand(y, like=x)
        return self.function(x, y)

    def _refuse_mixed_dtypes(self, x_dtype, y_dtype):
        """TF's graph-mode TypeError for two operands of different dtypes (it never promotes)."""
        op_name, first, second = _TF_BINARY_OPS[self.symbol]
        detail = dtype_errors.graph_mismatch_detail(op_name, [x_dtype, y_dtype], first, second)
        raise TypeError(f'Exception encountered when calling layer "{self.name}" (type '
                        f'{type(self).__name__}).\n\n{detail}')

    def _infer_outputs(self, args, kwargs):
        """Shape and dtype by running the op on zero placeholders twice, with different sizes
        for unknown dimensions (the symbolic operand may be any argument, e.g. `2 - x`; the
        result may be a structure: `split`, `top_k`). A shape tensor's placeholder holds its
        inferred values, the same size where unknown, so `K.reshape(x, (K.shape(x)[0], 12))`
        and `K.random_normal((K.shape(x)[0], 2))` get their static shapes."""
        static = _static_reshape(self.symbol, args, kwargs)
        if static is None and self.symbol == "keras.backend.batch_flatten":
            static = _static_batch_flatten(args[0])
        if static is None and self.symbol == "keras.backend.ctc_batch_cost":
            # one loss per sample; zero placeholders would be sequences of length 0
            static = KerasTensor((args[0].shape[0] if args else None, 1))
        if static is not None:
            return static
        results = []
        for fill in (2, 3):
            def placeholder(t, fill=fill):
                if not isinstance(t, KerasTensor):
                    return t
                if t.inferred_value is not None:
                    values = [fill if v is None else v for v in t.inferred_value]
                    return Tensor(np.asarray(values, t.dtype).reshape(t.shape))
                return Tensor(np.zeros(tuple(fill if d is None else d for d in t.shape), t.dtype))
            with np.errstate(all="ignore"):
                results.append(self.call(*map_structure(placeholder, args),
                                         **map_structure(placeholder, kwargs)))
        infers_values = self.symbol in _SHAPE_SYMBOLS or _all_inferred(args, kwargs)

        def merge(first, second):
            first, second = np.asarray(ops.unwrap(first)), np.asarray(ops.unwrap(second))
            shape = tuple(None if a != b else a for a, b in zip(first.shape, second.shape))
            output = KerasTensor(shape, dtype=first.dtype)
            if infers_values and first.dtype == np.int32 and first.ndim <= 1 and \
                    first.shape == second.shape:
                output.inferred_value = [int(a) if a == b else None
                                         for a, b in zip(first.ravel(), second.ravel())]
            return output
        merged = [merge(a, b) for a, b in zip(flatten(results[0]), flatten(results[1]))]
        return pack_sequence_as(results[0], merged)

    def _convert_input(self, x):
        # A constant operand keeps its Python/NumPy type as an op argument would.
        return x

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        config["function"] = self.symbol
        if self._promotes_dtypes:   # a Keras 3 operation: reloads as one (ours only)
            config["_keras3_promotes_dtypes"] = True
        return config

    # A Keras 3 operation read from a file (saving/keras3_config.py) promotes operands of two
    # dtypes, as `keras.ops` does; a tf.keras operator refuses them.
    _promotes_dtypes = False

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        promotes = config.pop("_keras3_promotes_dtypes", False)
        layer = cls(**config)
        layer._promotes_dtypes = promotes
        return layer


# Ops whose int32 output is the shape of their input: its known dimensions are known values.
_SHAPE_SYMBOLS = ("compat.v1.shape", "shape")


def _all_inferred(args, kwargs):
    """Whether the op computes from shape tensors only (tf.keras infers its values then)."""
    symbolic = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
    return bool(symbolic) and all(t.inferred_value is not None for t in symbolic)


def _static_reshape(symbol, args, kwargs):
    """TF's static shape of `tf.reshape(tensor, shape)` when `shape` holds shape tensors:
    their inferred values, and -1 only where the input's size is known (a placeholder run
    cannot see that two unknown sizes are one, as K.dot's reshapes need)."""
    if symbol != "reshape":
        return None
    tensor = args[0] if args else kwargs.get("tensor")
    shape = args[1] if len(args) > 1 else kwargs.get("shape")
    if not isinstance(tensor, KerasTensor) or not any(
            isinstance(d, KerasTensor) for d in flatten(shape)):
        return None
    if isinstance(shape, KerasTensor):
        if shape.inferred_value is None:
            return None
        dims = list(shape.inferred_value)
    else:
        dims = []
        for d in shape:
            if isinstance(d, KerasTensor):
                if d.inferred_value is None or d.ndim != 0:
                    return None
                d = d.inferred_value[0]
            dims.append(None if d is None else int(d))
    if -1 in dims:
        known = [d for d in dims if d != -1]
        size = np.prod(tensor.shape) if None not in tensor.shape else None
        product = np.prod(known) if None not in known else None
        dims[dims.index(-1)] = int(size // product) if size is not None and product else None
    return KerasTensor(dims, dtype=tensor.dtype)


def _static_batch_flatten(x):
    """tf.keras' K.batch_flatten is a reshape to `stack([-1, prod(shape(x)[1:])])`: TF folds
    that product only for a fully known shape; otherwise both dimensions are unknown."""
    if not isinstance(x, KerasTensor):
        return None
    if None in x.shape:
        return KerasTensor((None, None), dtype=x.dtype)
    return KerasTensor((x.shape[0], int(np.prod(x.shape[1:]))), dtype=x.dtype)


def _as_operand(value, like):
    """A constant operand (number, list, array) takes the float dtype of the tensor it meets,
    as TF converts it, so `float32 * 2.5` or `[1., 2.] - float32` stays float32."""
    if isinstance(value, Tensor) or not isinstance(like, Tensor):
        return value
    if like.dtype.kind == "f":
        return np.asarray(value, dtype=like.dtype)
    if like.dtype.kind in "iu" and isinstance(value, int) and not isinstance(value, bool):
        return np.asarray(value, dtype=like.dtype)    # TF converts a Python int to int32
    return np.asarray(value)


class SlicingOpLambda(TFOpLambda):
    """`x[...]` on a symbolic tensor (tf.keras' `tf.__operators__.getitem`): the slice spec is
    a call argument, with every `slice` written as `{"start", "stop", "step"}`.

    Example:
    >>> x = keras.Input((4,)); x[:, :2].shape
    TensorShape([None, 2])
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


# --- KerasOpLambda: Keras 3 `keras.ops` functions on symbolic tensors ----------------------------
# Keras 3 operation classes whose name is not the CamelCase of the function's.
_OPERATION_CLASS_NAMES = {"fft": "FFT", "fft2": "FFT2", "ifft2": "IFFT2", "rfft": "RFFT",
                          "irfft": "IRFFT", "stft": "STFT", "istft": "ISTFT",
                          "ctc_loss": "CTCLoss", "ctc_decode": "CTCDecode"}


def operation_class_name(function_name):
    """Keras 3's operation class for a `keras.ops` function: `expand_dims` -> `ExpandDims`."""
    return _OPERATION_CLASS_NAMES.get(function_name) or \
        "".join(part[:1].upper() + part[1:] for part in function_name.split("_"))


def _keras_op(name):
    """The `keras.ops` function of a (possibly qualified: "image.resize") name, unwrapped."""
    function = ops
    for part in name.split("."):
        function = getattr(function, part, None) if not part.startswith("_") else None
    if not callable(function) or isinstance(function, type):
        raise ValueError(f"Unknown `keras.ops` function: {name!r}")
    return getattr(function, "__wrapped_keras_function__", function)


class KerasOpLambda(TFOpLambda):
    """A Keras 3 `keras.ops` function applied to symbolic tensors: `keras.ops.exp(x)` on a
    `keras.Input` records this layer, as Keras 3 records an operation node. Named like Keras
    3's node (`exp`, `expand_dims_1`); `summary()` shows Keras 3's operation class (`Exp`).
    The first argument is the layer's input, the others are call keywords (stored in the
    model config's inbound nodes, as TFOpLambda's are).

    Example:
    >>> x = keras.Input((4,)); y = keras.ops.mean(keras.ops.exp(x), axis=-1)
    >>> (y.node.layer.name, y.node.layer.summary_class_name, y.shape)
    ('mean', 'Mean', TensorShape([None]))
    """

    def __init__(self, function, **kwargs):
        self.symbol = function
        self.function = _keras_op(function)
        short_name = function.rpartition(".")[2]     # "image.resize" -> "resize"
        self.summary_class_name = operation_class_name(short_name)
        if kwargs.get("name") is None:
            kwargs["name"] = unique_object_name(short_name)
        Layer.__init__(self, **kwargs)

    def call(self, first, **kwargs):
        """`function(first, **kwargs)`; a `*args` parameter travels as a keyword holding a
        list (`einsum`'s operands) or, when it is the first parameter, as `first` itself
        (`meshgrid`'s arrays)."""
        args = [first]
        for name, parameter in _parameters(self.function).items():
            if parameter.kind is not inspect.Parameter.VAR_POSITIONAL:
                continue
            if name == next(iter(_parameters(self.function))):
                args = list(first)
            elif name in kwargs:
                args += list(kwargs.pop(name))
        return self.function(*args, **kwargs)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype,
                "function": self.symbol}


def _parameters(function):
    return inspect.signature(function).parameters


def keras_op_arguments(function, args, kwargs):
    """`(first, keywords)` of a `keras.ops` call: the first argument is the layer's input,
    the others keywords by parameter name (so the model config can store them, as
    TFOpLambda's are); a `*args` parameter's values become a list."""
    arguments = dict(inspect.signature(function).bind(*args, **kwargs).arguments)
    for key, parameter in _parameters(function).items():
        if key not in arguments:
            continue
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(key))
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            arguments[key] = list(arguments[key])
    first = arguments.pop(next(iter(arguments)))
    return first, arguments


def keras3_operation_arguments(function_name, args, kwargs, operation_config):
    """A Keras 3 operation node (`args`, `kwargs`, the operation's own config: `Mean`'s
    `axis`, `Einsum`'s `subscripts`) -> `(first, keywords)` of the KerasOpLambda call. The
    config's values fill their parameters; the positional arguments the remaining ones."""
    function = _keras_op(function_name)
    given = {**operation_config, **kwargs}
    positional = list(args)
    arguments = {}
    for key, parameter in _parameters(function).items():
        if key in given:
            arguments[key] = given.pop(key)
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            arguments[key], positional = positional, []
        elif positional and parameter.kind is not inspect.Parameter.VAR_KEYWORD:
            arguments[key] = positional.pop(0)
    has_var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD
                          for p in _parameters(function).values())
    if positional or (given and not has_var_keyword):
        raise ValueError(f"Cannot read the Keras 3 operation {operation_class_name(function_name)}"
                         f": `keras.ops.{function_name}` takes no arguments "
                         f"{sorted(given) or positional}.")
    arguments.update(given)
    first = arguments.pop(next(iter(arguments)))
    return first, arguments


def keras_op_for_operation(class_name):
    """The `keras.ops` function name of a Keras 3 operation class (`ExpandDims` ->
    `expand_dims`), None when there is none."""
    if not _FUNCTION_OF_OPERATION:
        for prefix, namespace in (("", ops), ("image.", ops.image), ("linalg.", ops.linalg)):
            for name in dir(namespace):
                value = getattr(namespace, name)
                if not name.startswith("_") and callable(value) and not isinstance(value, type):
                    _FUNCTION_OF_OPERATION.setdefault(operation_class_name(name), prefix + name)
    return _FUNCTION_OF_OPERATION.get(class_name)


_FUNCTION_OF_OPERATION = {}


def record_keras_op(module, name, function, args, kwargs):
    """The dispatch handler of `keras.ops`: one KerasOpLambda call."""
    first, keywords = keras_op_arguments(function, args, kwargs)
    return KerasOpLambda(name)(first, **keywords)


def symbolic_op(name, tensor, other=None, reverse=False):
    """`tensor <op> other` (or `other <op> tensor` when `reverse`) as tf.keras records it."""
    layer = TFOpLambda(_OPERATOR_SYMBOLS[name])
    if layer.symbol in _UNARY:
        return layer(tensor)
    operand = _SECOND_OPERAND.get(layer.symbol, "y")
    if isinstance(other, KerasTensor) or not reverse:
        first, second = (other, tensor) if reverse else (tensor, other)
        if isinstance(second, np.generic):
            second = second.item()
        return layer(first, **{operand: second, "name": None})
    if isinstance(other, Variable):
        # `variable + symbolic`: the variable is read when the graph runs (a Keras 2 graph's
        # accumulators, e.g. `K.function(updates=[(v, v + x)])`), not frozen at construction
        return layer(other, **{operand: tensor, "name": None})
    # tf.Tensor's reflected operators convert the constant to the tensor's dtype first.
    constant = np.asarray(other, dtype=tensor.dtype).tolist()
    return layer(constant, **{operand: tensor, "name": None})


def symbolic_getitem(tensor, index):
    return SlicingOpLambda("__operators__.getitem")(tensor, slice_spec=_index_to_spec(index))


def _operator(self, name, other=None, reverse=False):
    return symbolic_op(name, self, other, reverse)


KerasTensor._op = _operator
KerasTensor.__getitem__ = symbolic_getitem
dispatch.set_symbolic_handler(record_keras_op, module="ops")
register_builtins("layers", {"TFOpLambda": TFOpLambda, "SlicingOpLambda": SlicingOpLambda,
                             "KerasOpLambda": KerasOpLambda})
