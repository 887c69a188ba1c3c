"""Turning fit/evaluate/predict inputs (arrays, lists, dicts, generators, Sequences) into batches."""
import math

import numpy as np

from ..backend import config
from ..backend.random import global_rng
from ..backend.tensor import Tensor
from .keras_tensor import flatten, map_structure


def to_numpy(structure):
    """Tensors and lists become arrays; float64 arrays become floatx, as tf.keras' adapter."""
    def convert(x):
        if x is None:
            return None
        if isinstance(x, Tensor):
            x = x.data
        arr = np.asarray(x)
        if arr.dtype == np.float64:
            arr = arr.astype(config.floatx())
        return arr
    if isinstance(structure, (list, tuple)) and structure and \
            all(np.isscalar(v) for v in structure):
        return convert(structure)
    return map_structure(convert, structure)


def num_samples(structure):
    sizes = {int(np.shape(a)[0]) for a in flatten(structure) if a is not None}
    if len(sizes) > 1:
        raise ValueError("Data cardinality is ambiguous: all arrays must contain the same number of "
                         f"samples. Received sizes: {sorted(sizes)}")
    return sizes.pop() if sizes else 0


def take(structure, index):
    return map_structure(lambda a: None if a is None else a[index], structure)


def is_sequence_like(x):
    from ..utils.data_utils import Sequence
    return isinstance(x, Sequence)


def is_generator(x):
    import types
    return isinstance(x, types.GeneratorType) or (hasattr(x, "__next__") and not isinstance(x, np.ndarray))


def unpack(data):
    """`(x,)`, `(x, y)` or `(x, y, sample_weight)` -> a 3-tuple."""
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data
        raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                         f"`(x, y, sample_weight)`, found: {data}")
    return data, None, None


class ArrayBatches:
    """Batches of in-memory arrays, reshuffled every epoch when `shuffle` is set."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.n = num_samples((x, y, sample_weight))
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._steps = steps

    @property
    def steps(self):
        full = math.ceil(self.n / self.batch_size) if self.n else 0
        return full if self._steps is None else min(self._steps, full) if self.n else self._steps

    def epoch(self):
        order = None
        if self.shuffle == "batch":
            order = np.arange(self.n)
            starts = global_rng().permutation(math.ceil(self.n / self.batch_size))
            order = np.concatenate([order[s * self.batch_size:(s + 1) * self.batch_size] for s in starts])
        elif self.shuffle:
            order = global_rng().permutation(self.n)
        for step in range(self.steps):
            lo, hi = step * self.batch_size, min((step + 1) * self.batch_size, self.n)
            index = slice(lo, hi) if order is None else order[lo:hi]
            yield (take(self.x, index), take(self.y, index), take(self.sample_weight, index))


class SequenceBatches:
    """Batches from a `keras.utils.Sequence` (calls `on_epoch_end` after each epoch)."""

    def __init__(self, sequence, steps=None, shuffle=False):
        self.sequence = sequence
        self._steps = steps
        self.shuffle = shuffle

    @property
    def steps(self):
        return len(self.sequence) if self._steps is None else self._steps

    def epoch(self):
        order = list(range(len(self.sequence)))
        if self.shuffle:
            order = list(global_rng().permutation(len(order)))
        for step in range(self.steps):
            yield unpack(_as_tuple(self.sequence[order[step % len(order)]]))
        if hasattr(self.sequence, "on_epoch_end"):
            self.sequence.on_epoch_end()


class GeneratorBatches:
    """Batches from a Python generator: `steps` batches per epoch (all of them if None)."""

    def __init__(self, generator, steps=None):
        self.generator = generator
        self._steps = steps

    @property
    def steps(self):
        return self._steps

    def epoch(self):
        count = 0
        while self._steps is None or count < self._steps:
            try:
                batch = next(self.generator)
            except StopIteration:
                return
            count += 1
            yield unpack(_as_tuple(batch))


def _as_tuple(batch):
    if isinstance(batch, list) and len(batch) in (2, 3) and not isinstance(batch[0], (int, float)):
        return tuple(batch)
    return batch if isinstance(batch, tuple) else (batch,)


def make_batches(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None):
    if is_sequence_like(x):
        if y is not None:
            raise ValueError("`y` argument is not supported when using a keras.utils.Sequence as "
                             "input.")
        return SequenceBatches(x, steps, shuffle)
    if is_generator(x):
        if y is not None:
            raise ValueError("`y` argument is not supported when using python generator as input.")
        return GeneratorBatches(x, steps)
    if isinstance(x, tuple) and y is None and len(x) in (2, 3) and not _all_inputs(x):
        x, y, sample_weight = unpack(x)
    return ArrayBatches(to_numpy(x), to_numpy(y), to_numpy(sample_weight),
                        batch_size or 32, shuffle, steps)


def _all_inputs(x):
    return False


def split_validation(x, y, sample_weight, validation_split):
    """tf.keras takes the *last* `validation_split` fraction, before any shuffling."""
    if not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    n = num_samples((x, y, sample_weight))
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split it "
                         f"into a validation and training set as specified by `validation_split="
                         f"{validation_split}`. Either provide more data, or a different value "
                         "for the `validation_split` argument.")
    train = tuple(take(a, slice(0, split_at)) for a in (x, y, sample_weight))
    val = tuple(take(a, slice(split_at, n)) for a in (x, y, sample_weight))
    return train, val


def class_weights_to_sample_weights(y, class_weight, sample_weight=None):
    """Per-sample weights from `class_weight` (labels: class indices or one-hot)."""
    y = np.asarray(flatten(y)[0])
    if y.ndim > 1 and y.shape[-1] > 1:
        labels = np.argmax(y, axis=-1)
    else:
        labels = y.reshape(y.shape[0], -1)[:, 0] if y.ndim > 1 else y
        labels = np.round(labels).astype(np.int64)
    max_class = max(class_weight)
    table = np.ones(max(max_class, labels.max() if labels.size else 0) + 1, dtype=config.floatx())
    for cls, weight in class_weight.items():
        table[int(cls)] = weight
    weights = table[labels.astype(np.int64)]
    if weights.ndim > 1:
        weights = weights.reshape(weights.shape[0])
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, dtype=config.floatx())
    return weights
