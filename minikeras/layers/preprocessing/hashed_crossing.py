"""HashedCrossing: the hashed cross of two or more categorical features (tf.keras 2.x)."""
import numpy as np

from ...core.tensor import Tensor
from ...engine.base_layer import Layer
from .category_encoding import encode_categorical
from .hash_functions import fingerprint64, fingerprint_cat64
from .hashing import hash_inputs
from .preprocessing_utils import validate_string_arg

# tf.sparse.cross_hashed's default hash key.
_CROSS_HASH_KEY = 0xDECAFCAFFE
_MASK64 = (1 << 64) - 1


def _feature_hash(value):
    """What `tf.sparse.cross_hashed` combines: a string's Fingerprint64, an integer itself
    (as an unsigned 64-bit word)."""
    return fingerprint64(value) if isinstance(value, str) else int(value) & _MASK64


class HashedCrossing(Layer):
    """Crosses features by hashing each combination of their values into `num_bins` buckets,
    as `tf.sparse.cross_hashed` does (FingerprintCat64 of the features' fingerprints, strings
    by FarmHash Fingerprint64, integers as they are, modulo `num_bins`). Inputs: a list of
    two or more arrays of equal shape `()`, `(batch,)` or `(batch, 1)`, strings (NumPy object
    arrays) or integers. `output_mode="one_hot"` encodes the bucket.

    Example:
    >>> layer = HashedCrossing(num_bins=5)
    >>> layer((np.array(["A", "B", "A"], dtype=object), np.array([1, 2, 1]))).numpy().shape
    (3,)
    """

    _takes_string_inputs = True   # a deferred Sequential may build a string input for it

    def __init__(self, num_bins, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        if output_mode == "int" and self._dtype.kind not in "iu":
            raise ValueError("When `output_mode='int'`, `dtype` should be an integer type. "
                             f"Received: dtype={kwargs['dtype']}")
        validate_string_arg(output_mode, ("int", "one_hot"), "HashedCrossing", "output_mode")
        if sparse:
            raise NotImplementedError("HashedCrossing(sparse=True): minikeras has no sparse "
                                      "tensors; use sparse=False.")
        self.num_bins = num_bins
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("`HashedCrossing` should be called on a list or tuple of inputs. "
                             f"Received: inputs={inputs}")
        if len(inputs) < 2:
            raise ValueError("`HashedCrossing` should be called on at least two inputs. "
                             f"Received: inputs={inputs}")
        features = [hash_inputs(x, "HashedCrossing") for x in inputs]
        shape = features[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise ValueError("All `HashedCrossing` inputs should have shape `[]`, "
                             f"`[batch_size]` or `[batch_size, 1]`. Received: inputs={inputs}")
        if any(f.shape != shape for f in features[1:]):
            raise ValueError("All `HashedCrossing` inputs should have equal shape. "
                             f"Received: inputs={inputs}")
        columns = [f.reshape(-1).tolist() for f in features]
        crossed = []
        for row in zip(*columns):
            hashed = _CROSS_HASH_KEY
            for value in row:
                hashed = fingerprint_cat64(hashed, _feature_hash(value))
            crossed.append(hashed % self.num_bins)
        indices = np.asarray(crossed, np.int64).reshape(shape)
        if self.output_mode == "int":
            return Tensor(indices.astype(self._dtype))
        return Tensor(encode_categorical(indices, "one_hot", self.num_bins, self._dtype))

    def compute_output_shape(self, input_shape):
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if not first:
            return (self.num_bins,)
        return (first[0], self.num_bins)

    def _output_dtype(self, inputs):
        return self._dtype

    def get_config(self):
        config = super().get_config()
        config.update({"num_bins": self.num_bins, "output_mode": self.output_mode,
                       "sparse": self.sparse})
        return config
