"""Hashing: strings or integers to `num_bins` buckets with TensorFlow's hash functions."""
import numpy as np

from ...core.tensor import Tensor, as_array
from ...engine.base_layer import Layer
from .category_encoding import encode_categorical, encoded_shape
from .hash_functions import fingerprint64, siphash24
from .preprocessing_utils import is_string_array, string_array, validate_string_arg

_MODES = ("int", "one_hot", "multi_hot", "count")


def hash_to_bins(values, num_bins, salt=None):
    """Each value's bucket in `[0, num_bins)`: FarmHash Fingerprint64 of its string (integers
    as their decimal text, like `tf.as_string`) modulo `num_bins`, or SipHash-2-4 keyed by
    `salt` (two 64-bit words) when given. Hashes each distinct value once."""
    unique, inverse = np.unique(values.reshape(-1), return_inverse=True)
    if salt is None:
        buckets = [fingerprint64(str(v)) % num_bins for v in unique]
    else:
        buckets = [siphash24(salt, str(v)) % num_bins for v in unique]
    return np.asarray(buckets, np.int64)[inverse].reshape(values.shape)


def hash_inputs(inputs, layer_name):
    """Strings as an object array of `str`, integers as int64; anything else is refused as
    TensorFlow's hash ops refuse it."""
    array = np.asarray(as_array(inputs))
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    if is_string_array(array) or array.dtype.kind in "US":
        return string_array(array)
    raise ValueError(f"{layer_name} takes string or integer inputs; received an array of dtype "
                     f"{array.dtype}.")


class Hashing(Layer):
    """Hashes each string (integers hash as their decimal text) into `num_bins` buckets, as
    tf.keras does: FarmHash Fingerprint64 modulo `num_bins`, or SipHash-2-4 with `salt`.
    With `mask_value`, that value goes to bin 0 and the others to `[1, num_bins)`.
    `output_mode` one_hot / multi_hot / count encodes the bins like `CategoryEncoding`.

    Strings are NumPy object (or `str_`) arrays.

    Example:
    >>> Hashing(num_bins=3)(np.array([["A"], ["B"], ["C"], ["D"], ["E"]])).numpy()
    array([[1],
           [0],
           [1],
           [1],
           [2]])
    """

    _takes_string_inputs = True   # a deferred Sequential may build a string input for it

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        if num_bins is None or num_bins <= 0:
            raise ValueError("The `num_bins` for `Hashing` cannot be `None` or non-positive "
                             f"values. Received: num_bins={num_bins}.")
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        if output_mode == "int" and self._dtype.kind not in "iu":
            raise ValueError('When `output_mode="int"`, `dtype` should be an integer type. '
                             f"Received: dtype={kwargs['dtype']}")
        validate_string_arg(output_mode, _MODES, "Hashing", "output_mode")
        if sparse and output_mode == "int":
            raise ValueError('`sparse` may only be true if `output_mode` is `"one_hot"`, '
                             f'`"multi_hot"`, or `"count"`. Received: sparse={sparse} and '
                             f"output_mode={output_mode}")
        if sparse:
            raise NotImplementedError("Hashing(sparse=True): minikeras has no sparse tensors; "
                                      "use sparse=False.")
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2 and \
                    all(isinstance(s, (int, np.integer)) for s in salt):
                salt = [int(s) for s in salt]
            elif isinstance(salt, (int, np.integer)):
                salt = [int(salt), int(salt)]
            else:
                raise ValueError("The `salt` argument for `Hashing` can only be a tuple of size "
                                 f"2 integers, or a single integer. Received: salt={salt}.")
        self.num_bins = num_bins
        self.mask_value = mask_value
        self.salt = salt
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs):
        values = hash_inputs(inputs, "Hashing")
        bins = self.num_bins
        masked = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            masked = values == (str(self.mask_value) if values.dtype == object
                                else self.mask_value)
        indices = hash_to_bins(values, bins, self.salt)
        if masked is not None:
            indices = np.where(masked, 0, indices + 1)
        if self.output_mode == "int":
            return Tensor(indices.astype(self._dtype))
        return Tensor(encode_categorical(indices, self.output_mode, self.num_bins, self._dtype))

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def _output_dtype(self, inputs):
        return self._dtype

    def get_config(self):
        config = super().get_config()
        config.update({"num_bins": self.num_bins, "salt": self.salt,
                       "mask_value": self.mask_value, "output_mode": self.output_mode,
                       "sparse": self.sparse})
        return config
