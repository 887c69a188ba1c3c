"""What `keras.utils.*_dataset_from_*` return here in place of a `tf.data.Dataset`: a finite
`Sequence` of batches that `fit`, `evaluate` and `predict` accept and a `for` loop walks.

Shuffling: the element order of the first pass is the one tf.keras draws with
`np.random.RandomState(seed)`; tf.data's extra buffer shuffle (TensorFlow's own random
stream) is not reproduced. Later passes draw a new order from the same seeded stream.
"""
import os
import random

import numpy as np

from ..models.dataset import Dataset


class BatchDataset(Dataset):
    """`count` elements in batches of `batch_size` (None: one element per item), each batch
    made by `make_batch(indices)` -> array or tuple of arrays."""

    def __init__(self, count, batch_size, make_batch, order=None, reshuffle_seed=None):
        self._count = count
        self._batch_size = batch_size
        self.element_batch_size = batch_size
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


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Splits samples into a left and a right dataset (e.g. train / test): the first
    `left_size` samples and the last `right_size` (each an int count or a float fraction,
    rounded; None: the complement of the other), after a shuffle of the samples with
    `random.Random(seed)` when `shuffle`. `dataset` is an array, a list/tuple of arrays of
    one length, or a dataset from `keras.utils` (a batched one is split by samples and
    batched again).

    Example:

        left, right = split_dataset(np.random.random((1000, 4)), left_size=0.8)
        int(left.cardinality()), int(right.cardinality())     # (800, 200)
    """
    if not isinstance(dataset, (Dataset, list, tuple, np.ndarray)):
        raise TypeError("The `dataset` argument must be either a `tf.data.Dataset` object or "
                        f"a list/tuple of arrays. Received: dataset={dataset} of type "
                        f"{type(dataset)}")
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. "
                         "Received: left_size=None and right_size=None")
    samples, batch_size = _samples_of(dataset)
    if shuffle:
        random.Random(random.randint(0, int(1e6)) if seed is None else seed).shuffle(samples)
    left_size, right_size = _split_sizes(left_size, right_size, len(samples))
    return (_dataset_of(samples[:left_size], batch_size),
            _dataset_of(samples[len(samples) - right_size:], batch_size))


def _samples_of(dataset):
    """(the list of samples, the batch size of the elements or None)."""
    if isinstance(dataset, Dataset):
        batch_size = dataset.element_batch_size
        samples = []
        for index in range(len(dataset)):
            element = dataset[index]
            samples.extend(_unbatch(element) if batch_size else [element])
        return samples, batch_size
    if isinstance(dataset, np.ndarray):
        return list(dataset), None
    arrays = [np.asarray(part) for part in dataset]
    if len({len(part) for part in arrays}) > 1:
        raise ValueError("The arrays in `dataset` must all have the same length. Received "
                         f"lengths {[len(part) for part in arrays]}.")
    return list(zip(*arrays)), None


def _unbatch(element):
    if isinstance(element, tuple):
        return list(zip(*element))
    return list(element)


def _dataset_of(samples, batch_size):
    """A dataset over `samples` (each an array or a tuple of arrays), batched when
    `batch_size`."""
    def make_batch(indices, single):
        if single:
            return samples[indices[0]]
        chosen = [samples[i] for i in indices]
        if isinstance(chosen[0], tuple):
            return tuple(np.stack(parts) for parts in zip(*chosen))
        return np.stack(chosen)
    return BatchDataset(len(samples), batch_size, make_batch)


def _split_sizes(left_size, right_size, total):
    """tf.keras' rules for the two split sizes (counts after rounding fractions)."""
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and type(size) not in (int, float):
            raise TypeError(f"Invalid `{name}` Type. Expected: int or float or None, "
                            f"Received: type({name})={type(size)}.")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the "
                         "split sizes must be non-zero.")
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if isinstance(size, int) and not 0 < size < total or \
                isinstance(size, float) and not 0 < size < 1:
            raise ValueError(f"`{name}` should be either a positive integer smaller than "
                             f"{total}, or a float within the range `[0, 1]`. Received: "
                             f"{name}={size}")
    if isinstance(left_size, float) and isinstance(right_size, float) and \
            left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must "
                         "be less than or equal to 1.")
    left = round(left_size * total) if isinstance(left_size, float) else left_size
    right = round(right_size * total) if isinstance(right_size, float) else right_size
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the "
                         f"{total}. Received: left_size + right_size = {left + right} and "
                         f"total_length = {total}")
    for size, side in ((left, "left"), (right, "right")):
        if size == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left_size} and "
                             f"`right_size`={right_size}. Resulting {side} side dataset split "
                             "will be empty. Adjust any of the aforementioned parameters")
    return int(left), int(right)


def _allowed_formats_words(kind, formats):
    """How each tf.keras loader names its file formats when it finds no file."""
    if kind == "text files":
        return f"Allowed format: {', '.join(formats)}"
    if kind == "audio files":
        return f"Allowed format(s): {formats}"
    return f"Allowed formats: {formats}"


def directory_datasets(directory, labels, label_mode, class_names, formats, shuffle, seed,
                       validation_split, subset, follow_links, make_part, kind):
    """What the `*_dataset_from_directory` functions share: index the `formats` files (seeded
    shuffle), check the binary label mode, and make the training and/or validation part with
    `make_part(paths, labels, class_names, reshuffle, seed)`; `kind` ('images', 'text files')
    words the error when a part is empty."""
    check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = index_directory(
        directory, labels, formats=formats, class_names=class_names, shuffle=shuffle,
        seed=seed, follow_links=follow_links)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")

    def part(subset_name, what=""):
        part_paths, part_labels = training_or_validation_split(paths, labels, validation_split,
                                                               subset_name)
        if not part_paths:
            raise ValueError(f"No {what}{kind} found in directory {directory}. "
                             f"{_allowed_formats_words(kind, formats)}")
        return make_part(part_paths, part_labels, class_names,
                         shuffle and subset_name != "validation", seed)
    if subset == "both":
        return [part("training", "training "), part("validation", "validation ")]
    return part(subset)


def check_label_arguments(labels, label_mode, class_names, files, contents):
    """tf.keras' checks of `labels`, `label_mode` and `class_names` for a directory of
    `files` ('image files') holding `contents` ('images')."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size "
                f"as the number of {files} in the target directory. If you wish to infer "
                "the labels from the subdirectory names in the target directory, pass "
                f'`labels="inferred"`. If you wish to get a dataset that only contains '
                f"{contents} (no labels), pass `labels=None`. Received: labels={labels}")
        if class_names:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", '
                         f"or None. Received: label_mode={label_mode}")


def label_array(labels, label_mode, num_classes):
    """Labels as tf.keras batches them: float32 (n, 1) for 'binary', float32 one-hot for
    'categorical', else int32 (integer labels) or as given."""
    labels = np.asarray(labels)
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels]
    return labels.astype("int32") if labels.dtype.kind in "iu" else labels   # tf's int32
