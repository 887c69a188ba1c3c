"""Feeding fit/evaluate/predict: arrays, lists/dicts of arrays, generators, `Sequence`s.

The shape of tf.keras' `DataHandler`: an *adapter* per kind of input yields standardized
`(x, y, sample_weight)` batches; `DataHandler` walks epochs and steps over them, applies
`class_weight`, and stops (with tf.keras' warning) when the input runs out of data.

    handler = DataHandler(x, y, batch_size=16, epochs=2)
    for epoch, iterator in handler.enumerate_epochs():
        with handler.catch_stop_iteration():
            for step in handler.steps():
                x_batch, y_batch, sw_batch = unpack(next(iterator))
"""
import contextlib
import itertools
import logging
import math
import random as python_random

import numpy as np

from ..core import config, distribution
from ..core.random import global_rng
from ..core.dtype_errors import InvalidArgumentError
from ..core.tensor import Tensor
from ..core.nest import flatten, map_structure
from .data_utils import Sequence
from .dataset import Dataset

logger = logging.getLogger("minikeras")


# --- structures -----------------------------------------------------------------------------
def to_numpy(structure):
    """Tensors and lists of numbers become arrays; floating arrays become floatx, as tf.keras'
    adapters do (`_process_tensorlike`)."""
    def convert(x):
        if x is None:
            return None
        if isinstance(x, Tensor):
            x = x.data
        arr = _stacked(x)
        if arr.dtype.kind == "f" and arr.dtype != np.dtype(config.floatx()):
            arr = arr.astype(config.floatx())
        return arr
    if _is_list_of_scalars(structure):
        return convert(structure)
    return map_structure(convert, structure)


def _stacked(x):
    """`np.asarray(x)`; a ragged list (rows of different lengths) gets tf.keras' words."""
    try:
        return np.asarray(x)
    except ValueError as error:
        if not isinstance(x, (list, tuple)):
            raise
        raise ValueError(f"Failed to find data adapter that can handle input: {type(x)} whose "
                         f"items have different shapes: a ragged list cannot be stacked into "
                         f"one array ({error})") from None


def _is_list_of_scalars(x):
    if isinstance(x, (float, int, str, bytes, np.number)):
        return True
    if isinstance(x, (list, tuple)) and x:
        return _is_list_of_scalars(x[0])
    return False


def num_samples(structure):
    sizes = {int(np.shape(a)[0]) for a in flatten(structure) if a is not None}
    if len(sizes) > 1:
        raise ValueError(_cardinality_message(structure))
    return sizes.pop() if sizes else 0


def _cardinality_message(data):
    msg = "Data cardinality is ambiguous:\n"
    for label, part in zip(["x", "y", "sample_weight"], data):
        sizes = ", ".join(str(np.shape(a)[0]) for a in flatten(part) if a is not None)
        if sizes:   # tf.keras names only the parts that were given
            msg += f"  {label} sizes: {sizes}\n"
    return msg + "Make sure all arrays contain the same number of samples."


def take(structure, index):
    return map_structure(lambda a: None if a is None else a[index], structure)


def unpack(data):
    """tf.keras' `unpack_x_y_sample_weight`: `x`, `(x,)`, `(x, y)` or `(x, y, sw)` -> 3-tuple."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found: {data}")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The inverse of `unpack`: `x` alone (a tuple `x` is wrapped), `(x, y)` or `(x, y, sw)`."""
    if y is None:
        return (x,) if isinstance(x, tuple) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _as_given(batch):
    """A standardized `(x, y, sample_weight)` batch in the form a custom `train_step` receives
    in tf.keras: `x` alone, `(x, y)` or `(x, y, sample_weight)`, as the data were given."""
    if isinstance(batch, tuple) and len(batch) == 3 and batch[2] is None:
        x, y = batch[0], batch[1]
        if y is None and isinstance(x, (list, tuple)):
            return (x,)   # several inputs: one element, never read as (x, y)
        return pack_x_y_sample_weight(x, y)
    return batch


def is_sequence_like(x):
    return isinstance(x, Sequence)


def is_generator(x):
    """Python generators and iterators (tf.keras: has `__next__` and `__iter__`)."""
    return (hasattr(x, "__next__") or hasattr(x, "next")) and hasattr(x, "__iter__") \
        and not is_sequence_like(x) and not isinstance(x, np.ndarray)


