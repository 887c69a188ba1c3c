"""`keras.datasets.imdb`: 50000 movie reviews as word-index sequences, labelled by sentiment."""
import numpy as np

from . import _word_sequences as words
from ._cache import fetch, object_array

FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, cache_dir=None, **kwargs):
    """`(x_train, y_train), (x_test, y_test)`: object arrays of word-index lists and 0/1
    labels, from Keras' cache file `imdb.npz`. Each split is shuffled with
    `np.random.RandomState(seed)`; indices are shifted by `index_from` behind `start_char`;
    `maxlen` drops sequences not shorter than it; indices outside [skip_top, num_words) become
    `oov_char` (or are dropped when it is None). Index 0 is never a word (padding)."""
    num_words = words.legacy_num_words(num_words, kwargs, period=".")
    path = fetch(path, FILE_HASH, cache_dir, origin_name="imdb.npz")
    with np.load(path, allow_pickle=True) as f:
        x_train, labels_train = f["x_train"], f["y_train"]
        x_test, labels_test = f["x_test"], f["y_test"]
    rng = np.random.RandomState(seed)
    x_train, labels_train = words.shuffled(rng, x_train, labels_train)
    x_test, labels_test = words.shuffled(rng, x_test, labels_test)
    x_train = words.shift_indices(x_train, start_char, index_from)
    x_test = words.shift_indices(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = words.drop_long(maxlen, x_train, labels_train)
        x_test, labels_test = words.drop_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no "
                             "sequence was kept. Increase maxlen.")
    xs = words.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    split = len(x_train)
    return ((object_array(xs[:split]), labels[:split]),
            (object_array(xs[split:]), labels[split:]))


def get_word_index(path="imdb_word_index.json"):
    """The dict word -> index (1 = most frequent) of `imdb_word_index.json`; in the data a word
    appears as its index + `index_from` (3)."""
    return words.load_word_index(path, "imdb_word_index.json", WORD_INDEX_HASH)
