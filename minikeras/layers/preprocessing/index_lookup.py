"""IndexLookup: the vocabulary machinery behind StringLookup, IntegerLookup and TextVectorization.

Index layout (tf.keras 2.x): in `output_mode="int"` a mask token (if any) takes index 0, then
`num_oov_indices` OOV indices, then the vocabulary. In the other modes the mask token has no
index (masked values are dropped). An out-of-vocabulary value goes to the single OOV index, or,
with several, to `fingerprint64(string) % num_oov_indices` (strings) / `value % num_oov_indices`
(integers). `adapt` orders the vocabulary by frequency, ties by the token itself, both
descending (strings compared as UTF-8 bytes), as tf.keras does.
"""
import collections
import itertools
import os

import numpy as np

from ...core.tensor import Tensor, as_array
from ...engine.base_layer import running_on_placeholders
from .base_preprocessing_layer import PreprocessingLayer
from .category_encoding import encode_categorical, encoded_shape
from .hash_functions import fingerprint64
from .preprocessing_utils import (OUTPUT_MODES, listify, read_vocabulary_file,
                                  validate_string_arg)


class IndexLookup(PreprocessingLayer):
    """Maps values to indices in a vocabulary (or back, with `invert=True`).

    Subclasses say how keys are read (`_keys`) and written out (`_token_from_text`).
    """

    _vocabulary_is_a_weight = True   # in a model's get_weights(), as tf.keras 2

    _key_kind = "string"      # "string" or "int": how OOV values are hashed and tokens sorted
    _takes_string_inputs = True   # a deferred Sequential may build a string input for it

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError("If set, `max_tokens` must be greater than 1. "
                             f"Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("If pad_to_max_tokens is True, must set `max_tokens`. "
                             f"Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError("`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        validate_string_arg(output_mode, OUTPUT_MODES, type(self).__name__, "output_mode")
        if invert and output_mode != "int":
            raise ValueError("`output_mode` must be `'int'` when `invert` is true. "
                             f"Received: output_mode={output_mode}")
        if sparse and output_mode == "int":
            raise ValueError("`sparse` may only be true if `output_mode` is `'one_hot'`, "
                             "`'multi_hot'`, `'count'` or `'tf_idf'`. "
                             f"Received: sparse={sparse} and output_mode={output_mode}")
        if sparse:
            raise NotImplementedError(f"{type(self).__name__}(sparse=True): minikeras has no "
                                      "sparse tensors; use sparse=False.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if `output_mode` is `'tf_idf'`. "
                             f"Received: idf_weights={idf_weights} and output_mode={output_mode}")
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        # A saved config's vocabulary size gives the output width until the vocabulary itself
        # is restored (from a .keras file's assets). As tf.keras' config, it is the size when
        # a vocabulary was last set (None before any), not recounted.
        self._declared_vocabulary_size = kwargs.pop("vocabulary_size", None)
        _accept_keras3_oov_arguments(kwargs, num_oov_indices, self._key_kind)
        super().__init__(**kwargs)
        if output_mode == "int" and not invert and self._dtype.kind not in "iu":
            raise ValueError("When `output_mode='int'`, `dtype` should be an integer type. "
                             f"Received: dtype={kwargs['dtype']}")
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.vocabulary_dtype = vocabulary_dtype
        self.invert = invert
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.input_vocabulary = vocabulary
        self.input_idf_weights = idf_weights
        self._tokens = []                 # the vocabulary without special tokens, by index
        self._index_of = {}
        self._idf_weights = None          # tf_idf: one weight per output column
        self._reset_counts()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif output_mode == "tf_idf":
            self._idf_weights = np.zeros(self._token_start_index(), self._dtype)

    # --- indices ---------------------------------------------------------------------------
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def _special_tokens(self):
        return [self.mask_token] * self._oov_start_index() + \
            [self.oov_token] * self.num_oov_indices

    def vocabulary_size(self):
        """The size of the vocabulary, mask and OOV indices included."""
        return self._token_start_index() + len(self._tokens)

    def vocab_size(self):
        return self.vocabulary_size()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary, by index: the mask and OOV tokens first unless excluded."""
        # tf.keras hands the tokens back as NumPy scalars (np.str_ / np.int64: the vocabulary
        # list prints as `np.str_('word')` under NumPy 2); string special tokens stay `str`
        tokens = [_as_numpy_token(t) for t in self._tokens]
        if not include_special_tokens:
            return tokens
        specials = self._special_tokens()
        if self.vocabulary_dtype != "string":
            specials = [_as_numpy_token(t) for t in specials]
        return specials + tokens

    @property
    def idf_weights(self):
        return None if self._idf_weights is None else Tensor(self._idf_weights)

    # --- setting the vocabulary ------------------------------------------------------------
    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (a list, array or path to a file with one token per line) and,
        in `tf_idf` mode, the IDF weights (one per vocabulary entry)."""
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is TF_IDF")
        elif idf_weights is not None and idf_weights is not False:
            raise ValueError("`idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and "
                             f"idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if not os.path.exists(vocabulary):
                raise ValueError(f"Vocabulary file {vocabulary} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a vocabulary "
                                 "from file.")
            vocabulary = [self._token_from_text(line) for line in read_vocabulary_file(vocabulary)]
        vocabulary = [self._token(v) for v in np.asarray(as_array(vocabulary),
                                                         dtype=object).reshape(-1)]
        if not vocabulary:
            raise ValueError(f"Cannot set an empty vocabulary, you passed {vocabulary}.")
        special = self._special_tokens()
        start = len(special)
        has_special = vocabulary[:start] == special
        tokens = vocabulary[start:] if has_special else vocabulary
        self._check_tokens(tokens, vocabulary, special)
        size = start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab size. "
                             f"Passed vocab size is {size}, max vocab size is "
                             f"{self.max_tokens}.")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf" and idf_weights is not False:   # False: kept as is
            self._set_idf_weights(idf_weights, len(vocabulary), has_special)

    def _check_tokens(self, tokens, vocabulary, special):
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are {repeated}")
        reserved = [("mask_token", self.mask_token, True), ("oov_token", self.oov_token,
                                                           self.invert)]
        for name, token, checked in reserved:
            if checked and token is not None and token in tokens:
                index = len(vocabulary) - 1 - vocabulary[::-1].index(token)
                raise ValueError("Found reserved "
                                 f"{'mask' if name == 'mask_token' else 'OOV'} token at "
                                 "unexpected location in `vocabulary`. Note that passed "
                                 "`vocabulary` does not need to include the OOV and mask "
                                 "tokens. Either remove all mask and OOV tokens, or include "
                                 "them only at the start of the vocabulary in precisely this "
                                 f"order: {special}. Received: {name}={token} at vocabulary "
                                 f"index [{index}]")

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index_of = {token: start + i for i, token in enumerate(self._tokens)}
        self._declared_vocabulary_size = self.vocabulary_size()

    def _set_idf_weights(self, idf_weights, vocabulary_length, has_special):
        weights = np.asarray(as_array(idf_weights), dtype=np.float64)
        if len(weights) != vocabulary_length:
            raise ValueError("`idf_weights` must be the same length as vocabulary. "
                             f"len(idf_weights) is {len(weights)}, len(vocabulary) is "
                             f"{vocabulary_length}")
        if weights.ndim != 1:
            raise ValueError(f"TF-IDF data must be a 1-index array, but received {type(weights)}")
        # Special tokens have no document frequencies: they get the mean of the given weights.
        front = [] if has_special else [weights.mean()] * self._token_start_index()
        self._store_idf(np.concatenate([front, weights]).astype(self._dtype))

    def _store_idf(self, weights):
        if self.pad_to_max_tokens and self.max_tokens is not None:
            weights = np.concatenate([weights, np.zeros(self.max_tokens - len(weights),
                                                        weights.dtype)])
        self._idf_weights = weights

    # --- adapt -----------------------------------------------------------------------------
    def _reset_counts(self):
        self._token_counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._num_documents = 0

    def reset_state(self):
        if self.input_vocabulary is not None:
            return
        self._reset_counts()

    def update_state(self, data):
        """Counts the tokens of one batch (each row one document)."""
        if self.input_vocabulary is not None:
            raise ValueError(f"Cannot adapt {type(self).__name__} layer after setting a static "
                             "vocabulary via init argument or `set_vocabulary`.")
        keys = self._keys(data)
        if not self.built and self._batch_input_shape is None:
            self._batch_input_shape = (None,) * max(keys.ndim, 1)
        if keys.ndim == 0:
            keys = keys.reshape(1, 1)
        elif keys.ndim == 1:
            keys = keys[None]             # a rank-1 batch is one document, as in tf.keras
        else:
            keys = keys.reshape(-1, keys.shape[-1])
        self.count_documents(list(keys))

    def count_documents(self, documents):
        """Adds the tokens of `documents` (sequences of tokens) to the counts."""
        self._token_counts.update(itertools.chain.from_iterable(documents))
        if self.output_mode == "tf_idf":
            self._document_counts.update(itertools.chain.from_iterable(
                set(document) for document in documents))
        self._num_documents += len(documents)

    def finalize_state(self):
        """Turns the counts into the vocabulary: most frequent first, ties by token (both
        descending), at most `max_tokens` indices in all."""
        if self.input_vocabulary is not None:
            return
        counts = dict(self._token_counts)
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        ranked = sorted(counts, key=lambda t: (counts[t], self._sort_key(t)), reverse=True)
        if self.max_tokens is not None:
            ranked = ranked[:max(self.max_tokens - self._token_start_index(), 0)]
        self._set_tokens(ranked)
        if self.output_mode == "tf_idf":
            documents = np.asarray([self._document_counts[t] for t in ranked], np.float64)
            idf = np.log(1.0 + self._num_documents / (1.0 + documents)).astype(self._dtype)
            # OOV (and mask) columns get the mean IDF: their document counts are unknown.
            front = np.full(self._token_start_index(), idf.mean() if idf.size else 0,
                            self._dtype)
            self._store_idf(np.concatenate([front, idf]))
        self._reset_counts()

    def _sort_key(self, token):
        return token.encode("utf-8") if isinstance(token, str) else token

    # --- call ------------------------------------------------------------------------------
    def call(self, inputs):
        if self.invert:
            return Tensor(self._tokens_of(np.asarray(as_array(inputs)).astype(np.int64)))
        keys = self._keys(inputs)
        indices, kept = self.lookup_indices(keys)
        if self.output_mode == "int":
            return Tensor(indices.astype(self._dtype))
        return Tensor(self.encode(indices, kept))

    def lookup_indices(self, keys):
        """(indices, kept): each key's index; `kept` is False where the key is the mask
        token (index 0 in int mode, dropped by the other modes)."""
        flat = keys.reshape(-1)
        indices = self._indices_of(flat.tolist())
        kept = np.ones(len(flat), bool) if self.mask_token is None else \
            np.asarray(flat != self.mask_token, bool).reshape(-1)
        oov = (indices < 0) & kept
        if oov.any():
            if self.num_oov_indices == 0 and running_on_placeholders():
                indices[oov] = 0   # placeholder strings of a shape inference, no user data
            elif self.num_oov_indices == 0:
                raise ValueError("When `num_oov_indices=0` an OOV token is not allowed, but "
                                 f"{type(self).__name__} found the out-of-vocabulary values "
                                 f"{sorted(set(flat[oov].tolist()))[:10]}.")
            else:
                indices[oov] = self._oov_start_index() + self._oov_bucket(flat[oov])
        indices[~kept] = 0
        return indices.reshape(keys.shape), kept.reshape(keys.shape)

    def _indices_of(self, tokens):
        """Each token's vocabulary index, -1 when it is not in the vocabulary."""
        found = list(map(self._index_of.get, tokens, itertools.repeat(-1, len(tokens))))
        return np.array(found, np.int64).reshape(len(tokens))

    def _oov_bucket(self, keys):
        if self.num_oov_indices == 1:
            return np.zeros(len(keys), np.int64)
        if self._key_kind == "int":
            return np.mod(keys.astype(np.int64), self.num_oov_indices)
        return np.fromiter((fingerprint64(k) % self.num_oov_indices for k in keys), np.int64,
                           len(keys))

    def encode(self, indices, kept):
        """multi_hot / one_hot / count / tf_idf vectors of `vocabulary_size()` (or
        `max_tokens` when padding) columns; masked values count for nothing."""
        depth = self._depth()
        if self.output_mode == "one_hot" and (indices.ndim == 0 or indices.shape[-1] != 1):
            indices, kept = indices[..., None], kept[..., None]
        counts = encode_categorical(indices, "count", depth, self._dtype,
                                    count_weights=kept.astype(self._dtype))
        return self._from_counts(counts, depth)

    def encode_rows(self, rows, indices, kept, count):
        """Like `encode` for `count` documents given as flat (row, index) pairs."""
        depth = self._depth()
        counts = np.zeros((count, depth), self._dtype)
        np.add.at(counts, (rows[kept], indices[kept]), 1)
        return self._from_counts(counts, depth)

    def _from_counts(self, counts, depth):
        if self.output_mode in ("multi_hot", "one_hot"):
            return (counts > 0).astype(self._dtype)
        if self.output_mode == "tf_idf":
            return counts * self._idf_weights[:depth]
        return counts

    def _depth(self):
        """The width of multi_hot / one_hot / count / tf_idf outputs."""
        if self.pad_to_max_tokens:
            return self.max_tokens
        if not self._tokens and self._declared_vocabulary_size is not None:
            return self._declared_vocabulary_size
        return self.vocabulary_size()

    def _tokens_of(self, indices):
        vocabulary = self.get_vocabulary()
        out = np.empty(indices.shape, dtype=self._token_array_dtype())
        flat = out.reshape(-1)
        for i, index in enumerate(indices.reshape(-1)):
            flat[i] = vocabulary[index] if 0 <= index < len(vocabulary) else self.oov_token
        return out

    def _token_array_dtype(self):
        return np.dtype(object)

    # --- shapes, dtypes, config, assets ----------------------------------------------------
    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def _output_dtype(self, inputs):
        if self.invert:
            return self._token_array_dtype()
        return self._dtype

    def get_config(self):
        config = super().get_config()
        vocabulary = self.input_vocabulary
        if not isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = listify(vocabulary)
        config.update({
            "invert": self.invert, "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
            "mask_token": self.mask_token, "output_mode": self.output_mode,
            "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
            "idf_weights": listify(self.input_idf_weights), "vocabulary": vocabulary,
            "vocabulary_size": self._declared_vocabulary_size,
        })
        return config

    # .keras files (tf.keras' layout): an adapted vocabulary in `assets/.../vocabulary.txt`
    # (the whole vocabulary, "\n"-joined), the tf_idf weights in `vars/idf_weights`.
    def save_assets(self, directory):
        if self.input_vocabulary is not None:
            return                        # the vocabulary is in the config
        with open(os.path.join(directory, "vocabulary.txt"), "w", encoding="utf-8",
                  newline="") as handle:
            handle.write("\n".join(str(t) for t in self.get_vocabulary()))

    def load_assets(self, directory):
        path = os.path.join(directory, "vocabulary.txt")
        if self.input_vocabulary is not None or not os.path.exists(path):
            return
        with open(path, encoding="utf-8", newline="") as handle:
            lines = handle.read().split("\n")
        tokens = [self._token_from_text(t) for t in lines]
        self.set_vocabulary(tokens, idf_weights=False if self.output_mode == "tf_idf" else None)

    def _has_state_outside_variables(self):
        """An adapted vocabulary is neither a variable nor in the config (legacy .h5 files
        cannot hold it)."""
        return self.input_vocabulary is None

    def save_own_variables(self, store):
        if self.output_mode == "tf_idf" and self._idf_weights is not None:
            store["idf_weights"] = np.asarray(self._idf_weights)

    def load_own_variables(self, store):
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            self._idf_weights = np.asarray(store["idf_weights"][()], self._dtype)

    # --- get_weights / set_weights ----------------------------------------------------------
    # tf.keras 2 exposes an adapted (not given) vocabulary as a weight (its VocabWeightHandler):
    # the tokens without the special ones (bytes strings, or int64). In `tf_idf` mode the IDF
    # weights come first and the adapt document count last; a given vocabulary in `tf_idf`
    # mode leaves the IDF weights alone. The layer's own lists and a model's `get_weights()`
    # (Model._weight_slots) carry them; `layer.weights` and `.h5` files do not (those refuse
    # adapted vocabularies, as tf.keras' legacy .h5 writer does).
    def get_weights(self):
        weights = []
        if self.output_mode == "tf_idf":
            weights.append(np.array(self._idf_weights, np.float32))
        if self.input_vocabulary is None:
            weights.append(self._vocabulary_weight())
            if self.output_mode == "tf_idf":
                weights.append(np.int64(self._num_documents))
        return weights

    def set_weights(self, weights, layer_name=None):
        expected = len(self.get_weights())
        if len(weights) != expected:
            raise ValueError(
                f'You called `set_weights(weights)` on layer "{layer_name or self.name}" with a '
                f"weight list of length {len(weights)}, but the layer was expecting {expected} "
                f"weights. Provided weights: {str(weights)[:50]}...")
        weights = list(weights)
        if self.output_mode == "tf_idf":
            self._idf_weights = np.asarray(weights.pop(0), self._dtype).reshape(-1)
        if self.input_vocabulary is None:
            self._set_tokens(self._tokens_from_weight(weights.pop(0)))
            if self.output_mode == "tf_idf":
                self._num_documents = int(np.asarray(weights.pop(0)))

    def _vocabulary_weight(self):
        tokens = self.get_vocabulary(include_special_tokens=False)
        if self._key_kind == "int":
            return np.array(tokens, np.int64).reshape(-1)
        array = np.empty(len(tokens), object)
        array[:] = [t.encode("utf-8") if isinstance(t, str) else t for t in tokens]
        return array

    def _tokens_from_weight(self, value):
        values = np.asarray(value).reshape(-1).tolist()
        return [self._token(v.decode("utf-8") if isinstance(v, bytes) else v) for v in values]

    # Subclasses: how inputs become keys and how tokens are read from a file / vocabulary.
    def _keys(self, data):
        raise NotImplementedError

    def _token(self, value):
        return value

    def _token_from_text(self, text):
        return text


def _accept_keras3_oov_arguments(kwargs, num_oov_indices, key_kind):
    """Keras 3 configs carry `oov_method` and `salt`. With one OOV index they change nothing;
    with several, only the methods minikeras hashes as tf.keras does are accepted."""
    method = kwargs.pop("oov_method", None)
    salt = kwargs.pop("salt", None)
    if num_oov_indices <= 1 or (method is None and salt is None):
        return
    known = "floormod" if key_kind == "int" else None
    if method != known or salt is not None:
        raise NotImplementedError(f"A lookup layer with num_oov_indices={num_oov_indices}, "
                                  f"oov_method={method!r} and salt={salt!r} (a Keras 3 config) "
                                  "is not supported in minikeras: its OOV buckets would differ.")


def _as_numpy_token(token):
    """A vocabulary entry as tf.keras' get_vocabulary gives it: np.str_ or np.int64."""
    if isinstance(token, str):
        return np.str_(token)
    if isinstance(token, (int, np.integer)) and not isinstance(token, bool):
        return np.int64(token)
    return token
