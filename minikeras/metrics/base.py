"""Stateful metric base classes: `Metric`, the reductions `Sum`/`Mean`, and
`MeanMetricWrapper` (the running mean of a per-sample function), with tf.keras 2.x semantics:
float32 state variables, sample weights squeezed/expanded/broadcast against the values."""
import functools
import numpy as np

from ..core import config
from ..core.registry import builtin_objects
from ..core.serialization import deserialize_object
from ..core.concrete_scope import concrete_values_scope
from ..core.dtype_errors import InvalidArgumentError
from ..core.session import to_snake_case, unique_object_name
from ..core.tensor import Tensor, Variable
from ..core.tensor import as_array
from .. import initializers


def divide_no_nan(numerator, denominator):
    """`numerator / denominator`, 0 where the denominator is 0 (tf.math.divide_no_nan)."""
    numerator, denominator = np.asarray(numerator), np.asarray(denominator)
    if numerator.ndim == 0 and denominator.ndim == 0 and numerator.dtype == denominator.dtype \
            and numerator.dtype.kind == "f":
        quotient = numerator / denominator if denominator != 0 else numerator.dtype.type(0)
        return np.asarray(quotient)     # a metric's result each step: the same, fewer calls
    safe = np.where(denominator == 0, np.ones_like(denominator), denominator)
    return np.where(denominator == 0, np.zeros_like(numerator / safe), numerator / safe)


def squeeze_or_expand_dimensions(y_pred, y_true=None, sample_weight=None):
    """tf.keras' `losses_utils.squeeze_or_expand_dimensions`: drop a trailing size-1 axis so
    that labels and predictions have the same rank, then squeeze or expand the weights to the
    rank of `y_pred`. Returns `(y_pred, y_true)` or `(y_pred, y_true, sample_weight)`."""
    if y_true is not None:
        rank_diff = y_pred.ndim - y_true.ndim
        if rank_diff != 1 or (y_pred.ndim and y_pred.shape[-1] == 1):
            if rank_diff == 1 and y_pred.shape[-1] == 1:
                y_pred = y_pred[..., 0]
            elif rank_diff == -1 and y_true.shape[-1] == 1:
                y_true = y_true[..., 0]
    if sample_weight is None:
        return y_pred, y_true
    if sample_weight.ndim:
        if sample_weight.ndim - y_pred.ndim == 1:
            if sample_weight.shape[-1] != 1:     # tf.squeeze(sample_weight, [-1]) refuses it
                raise InvalidArgumentError(
                    f"Can not squeeze dim[{sample_weight.ndim - 1}], expected a dimension of 1, "
                    f"got {sample_weight.shape[-1]} (sample_weight of shape "
                    f"{sample_weight.shape} for values of shape {y_pred.shape}).")
            sample_weight = sample_weight[..., 0]
        elif y_pred.ndim - sample_weight.ndim == 1:
            sample_weight = sample_weight[..., None]
    return y_pred, y_true, sample_weight


def broadcast_weights(weights, values):
    """TF's `broadcast_weights`: a scalar, or the same rank with each axis 1 or equal;
    anything else is a ValueError (in TF's words)."""
    if not weights.ndim:
        return np.broadcast_to(weights, values.shape)
    if weights.ndim != values.ndim:
        raise ValueError(f"weights can not be broadcast to values. values.rank={values.ndim}. "
                         f"weights.rank={weights.ndim}. values.shape={values.shape}. "
                         f"weights.shape={weights.shape}. Received weights={weights}, "
                         f"values={values}")
    for dim, (w, v) in enumerate(zip(weights.shape, values.shape)):
        if w not in (1, v):
            raise ValueError(f"weights can not be broadcast to values. Mismatch at dim {dim}. "
                             f"values.shape={np.array(values.shape)}, weights.shape="
                             f"{np.array(weights.shape)}. Received weights={weights}, "
                             f"values={values}")
    return np.broadcast_to(weights, values.shape)


