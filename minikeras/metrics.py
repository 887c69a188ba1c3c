"""Metrics: per-sample functions and stateful classes (`update_state/result/reset_state`)."""
import numpy as np

from . import losses as losses_module
from .backend import config
from .ops.math import as_array
from .utils.serialization import deserialize_object, serialize_keras_object


# ---------------------------------------------------------------------------------------
# per-sample metric functions (NumPy in, NumPy out: metrics are never differentiated)
# ---------------------------------------------------------------------------------------
def _arrays(y_true, y_pred):
    return np.asarray(as_array(y_true)), np.asarray(as_array(y_pred))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _arrays(y_true, y_pred)
    hits = np.equal(y_true, (y_pred > threshold).astype(y_true.dtype))
    return np.mean(hits, axis=-1, dtype=config.floatx())


def categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.equal(np.argmax(y_true, -1), np.argmax(y_pred, -1)).astype(config.floatx())


def sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    predicted = np.argmax(y_pred, -1)
    return np.equal(y_true.astype(np.int64), predicted).astype(config.floatx())


def _in_top_k(predictions, targets, k):
    """TF's in_top_k: the target's score is beaten by fewer than k others (ties count in)."""
    target_scores = np.take_along_axis(predictions, targets[:, None], axis=-1)
    better = np.sum(predictions > target_scores, axis=-1)
    return (better < k).astype(config.floatx())


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true, y_pred = _arrays(y_true, y_pred)
    flat_pred = y_pred.reshape(-1, y_pred.shape[-1])
    targets = np.argmax(y_true, -1).reshape(-1)
    return _in_top_k(flat_pred, targets, k).reshape(y_pred.shape[:-1])


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true, y_pred = _arrays(y_true, y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    flat_pred = y_pred.reshape(-1, y_pred.shape[-1])
    return _in_top_k(flat_pred, y_true.astype(np.int64).reshape(-1), k).reshape(y_pred.shape[:-1])


def _numpy_loss(fn):
    def metric(y_true, y_pred, **kwargs):
        return np.asarray(as_array(fn(y_true, y_pred, **kwargs)))
    metric.__name__ = fn.__name__
    return metric


mean_squared_error = mse = _numpy_loss(losses_module.mean_squared_error)
mean_absolute_error = mae = _numpy_loss(losses_module.mean_absolute_error)
mean_absolute_percentage_error = mape = _numpy_loss(losses_module.mean_absolute_percentage_error)
mean_squared_logarithmic_error = msle = _numpy_loss(losses_module.mean_squared_logarithmic_error)
binary_crossentropy = _numpy_loss(losses_module.binary_crossentropy)
categorical_crossentropy = _numpy_loss(losses_module.categorical_crossentropy)
sparse_categorical_crossentropy = _numpy_loss(losses_module.sparse_categorical_crossentropy)
kl_divergence = kld = _numpy_loss(losses_module.kl_divergence)
hinge = _numpy_loss(losses_module.hinge)
squared_hinge = _numpy_loss(losses_module.squared_hinge)
categorical_hinge = _numpy_loss(losses_module.categorical_hinge)
poisson = _numpy_loss(losses_module.poisson)
log_cosh = logcosh = _numpy_loss(losses_module.log_cosh)


# ---------------------------------------------------------------------------------------
# stateful metrics
# ---------------------------------------------------------------------------------------
class Metric:
    """Base class: accumulate with `update_state`, read with `result`, clear with `reset_state`."""

    def __init__(self, name=None, dtype=None, **kwargs):
        self.name = name or _snake(type(self).__name__)
        self._dtype = np.dtype(dtype or config.floatx())

    @property
    def dtype(self):
        return self._dtype.name

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        raise NotImplementedError

    reset_states = property(lambda self: self.reset_state)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)

    @property
    def variables(self):
        return []


def _snake(name):
    from .engine.base_layer import to_snake_case
    return to_snake_case(name)


