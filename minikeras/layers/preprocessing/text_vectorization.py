"""TextVectorization: raw strings to token indices or bag-of-words vectors (tf.keras 2.x)."""
import itertools
import re

import numpy as np

from ...core.serialization import deserialize_keras_object
from ...core.tensor import Tensor
from .base_preprocessing_layer import PreprocessingLayer
from .preprocessing_utils import (adapt_batches, listify, string_array, validate_string_arg)
from .string_lookup import StringLookup

# tf.keras' DEFAULT_STRIP_REGEX: ASCII punctuation (`,-\.` is the range `,` `-` `.`).
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')
# tf.strings.split without a separator splits on runs of ASCII whitespace; str.split() does
# the same unless a string holds one of the other characters Python counts as whitespace.
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")
_OTHER_WHITESPACE = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
                               "\u205f\u3000]")
# tf.strings.lower without an encoding lowers ASCII letters only.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_MODES = ("int", "count", "multi_hot", "tf_idf")


class TextVectorization(PreprocessingLayer):
    """Standardizes, splits and (optionally) forms n-grams of each string, then maps tokens to
    indices with a vocabulary given or learned by `adapt(data)`.

    Strings flow as NumPy object (or `str_`) arrays of shape `(batch,)` or `(batch, 1)`, e.g.
    from `keras.Input(shape=(1,), dtype="string")`; `model.predict(np.array([["some text"]]))`
    works on such arrays. `output_mode="int"` gives int64 token ids padded with 0 to the
    longest sequence of the batch (or cut/padded to `output_sequence_length`); the other modes
    give float32 vectors of `vocabulary_size()` columns (`max_tokens` with
    `pad_to_max_tokens`).

    As in tf.keras, "lower" lowercases ASCII letters only and the punctuation stripped is
    ASCII punctuation. A callable `standardize` receives and returns a NumPy object array of
    strings; a callable `split` receives a 1-D object array of strings and returns one list
    of tokens per string. There are no ragged or sparse tensors here: `ragged=True`,
    `sparse=True` and `output_mode=None` raise NotImplementedError.

    A `.keras` file keeps an adapted vocabulary in `assets/.../vocabulary.txt`, as tf.keras
    writes it; a legacy `.h5` file cannot hold it (tf.keras refuses too).

    Example:
    >>> layer = TextVectorization(output_sequence_length=4)
    >>> layer.adapt(["The cat sat.", "The dog sat!", "the end"])
    >>> layer.get_vocabulary()
    ['', '[UNK]', np.str_('the'), np.str_('sat'), np.str_('end'), np.str_('dog'), np.str_('cat')]
    >>> layer(np.array(["the dog ate", "a cat"])).numpy()
    array([[2, 5, 1, 0],
           [1, 6, 0, 0]])
    """

    _vocabulary_is_a_weight = True   # in a model's get_weights(), as tf.keras 2

    _takes_string_inputs = True   # a deferred Sequential may build a string input for it

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int", output_sequence_length=None,
                 pad_to_max_tokens=False, vocabulary=None, idf_weights=None, sparse=False,
                 ragged=False, encoding="utf-8", **kwargs):
        dtype = kwargs.get("dtype")
        if dtype is not None and dtype not in ("string", "str", str) and \
                getattr(dtype, "name", None) != "string":
            raise ValueError("`TextVectorization` may only have a dtype of string. "
                             f"Received dtype: {dtype}.")
        kwargs["dtype"] = "string"
        validate_string_arg(standardize, _STANDARDIZE, "TextVectorization", "standardize",
                            allow_none=True, allow_callables=True)
        validate_string_arg(split, _SPLIT, "TextVectorization", "split", allow_none=True,
                            allow_callables=True)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        validate_string_arg(output_mode, _MODES, "TextVectorization", "output_mode",
                            allow_none=True)
        if output_mode is None:
            raise NotImplementedError("TextVectorization(output_mode=None) returns ragged "
                                      "tokens; minikeras has no ragged tensors.")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)            # a tuple read back from a JSON config
        if not (ngrams is None or isinstance(ngrams, int) or isinstance(ngrams, tuple) and
                all(isinstance(item, int) for item in ngrams)):
            raise ValueError("`ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams}")
        if output_mode == "int" and not (isinstance(output_sequence_length, int) or
                                         output_sequence_length is None):
            raise ValueError("`output_sequence_length` must be either None or an integer when "
                             "`output_mode` is 'int'. Received: "
                             f"output_sequence_length={output_sequence_length}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not "
                             f"'int'. Received output_sequence_length={output_sequence_length}.")
        if ragged and output_mode != "int":
            raise ValueError("`ragged` must not be true if `output_mode` is `'int'`. Received: "
                             f"ragged={ragged} and output_mode={output_mode}")
        if ragged and output_sequence_length is not None:
            raise ValueError("`output_sequence_length` must not be set if ragged is True. "
                             f"Received: ragged={ragged} and "
                             f"output_sequence_length={output_sequence_length}")
        if ragged:
            raise NotImplementedError("TextVectorization(ragged=True): minikeras has no ragged "
                                      "tensors; use ragged=False (padded outputs).")
        vocabulary_size = kwargs.pop("vocabulary_size", None)   # from a saved config
        kwargs.pop("has_input_vocabulary", None)
        super().__init__(**kwargs)
        self.max_tokens = max_tokens
        self.standardize = standardize
        self.split = split
        self.ngrams = ngrams
        self._ngram_widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = pad_to_max_tokens
        self.sparse = sparse
        self.ragged = ragged
        self.encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            sparse=sparse, encoding=encoding, vocabulary_size=vocabulary_size)

    # --- vocabulary ------------------------------------------------------------------------
    def get_vocabulary(self, include_special_tokens=True):
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    @property
    def idf_weights(self):
        return self._lookup_layer.idf_weights

    def get_weights(self):
        """The vocabulary lookup's weights (see `IndexLookup.get_weights`)."""
        return self._lookup_layer.get_weights()

    def set_weights(self, weights):
        self._lookup_layer.set_weights(weights, layer_name=self.name)

    # --- adapt -----------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary from strings: an array or list, or a Sequence / generator of
        batches of strings."""
        lookup = self._lookup_layer
        lookup.reset_state()
        for batch in adapt_batches(data, batch_size, steps):
            self.update_state(batch)
        lookup.finalize_state()
        self._is_adapted = True

    def update_state(self, data):
        if self._lookup_layer.input_vocabulary is not None:
            raise ValueError("Cannot adapt StringLookup layer after setting a static vocabulary "
                             "via init argument or `set_vocabulary`.")
        strings = string_array(data)
        if not self.built and self._batch_input_shape is None:
            self._batch_input_shape = (None,) * max(strings.ndim, 1)
        tokens = self._tokenize(strings)
        if isinstance(tokens, np.ndarray):
            self._lookup_layer.update_state(tokens)
        else:
            self._lookup_layer.count_documents(tokens)

    # --- preprocessing ---------------------------------------------------------------------
    def _standardized(self, strings):
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            strings = _map_strings(strings, lambda s: s.translate(_ASCII_LOWER))
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            strings = _map_strings(strings, lambda s: _PUNCTUATION.sub("", s))
        if callable(self.standardize):
            strings = string_array(self.standardize(strings))
        return strings

    def _tokenize(self, strings):
        """Standardized, split and n-grammed: an array (no split) or one token list per
        string (a single string gives one list too)."""
        strings = self._standardized(strings)
        if self.split is None:
            if self._ngram_widths is not None:
                raise NotImplementedError("TextVectorization(split=None, ngrams=...) is not "
                                          "supported in minikeras.")
            return strings
        if strings.ndim > 1:
            if strings.shape[-1] != 1:
                raise ValueError("When using `TextVectorization` to tokenize strings, the input "
                                 "rank must be 1 or the last shape dimension must be 1. "
                                 f"Received: inputs.shape={strings.shape} with "
                                 f"rank={strings.ndim}")
            strings = strings[..., 0]
        if strings.ndim > 1:
            raise ValueError("TextVectorization takes a batch of strings of shape (batch,) or "
                             f"(batch, 1); received shape {strings.shape}.")
        rows = list(strings.reshape(-1))
        if self.split == "whitespace":
            documents = [_split_whitespace(s) for s in rows]
        elif self.split == "character":
            documents = [list(s) for s in rows]
        else:
            documents = [[str(t) for t in string_array(tokens).reshape(-1)]
                         for tokens in self.split(np.asarray(strings, dtype=object))]
        if self._ngram_widths is not None:
            documents = [_ngrams(tokens, self._ngram_widths) for tokens in documents]
        return documents

    # --- call ------------------------------------------------------------------------------
    def call(self, inputs):
        strings = string_array(inputs)
        tokens = self._tokenize(strings)
        lookup = self._lookup_layer
        if isinstance(tokens, np.ndarray):
            return self._fit_unsplit(lookup(tokens))
        single = strings.ndim == 0            # one string in: one sequence out
        length = self.output_sequence_length if self.output_mode == "int" else None
        if length is not None:
            tokens = [document[:length] for document in tokens]
        lengths = np.array([len(document) for document in tokens], np.int64)
        flat = np.empty(int(lengths.sum()), dtype=object)
        flat[:] = list(itertools.chain.from_iterable(tokens))
        indices, kept = lookup.lookup_indices(flat)
        rows = np.repeat(np.arange(len(tokens)), lengths)
        if self.output_mode != "int":
            out = lookup.encode_rows(rows, indices, kept, len(tokens))
            return Tensor(out[0] if single else out)
        # Sequences padded with 0 to the longest of the batch or to output_sequence_length.
        width = length if length is not None else int(lengths.max(initial=0))
        out = np.zeros((len(tokens), width), lookup._dtype)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[rows, np.arange(len(flat)) - starts] = indices
        return Tensor(out[0] if single else out)

    def _fit_unsplit(self, ids):
        """Unsplit "int" ids of shape `(batch, 1)` cut or padded with 0 along the last axis
        to `output_sequence_length`, as tf.keras does. (tf.keras does it to a `(batch,)`
        input too, cutting the batch; that one is returned as it is.)"""
        length = self.output_sequence_length
        if self.output_mode != "int" or length is None or ids.ndim < 2:
            return ids
        data = ids.data[..., :length]
        pad = [(0, 0)] * (data.ndim - 1) + [(0, length - data.shape[-1])]
        return Tensor(np.pad(data, pad))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.split is None:
            if self.output_mode == "int" and self.output_sequence_length is not None \
                    and len(input_shape) >= 2:
                return input_shape[:-1] + (self.output_sequence_length,)
            return self._lookup_layer.compute_output_shape(input_shape)
        batch = input_shape[:1]
        if self.output_mode == "int":
            return batch + (self.output_sequence_length,)
        return batch + self._lookup_layer.compute_output_shape((None,))[-1:]

    def _output_dtype(self, inputs):
        return self._lookup_layer._dtype

    # --- config and assets -----------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        lookup = self._lookup_layer
        config.update({
            "max_tokens": lookup.max_tokens, "standardize": self.standardize,
            "split": self.split, "ngrams": listify(self.ngrams) if isinstance(self.ngrams, tuple)
            else self.ngrams, "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": self.sparse,
            "ragged": self.ragged, "vocabulary": lookup.get_config()["vocabulary"],
            "idf_weights": listify(lookup.input_idf_weights), "encoding": self.encoding,
            "vocabulary_size": lookup.vocabulary_size(),
        })
        return config

    @classmethod
    def from_config(cls, config):
        """A callable `standardize` / `split` is saved by its (registered) name: find it in
        the custom objects, as tf.keras does."""
        config = dict(config)
        if config.get("dtype") not in (None, "string"):
            config.pop("dtype")               # Keras 3 writes its float32 dtype policy here
        if config.get("standardize") not in _STANDARDIZE + (None,):
            config["standardize"] = deserialize_keras_object(config["standardize"])
        if config.get("split") not in _SPLIT + (None,):
            config["split"] = deserialize_keras_object(config["split"])
        return cls(**config)

    def save_assets(self, directory):
        self._lookup_layer.save_assets(directory)

    def load_assets(self, directory):
        self._lookup_layer.load_assets(directory)


def _split_whitespace(text):
    if _OTHER_WHITESPACE.search(text) is None:
        return text.split()
    return [t for t in _WHITESPACE.split(text) if t]


def _map_strings(strings, function):
    out = np.empty(strings.shape, dtype=object)
    out.reshape(-1)[:] = [function(s) for s in strings.reshape(-1)]
    return out


def _ngrams(tokens, widths):
    """tf.strings.ngrams with `separator=" "`: all n-grams of each width in turn; none of a
    width longer than the sequence."""
    grams = []
    for width in widths:
        grams.extend(" ".join(tokens[i:i + width]) for i in range(len(tokens) - width + 1))
    return grams
