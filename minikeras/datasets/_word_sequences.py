"""The word-index rules shared by the IMDB and Reuters loaders (Keras 2)."""
import json
import logging

import numpy as np

from ._cache import fetch

logger = logging.getLogger("minikeras")


def legacy_num_words(num_words, kwargs, period=""):
    """Keras 2 still accepts `nb_words`; any other unknown keyword is an error."""
    if "nb_words" in kwargs:
        logger.warning("The `nb_words` argument in `load_data` has been renamed `num_words`.")
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {str(kwargs)}{period}")
    return num_words


def shuffled(rng, sequences, labels):
    """Both arrays in one permutation drawn from `rng`."""
    order = np.arange(len(sequences))
    rng.shuffle(order)
    return sequences[order], labels[order]


def shift_indices(sequences, start_char, index_from):
    """Word indices moved up by `index_from`, each sequence led by `start_char` (if any)."""
    lead = [] if start_char is None else [start_char]
    return [lead + [w + index_from for w in seq] for seq in sequences]


def drop_long(maxlen, sequences, labels):
    """Only the sequences strictly shorter than `maxlen` (and their labels)."""
    kept = [(seq, label) for seq, label in zip(sequences, labels) if len(seq) < maxlen]
    return [seq for seq, _ in kept], [label for _, label in kept]


def limit_vocabulary(sequences, num_words, skip_top, oov_char):
    """Indices outside [skip_top, num_words) become `oov_char`, or are dropped when it is
    None; `num_words` defaults to the largest index (which is then itself out of range)."""
    if not num_words:
        num_words = max(max(seq) for seq in sequences)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in seq]
                for seq in sequences]
    return [[w for w in seq if skip_top <= w < num_words] for seq in sequences]


def load_word_index(path, origin_name, file_hash):
    with open(fetch(path, file_hash, origin_name=origin_name)) as handle:
        return json.load(handle)
