"""Metrics (`keras.metrics`): per-sample functions and stateful classes
(`update_state / result / reset_state`) with tf.keras 2.x names, defaults and numbers."""
from .base import Metric, Reduce, Sum, Mean, MeanMetricWrapper  # noqa: F401
from .accuracy import (  # noqa: F401
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, Accuracy, BinaryAccuracy,
    CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy)
from .regression import (  # noqa: F401
    mean_squared_error, mse, MSE, mean_absolute_error, mae, MAE, mean_absolute_percentage_error,
    mape, MAPE, mean_squared_logarithmic_error, msle, MSLE, binary_crossentropy,
    categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, kld, KLD,
    kullback_leibler_divergence, hinge, squared_hinge, categorical_hinge, poisson, log_cosh,
    logcosh, cosine_similarity, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity, LogCoshError,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
    Poisson, Hinge, SquaredHinge, CategoricalHinge)
from .confusion import (  # noqa: F401
    TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC,
    SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision)
from .f_score import FBetaScore, F1Score  # noqa: F401
from .r2_score import R2Score  # noqa: F401
from .mean_extras import MeanRelativeError, MeanTensor  # noqa: F401
from . import experimental  # noqa: F401
from .iou import IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU  # noqa: F401
from ..losses import binary_focal_crossentropy, categorical_focal_crossentropy  # noqa: F401
from ..core.serialization import deserialize_object, serialize_keras_object
from ..core.registry import register_builtins

register_builtins("metrics", globals())   # names looked up by `deserialize_keras_object`

_FUNCTIONS = {
    "accuracy": accuracy, "acc": accuracy, "ACC": accuracy, "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mse": mse, "MSE": mse, "mean_squared_error": mse, "mae": mae, "MAE": mae,
    "mean_absolute_error": mae, "mape": mape, "MAPE": mape,
    "mean_absolute_percentage_error": mape, "msle": msle, "MSLE": msle,
    "mean_squared_logarithmic_error": msle, "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy, "kld": kld, "KLD": kld,
    "kl_divergence": kld, "kullback_leibler_divergence": kld, "hinge": hinge,
    "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge, "poisson": poisson,
    "logcosh": log_cosh, "log_cosh": log_cosh, "cosine_similarity": cosine_similarity,
    # Keras 2's old name, still resolved by tf.keras 2.21 (the similarity, not the loss)
    "cosine_proximity": cosine_similarity,
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
}
_CLASSES = {cls.__name__: cls for cls in (
    Metric, Sum, Mean, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    RootMeanSquaredError, CosineSimilarity, LogCoshError, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge,
    SquaredHinge, CategoricalHinge, TruePositives, FalsePositives, TrueNegatives, FalseNegatives,
    Precision, Recall, AUC, FBetaScore, F1Score, MeanIoU, IoU, BinaryIoU, OneHotIoU,
    OneHotMeanIoU, R2Score, MeanRelativeError, MeanTensor, SensitivityAtSpecificity,
    SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision)}
register_builtins("metrics", {**_FUNCTIONS, **_CLASSES})   # with the aliases (`mse`, ...)


def serialize(metric, use_legacy_format=False):
    """A metric object as `{'module', 'class_name', 'config', 'registered_name'}`; a function
    as its name."""
    if isinstance(metric, Metric):
        if use_legacy_format:
            return {"class_name": type(metric).__name__, "config": metric.get_config()}
        return serialize_keras_object(metric, "keras.metrics")
    return getattr(metric, "__name__", metric)


def deserialize(config, custom_objects=None, use_legacy_format=False):
    """A metric function (from its name) or a metric object (from its name or config)."""
    obj = deserialize_object(config, {**_FUNCTIONS, **_CLASSES}, custom_objects,
                             "metric function")
    # A class given by name is instantiated with its defaults, as tf.keras does.
    if isinstance(obj, type) and issubclass(obj, Metric):
        return obj()
    return obj


def get(identifier):
    """A metric function or object from a name, a config dict, a function or an object."""
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric identifier: {identifier}")

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ("experimental",))
