"""Regression and probabilistic metrics: the running means of the loss functions."""
import numpy as np

from .. import losses
from ..core.tensor import as_array
from .base import (Mean, MeanMetricWrapper, divide_no_nan, squeeze_or_expand_dimensions,
                   tensor_result)


def _numpy_metric(fn, name=None):
    """A loss function as a metric function: a Tensor of the per-sample values, detached
    (metrics are never differentiated), keeping the loss' `_keras_mask` (ignore_class)."""
    metric = tensor_result(fn)
    metric.__name__ = name or fn.__name__
    return metric


mean_squared_error = mse = MSE = _numpy_metric(losses.mean_squared_error)
mean_absolute_error = mae = MAE = _numpy_metric(losses.mean_absolute_error)
mean_absolute_percentage_error = mape = MAPE = _numpy_metric(
    losses.mean_absolute_percentage_error)
mean_squared_logarithmic_error = msle = MSLE = _numpy_metric(
    losses.mean_squared_logarithmic_error)
binary_crossentropy = _numpy_metric(losses.binary_crossentropy)
categorical_crossentropy = _numpy_metric(losses.categorical_crossentropy)
sparse_categorical_crossentropy = _numpy_metric(losses.sparse_categorical_crossentropy)
kl_divergence = kld = KLD = kullback_leibler_divergence = _numpy_metric(
    losses.kl_divergence, "kl_divergence")
hinge = _numpy_metric(losses.hinge)
squared_hinge = _numpy_metric(losses.squared_hinge)
categorical_hinge = _numpy_metric(losses.categorical_hinge)
poisson = _numpy_metric(losses.poisson)
log_cosh = logcosh = _numpy_metric(losses.log_cosh)


def cosine_similarity(y_true, y_pred, axis=-1):
    """The cosine of the angle between labels and predictions (the loss is its negative)."""
    return -as_array(losses.cosine_similarity(y_true, y_pred, axis=axis))


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of `mean((y_true - y_pred)^2, axis=-1)`.

    Example:

        m = keras.metrics.MeanSquaredError()
        m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        float(m.result())   # 0.25
    """

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of `mean(|y_true - y_pred|, axis=-1)`.

    Example:

        m = keras.metrics.MeanAbsoluteError()
        m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        float(m.result())   # 0.25
    """

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Running mean of `100 * mean(|(y_true - y_pred) / y_true|, axis=-1)`.

    Example:

        m = keras.metrics.MeanAbsolutePercentageError()
        m.update_state([[1, 2]], [[1.5, 2]])
        float(m.result())   # 25.0
    """

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Running mean of `mean((log(y_true + 1) - log(y_pred + 1))^2, axis=-1)`.

    Example:

        m = keras.metrics.MeanSquaredLogarithmicError()
        m.update_state([[0, 1]], [[1, 1]])
    """

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """`sqrt` of the running (weighted) mean of the squared errors, over every element.

    Example:

        m = keras.metrics.RootMeanSquaredError()
        m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        float(m.result())   # 0.5
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = as_array(y_true, self._dtype)
        y_pred = as_array(y_pred, self._dtype)
        y_pred, y_true = squeeze_or_expand_dimensions(y_pred, y_true)
        return super().update_state(np.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return self._tensor(np.sqrt(divide_no_nan(self.total.data, self.count.data)))


class CosineSimilarity(MeanMetricWrapper):
    """Running mean of the cosine similarity between labels and predictions along `axis`.

    Example:

        m = keras.metrics.CosineSimilarity(axis=1)
        m.update_state([[0., 1.], [1., 1.]], [[1., 0.], [1., 1.]])
        float(m.result())   # 0.5
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name, dtype=dtype, axis=axis)


class LogCoshError(MeanMetricWrapper):
    """Running mean of `mean(log(cosh(y_pred - y_true)), axis=-1)`.

    Example:

        m = keras.metrics.LogCoshError()
        m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    """

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean of the binary crossentropy.

    Example:

        m = keras.metrics.BinaryCrossentropy()
        m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        float(m.result())   # ~0.81492
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(binary_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the categorical crossentropy (one-hot labels).

    Example:

        m = keras.metrics.CategoricalCrossentropy()
        m.update_state([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        float(m.result())   # ~1.1769392
    """

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(categorical_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the sparse categorical crossentropy (integer labels).

    Example:

        m = keras.metrics.SparseCategoricalCrossentropy()
        m.update_state([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        float(m.result())   # ~1.1769392
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)


class KLDivergence(MeanMetricWrapper):
    """Running mean of the Kullback-Leibler divergence.

    Example:

        m = keras.metrics.KLDivergence()
        m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    """

    def __init__(self, name="kullback_leibler_divergence", dtype=None):
        super().__init__(kl_divergence, name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """Running mean of `mean(y_pred - y_true * log(y_pred), axis=-1)`.

    Example:

        m = keras.metrics.Poisson()
        m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    """

    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name, dtype=dtype)


class Hinge(MeanMetricWrapper):
    """Running mean of the hinge loss ({0, 1} labels become {-1, 1}).

    Example:

        m = keras.metrics.Hinge()
        m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    """

    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Running mean of the squared hinge loss.

    Example:

        m = keras.metrics.SquaredHinge()
        m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    """

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Running mean of the categorical hinge loss.

    Example:

        m = keras.metrics.CategoricalHinge()
        m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    """

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name, dtype=dtype)
