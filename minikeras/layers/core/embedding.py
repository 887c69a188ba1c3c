"""Embedding: turns integer ids into dense vectors of fixed size."""
import numpy as np

from ... import constraints, initializers, regularizers
from ...core.tensor import Tensor
from ...engine.argument_checks import integer
from ...engine.base_layer import Layer
from ...ops.embedding import check_ids, embedding_lookup


class Embedding(Layer):
    """Looks up row `i` of a trainable `(input_dim, output_dim)` table for every id `i`.

    With `mask_zero=True` the id 0 is padding: the layer emits a mask `inputs != 0` for the
    layers that follow.

    Example:
    >>> layer = Embedding(1000, 64)
    >>> layer(np.array([[4, 20, 0]])).shape
    (1, 3, 64)
    """
    # under mixed_float16: float32 weights and arithmetic, float16 output (as tf.keras)
    _computes_in_variable_dtype = True

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, activity_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, input_length=None, sparse=False,
                 **kwargs):
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            # tf.keras gives an Embedding a default input shape, so it builds in a Sequential.
            if isinstance(input_length, (list, tuple)):
                kwargs["input_shape"] = tuple(input_length)   # several sequence axes
            else:
                kwargs["input_shape"] = (input_length,) if input_length else (None,)
        input_dim = integer(input_dim, "input_dim", "Embedding")
        output_dim = integer(output_dim, "output_dim", "Embedding")
        if input_dim <= 0 or output_dim <= 0:
            raise ValueError("Both `input_dim` and `output_dim` should be positive, "
                             f"Received input_dim = {input_dim} and output_dim = {output_dim}")
        if sparse:
            raise NotImplementedError("Embedding(sparse=True) is not supported by minikeras "
                                      "(it returns a tf.SparseTensor in tf.keras).")
        kwargs.pop("autocast", None)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.input_length = input_length
        self.sparse = sparse

    def build(self, input_shape=None):
        self.embeddings = self.add_weight("embeddings", shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def call(self, inputs):
        ids = check_ids(inputs.data if isinstance(inputs, Tensor) else inputs, self.input_dim)
        return embedding_lookup(self.embeddings, ids)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return Tensor(np.not_equal(inputs.data if isinstance(inputs, Tensor) else inputs, 0))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.input_length is None:
            return input_shape + (self.output_dim,)
        lengths = list(self.input_length) if isinstance(self.input_length, (list, tuple)) \
            else [self.input_length]
        if len(lengths) != len(input_shape) - 1:
            raise ValueError(f'"input_length" is {self.input_length}, but received input has '
                             f"shape {input_shape}")
        for i, (expected, got) in enumerate(zip(lengths, input_shape[1:])):
            if expected is not None and got is not None and expected != got:
                raise ValueError(f'"input_length" is {self.input_length}, but received input '
                                 f"has shape {input_shape}")
            if expected is None:
                lengths[i] = got
        return (input_shape[0],) + tuple(lengths) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "input_length": self.input_length,
        })
        return config
