"""`keras.utils.timeseries_dataset_from_array`: sliding windows over an array, in batches."""
import numpy as np

from .dataset_utils import BatchDataset


def _check_bounds(data, start_index, end_index, sampling_rate, sequence_stride):
    if start_index:
        if start_index < 0:
            raise ValueError("`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= len(data):
            raise ValueError("`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length "
                             f"{len(data)}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= len(data):
            raise ValueError("`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length "
                             f"{len(data)}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: "
                             f"end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= len(data):
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: "
                             f"{name}={value}, for data of length {len(data)}")


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None):
    """Batches of windows of `data[start_index:end_index]`: window i starts at
    `i * sequence_stride` and holds `sequence_length` steps `sampling_rate` apart; with
    `targets`, its target is `targets[start_index + start of the window]`. Returns a
    `Sequence` of `(windows, targets)` batches (or windows alone) that `fit` accepts.

    Example:
    >>> steps = np.arange(20, dtype="float32")
    >>> ds = timeseries_dataset_from_array(steps[:-3], steps[3:], sequence_length=3,
    ...                                    batch_size=4)
    >>> windows, targets = ds[0]
    >>> windows[:2].tolist(), targets[:2].tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [3.0, 4.0])
    """
    _check_bounds(data, start_index, end_index, sampling_rate, sequence_stride)
    start_index = 0 if start_index is None else start_index
    end_index = len(data) if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    index_dtype = "int32" if num_seqs < 2147483647 else "int64"
    starts = np.arange(0, num_seqs, sequence_stride, dtype=index_dtype)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(starts)
    steps = np.asarray(data)[start_index:end_index]
    target_steps = None if targets is None else np.asarray(targets)[start_index:end_index]
    offsets = np.arange(sequence_length) * sampling_rate

    def make_batch(positions, single):
        window_starts = starts[positions]
        windows = steps[window_starts[:, None] + offsets]
        if single:
            windows = windows[0]
            return windows if target_steps is None else (windows, target_steps[window_starts[0]])
        return windows if target_steps is None else (windows, target_steps[window_starts])
    return BatchDataset(len(starts), batch_size, make_batch,
                        reshuffle_seed=seed if shuffle else None)
