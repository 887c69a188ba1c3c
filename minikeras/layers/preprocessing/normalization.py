"""Normalization: `(x - mean) / sqrt(var)` per feature, from given statistics or `adapt()`."""
import numpy as np

from ... import ops
from ...core import config
from .base_preprocessing_layer import PreprocessingLayer
from .image_utils import to_float
from .preprocessing_utils import adapt_batches


class Normalization(PreprocessingLayer):
    """Shifts and scales inputs to zero mean and unit variance along the kept `axis`.

    Without `mean`/`variance` the layer owns non-trainable weights `mean`, `variance`
    (shape: the kept axes) and an int64 `count`, set by `adapt(data)`.

    Example:
    >>> layer = Normalization(axis=-1)
    >>> layer.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
    >>> layer(np.array([[1.0, 20.0]])).numpy()
    array([[0., 0.]], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(axis)
        if 0 in axis:
            raise ValueError("The argument 'axis' may not be 0.")
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be "
                             f"set. Got mean: {mean} and variance: {variance}")
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError("All `axis` values must be in the range [-ndim, ndim). Found ndim: "
                             f"`{ndim}`, axis: {self.axis}")
        self._keep_axis = sorted(a if a >= 0 else a + ndim for a in self.axis)
        for a in self._keep_axis:
            if input_shape[a] is None:
                raise ValueError("All `axis` values to be kept must have known shape. Got axis: "
                                 f"{self.axis}, input shape: {list(input_shape)}, with unknown "
                                 f"axis at index: {a}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1
                                      for d in range(ndim))
        statistics_shape = tuple(input_shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=statistics_shape,
                                              initializer="zeros", trainable=False,
                                              dtype=self.compute_dtype)   # (tf.keras')
            self.adapt_variance = self.add_weight(name="variance", shape=statistics_shape,
                                                  initializer="ones", trainable=False,
                                                  dtype=self.compute_dtype)
            self.count = self.add_weight(name="count", shape=(), dtype="int64",
                                         initializer="zeros", trainable=False)
        super().build(input_shape)

    def _statistics(self):
        """(mean, variance) shaped to broadcast against the inputs."""
        if self.input_mean is None:
            mean, variance = self.adapt_mean.data, self.adapt_variance.data
        else:
            mean, variance = self.input_mean, self.input_variance
        mean = np.broadcast_to(np.asarray(mean, self._dtype), self._statistics_shape())
        variance = np.broadcast_to(np.asarray(variance, self._dtype), self._statistics_shape())
        return mean.reshape(self._broadcast_shape), variance.reshape(self._broadcast_shape)

    # tf.keras 2 keeps the statistics it normalizes with as tensors shaped to broadcast against
    # the inputs (the regression tutorial prints `normalizer.mean.numpy()`)
    @property
    def mean(self):
        return ops.convert_to_tensor(self._statistics()[0])

    @property
    def variance(self):
        return ops.convert_to_tensor(self._statistics()[1])

    def _statistics_shape(self):
        return tuple(self._broadcast_shape[d] for d in self._keep_axis)

    def call(self, inputs):
        inputs = to_float(inputs, self._dtype)
        mean, variance = self._statistics()
        scale = np.maximum(np.sqrt(variance), np.asarray(config.epsilon(), self._dtype))
        if self.invert:
            return ops.add(ops.multiply(inputs, scale), mean)
        return ops.divide(ops.subtract(inputs, mean), scale)

    def adapt(self, data, batch_size=None, steps=None):
        """Set `mean`, `variance` and `count` from `data`: an array or Tensor, or a Sequence,
        dataset or generator of batches (features only). Statistics are merged batch by batch
        in float64, so any batching gives the whole-data figures."""
        if self.input_mean is not None:
            raise ValueError("Cannot adapt a Normalization layer whose `mean` and `variance` "
                             "were given to the constructor.")
        count, mean, variance = 0, None, None
        for batch in adapt_batches(data, batch_size, steps):
            values = np.asarray(getattr(batch, "data", batch), dtype=np.float64)
            if not self.built:
                if self._batch_input_shape is None:   # tf.keras keeps the data's rank
                    self._batch_input_shape = (None,) * values.ndim
                self.build((None,) + values.shape[1:])
            batch_count = int(np.prod([values.shape[d] for d in self._reduce_axis]))
            batch_mean = values.mean(axis=self._reduce_axis)
            batch_variance = values.var(axis=self._reduce_axis)
            if mean is None:
                count, mean, variance = batch_count, batch_mean, batch_variance
                continue
            total = count + batch_count
            merged_mean = (mean * count + batch_mean * batch_count) / total
            variance = (count * (variance + (mean - merged_mean) ** 2) +
                        batch_count * (batch_variance + (batch_mean - merged_mean) ** 2)) / total
            count, mean = total, merged_mean
        if mean is None:
            raise ValueError("`adapt()` received no data: the dataset or generator gave no "
                             "batch.")
        self.adapt_mean.assign(mean.astype(self._dtype))
        self.adapt_variance.assign(variance.astype(self._dtype))
        self.count.assign(np.asarray(count, np.int64))
        self._is_adapted = True

    def compute_output_shape(self, input_shape):
        """The input shape, with the kept axes the statistics' sizes where the input leaves them
        unknown: tf.keras' output is the broadcast of the inputs against the statistics (an
        adapted layer first in a Sequential gives `(None, features)`)."""
        input_shape = tuple(input_shape)
        if not self.built or len(input_shape) != len(self._broadcast_shape):
            return input_shape
        return tuple(self._broadcast_shape[axis] if size is None and axis in self._keep_axis
                     else size for axis, size in enumerate(input_shape))

    def get_config(self):
        config_ = super().get_config()
        config_.update({"axis": self.axis, "invert": self.invert,
                        "mean": _listed(self.input_mean), "variance": _listed(self.input_variance)})
        return config_


def _listed(value):
    return value.tolist() if isinstance(value, np.ndarray) else value
