"""MeanRelativeError and MeanTensor (tf.keras 2.x)."""
import numpy as np

from ..core.tensor import as_array
from .base import Mean, Metric, broadcast_weights, divide_no_nan, squeeze_or_expand_dimensions


class MeanRelativeError(Mean):
    """The (weighted) mean of `|y_true - y_pred| / normalizer` (0 where the normalizer is 0).

    Example:

        m = keras.metrics.MeanRelativeError(normalizer=[1, 3, 2, 3])
        m.update_state([1, 3, 2, 3], [2, 4, 6, 8])
        float(m.result())   # 1.25
    """

    def __init__(self, normalizer, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.normalizer = np.asarray(as_array(normalizer), self._dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(as_array(y_true), self._dtype)
        y_pred = np.asarray(as_array(y_pred), self._dtype)
        y_pred, y_true = squeeze_or_expand_dimensions(y_pred, y_true)
        normalizer = self.normalizer
        if normalizer.ndim == y_pred.ndim + 1 and normalizer.shape[-1] == 1:
            normalizer = normalizer[..., 0]
        elif y_pred.ndim == normalizer.ndim + 1 and y_pred.shape[-1] == 1:
            y_pred = y_pred[..., 0]
        if y_pred.shape != y_true.shape:
            raise ValueError(f"Shapes {y_pred.shape} and {y_true.shape} are incompatible")
        errors = divide_no_nan(np.abs(y_true - y_pred), normalizer)
        return super().update_state(errors, sample_weight=sample_weight)

    def get_config(self):
        config = super().get_config()
        config["normalizer"] = self.normalizer
        return config


class MeanTensor(Metric):
    """The element-wise (weighted) mean of the values seen, which all share one shape.

    Example:

        m = keras.metrics.MeanTensor()
        m.update_state([0, 1, 2, 3])
        m.update_state([4, 5, 6, 7])
        m.result()   # [2., 3., 4., 5.]
    """

    def __init__(self, name="mean_tensor", dtype=None, shape=None):
        super().__init__(name=name, dtype=dtype)
        self._shape = None
        self._total = self._count = None
        self._built = False
        if shape is not None:
            self._build(tuple(shape))

    def _build(self, shape):
        self._shape = tuple(shape)
        self._total = self.add_weight("total", shape=shape)
        self._count = self.add_weight("count", shape=shape)
        self._built = True

    @property
    def total(self):
        return self._total if self._built else None

    @property
    def count(self):
        return self._count if self._built else None

    def update_state(self, values, sample_weight=None):
        values = np.asarray(as_array(values), self._dtype)
        if not self._built:
            self._build(values.shape)
        elif values.shape != self._shape:
            raise ValueError("MeanTensor input values must always have the same shape. Expected "
                             f"shape (set during the first call): {self._shape}. Got: "
                             f"{values.shape}.")
        counts = np.ones_like(values)
        if sample_weight is not None:
            weight = np.asarray(as_array(sample_weight), self._dtype)
            values, _, weight = squeeze_or_expand_dimensions(values, sample_weight=weight)
            try:
                weight = broadcast_weights(weight, values)
            except ValueError:
                values = values.mean(axis=tuple(range(weight.ndim, values.ndim)))
            counts = counts * weight
            values = values * weight
        self._total.data += values
        self._count.data += counts
        return self._count          # what tf.keras' update_state returns

    def result(self):
        if not self._built:
            raise ValueError("MeanTensor does not have any value yet. Please call the MeanTensor "
                             "instance or use `.update_state(value)` before retrieving the "
                             "result.")
        return self._tensor(divide_no_nan(self._total.data, self._count.data))