class Metric:
    """Base class of the stateful metrics: accumulate with `update_state`, read with
    `result()`, clear with `reset_state()`; calling the metric does update + result.

    Example:

        m = keras.metrics.Mean()
        m.update_state([1, 3, 5, 7])
        float(m.result())   # 4.0
    """

    def __init__(self, name=None, dtype=None, **kwargs):
        for key in kwargs:
            if key not in ("trainable", "autocast"):
                raise TypeError(f"Keyword argument not understood: '{key}'")
        self.name = name or unique_object_name(_snake_case(type(self).__name__))
        self._dtype = np.dtype(dtype or config.floatx())
        self._variables = []

    @property
    def dtype(self):
        return self._dtype.name

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        result = self.result()
        try:
            result._metric_obj = self   # `layer.add_metric(metric(y, p))` tracks the metric
        except AttributeError:          # (a custom result() returning a plain scalar)
            pass
        return result

    def update_state(self, *args, **kwargs):
        raise NotImplementedError("Must be implemented in subclasses.")

    def result(self):
        raise NotImplementedError("Must be implemented in subclasses.")

    def reset_state(self):
        """Every state variable back to zero (as tf.keras does)."""
        for variable in self._variables:
            variable.data[...] = 0

    def reset_states(self):
        """Backwards compatibility alias of `reset_state`."""
        return self.reset_state()

    def merge_state(self, metrics):
        """Adds the state of each metric of `metrics` (same kind, e.g. computed on other data
        shards) to this one's, variable by variable, as tf.keras does."""
        merged = []
        for metric in metrics:
            if len(self.weights) != len(metric.weights):
                raise ValueError(f"Metric {metric} is not compatible with {self}")
            for weight, weight_to_add in zip(self.weights, metric.weights):
                merged.append(weight.assign_add(weight_to_add))
        return merged

    def add_weight(self, name, shape=(), aggregation=None, synchronization=None,
                   initializer="zeros", dtype=None):
        """A non-trainable state variable (zeros unless `initializer` says otherwise);
        `aggregation` and `synchronization` (distribution settings) have no effect here."""
        initializer = "zeros" if initializer is None else initializer
        dtype = np.dtype(dtype or self._dtype)
        value = np.asarray(as_array(initializers.get(initializer)(tuple(shape), dtype=dtype)),
                           dtype)
        variable = Variable(value, trainable=False, name=name)
        self._variables.append(variable)
        return variable

    @property
    def variables(self):
        return list(self._variables)

    weights = non_trainable_weights = variables

    @property
    def trainable_weights(self):
        return []

    def get_weights(self):
        return [np.array(v.data) for v in self._variables]

    def set_weights(self, weights):
        for variable, value in zip(self._variables, weights):
            variable.assign(value)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)

    def _tensor(self, value):
        """A result in the metric dtype, as a `MetricResult` (a copy: later updates must not
        change a result already returned)."""
        return np.array(value, self._dtype).view(MetricResult)


def _remembers_logits(x):
    return isinstance(x, Tensor) and getattr(x, "_keras_logits", None) is not None


class MetricResult(np.ndarray):
    """What `result()` returns: a NumPy array that also answers `.numpy()`, so both NumPy
    code and tf.keras-style `m.result().numpy()` work on it."""

    def numpy(self):
        # a scalar result is a NumPy scalar, as tf's `m.result().numpy()`
        return np.asarray(self)[()] if self.ndim == 0 else np.asarray(self)


def _snake_case(name):
    return to_snake_case(name)


def tensor_result(fn):
    """A public metric function as tf.keras gives it: its per-sample values come back as a
    Tensor (tf returns an EagerTensor), detached from any tape; the mask of the entries it
    counts (a crossentropy's `ignore_class`) rides along for MeanMetricWrapper."""
    @functools.wraps(fn)
    def public(*args, **kwargs):
        out = fn(*args, **kwargs)
        values = Tensor(as_array(out))
        values._keras_mask = getattr(out, "_keras_mask", None)
        return values
    return public


class Reduction:
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"
    WEIGHTED_MEAN = "weighted_mean"


