"""`keras.utils.text_dataset_from_directory`: text files as batches `fit` accepts."""
import numpy as np

from . import dataset_utils

ALLOWLIST_FORMATS = (".txt",)


def _check_arguments(labels, label_mode, class_names):
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size "
                "as the number of text files in the target directory. If you wish to infer "
                "the labels from the subdirectory names in the target directory, pass "
                '`labels="inferred"`. If you wish to get a dataset that only contains text '
                f"samples (no labels), pass `labels=None`. Received: labels={labels}")
        if class_names:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", '
                         f"or None. Received: label_mode={label_mode}")


def _read_text(path, max_length):
    """The file's bytes (not decoded, as tf.io.read_file), cut to `max_length` bytes."""
    with open(path, "rb") as handle:
        text = handle.read()
    return text if max_length is None else text[:max_length]


def _label_array(labels, label_mode, num_classes):
    labels = np.asarray(labels)
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels]
    return labels.astype("int32")


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None, shuffle=True,
                                seed=None, validation_split=None, subset=None,
                                follow_links=False):
    """Batches `(texts, labels)` from `directory/<class>/*.txt`: texts are the files' bytes (a
    1-D object array of `bytes`, what a tf.string batch gives as NumPy), labels int32 ('int'),
    float32 one-hot ('categorical') or float32 (batch, 1) ('binary'). Returns a `Sequence` of
    batches with `class_names` (a pair of them for `subset='both'`).

    Example:

        train = text_dataset_from_directory("aclImdb/train", validation_split=0.2,
                                            subset="training", seed=1337)
        vectorizer.adapt(train.map(lambda text, label: text))
    """
    _check_arguments(labels, label_mode, class_names)
    if labels is None or label_mode is None:
        labels, label_mode = None, None

    def make_part(paths, part_labels, names, reshuffle, part_seed):
        return _TextBatches(paths, part_labels, label_mode, names, max_length, batch_size,
                            reshuffle, part_seed)
    return dataset_utils.directory_datasets(
        directory, labels, label_mode, class_names, ALLOWLIST_FORMATS, shuffle, seed,
        validation_split, subset, follow_links, make_part, "text files")


class _TextBatches(dataset_utils.BatchDataset):
    """Files read per batch (nothing is held in memory between batches)."""

    def __init__(self, paths, labels, label_mode, class_names, max_length, batch_size,
                 reshuffle, seed):
        self.class_names = class_names
        self.file_paths = list(paths)
        label_array = None if label_mode is None else _label_array(labels, label_mode,
                                                                    len(class_names))

        def make_batch(indices, single):
            texts = np.empty(len(indices), dtype=object)
            texts[:] = [_read_text(self.file_paths[i], max_length) for i in indices]
            if single:
                return texts[0] if label_array is None else (texts[0], label_array[indices[0]])
            return texts if label_array is None else (texts, label_array[indices])
        super().__init__(len(paths), batch_size, make_batch,
                         reshuffle_seed=seed if reshuffle else None)