def _standardize_batch(batch):
    """A batch from a generator/Sequence: lists become tuples, float arrays become floatx."""
    x, y, sample_weight = unpack(batch)
    return to_numpy(x), to_numpy(y), to_numpy(sample_weight)


def _layout(value):
    """A standardized batch's structure with each array replaced by its rank: what tf.keras'
    generator dataset fixes from the first batch (structure, ranks; not the sizes)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {key: _layout(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_layout(item) for item in value)
    return np.ndim(value)


def _dtype_structure(value):
    """tf's text for the structure of dtypes a generator's first batch fixed:
    `(tf.float32, tf.int64)`."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {_dtype_structure(item)}"
                               for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_dtype_structure(item) for item in value) + ")"
    return f"tf.{np.asarray(value).dtype.name}"


class _SameLayout:
    """Checks that every batch of a generator or Sequence has the first one's structure and
    ranks, as tf.keras' `from_generator` dataset does (it refuses, mid-epoch, a batch that
    turns `(x, y)` into `(x, y, sample_weight)` or `x` of rank 2 into rank 3, which would
    otherwise train on something else silently)."""

    def __init__(self, first):
        self.layout = _layout(first)
        self.expected = _dtype_structure(_as_given(first))

    def checked(self, batch):
        layout = _layout(batch)
        if layout == self.layout:
            return batch
        if _same_structure(layout, self.layout):
            for array, rank in zip(flatten(batch), flatten(self.layout)):
                if np.ndim(array) != rank:
                    raise TypeError(f"`generator` yielded an element of shape "
                                    f"{tuple(np.shape(array))} where an element of shape "
                                    f"{(None,) * rank} was expected.")
        raise TypeError("`generator` yielded an element that did not match the expected "
                        f"structure. The expected structure was {self.expected}, but the "
                        f"yielded element was {_as_given(batch)}.")


def _same_structure(a, b):
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and \
            all(_same_structure(a[key], b[key]) for key in a)
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and \
            all(_same_structure(x, y) for x, y in zip(a, b))
    return (a is None) == (b is None)


