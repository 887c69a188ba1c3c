"""The accuracy family: per-sample functions and their stateful mean classes."""
import numpy as np

from ..core import config
from ..core.dtype_errors import InvalidArgumentError
from ..core.tensor import as_array
from .base import MeanMetricWrapper, tensor_result


def _floatx(x):
    return x.astype(config.floatx())


def accuracy(y_true, y_pred):
    """1 where a prediction equals its label exactly, elementwise."""
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Shapes {y_true.shape} and {y_pred.shape} are incompatible")
    return _floatx(np.equal(y_true, y_pred.astype(y_true.dtype)))


def binary_matches(y_true, y_pred, threshold=0.5):
    """Elementwise `y_true == (y_pred > threshold)`."""
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    predicted = (y_pred > np.asarray(threshold, y_pred.dtype)).astype(y_pred.dtype)
    return _floatx(np.equal(y_true, predicted))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of `y_true == (y_pred > threshold)`."""
    return np.mean(binary_matches(y_true, y_pred, threshold), axis=-1)


def sparse_categorical_matches(y_true, y_pred):
    """`y_true == argmax(y_pred)`; labels of shape (N, 1) give matches of shape (N, 1)."""
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    true_shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim
    if reshape:
        y_true = np.squeeze(y_true, -1)
    predicted = np.argmax(y_pred, axis=-1).astype(y_true.dtype)
    matches = _floatx(np.equal(y_true, predicted))
    return matches.reshape(true_shape) if reshape else matches


def categorical_accuracy(y_true, y_pred):
    """1 where `argmax(y_true) == argmax(y_pred)`."""
    return sparse_categorical_matches(np.argmax(as_array(y_true), axis=-1), y_pred)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the integer label equals `argmax(y_pred)`; unlike the matches (which the
    SparseCategoricalAccuracy class averages), a trailing axis of 1 is squeezed away."""
    matches = sparse_categorical_matches(y_true, y_pred)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches[..., 0]
    return matches


def _in_top_k(predictions, targets, k):
    """TF's in_top_k: the target's score is beaten by fewer than k others (ties count in);
    non-finite scores are never in the top k."""
    target_scores = np.take_along_axis(predictions, targets[:, None], axis=-1)
    beaten_by = np.sum(predictions > target_scores, axis=-1)
    finite = np.all(np.isfinite(predictions), axis=-1)
    return (beaten_by < k) & finite


def _in_top_k_dtype_error(dtype):
    """tf.math.in_top_k (InTopKV2) takes float32 scores only. Called eagerly, tf raises
    InvalidArgumentError; traced in a compiled train/test step, TypeError (`graph_error`,
    which the compiled metrics raise instead)."""
    tf_names = {"float16": "half", "float64": "double"}
    error = InvalidArgumentError(
        "cannot compute InTopKV2 as input #0(zero-based) was expected to be a float tensor but "
        f"is a {tf_names.get(dtype.name, dtype.name)} tensor [Op:InTopKV2]")
    error.graph_error = TypeError(f"Input 'predictions' of 'InTopKV2' Op has type {dtype.name} "
                                  "that does not match expected type of float32.")
    return error


def sparse_top_k_categorical_matches(y_true, y_pred, k=5):
    """1 where the integer label is among the k highest scores."""
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    if y_pred.dtype != np.float32:
        raise _in_top_k_dtype_error(y_pred.dtype)
    true_shape = y_true.shape
    if y_pred.ndim < 2:     # tf's in_top_k wants a batch of score rows
        raise InvalidArgumentError("predictions must be 2-dimensional")
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if y_true.ndim > 1:
        y_true = y_true.reshape(-1)
    matches = _floatx(_in_top_k(y_pred, y_true.astype(np.int64), k))
    return matches.reshape(true_shape) if len(true_shape) > 1 else matches


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where `argmax(y_true)` is among the k highest scores."""
    return sparse_top_k_categorical_matches(np.argmax(as_array(y_true), axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the integer label is among the k highest scores."""
    return sparse_top_k_categorical_matches(y_true, y_pred, k)


# The public functions return Tensors, as tf.keras' return EagerTensors.
accuracy = tensor_result(accuracy)
binary_accuracy = tensor_result(binary_accuracy)
categorical_accuracy = tensor_result(categorical_accuracy)
sparse_categorical_accuracy = tensor_result(sparse_categorical_accuracy)
_sparse_categorical_matches = tensor_result(sparse_categorical_matches)   # (the class's fn)
top_k_categorical_accuracy = tensor_result(top_k_categorical_accuracy)
sparse_top_k_categorical_accuracy = tensor_result(sparse_top_k_categorical_accuracy)

class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels.

    Example:

        m = keras.metrics.Accuracy()
        m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
        float(m.result())   # 0.75
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often `y_pred > threshold` matches binary labels.

    Example:

        m = keras.metrics.BinaryAccuracy()
        m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        float(m.result())   # 0.75
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        # elementwise matches, as tf.keras (not their mean over the last axis): a sample
        # weight per element weighs each match
        super().__init__(binary_matches, name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often `argmax(y_pred)` matches the one-hot label.

    Example:

        m = keras.metrics.CategoricalAccuracy()
        m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        float(m.result())   # 0.5
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often `argmax(y_pred)` matches the integer label.

    Example:

        m = keras.metrics.SparseCategoricalAccuracy()
        m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        float(m.result())   # 0.5
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(_sparse_categorical_matches, name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label is among the top `k` predictions.

    Example:

        m = keras.metrics.TopKCategoricalAccuracy(k=1)
        m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        float(m.result())   # 0.5
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the top `k` predictions.

    Example:

        m = keras.metrics.SparseTopKCategoricalAccuracy(k=1)
        m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        float(m.result())   # 0.5
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype=dtype, k=k)
