"""StringLookup: strings to vocabulary indices (or one-hot / multi-hot / count / tf-idf
vectors), or indices back to strings with `invert=True`."""

from .index_lookup import IndexLookup
from .preprocessing_utils import string_array


class StringLookup(IndexLookup):
    """Maps strings to integer indices from a vocabulary given (`vocabulary=`, a list or a
    file path) or learned by `adapt(data)`.

    Strings are NumPy object (or `str_`/`bytes_`) arrays; `invert=True` returns object arrays
    of `str`. Index layout, OOV hashing and vocabulary order: see `IndexLookup`.

    Example:
    >>> layer = StringLookup(vocabulary=["a", "b", "c"])
    >>> layer(np.array([["a", "c"], ["d", "b"]])).numpy()
    array([[1, 3],
           [0, 2]])
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, encoding="utf-8", invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False, **kwargs):
        if "vocabulary_dtype" in kwargs:      # tf.keras' configs of other versions carry it
            kwargs.pop("vocabulary_dtype")
        if encoding not in ("utf-8", "utf8", "UTF-8", "UTF8"):
            raise NotImplementedError(f"StringLookup(encoding={encoding!r}): minikeras reads "
                                      "strings as UTF-8 only.")
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary_dtype="string",
                         vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, **kwargs)

    def _keys(self, data):
        return string_array(data)

    def _token(self, value):
        return string_array(value).item()

    def get_config(self):
        config = super().get_config()
        config["encoding"] = self.encoding
        return config