# --- adapters -------------------------------------------------------------------------------
class ArrayAdapter:
    """In-memory arrays: `epochs` passes of batches in one stream, reshuffled every pass.

    As in tf.keras, a partial epoch (`steps_per_epoch` smaller than the data) continues where
    the previous epoch stopped, and `shuffle='batch'` shuffles the order of the batches and the
    samples inside each batch, never across batches.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None, epochs=1,
                 shuffle=False, shard=False):
        self.data = (x, y, sample_weight)
        self.n = num_samples(self.data)
        if not batch_size:
            batch_size = int(math.ceil(self.n / steps)) if steps else 32
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle.lower() if isinstance(shuffle, str) else shuffle
        # In a data-parallel fit every rank takes its share of each global batch.
        self.context = distribution.get_context() if shard else None
        if self.context is not None and self.context.size == 1:
            self.context = None
        ranks = self.context.size if self.context is not None else 1
        global_batch = batch_size * ranks
        self.size = int(math.ceil(self.n / global_batch))
        if ranks > 1 and 0 < self.n % global_batch < ranks:
            self.size -= 1           # a last global batch smaller than the rank count is dropped

    def _pass_indices(self):
        rng = global_rng()
        if self.shuffle and self.shuffle != "batch":
            order = rng.permutation(self.n)
        else:
            order = np.arange(self.n)
        ranks = self.context.size if self.context is not None else 1
        step = self.batch_size * ranks
        chunks = [order[i:i + step] for i in range(0, self.n, step)]
        if self.shuffle == "batch":
            chunks = [rng.permutation(chunks[i]) for i in rng.permutation(len(chunks))]
        if self.context is None:
            return chunks
        if self.shuffle:
            chunks = self.context.broadcast(chunks, 0)   # every rank walks rank 0's order
        return [np.array_split(chunk, ranks)[self.context.rank] for chunk in chunks
                if len(chunk) >= ranks]

    def _batches(self):
        for _ in range(self.epochs):
            for index in self._pass_indices():
                if self.context is not None:
                    distribution.note_local_samples(len(index))
                if self.shuffle:
                    yield tuple(take(part, index) for part in self.data)
                else:   # contiguous slices: views, no copy
                    index = slice(int(index[0]), int(index[-1]) + 1)
                    yield tuple(take(part, index) for part in self.data)

    def iterator(self):
        """A fresh stream of `epochs` passes (each `enumerate_epochs` starts one)."""
        return self._batches()

    def peek_x(self):
        return take(self.data[0], slice(0, self.batch_size))

    def static_batch_size(self):
        """The batch size all batches share (tf.keras' dataset spec: no partial batch), or
        None: what a deferred Sequential built by `fit` shows in its summary."""
        if self.context is None and self.n % self.batch_size == 0:
            return self.batch_size
        return None

    def should_recreate_iterator(self):
        return False

    def on_epoch_end(self):
        pass


class GeneratorAdapter:
    """A Python generator or iterator: one stream for the whole run, never restarted."""

    def __init__(self, generator, y=None, sample_weight=None):
        if not _is_none_or_empty(y):
            raise ValueError("`y` argument is not supported when using python generator as "
                             "input.")
        if not _is_none_or_empty(sample_weight):
            raise ValueError("`sample_weight` argument is not supported when using python "
                             "generator as input.")
        first = next(generator)      # tf.keras peeks one batch to build the model
        self._first = _standardize_batch(first)
        same_layout = _SameLayout(self._first)
        self._stream = (same_layout.checked(_standardize_batch(b))
                        for b in itertools.chain([first], generator))
        self.size = None

    def iterator(self):
        """Always the same stream: a generator cannot be restarted."""
        return self._stream

    def peek_x(self):
        return self._first[0]

    def should_recreate_iterator(self):
        return False

    def on_epoch_end(self):
        pass


class SequenceAdapter:
    """A `keras.utils.Sequence`: every epoch restarts at batch 0 (in a new order when
    `shuffle`), and the Sequence's `on_epoch_end` runs after each epoch."""

    def __init__(self, sequence, y=None, sample_weight=None, shuffle=False, shard=False):
        if not _is_none_or_empty(y):
            raise ValueError("`y` argument is not supported when using `keras.utils.Sequence` "
                             "as input.")
        if not _is_none_or_empty(sample_weight):
            raise ValueError("`sample_weight` argument is not supported when using "
                             "`keras.utils.Sequence` as input.")
        self.sequence = sequence
        self.shuffle = bool(shuffle)
        first = _standardize_batch(sequence[0])
        self._first_x = first[0]
        self._same_layout = _SameLayout(first)
        # In a data-parallel fit, rank r takes batches r, r + size, ... of the common order.
        self.context = distribution.get_context() if shard else None
        if self.context is not None and self.context.size == 1:
            self.context = None
        self.size = self._steps(len(sequence))

    def _steps(self, length):
        return length if self.context is None else length // self.context.size

    def iterator(self):
        """A generator: the order is drawn when the epoch starts reading, as tf.keras' (an
        iterator made and dropped unread draws nothing)."""
        order = list(range(len(self.sequence)))
        if self.shuffle:
            # tf.keras shuffles a Sequence's batches with Python's `random` (random.seed(s)
            # in a kernel gives tf.keras' batch order), never NumPy's generators
            python_random.shuffle(order)
        order = np.asarray(order, np.int64)
        if self.context is None:
            yield from (self._batch(i) for i in order)
            return
        if self.shuffle:
            order = self.context.broadcast(order, 0)
        mine = order[self.context.rank::self.context.size][:self._steps(len(order))]
        yield from (self._noted(self._batch(i)) for i in mine)

    def _batch(self, index):
        return self._same_layout.checked(_standardize_batch(self.sequence[int(index)]))

    @staticmethod
    def _noted(batch):
        distribution.note_local_samples(num_samples(batch[0]))
        return batch

    def peek_x(self):
        return self._first_x

    def should_recreate_iterator(self):
        return True

    def on_epoch_end(self):
        self.sequence.on_epoch_end()


def _is_none_or_empty(value):
    return value is None or not flatten(value)


def _is_array_like(x):
    if isinstance(x, (str, bytes)):
        return False
    if _is_list_of_scalars(x):
        return True
    leaves = flatten(x)
    return bool(leaves) and all(
        isinstance(a, (np.ndarray, Tensor, np.number)) or hasattr(a, "__array__")
        for a in leaves if a is not None)


def _no_adapter(x, y, types=None):
    x_type, y_type = types or (type(x), type(y))
    return ValueError(f"Failed to find data adapter that can handle input: {x_type}, {y_type}")


def _check_arrays(x, y, sample_weight, types):
    """Every array has a sample axis and holds numbers (a rank-0 value or a string array
    cannot be split into batches or fed to a layer)."""
    for name, part in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        for array in flatten(part):
            if array is None:
                continue
            if array.ndim == 0:
                raise _no_adapter(x, y, types) if name != "sample_weight" else ValueError(
                    "Failed to find data adapter that can handle input: `sample_weight` of "
                    f"type {type(sample_weight)} with shape (): it needs one weight per sample.")
            # complex values are taken: tf.keras casts them to the inputs' / outputs' dtype
            # (tf.cast keeps the real part)
            if array.dtype.kind not in "biufc" and not (name == "x" and _holds_strings(array)):
                raise ValueError(f"`{name}` holds values of dtype {array.dtype}: minikeras "
                                 "models take numbers (bool, integer or float arrays) and, "
                                 "for string inputs (`Input(dtype='string')`), strings. "
                                 f"Received {name} of shape {array.shape}.")


def _real_parts(data):
    """Complex arrays as their real parts: what tf.keras' casts to the inputs' and outputs'
    float dtypes leave of them (tf.cast drops the imaginary part silently)."""
    return map_structure(lambda a: np.real(a) if getattr(a, "dtype", None) is not None
                         and a.dtype.kind == "c" else a, data)


def _holds_strings(array):
    """A NumPy str/bytes array, or an object array of Python strings (Keras' string
    tensors: see layers/preprocessing/preprocessing_utils.py)."""
    if array.dtype.kind in "US":
        return True
    return array.dtype.kind == "O" and array.size > 0 and \
        all(isinstance(v, (str, bytes)) for v in array.reshape(-1))


def select_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, epochs=1,
                   shuffle=False, shard=False):
    if is_sequence_like(x):
        # tf.keras ignores `shuffle` for a tf.data.Dataset: it shuffles itself or not at all
        shuffle = shuffle and not isinstance(x, Dataset)
        return SequenceAdapter(x, y, sample_weight, shuffle=shuffle, shard=shard)
    if is_generator(x):
        return GeneratorAdapter(x, y, sample_weight)
    if x is None or not _is_array_like(x) or any(
            part is not None and not _is_array_like(part) for part in (y, sample_weight)):
        raise _no_adapter(x, y)
    given = (type(x), type(y))
    x, y, sample_weight = (to_numpy(a) for a in (x, y, sample_weight))
    _check_arrays(x, y, sample_weight, given)
    x, y, sample_weight = (_real_parts(a) for a in (x, y, sample_weight))
    return ArrayAdapter(x, y, sample_weight, batch_size=batch_size, steps=steps, epochs=epochs,
                        shuffle=shuffle, shard=shard)


