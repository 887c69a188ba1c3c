"""`keras.datasets.reuters`: 11228 newswires as word-index sequences over 46 topics."""
import numpy as np

from . import _word_sequences as words
from ._cache import fetch, object_array

FILE_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"
LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3, cache_dir=None, **kwargs):
    """`(x_train, y_train), (x_test, y_test)` from Keras' cache file `reuters.npz`: shuffled
    with `np.random.RandomState(seed)`, the index rules of `imdb.load_data`, then the last
    `test_split` fraction is the test set."""
    num_words = words.legacy_num_words(num_words, kwargs)
    path = fetch(path, FILE_HASH, cache_dir, origin_name="reuters.npz")
    with np.load(path, allow_pickle=True) as f:
        xs, labels = f["x"], f["y"]
    xs, labels = words.shuffled(np.random.RandomState(seed), xs, labels)
    xs = words.shift_indices(xs, start_char, index_from)
    if maxlen:
        xs, labels = words.drop_long(maxlen, xs, labels)
    xs = words.limit_vocabulary(xs, num_words, skip_top, oov_char)
    split = int(len(xs) * (1 - test_split))
    return ((object_array(xs[:split]), np.array(labels[:split])),
            (object_array(xs[split:]), np.array(labels[split:])))


def get_word_index(path="reuters_word_index.json"):
    """The dict word -> index of `reuters_word_index.json` (data indices are shifted by 3)."""
    return words.load_word_index(path, "reuters_word_index.json", WORD_INDEX_HASH)


def get_label_names():
    """The 46 topic names, in label order."""
    return LABEL_NAMES
