"""`keras.utils.text_dataset_from_directory`: text files as batches `fit` accepts."""
import numpy as np

from . import dataset_utils

ALLOWLIST_FORMATS = (".txt",)


def _read_text(path, max_length):
    """The file's bytes (not decoded, as tf.io.read_file), cut to `max_length` bytes."""
    with open(path, "rb") as handle:
        text = handle.read()
    return text if max_length is None else text[:max_length]


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
    dataset_utils.check_label_arguments(labels, label_mode, class_names, "text files",
                                        "text samples")
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
        labels_by_file = None if label_mode is None else \
            dataset_utils.label_array(labels, label_mode, len(class_names))

        def make_batch(indices, single):
            texts = np.empty(len(indices), dtype=object)
            texts[:] = [_read_text(self.file_paths[i], max_length) for i in indices]
            if labels_by_file is None:
                return texts[0] if single else texts
            labels = labels_by_file[indices]
            return (texts[0], labels[0]) if single else (texts, labels)
        super().__init__(len(paths), batch_size, make_batch,
                         reshuffle_seed=seed if reshuffle else None)
