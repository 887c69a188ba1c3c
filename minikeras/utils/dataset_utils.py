"""What `keras.utils.*_dataset_from_*` return here in place of a `tf.data.Dataset`: a finite
`Sequence` of batches that `fit`, `evaluate` and `predict` accept and a `for` loop walks.

Shuffling: the element order of the first pass is the one tf.keras draws with
`np.random.RandomState(seed)`; tf.data's extra buffer shuffle (TensorFlow's own random
stream) is not reproduced. Later passes draw a new order from the same seeded stream.
"""
import os

import numpy as np

from ..models.dataset import Dataset


class BatchDataset(Dataset):
    """`count` elements in batches of `batch_size` (None: one element per item), each batch
    made by `make_batch(indices)` -> array or tuple of arrays."""

    def __init__(self, count, batch_size, make_batch, order=None, reshuffle_seed=None):
        self._count = count
        self._batch_size = batch_size
        self._make_batch = make_batch
        self._order = np.arange(count) if order is None else np.asarray(order)
        self._base_order = self._order.copy()
        self._rng = None if reshuffle_seed is None else np.random.RandomState(reshuffle_seed)
        self._rng_started = False

    def __len__(self):
        if self._batch_size is None:
            return self._count
        return (self._count + self._batch_size - 1) // self._batch_size

    def __getitem__(self, index):
        if index >= len(self) or index < -len(self):
            raise IndexError(f"Batch {index} is out of range: the dataset has {len(self)}.")
        index %= len(self)
        if self._batch_size is None:
            return self._make_batch(self._order[index:index + 1], single=True)
        part = self._order[index * self._batch_size:(index + 1) * self._batch_size]
        return self._make_batch(part, single=False)

    def on_epoch_end(self):
        """A new element order for the next pass when shuffling."""
        if self._rng is not None:
            self._order = self._rng.permutation(self._base_order)


def walk_valid_files(directory, formats, follow_links):
    """(folder, name) of the files below `directory` whose lower-cased name ends with one of
    `formats`: folders sorted by path, names sorted inside each."""
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield root, name


def class_subdirectories(directory):
    """The visible sub-folders of `directory`, sorted."""
    return [name for name in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")]


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None,
                    follow_links=False):
    """`(file_paths, labels, class_names)` as tf.keras indexes a directory: with
    `labels='inferred'` one class per sub-folder (sorted), else the files of the whole tree;
    shuffled together with `np.random.RandomState(seed)` when `shuffle`."""
    if labels != "inferred":
        subdirs, class_names = [""], [""]
    else:
        subdirs = class_subdirectories(directory)
        if not class_names:
            class_names = subdirs
        elif set(class_names) != set(subdirs):
            raise ValueError("The `class_names` passed did not match the names of the "
                             "subdirectories of the target directory. Expected: "
                             f"{subdirs}, but received: {class_names}")
    class_indices = dict(zip(class_names, range(len(class_names))))
    filenames, found_labels = [], []
    for subdir in subdirs:
        folder = os.path.join(directory, subdir)
        for root, name in walk_valid_files(folder, formats, follow_links):
            filenames.append(os.path.join(subdir, os.path.relpath(os.path.join(root, name),
                                                                  folder)))
            found_labels.append(class_indices[subdir])
    if labels not in ("inferred", None):
        if len(labels) != len(filenames):
            raise ValueError(
                "Expected the lengths of `labels` to match the number of files in the target "
                f"directory. len(labels) is {len(labels)} while we found {len(filenames)} "
                f"files in directory {directory}.")
        class_names = sorted(set(labels))
        labels = list(labels)
    else:
        labels = np.asarray(found_labels, dtype="int32")
    # (tf.keras prints this line also without labels: one class named '')
    print(f"Found {len(filenames)} files belonging to {len(class_names)} classes.")
    file_paths = [os.path.join(directory, name) for name in filenames]
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(file_paths)
        np.random.RandomState(seed).shuffle(labels)   # the same permutation
    return file_paths, labels, class_names


def check_validation_split_arg(validation_split, subset, shuffle, seed):
    """tf.keras' checks of `validation_split` / `subset` / `seed`."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError('`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide "
                         "a `seed` argument, to make sure that there is no overlap between the "
                         "training and validation subset.")


def training_or_validation_split(samples, labels, validation_split, subset):
    """The last `validation_split` fraction is the validation part."""
    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    if subset == "training":
        print(f"Using {len(samples) - num_val} files for training.")
        return samples[:-num_val], labels[:-num_val]
    if subset == "validation":
        print(f"Using {num_val} files for validation.")
        return samples[-num_val:], labels[-num_val:]
    raise ValueError(f'`subset` must be either "training" or "validation", received: {subset}')
