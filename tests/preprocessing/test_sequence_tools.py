"""keras.preprocessing.sequence tools and keras.utils.timeseries_dataset_from_array."""
import json
import math
import random

import numpy as np
import pytest

import minikeras as keras
from minikeras.preprocessing import sequence
from minikeras.preprocessing.sequence import TimeseriesGenerator


def test_pad_sequences_is_the_utils_one():
    assert sequence.pad_sequences is keras.utils.pad_sequences
    np.testing.assert_array_equal(sequence.pad_sequences([[1, 2, 3], [4]], maxlen=2),
                                  [[2, 3], [0, 4]])


def test_make_sampling_table_closed_form():
    table = sequence.make_sampling_table(6, sampling_factor=1e-3)
    for i in range(6):
        r = max(i, 1)
        f = 1e-3 * (r * (math.log(r) + 0.577) + 0.5 - 1 / (12 * r))
        assert table[i] == pytest.approx(min(1.0, math.sqrt(f)), rel=1e-12)


def test_skipgrams_positive_pairs_are_the_window():
    couples, labels = sequence.skipgrams([1, 2, 0, 3], vocabulary_size=5, window_size=1,
                                         negative_samples=0, shuffle=False)
    # 0 is padding: never a word, never a context
    assert couples == [[1, 2], [2, 1]] and labels == [1, 1]
    couples, labels = sequence.skipgrams([1, 2, 3], 5, window_size=2, negative_samples=0,
                                         shuffle=False, categorical=True)
    assert couples == [[1, 2], [1, 3], [2, 1], [2, 3], [3, 1], [3, 2]]
    assert labels == [[0, 1]] * 6


def test_skipgrams_negatives_and_seeded_shuffle():
    random.seed(0)
    couples, labels = sequence.skipgrams([1, 2, 3, 4], vocabulary_size=10, window_size=1,
                                         negative_samples=2.0, seed=3)
    positives = [c for c, l in zip(couples, labels) if l == 1]
    negatives = [c for c, l in zip(couples, labels) if l == 0]
    assert len(positives) == 6 and len(negatives) == 12
    assert all(1 <= c[1] <= 9 and c[0] in (1, 2, 3, 4) for c in negatives)
    assert sorted(positives) == sorted([[1, 2], [2, 1], [2, 3], [3, 2], [3, 4], [4, 3]])
    random.seed(0)
    again = sequence.skipgrams([1, 2, 3, 4], 10, window_size=1, negative_samples=2.0, seed=3)
    assert again == (couples, labels)


def test_timeseries_generator_windows_and_targets():
    data = np.arange(20).reshape(10, 2)
    targets = np.arange(10) * 10
    gen = TimeseriesGenerator(data, targets, length=4, sampling_rate=2, stride=2,
                              start_index=1, end_index=9, batch_size=2, reverse=True)
    assert len(gen) == (9 - 5 + 4) // 4
    x, y = gen[0]
    # rows 5 and 7: data[row - 4:row:2], reversed in time
    np.testing.assert_array_equal(x, [data[1:5:2][::-1], data[3:7:2][::-1]])
    np.testing.assert_array_equal(y, [50, 70])
    config = json.loads(gen.to_json())["config"]
    assert json.loads(config["data"]) == data.tolist() and config["start_index"] == 5
    with pytest.raises(ValueError, match="Data and targets have to be of same length"):
        TimeseriesGenerator(data, targets[:5], length=2)
    with pytest.raises(ValueError, match="is disallowed, as no part of the sequence"):
        TimeseriesGenerator(data, targets, length=10)


def test_timeseries_generator_shuffle_draws_rows_from_numpy():
    data = np.arange(30)
    gen = TimeseriesGenerator(data, data, length=3, shuffle=True, batch_size=4)
    np.random.seed(1)
    x, y = gen[0]
    np.random.seed(1)
    rows = np.random.randint(3, 30, size=4)
    np.testing.assert_array_equal(y, rows)
    np.testing.assert_array_equal(x, [data[r - 3:r] for r in rows])


def test_timeseries_dataset_windows_targets_and_batches():
    data = np.arange(30, dtype="float32").reshape(15, 2)
    targets = np.arange(15) * 10
    ds = keras.utils.timeseries_dataset_from_array(
        data, targets, sequence_length=3, sequence_stride=2, sampling_rate=2, batch_size=2,
        start_index=1, end_index=13)
    # steps = data[1:13]; windows start at 0, 2, 4, 6 (num_seqs = 12 - 4 = 8) of 3 steps
    batches = list(ds)
    assert len(ds) == 2 and [len(b[0]) for b in batches] == [2, 2]
    windows = np.concatenate([b[0] for b in batches])
    starts = [0, 2, 4, 6]
    np.testing.assert_array_equal(windows, [data[1 + s:1 + s + 5:2] for s in starts])
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]),
                                  [targets[1 + s] for s in starts])


def test_timeseries_dataset_shuffle_uses_the_seeded_order_and_fit_accepts_it():
    data = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    ds = keras.utils.timeseries_dataset_from_array(data, data[:, 0], sequence_length=5,
                                                   batch_size=8, shuffle=True, seed=4)
    starts = np.arange(36, dtype="int32")
    np.random.RandomState(4).shuffle(starts)
    np.testing.assert_array_equal(ds[0][1], data[starts[:8], 0])
    unbatched = keras.utils.timeseries_dataset_from_array(data, None, sequence_length=5,
                                                          batch_size=None)
    assert len(unbatched) == 36 and unbatched[3].shape == (5, 3)
    model = keras.Sequential([keras.layers.Flatten(input_shape=(5, 3)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"sampling_rate": 0}, "`sampling_rate` must be higher than 0"),
    ({"sequence_stride": 50}, "`sequence_stride` must be lower than the length of the data"),
    ({"start_index": 50}, "`start_index` must be lower than the length of the data"),
    ({"start_index": 5, "end_index": 3}, "`end_index` must be higher than `start_index`"),
])
def test_timeseries_dataset_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras.utils.timeseries_dataset_from_array(np.zeros(20), None, 3, **kwargs)