class Reduce(Metric):
    """The (weighted) sum of the values seen, and for means their (weighted) count."""

    def __init__(self, reduction, name, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reduction = reduction
        self.total = self.add_weight("total")
        if reduction in (Reduction.SUM_OVER_BATCH_SIZE, Reduction.WEIGHTED_MEAN):
            self.count = self.add_weight("count")

    def update_state(self, values, sample_weight=None):
        values = as_array(values, self._dtype)
        if sample_weight is not None:
            sample_weight = as_array(sample_weight, self._dtype)
            if values.ndim == 0 and sample_weight.ndim == 0:
                return self._add_weighted_scalar(values, sample_weight)
            values, _, sample_weight = squeeze_or_expand_dimensions(
                values, sample_weight=sample_weight)
            try:
                sample_weight = broadcast_weights(sample_weight, values)
            except ValueError:
                # Reduce the values to the rank of the weights.
                axes = tuple(range(sample_weight.ndim, values.ndim))
                reduce = np.sum if self.reduction == Reduction.SUM else np.mean
                values = reduce(values, axis=axes, dtype=self._dtype)
            values = values * sample_weight
        # tf.keras returns the last variable it updated (`m.update_state(...)` shows it)
        self.total.data += np.sum(values, dtype=self._dtype)
        if self.reduction == Reduction.SUM:
            return self.total
        if self.reduction == Reduction.WEIGHTED_MEAN and sample_weight is not None:
            self.count.data += np.sum(sample_weight, dtype=self._dtype)
        else:
            self.count.data += self._dtype.type(values.size)
        return self.count

    def _add_weighted_scalar(self, value, weight):
        """`update_state` of one value with a scalar weight (the loss trackers' call each
        step, weighted by the batch size): the general path's arithmetic, without its
        shape handling."""
        self.total.data += value * weight
        if self.reduction == Reduction.WEIGHTED_MEAN:
            self.count.data += weight
        elif self.reduction != Reduction.SUM:
            self.count.data += self._dtype.type(1)
        return self.total if self.reduction == Reduction.SUM else self.count

    def result(self):
        if self.reduction == Reduction.SUM:
            return self._tensor(self.total.data)
        return self._tensor(divide_no_nan(self.total.data, self.count.data))


class Sum(Reduce):
    """The (weighted) sum of the given values.

    Example:

        m = keras.metrics.Sum()
        m.update_state([1, 3, 5, 7])
        float(m.result())   # 16.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(Reduction.SUM, name=name, dtype=dtype)


class Mean(Reduce):
    """The (weighted) mean of the given values.

    Example:

        m = keras.metrics.Mean()
        m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        float(m.result())   # 2.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(Reduction.WEIGHTED_MEAN, name=name, dtype=dtype)


class MeanMetricWrapper(Mean):
    """The running (sample-weighted) mean of `fn(y_true, y_pred, **kwargs)`.

    Example:

        m = keras.metrics.MeanMetricWrapper(keras.metrics.binary_accuracy, name="acc")
        m.update_state([[1], [0]], [[0.9], [0.8]])
        float(m.result())   # 0.5
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype)     # 'mean_metric_wrapper' by default
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        original = y_pred
        y_true = as_array(y_true, self._dtype)
        y_pred = as_array(y_pred, self._dtype)
        y_pred, y_true = squeeze_or_expand_dimensions(y_pred, y_true)
        if _remembers_logits(original) and original.data is y_pred:
            # Unchanged by the casts above (as tf.cast returns its input), the prediction keeps
            # the logits of its sigmoid/softmax, which the crossentropy functions use.
            y_pred = original
        with concrete_values_scope():
            matches = self._fn(y_true, y_pred, **self._fn_kwargs)
        sample_weight = self._weights_of_valid_entries(matches, sample_weight)
        return super().update_state(matches, sample_weight=sample_weight)

    def _weights_of_valid_entries(self, matches, sample_weight):
        """tf.keras' `apply_valid_mask` under a weighted mean: entries the function masked out
        (a crossentropy's `ignore_class`) get weight 0, so the mean runs over the others."""
        mask = getattr(matches, "_keras_mask", None)
        if mask is None:
            return sample_weight
        mask = np.asarray(mask).astype(self._dtype)
        if sample_weight is None:
            return mask
        mask, _, sample_weight = squeeze_or_expand_dimensions(
            mask, sample_weight=as_array(sample_weight, self._dtype))
        return sample_weight * mask

    def get_config(self):
        config_ = {k: (v.data.item() if isinstance(v, Tensor) else v)
                   for k, v in self._fn_kwargs.items()}
        if type(self) is MeanMetricWrapper:
            config_["fn"] = self._fn
        return {**super().get_config(), **config_}

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        fn = config_.pop("fn", None)
        if cls is MeanMetricWrapper:
            return cls(_metric_function(fn), **config_)
        return cls(**config_)


def _metric_function(identifier):
    """A metric function from its name (built-in or registered), as `keras.metrics.get` does."""
    if isinstance(identifier, str):
        return deserialize_object(identifier, builtin_objects("metrics"), kind="metric function")
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric identifier: {identifier}")
