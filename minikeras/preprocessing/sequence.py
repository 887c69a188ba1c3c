"""`keras.preprocessing.sequence` (Keras 2): `pad_sequences` (the one of `keras.utils`),
`TimeseriesGenerator`, `make_sampling_table`, `skipgrams`.

`skipgrams` draws from Python's `random` module and `TimeseriesGenerator(shuffle=True)` from
NumPy's global state, as Keras does, so seeded runs give Keras' samples.
"""
import json
import random

import numpy as np

from ..models.data_utils import Sequence, pad_sequences  # noqa: F401


class TimeseriesGenerator(Sequence):
    """Batches of windows over a time series: sample k ends just before row `r_k` and holds
    `data[r_k - length:r_k:sampling_rate]`, its target is `targets[r_k]`; rows run from
    `start_index + length` to `end_index` every `stride` (or are drawn at random when
    `shuffle`).

    Example:
    >>> gen = TimeseriesGenerator(np.arange(10), np.arange(10), length=3, batch_size=2)
    >>> windows, targets = gen[0]
    >>> windows.tolist(), targets.tolist()
    ([[0, 1, 2], [1, 2, 3]], [3, 4])
    """

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0,
                 end_index=None, shuffle=False, reverse=False, batch_size=128):
        if len(data) != len(targets):
            raise ValueError(f"Data and targets have to be of same length. Data length is "
                             f"{len(data)} while target length is {len(targets)}")
        self.data = data
        self.targets = targets
        self.length = length
        self.sampling_rate = sampling_rate
        self.stride = stride
        self.start_index = start_index + length
        self.end_index = len(data) - 1 if end_index is None else end_index
        self.shuffle = shuffle
        self.reverse = reverse
        self.batch_size = batch_size
        if self.start_index > self.end_index:
            raise ValueError(
                f"`start_index+length={self.start_index} > end_index={self.end_index}` is "
                "disallowed, as no part of the sequence would be left to be used as current "
                "step.")

    def __len__(self):
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def _rows(self, index):
        if self.shuffle:
            return np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        first = self.start_index + self.batch_size * self.stride * index
        last = min(first + self.batch_size * self.stride, self.end_index + 1)
        return np.arange(first, last, self.stride)

    def __getitem__(self, index):
        rows = self._rows(index)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate]
                            for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets

    @staticmethod
    def _json_list(values, what):
        if type(values).__module__ == np.__name__:
            values = values.tolist()
        try:
            return json.dumps(values)
        except TypeError as error:
            raise TypeError(f"{what} not JSON Serializable:", values) from error

    def get_config(self):
        """The arguments, data and targets as JSON strings (`start_index` is stored with
        `length` already added, as Keras does)."""
        return {
            "data": self._json_list(self.data, "Data"),
            "targets": self._json_list(self.targets, "Targets"),
            "length": self.length, "sampling_rate": self.sampling_rate, "stride": self.stride,
            "start_index": self.start_index, "end_index": self.end_index,
            "shuffle": self.shuffle, "reverse": self.reverse, "batch_size": self.batch_size,
        }

    def to_json(self, **kwargs):
        return json.dumps({"class_name": self.__class__.__name__, "config": self.get_config()},
                          **kwargs)


def make_sampling_table(size, sampling_factor=1e-5):
    """`p[i]`: the probability of keeping the i-th most frequent word in `skipgrams`,
    `min(1, sqrt(sampling_factor / f(i)))` for a Zipf frequency `f(i)` estimated as
    `1 / (i (log i + gamma) + 1/2 - 1 / (12 i))` (gamma = 0.577)."""
    gamma = 0.577
    rank = np.arange(size)
    rank[0] = 1
    inverse_frequency = rank * (np.log(rank) + gamma) + 0.5 - 1.0 / (12.0 * rank)
    f = sampling_factor * inverse_frequency
    return np.minimum(1.0, f / np.sqrt(f))


def _positive_pairs(sequence, window_size, categorical, sampling_table):
    couples, labels = [], []
    for i, wi in enumerate(sequence):
        if not wi:
            continue
        if sampling_table is not None and sampling_table[wi] < random.random():
            continue
        for j in range(max(0, i - window_size), min(len(sequence), i + window_size + 1)):
            if j != i and sequence[j]:
                couples.append([wi, sequence[j]])
                labels.append([0, 1] if categorical else 1)
    return couples, labels


def skipgrams(sequence, vocabulary_size, window_size=4, negative_samples=1.0, shuffle=True,
              categorical=False, sampling_table=None, seed=None):
    """Skip-gram pairs of word indices: `[word, context]` within `window_size` labelled 1,
    plus `negative_samples` times as many `[word, random index]` pairs labelled 0 (index 0 is
    never a word). Labels are `[0, 1]` / `[1, 0]` when `categorical`. Returns
    `(couples, labels)`, shuffled together (seeded by `seed`) when `shuffle`."""
    couples, labels = _positive_pairs(sequence, window_size, categorical, sampling_table)
    if negative_samples > 0:
        count = int(len(labels) * negative_samples)
        words = [c[0] for c in couples]
        random.shuffle(words)
        couples += [[words[i % len(words)], random.randint(1, int(vocabulary_size - 1))]
                    for i in range(count)]
        labels += ([[1, 0]] if categorical else [0]) * count
    if shuffle:
        if seed is None:
            seed = random.randint(0, int(10e6))
        random.seed(seed)
        random.shuffle(couples)
        random.seed(seed)   # the same permutation for the labels
        random.shuffle(labels)
    return couples, labels

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ())
