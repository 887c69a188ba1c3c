"""CategoryEncoding: integer category ids to one-hot, multi-hot or count vectors."""
import numpy as np

from ...core.tensor import Tensor, as_array
from ...engine.base_layer import Layer

_MODES = ("count", "one_hot", "multi_hot")


class CategoryEncoding(Layer):
    """Each sample's ids (in `[0, num_tokens)`) become a `num_tokens` vector: `multi_hot`
    marks the ids present, `count` counts them (weighted by `count_weights`), `one_hot` encodes
    a single id per sample (a trailing axis of 1 is replaced by the encoding). A 1-D input is
    one sample, except in `one_hot` mode (one id per row), as tf.keras.

    Example:
    >>> CategoryEncoding(num_tokens=4, output_mode="multi_hot")(np.array([[0, 1], [2, 2]])).numpy()
    array([[1., 1., 0., 0.],
           [0., 0., 1., 0.]], dtype=float32)
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        if "max_tokens" in kwargs:            # the deprecated name
            num_tokens = kwargs.pop("max_tokens")
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _MODES:
            raise ValueError(f"Unknown value for `output_mode`. Allowed values are: {_MODES}. "
                             f"Received: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens "
                             "is not known beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise NotImplementedError("CategoryEncoding(sparse=True): minikeras has no sparse "
                                      "tensors; use sparse=False.")
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("`count_weights` is not used when `output_mode` is not `'count'`. "
                             f"Received `count_weights={count_weights}`.")
        ids = np.asarray(as_array(inputs))
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_tokens):
            raise ValueError("Input values must be in the range 0 <= values < num_tokens with "
                             f"num_tokens={self.num_tokens}")
        weights = None if count_weights is None else np.asarray(as_array(count_weights))
        return Tensor(encode_categorical(ids, self.output_mode, self.num_tokens, self._dtype,
                                         weights))

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode,
                       "sparse": self.sparse})
        return config


def encoded_shape(input_shape, output_mode, depth):
    """The output shape of categorical encoding as tf.keras gives it: unchanged for 'int'; a
    last axis of width 1 is replaced by `depth`, one_hot of a wider last axis appends it."""
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot" and input_shape[-1] != 1:
        output_shape = input_shape + (depth,)
    else:
        output_shape = input_shape[:-1] + (depth,)
    if len(output_shape) > 2:   # tf.keras' check, made in `call` while a model is built, too
        raise ValueError("When output_mode is not `'int'`, maximum supported output rank is 2. "
                         f"Received output_mode {output_mode} and input shape {input_shape}, "
                         f"which would result in output rank {len(output_shape)}.")
    return output_shape


def encode_categorical(ids, output_mode, depth, dtype, count_weights=None):
    """tf.keras' `encode_categorical_inputs` for dense integer ids (one row per sample; a 1-D
    input is one sample, except for one_hot)."""
    original_shape = ids.shape
    if ids.ndim == 0:
        ids = ids[None]
    if output_mode == "one_hot" and ids.shape[-1] != 1:
        ids = ids[..., None]
    if ids.ndim > 2:
        raise ValueError("When output_mode is not `'int'`, maximum supported output rank is 2. "
                         f"Received output_mode {output_mode} and input shape {original_shape}, "
                         f"which would result in output rank {ids.ndim}.")
    rows = ids if ids.ndim == 2 else ids[None]
    out = np.zeros((rows.shape[0], depth), dtype)
    row_index = np.repeat(np.arange(rows.shape[0]), rows.shape[1])
    columns = rows.reshape(-1).astype(np.int64)
    if output_mode == "count":
        weights = 1 if count_weights is None else \
            np.asarray(count_weights, dtype).reshape(rows.shape).reshape(-1)
        np.add.at(out, (row_index, columns), weights)
    else:
        out[row_index, columns] = 1
    return out if ids.ndim == 2 else out[0]
