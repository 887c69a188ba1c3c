"""R2Score: the coefficient of determination, per output and aggregated (tf.keras 2.x)."""
import warnings

import numpy as np

from ..core.tensor import as_array
from .base import Metric

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """`1 - sum((y - y_pred)^2) / sum((y - mean(y))^2)` per output column (sample-weighted),
    averaged uniformly or by variance; `num_regressors` > 0 gives the adjusted score. Expects
    2-D `(batch_size, output_dim)` inputs.

    Example:

        m = keras.metrics.R2Score()
        m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [2.0]])
        float(m.result())   # 0.5
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             f"{_AGGREGATIONS}. Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_weight("num_samples", dtype="int32")
        self._built_columns = False

    def _build(self, true_shape, pred_shape):
        if len(pred_shape) != 2 or len(true_shape) != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={pred_shape} and "
                             f"y_true.shape={true_shape}.")
        columns = pred_shape[-1]
        self.squared_sum = self.add_weight("squared_sum", shape=[columns])
        self.sum = self.add_weight("sum", shape=[columns])
        self.total_mse = self.add_weight("residual", shape=[columns])
        self.count = self.add_weight("count", shape=[columns])
        self._built_columns = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(as_array(y_true), self._dtype)
        y_pred = np.asarray(as_array(y_pred), self._dtype)
        if not self._built_columns:
            self._build(y_true.shape, y_pred.shape)
        weight = np.asarray(1 if sample_weight is None else as_array(sample_weight), self._dtype)
        if weight.ndim == 1:
            weight = weight[:, None]
        weight = np.broadcast_to(weight, y_true.shape)
        weighted = y_true * weight
        self.sum.data += weighted.sum(axis=0)
        self.squared_sum.data += (y_true * weighted).sum(axis=0)
        self.total_mse.data += (np.square(y_true - y_pred) * weight).sum(axis=0)
        self.count.data += weight.sum(axis=0)
        self.num_samples.data += np.int32(y_true.size)      # elements, as tf.keras counts

    def result(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum.data / self.count.data
            total = self.squared_sum.data - self.sum.data * mean
            raw = np.float32(1) - self.total_mse.data / total
        raw = np.where(np.isinf(raw), np.float32(0), raw).astype(self._dtype)
        if self.class_aggregation == "uniform_average":
            score = raw.mean(dtype=self._dtype)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw, dtype=self._dtype) / np.sum(total, dtype=self._dtype)
        else:
            score = raw
        samples = int(self.num_samples.data)
        if self.num_regressors:
            if self.num_regressors > samples - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. "
                              "Falling back to standard R2 score.", stacklevel=2)
            elif self.num_regressors == samples - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard "
                              "R2 score.", stacklevel=2)
            else:
                n, p = np.float32(samples), np.float32(self.num_regressors)
                score = np.float32(1) - (np.float32(1) - score) * (n - 1) / (n - p - 1)
        return self._tensor(score)

    def reset_state(self):
        for variable in self._variables:
            variable.data[...] = 0

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