def single_batch(x, y=None, sample_weight=None):
    """`train_on_batch` / `test_on_batch` data: arrays checked as `fit` checks them (numbers,
    a sample axis, one sample count), so a mismatch is named before any op runs."""
    given = (type(x), type(y))
    x, y, sample_weight = (to_numpy(a) for a in (x, y, sample_weight))
    if x is None:
        raise _no_adapter(x, y, given)
    _check_arrays(x, y, sample_weight, given)
    x, y, sample_weight = (_real_parts(a) for a in (x, y, sample_weight))
    num_samples((x, y, sample_weight))
    return x, y, sample_weight


# --- the handler ----------------------------------------------------------------------------
class DataHandler:
    """Epochs and steps over any supported input, as tf.keras' `DataHandler`."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps_per_epoch=None,
                 initial_epoch=0, epochs=1, shuffle=False, class_weight=None, max_queue_size=10,
                 workers=1, use_multiprocessing=False, model=None, shard=False):
        if batch_size is not None:
            _check_positive("batch_size", batch_size)
        if steps_per_epoch not in (None, -1) and steps_per_epoch <= 0:
            raise ValueError(f"steps_per_epoch must be positive, None or -1. Received "
                             f"{steps_per_epoch}. See `Model.fit`.")
        self._initial_epoch = _check_non_negative("initial_epoch", initial_epoch)
        self._initial_step = 0
        _check_positive("max_queue_size", max_queue_size)
        _check_positive("workers", workers)
        self._epochs = _check_positive("epochs", epochs)
        # workers / use_multiprocessing only change how batches are produced, not which ones
        # (tf.keras' enqueuers keep the order), so batches are simply produced in-process.
        self._adapter = select_adapter(x, y, sample_weight, batch_size, steps_per_epoch,
                                       max(epochs - initial_epoch, 0), shuffle, shard)
        self._class_weight_fn = make_class_weight_fn(class_weight) if class_weight else None
        self._steps_per_epoch = steps_per_epoch
        self._insufficient_data = False
        self._current_step = 0
        self._inferred_steps = self._infer_steps(steps_per_epoch)
        if self._inferred_steps == 0:
            raise ValueError("Expected input data to be non-empty.")
        compiled_metrics = getattr(model, "compiled_metrics", None)
        if compiled_metrics is not None and not compiled_metrics._built:
            compiled_metrics.label_sizes_known = not isinstance(
                self._adapter, (GeneratorAdapter, SequenceAdapter))
        if model is not None and not model.built:
            static_batch_size = getattr(self._adapter, "static_batch_size", lambda: None)
            model._build_from_sample(self._adapter.peek_x(), batch_size=static_batch_size())

    def _infer_steps(self, steps):
        if steps == -1:
            logger.warning("The training loop will run indefinitely since you have set "
                           "`steps_per_epoch=-1`. Please use batch-level callbacks to save "
                           "checkpoints or log training progress, etc")
            return None
        return steps if steps is not None else self._adapter.size

    @property
    def inferred_steps(self):
        """Steps per epoch; None for a generator until its first epoch ran out."""
        return self._inferred_steps

    @property
    def batch_size(self):
        return getattr(self._adapter, "batch_size", None)

    def _iterator(self):
        batches = self._adapter.iterator()
        if self._class_weight_fn is not None:
            batches = (self._class_weight_fn(batch) for batch in batches)
        return (_as_given(batch) for batch in batches)

    def enumerate_epochs(self):
        """Yields `(epoch, iterator of batches)`; runs the adapter's epoch-end hook after."""
        iterator = self._iterator()
        for epoch in range(self._initial_epoch, self._epochs):
            if self._insufficient_data:
                break
            if self._adapter.should_recreate_iterator():
                iterator = self._iterator()
                if self._steps_per_epoch is None and self._adapter.size is not None:
                    self._inferred_steps = self._adapter.size
            yield epoch, iterator
            self._adapter.on_epoch_end()

    def steps(self):
        """Yields the step indices of the current epoch (the first epoch of a fit resumed by
        BackupAndRestore starts at `_initial_step`)."""
        self._current_step = self._initial_step
        self._initial_step = 0
        while self._inferred_steps is None or self._current_step < self._inferred_steps:
            if self._insufficient_data:
                break
            yield self._current_step
            self._current_step += 1

    @contextlib.contextmanager
    def catch_stop_iteration(self, on_step_without_data=None):
        """Ends the epoch when the input runs out: the first epoch of a generator of unknown
        length sets the steps per epoch; later, running out interrupts training.
        `on_step_without_data()` is called then (fit counts that step, as tf.keras)."""
        try:
            yield
        except StopIteration:
            if on_step_without_data is not None:
                on_step_without_data()
            if self._inferred_steps is None:
                self._inferred_steps = self._current_step
            else:
                self._insufficient_data = True
                total_epochs = self._epochs - self._initial_epoch
                logger.warning(
                    "Your input ran out of data; interrupting training. Make sure that your "
                    "dataset or generator can generate at least `steps_per_epoch * epochs` "
                    f"batches (in this case, {total_epochs * self._inferred_steps} batches). "
                    "You may need to use the repeat() function when building your dataset.")


