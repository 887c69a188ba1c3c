"""Pieces shared by the lookup, text, hashing and discretization layers.

Strings: minikeras has no string tensor. Keras' `string` values are carried as NumPy object
arrays of Python `str` (`Input(dtype="string")` makes such a placeholder); NumPy `str_`/`bytes_`
arrays and nested lists are accepted and converted (bytes decoded as UTF-8). Layers that
return strings (`StringLookup(invert=True)`) return object arrays of `str`, where TensorFlow
would return `bytes`.
"""
import numpy as np

from ...core.tensor import unwrap

# tf.keras' data adapters batch NumPy arrays given to `adapt()` in batches of 32.
ADAPT_BATCH_SIZE = 32
OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def validate_string_arg(value, allowed, layer_name, arg_name, allow_none=False,
                        allow_callables=False):
    """tf.keras' check of a string-valued argument, in its words."""
    if value is None and allow_none:
        return
    if callable(value) and allow_callables:
        return
    if value not in allowed:
        allowed_args = ("`None`, " if allow_none else "") + \
            ("a `Callable`, " if allow_callables else "")
        raise ValueError(f"The `{arg_name}` argument of layer {layer_name} received an invalid "
                         f"value `{value}`. Allowed values are: {allowed_args}or one of "
                         f"{', '.join(repr(v) for v in allowed)}.")


def _as_str(value):
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8")
    if isinstance(value, str):
        return str(value)
    raise ValueError(f"Expected string inputs, received the value {value!r} of type "
                     f"{type(value).__name__}.")


def string_array(values):
    """`values` (array, Tensor, list, str) as an object array of Python `str`."""
    array = np.asarray(unwrap(values), dtype=object) if not isinstance(values, str) \
        else np.asarray(values, dtype=object)
    if array.dtype.kind != "O":
        array = array.astype(object)
    flat = [_as_str(v) for v in array.reshape(-1)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(array.shape)


def is_string_array(array):
    array = np.asarray(array)
    if array.dtype.kind in "US":
        return True
    return array.dtype.kind == "O" and array.size > 0 and \
        isinstance(array.reshape(-1)[0], (str, bytes, np.str_, np.bytes_))


def integer_array(values, what="inputs"):
    """`values` as an int64 array; floats with a fractional part are refused."""
    array = np.asarray(unwrap(values))
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        return array.astype(np.int64)
    raise ValueError(f"Expected integer {what}, received an array of dtype {array.dtype} "
                     f"and shape {array.shape}.")


def adapt_batches(data, batch_size=None, steps=None):
    """The batches `adapt()` walks, as tf.keras' data adapters make them: arrays, Tensors and
    lists are cut into batches of `batch_size` (default 32); a Sequence, dataset or generator
    is walked batch by batch (at most `steps` batches)."""
    if isinstance(data, str):
        raise ValueError("`adapt()` expects a batch of data, e.g. a list or array of strings; "
                         f"received a single string: {data!r}")
    data = unwrap(data)
    if _is_pandas_table(data):
        # as tf.keras' data adapters: a DataFrame is its array (iterating one walks its column
        # names), a Series a column (n, 1)
        data = data.to_numpy()
        data = data[:, None] if data.ndim == 1 else data
    if isinstance(data, (list, tuple, np.ndarray)):
        array = np.asarray(data, dtype=object) if _holds_strings(data) else np.asarray(data)
        if array.ndim == 0:
            yield array
            return
        count = len(array)
        if not count:
            # tf.keras' data adapter refuses it (an empty vocabulary or zero statistics else)
            raise ValueError("Expected input data to be non-empty.")
        size = batch_size or ADAPT_BATCH_SIZE
        batches = range(0, count, size)
        for number, start in enumerate(batches):
            if steps is not None and number >= steps:
                return
            yield array[start:start + size]
        return
    if batch_size is not None:
        raise ValueError("`batch_size` can only be passed to `adapt()` with array data; the "
                         "dataset or generator given makes its own batches.")
    if not hasattr(data, "__iter__"):
        raise ValueError(f"`adapt()` takes arrays, lists, Sequences or generators of batches; "
                         f"received {type(data).__name__}.")
    for number, batch in enumerate(data):
        if steps is not None and number >= steps:
            return
        if isinstance(batch, tuple):
            raise ValueError("`adapt()` received a batch that is a tuple (inputs, targets): "
                             "adapt on the inputs only (a dataset of features, without labels).")
        yield unwrap(batch)


def _is_pandas_table(data):
    """A pandas DataFrame or Series: tf.keras' data adapters take them as arrays (checked by
    type name so that pandas stays optional)."""
    return any(cls.__module__.split(".")[0] == "pandas" and cls.__name__ in ("DataFrame", "Series")
               for cls in type(data).__mro__)


def _holds_strings(data):
    array = np.asarray(data, dtype=object)
    return array.size > 0 and isinstance(array.reshape(-1)[0], (str, bytes, np.str_, np.bytes_))


def read_vocabulary_file(path):
    """The tokens of a vocabulary file: UTF-8, one per line, lines ended by "\\n" only (a
    token may hold other line-breaking characters); a final newline ends the last line."""
    with open(path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def listify(value):
    """Arrays in a config become lists (JSON-friendly)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value
