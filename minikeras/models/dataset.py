"""`Dataset`: the part of `tf.data.Dataset` Keras scripts use, over a `Sequence` of batches."""
import numpy as np

from .data_utils import Sequence


class Dataset(Sequence):
    """A `Sequence` standing in for a `tf.data.Dataset` (what `keras.utils.*_dataset_from_*`
    return): it has the methods Keras scripts chain (`map`, `take`, `skip`, `shuffle`,
    `cache`, `prefetch`, `cardinality`), iterating yields arrays that also answer `.numpy()`
    as eager tensors do, and `fit` keeps its element order (`shuffle=` applies to arrays and
    plain Sequences, as in tf.keras). Each element is one batch (or one sample)."""

    element_batch_size = None    # samples per element when the elements are batches

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """Each element through `map_func` (a tuple element is passed as separate arguments)."""
        def mapped(index):
            element = self[index]
            result = map_func(*element) if isinstance(element, tuple) else map_func(element)
            return as_arrays(result)
        return DerivedDataset(len(self), mapped, parent=self)

    def take(self, count, name=None):
        """The first `count` elements (all of them when `count` is -1)."""
        count = len(self) if count == -1 else min(int(count), len(self))
        return DerivedDataset(count, self.__getitem__, parent=self)

    def skip(self, count, name=None):
        """All but the first `count` elements (none when `count` is -1)."""
        count = len(self) if count == -1 else min(int(count), len(self))
        return DerivedDataset(len(self) - count, lambda index: self[index + count], parent=self)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None, name=None):
        """The elements in a random order, a new one every pass unless
        `reshuffle_each_iteration=False` (the whole dataset is the buffer)."""
        rng = np.random.RandomState(seed)
        order = rng.permutation(len(self))
        reshuffle = reshuffle_each_iteration is None or reshuffle_each_iteration
        derived = DerivedDataset(len(self), lambda index: self[int(order[index])], parent=self)

        def next_order():
            if reshuffle:
                order[:] = rng.permutation(len(self))
        derived.after_pass = next_order
        return derived

    def cache(self, filename="", name=None):
        """The same elements, each computed once and kept in memory."""
        if filename:
            raise NotImplementedError("`cache(filename=...)` is not supported by minikeras; "
                                      "call `cache()` to keep the elements in memory.")
        kept = {}

        def cached(index):
            if index not in kept:
                kept[index] = self[index]
            return kept[index]
        return DerivedDataset(len(self), cached, parent=self)

    def prefetch(self, buffer_size, name=None):
        """The same elements (they are made when asked for; nothing runs ahead)."""
        return self

    def cardinality(self):
        """The number of elements, as an int64 scalar."""
        return np.int64(len(self))

    def as_numpy_iterator(self):
        """The elements as NumPy arrays."""
        for index in range(len(self)):
            yield self[index]

    def __iter__(self):
        for index in range(len(self)):
            yield eager_arrays(self[index])
        self.on_epoch_end()


class DerivedDataset(Dataset):
    """`count` elements, element i made by `element(i)`; the end of a pass is passed on to the
    dataset it was made from (so a shuffled source reshuffles)."""

    def __init__(self, count, element, parent=None):
        self._count = count
        self._element = element
        self._parent = parent
        self.after_pass = None
        self.element_batch_size = getattr(parent, "element_batch_size", None)

    def __len__(self):
        return self._count

    def __getitem__(self, index):
        if index >= self._count or index < -self._count:
            raise IndexError(f"Element {index} is out of range: the dataset has {self._count}.")
        return self._element(index % self._count)

    def on_epoch_end(self):
        if self.after_pass is not None:
            self.after_pass()
        if self._parent is not None:
            self._parent.on_epoch_end()


class EagerArray(np.ndarray):
    """A NumPy array that also answers `.numpy()`, like the eager tensors a tf.data loop
    yields (`images[0].numpy().astype("uint8")`)."""

    def numpy(self):
        return self.view(np.ndarray)


def eager_arrays(element):
    """`element` (an array or a tuple of them) with its arrays viewed as `EagerArray`."""
    if isinstance(element, tuple):
        return tuple(eager_arrays(part) for part in element)
    if isinstance(element, np.ndarray):
        return element.view(EagerArray)
    return element


def as_arrays(element):
    """`element` with tensors made NumPy arrays (what a mapped function returned)."""
    if isinstance(element, (tuple, list)):
        return tuple(as_arrays(part) for part in element)
    if isinstance(element, dict):
        return {key: as_arrays(value) for key, value in element.items()}
    if hasattr(element, "numpy") and not isinstance(element, np.ndarray):
        return element.numpy()
    return element