class Reduce(Metric):
    """Weighted sum (and count) of values; `Mean` divides the two."""

    def __init__(self, reduction="mean", name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._reduction = reduction
        self.reset_state()

    def reset_state(self):
        self.total = np.zeros((), np.float64)
        self.count = np.zeros((), np.float64)

    def update_state(self, values, sample_weight=None):
        values = np.asarray(as_array(values), dtype=self._dtype)
        if sample_weight is None:
            self.total = self.total + float(np.sum(values, dtype=self._dtype))
            self.count = self.count + values.size
            return
        weights = np.asarray(as_array(sample_weight), dtype=self._dtype)
        if weights.ndim == values.ndim + 1 and weights.shape[-1] == 1:
            weights = weights[..., 0]
        while weights.ndim < values.ndim:
            weights = weights[..., None]
        if values.ndim < weights.ndim:
            values = np.mean(values.reshape(values.shape + (1,) * 0), axis=None) if False else values
        weights = np.broadcast_to(weights, values.shape)
        self.total = self.total + float(np.sum(values * weights, dtype=self._dtype))
        self.count = self.count + float(np.sum(weights, dtype=self._dtype))

    def result(self):
        if self._reduction == "sum":
            return np.asarray(self.total, self._dtype)
        if self.count == 0:
            return np.asarray(0.0, self._dtype)
        return np.asarray(self.total / self.count, self._dtype)


class Mean(Reduce):
    def __init__(self, name="mean", dtype=None):
        super().__init__("mean", name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class Sum(Reduce):
    def __init__(self, name="sum", dtype=None):
        super().__init__("sum", name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class MeanMetricWrapper(Mean):
    """The running (sample-weighted) mean of `fn(y_true, y_pred, **kwargs)`."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or fn.__name__, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight)

    def get_config(self):
        config_ = {"name": self.name, "dtype": self.dtype}
        config_.update(self._fn_kwargs)
        return config_

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)


def _wrapper_class(class_name, fn, default_name, **defaults):
    def __init__(self, name=default_name, dtype=None, **kwargs):
        values = dict(defaults)
        for key in kwargs:
            if key not in defaults:
                raise TypeError(f"{class_name}.__init__() got an unexpected keyword argument '{key}'")
        values.update(kwargs)
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **values)
    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__})


BinaryAccuracy = _wrapper_class("BinaryAccuracy", binary_accuracy, "binary_accuracy", threshold=0.5)
CategoricalAccuracy = _wrapper_class("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy")
SparseCategoricalAccuracy = _wrapper_class("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                           "sparse_categorical_accuracy")
TopKCategoricalAccuracy = _wrapper_class("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                         "top_k_categorical_accuracy", k=5)
SparseTopKCategoricalAccuracy = _wrapper_class("SparseTopKCategoricalAccuracy",
                                               sparse_top_k_categorical_accuracy,
                                               "sparse_top_k_categorical_accuracy", k=5)
MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _wrapper_class("MeanAbsolutePercentageError",
                                             mean_absolute_percentage_error,
                                             "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _wrapper_class("MeanSquaredLogarithmicError",
                                             mean_squared_logarithmic_error,
                                             "mean_squared_logarithmic_error")
BinaryCrossentropy = _wrapper_class("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                                    from_logits=False, label_smoothing=0.0)
CategoricalCrossentropy = _wrapper_class("CategoricalCrossentropy", categorical_crossentropy,
                                         "categorical_crossentropy", from_logits=False,
                                         label_smoothing=0.0)
SparseCategoricalCrossentropy = _wrapper_class("SparseCategoricalCrossentropy",
                                               sparse_categorical_crossentropy,
                                               "sparse_categorical_crossentropy", from_logits=False)
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kullback_leibler_divergence")
Hinge = _wrapper_class("Hinge", hinge, "hinge")
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _wrapper_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
Poisson = _wrapper_class("Poisson", poisson, "poisson")
LogCoshError = _wrapper_class("LogCoshError", log_cosh, "logcosh")


class Accuracy(MeanMetricWrapper):
    """Fraction of predictions exactly equal to the labels."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(lambda t, p: np.equal(*_arrays(t, p)).astype(config.floatx()),
                         name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _arrays(y_true, y_pred)
        super().update_state(np.square(y_pred - y_true.astype(y_pred.dtype)), sample_weight)

    def result(self):
        return np.sqrt(super().result())


_FUNCTIONS = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mse": mse, "mean_squared_error": mse, "mae": mae, "mean_absolute_error": mae,
    "mape": mape, "mean_absolute_percentage_error": mape, "msle": msle,
    "mean_squared_logarithmic_error": msle, "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy, "kld": kld,
    "kl_divergence": kld, "kullback_leibler_divergence": kld, "hinge": hinge,
    "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge, "poisson": poisson,
    "logcosh": log_cosh, "log_cosh": log_cosh,
}
_CLASSES = {cls.__name__: cls for cls in (
    Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    RootMeanSquaredError, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    KLDivergence, Hinge, SquaredHinge, CategoricalHinge, Poisson, LogCoshError)}


def serialize(metric):
    if isinstance(metric, Metric):
        return serialize_keras_object(metric, "keras.metrics")
    return getattr(metric, "__name__", metric)


def deserialize(config_, custom_objects=None):
    return deserialize_object(config_, {**_FUNCTIONS, **_CLASSES}, custom_objects, "metric function")


def get(identifier):
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric identifier: {identifier}")
