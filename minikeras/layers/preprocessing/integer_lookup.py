"""IntegerLookup: integers to vocabulary indices (or one-hot / multi-hot / count / tf-idf
vectors), or indices back to integers with `invert=True`."""
import numpy as np

from .index_lookup import IndexLookup
from .preprocessing_utils import integer_array


class IntegerLookup(IndexLookup):
    """Maps integers to contiguous indices from a vocabulary given (`vocabulary=`, a list or a
    file path) or learned by `adapt(data)`. The OOV token is -1 and there is no mask token
    by default; several OOV indices take `value % num_oov_indices`.

    Example:
    >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
    >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]])).numpy()
    array([[1, 3, 4],
           [4, 0, 2]])
    """

    _key_kind = "int"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False, **kwargs):
        if np.dtype(vocabulary_dtype).kind not in "iu":
            raise ValueError("`vocabulary_dtype` must be an integer dtype. "
                             f"Received: {vocabulary_dtype}")
        if output_mode != "int" and kwargs.get("dtype") in ("int64", np.int64):
            del kwargs["dtype"]               # legacy configs set the layer dtype to int64
        for old, new in (("max_values", "max_tokens"), ("mask_value", "mask_token"),
                         ("oov_value", "oov_token")):
            if old in kwargs:                 # deprecated names
                value = kwargs.pop(old)
                max_tokens, mask_token, oov_token = (
                    value if new == "max_tokens" else max_tokens,
                    value if new == "mask_token" else mask_token,
                    value if new == "oov_token" else oov_token)
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError("If `max_tokens` is set for `IntegerLookup`, it must be greater "
                             f"than 1. Received: max_tokens={max_tokens}.")
        if num_oov_indices < 0:
            raise ValueError("The value of `num_oov_indices` argument for `IntegerLookup` must "
                             f">= 0. Received num_oov_indices={num_oov_indices}.")
        mask_token = None if mask_token is None else int(mask_token)
        oov_token = None if oov_token is None else int(oov_token)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token,
                         vocabulary_dtype=np.dtype(vocabulary_dtype).name, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, **kwargs)

    def _keys(self, data):
        return integer_array(data)

    def _token(self, value):
        return int(integer_array(value))

    def _token_from_text(self, text):
        return int(text)

    def _token_array_dtype(self):
        return np.dtype(np.int64)

    def get_config(self):
        config = super().get_config()
        config["vocabulary_dtype"] = self.vocabulary_dtype
        return config

    def _tokens_of(self, indices):
        return super()._tokens_of(indices).astype(np.int64)
