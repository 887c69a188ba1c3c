"""Discretization: bucket continuous values by bin boundaries (tf.keras 2.x)."""
import numpy as np

from ...core.tensor import Tensor, as_array
from .base_preprocessing_layer import PreprocessingLayer
from ...engine.keras_tensor import KerasTensor
from .category_encoding import encode_categorical, encoded_shape
from .preprocessing_utils import adapt_batches

_MODES = ("int", "one_hot", "multi_hot", "count")


class Discretization(PreprocessingLayer):
    """Each value becomes the index of its bucket: `i` such that
    `bin_boundaries[i-1] <= x < bin_boundaries[i]` (int64), or that index encoded one-hot,
    multi-hot or as counts over `len(bin_boundaries) + 1` buckets.

    `adapt(data)` learns `num_bins - 1` boundaries with tf.keras' approximate quantiles: each
    batch (32 rows by default, as tf.keras batches arrays) is summarised by about `1/epsilon`
    weighted values, merged into the running summary, and the boundaries are interpolated
    from the cumulative weights.

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
            if any(b > a for a, b in zip(bin_boundaries[1:], bin_boundaries)):
                # tf.raw_ops.Bucketize refuses them when called; fail before any data
                raise ValueError("Expected sorted boundaries: `bin_boundaries` must be in "
                                 f"increasing order. Received: bin_boundaries={bin_boundaries}")
        self.input_bin_boundaries = bin_boundaries
        self.bin_boundaries = bin_boundaries if bin_boundaries is not None else []
        self.summary = np.zeros((2, 0), np.float32)   # adapt's quantile summary
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse

    @classmethod
    def from_config(cls, config):
        """Keras 3 configs of an adapted layer hold both `num_bins` and the learned
        `bin_boundaries` (tf.keras 2 refuses both as arguments)."""
        config = dict(config)
        num_bins = config.get("num_bins")
        boundaries = config.get("bin_boundaries")
        if num_bins is not None and boundaries is not None and \
                len(boundaries) == num_bins - 1:
            config["num_bins"] = None
            layer = cls(**config)
            layer.num_bins = num_bins
            return layer
        return cls(**config)

    def adapt(self, data, batch_size=None, steps=None):
        """Learns `bin_boundaries` from `data` (array, list, Sequence or generator of
        batches)."""
        if self.input_bin_boundaries is not None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead. You passed "
                             f"`bin_boundaries={self.input_bin_boundaries}`.")
        summary = np.zeros((2, 0), np.float32)
        for batch in adapt_batches(data, batch_size, steps):
            values = np.asarray(as_array(batch), np.float32)
            if not self.built and self._batch_input_shape is None:
                self._batch_input_shape = (None,) * max(values.ndim, 1)
            summary = _merge_summaries(_summarize(values, self.epsilon), summary, self.epsilon)
        self._set_summary(summary)
        self._is_adapted = True

    def _set_summary(self, summary):
        self.summary = summary
        self.bin_boundaries = [float(b) for b in _compress(summary, 1.0 / self.num_bins)[0, :-1]] \
            if summary.shape[1] else []

    # .keras files: the quantile summary in `vars/0`, as tf.keras writes it. (tf.keras 2.21
    # does not recompute the boundaries when it reads the file back; minikeras does.)
    def save_own_variables(self, store):
        if self.input_bin_boundaries is None:
            store["0"] = np.asarray(self.summary, np.float32)

    def load_own_variables(self, store):
        if self.input_bin_boundaries is None and "0" in store:
            self._set_summary(np.asarray(store["0"][()], np.float32))

    def call(self, inputs):
        values = np.asarray(as_array(inputs))
        # tf.raw_ops.Bucketize: the number of boundaries <= x
        indices = np.searchsorted(np.asarray(self.bin_boundaries, np.float64),
                                  values.astype(np.float64), side="right")
        if self.output_mode == "int":
            return Tensor(indices.astype(self._dtype))
        return Tensor(encode_categorical(indices, self.output_mode, self._depth(), self._dtype))

    def _depth(self):
        """The number of buckets: one more than the boundaries, `num_bins` before adapt."""
        if self.bin_boundaries or self.num_bins is None:
            return len(self.bin_boundaries) + 1
        return self.num_bins

    def compute_output_shape(self, input_shape):
        # tf.keras 2.x returns the input shape here whatever the output_mode; the symbolic
        # outputs of the functional API get the encoded shape (`_infer_outputs`).
        return input_shape

    def _infer_outputs(self, args, kwargs):
        return KerasTensor(self._encoded_shape(args[0].shape), dtype=self._dtype)

    def _encoded_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def get_config(self):
        config = super().get_config()
        config.update({"bin_boundaries": self.input_bin_boundaries, "num_bins": self.num_bins,
                       "epsilon": self.epsilon, "output_mode": self.output_mode,
                       "sparse": self.sparse})
        return config


# --- tf.keras' approximate quantile summaries: rows (values, weights), float32 ------------------
def _summarize(values, epsilon):
    """The sorted values of one batch, every `step`-th kept with weight `step`, so that about
    `1/epsilon` remain."""
    values = np.sort(values.reshape(-1))
    increment = int(np.float32(values.size) / np.float32(1.0 / epsilon))
    step = max(increment, 1)
    kept = values[increment::step]
    return np.stack([kept, np.full(kept.shape, step, np.float32)])


def _compress(summary, epsilon):
    """About `1/epsilon` values interpolated at even steps of the cumulative weight."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    new_values = np.interp(percents, fractions, summary[0])
    new_cumulative = np.interp(percents, fractions, cumulative)
    new_weights = new_cumulative - np.concatenate(([0], new_cumulative[:-1]))
    return np.stack((new_values, new_weights)).astype(np.float32)


def _merge_summaries(new, previous, epsilon):
    merged = np.concatenate((new, previous), axis=1)
    merged = merged[:, np.argsort(merged[0], kind="stable")]
    return _compress(merged, epsilon)