def _check_integer(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Expected {name} to be an integer. Received {name}={value!r} of type "
                        f"{type(value).__name__}.")


def _check_positive(name, value):
    _check_integer(name, value)
    if value <= 0:
        raise ValueError(f"Expected {name} to be positive. Received is {value}.")
    return value


def _check_non_negative(name, value):
    _check_integer(name, value)
    if value < 0:
        raise ValueError(f"Expected {name} to be non-negative. Received is {value}.")
    return value


# --- validation split and class weights -----------------------------------------------------
def train_validation_split(arrays, validation_split):
    """tf.keras takes the *last* `validation_split` fraction, before any shuffling."""
    unsplittable = [type(t) for t in flatten(arrays)
                    if t is not None and not isinstance(t, (np.ndarray, Tensor))
                    and not _is_pandas_frame_or_series(t)]
    if unsplittable:
        raise ValueError("`validation_split` is only supported for Tensors or NumPy arrays, "
                         f"found following types in the input: {unsplittable}")
    arrays = tuple(to_numpy(a) for a in arrays)
    present = [t for t in flatten(arrays) if t is not None]
    if not present:
        return arrays, arrays
    batch_dim = int(present[0].shape[0])
    split_at = int(math.floor(batch_dim * (1.0 - validation_split)))
    if split_at == 0 or split_at == batch_dim:
        raise ValueError(
            f"Training data contains {batch_dim} samples, which is not sufficient to split it "
            "into a validation and training set as specified by `validation_split="
            f"{validation_split}`. Either provide more data, or a different value for the "
            "`validation_split` argument.")
    train = tuple(take(a, slice(0, split_at)) for a in arrays)
    val = tuple(take(a, slice(split_at, batch_dim)) for a in arrays)
    return train, val


