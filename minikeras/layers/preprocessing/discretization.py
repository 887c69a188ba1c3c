"""Discretization: bucket continuous values by bin boundaries (tf.keras 2.x)."""
import numpy as np

from ...core.tensor import Tensor, as_array
from ...engine.base_layer import Layer
from .category_encoding import encode_categorical

_MODES = ("int", "one_hot", "multi_hot", "count")


class Discretization(Layer):
    """Each value becomes the index of its bucket: `i` such that
    `bin_boundaries[i-1] <= x < bin_boundaries[i]` (int64), or that index encoded one-hot,
    multi-hot or as counts over `len(bin_boundaries) + 1` buckets.

    `adapt` (learning boundaries from data with tf.keras' approximate quantiles) is not
    implemented: pass `bin_boundaries`.

    Example:
    >>> Discretization(bin_boundaries=[0.0, 1.0])(np.array([[-1.5, 0.5, 1.0]])).numpy()
    array([[0, 1, 2]])
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, **kwargs):
        if "bins" in kwargs:                  # the deprecated name
            bins = kwargs.pop("bins")
            if isinstance(bins, int) and num_bins is None:
                num_bins = bins
            elif bin_boundaries is None:
                bin_boundaries = bins
        if kwargs.get("dtype") is None or (output_mode == "int" and
                                           np.dtype(kwargs["dtype"]).kind not in "iu"):
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        if output_mode not in _MODES:
            raise ValueError(f"Unknown value for `output_mode`. Allowed values are: {_MODES}. "
                             f"Received: {output_mode}")
        if sparse:
            raise NotImplementedError("Discretization(sparse=True): minikeras has no sparse "
                                      "tensors; use sparse=False.")
        if num_bins is not None and num_bins < 0:
            raise ValueError("`num_bins` must be greater than or equal to 0. You passed "
                             f"`num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Both `num_bins` and `bin_boundaries` should not be set. You passed "
                             f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in np.asarray(as_array(bin_boundaries)).ravel()]
        self.input_bin_boundaries = bin_boundaries
        self.bin_boundaries = bin_boundaries if bin_boundaries is not None else []
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse

    def adapt(self, data, batch_size=None, steps=None):
        raise NotImplementedError("Discretization.adapt (tf.keras' approximate quantiles) is not "
                                  "implemented in minikeras: pass `bin_boundaries` instead.")

    def call(self, inputs):
        values = np.asarray(as_array(inputs))
        # tf.raw_ops.Bucketize: the number of boundaries <= x
        indices = np.searchsorted(np.asarray(self.bin_boundaries, np.float64),
                                  values.astype(np.float64), side="right")
        if self.output_mode == "int":
            return Tensor(indices.astype(self._dtype))
        return Tensor(encode_categorical(indices, self.output_mode,
                                         len(self.bin_boundaries) + 1, self._dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"bin_boundaries": self.input_bin_boundaries, "num_bins": self.num_bins,
                       "epsilon": self.epsilon, "output_mode": self.output_mode,
                       "sparse": self.sparse})
        return config