def _is_pandas_frame_or_series(value):
    """tf.keras splits pandas DataFrames and Series too (when pandas is installed); checked by
    type name so that pandas stays optional."""
    return any(cls.__module__.split(".")[0] == "pandas" and cls.__name__ in ("DataFrame", "Series")
               for cls in type(value).__mro__)


def make_class_weight_fn(class_weight):
    """A function turning a batch `(x, y, sw)` into `(x, y, sw * class_weight[class of y])`.

    A list of dicts is Keras 2's per-output form (one dict per model output, in output order;
    tf.keras 2.x raises AttributeError there): each output's weights from its own dict."""
    if isinstance(class_weight, (list, tuple)):
        if not all(cw is None or isinstance(cw, dict) for cw in class_weight):
            # a list of weights (not of per-output dicts): tf.keras 2.21's words
            raise AttributeError(f"'{type(class_weight).__name__}' object has no attribute "
                                 "'keys'")
        return _per_output_class_weight_fn(class_weight)
    class_ids = sorted(class_weight.keys())
    if class_ids != list(range(len(class_ids))):
        raise ValueError("Expected `class_weight` to be a dict with keys from 0 to one less "
                         f"than the number of classes, found {class_weight}")
    table = np.asarray([class_weight[int(c)] for c in class_ids], dtype=config.floatx())

    def apply(batch):
        x, y, sw = unpack(batch)
        if isinstance(y, (list, tuple, dict)):
            raise ValueError("`class_weight` is only supported for Models with a single output.")
        weights = table[class_indices(y, len(table))]
        if sw is not None:
            sw = np.asarray(sw)
            weights = weights.astype(sw.dtype, copy=False)
            sw = sw.reshape(sw.shape + (1,) * (weights.ndim - sw.ndim)) * weights
        else:
            sw = weights
        return x, y, sw
    return apply


def _per_output_class_weight_fn(class_weights):
    """Keras 2's `class_weight=[dict_output_1, dict_output_2, ...]` (None: no weights)."""
    per_output = [make_class_weight_fn(cw) if cw else None for cw in class_weights]

    def apply(batch):
        x, y, sw = unpack(batch)
        ys = list(y) if isinstance(y, (list, tuple)) else [y]
        if len(ys) != len(per_output):
            raise ValueError(f"Provided `class_weight` was a list of {len(per_output)} elements, "
                             f"but the model has {len(ys)} outputs. You should provide one "
                             "`class_weight` dict per model output.")
        sws = list(sw) if isinstance(sw, (list, tuple)) else [sw] * len(ys)
        weighted = [fn((None, yi, swi))[2] if fn else swi
                    for fn, yi, swi in zip(per_output, ys, sws)]
        return x, y, weighted if isinstance(y, (list, tuple)) else weighted[0]
    return apply


def class_indices(y, num_classes):
    """The class of each label: argmax of one-hot rows, else the rounded label."""
    y = np.asarray(y)
    if y.ndim >= 2:
        classes = np.argmax(y, axis=-1) if y.shape[-1] > 1 else np.round(y[..., 0])
    else:
        classes = np.round(y)
    classes = classes.astype(np.int64)
    if classes.size and (classes.min() < 0 or classes.max() >= num_classes):
        # TF's gather of the weights refuses the index inside its graph
        raise InvalidArgumentError(f"`class_weight` has no entry for class "
                                   f"{int(classes.max())}: labels must be in [0, {num_classes}).")
    return classes


def class_weights_to_sample_weights(y, class_weight, sample_weight=None):
    """Per-sample weights of one batch (used by `train_on_batch`)."""
    _, _, sw = make_class_weight_fn(class_weight)((None, y, sample_weight))
    return sw
