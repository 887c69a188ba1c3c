"""F-beta and F1 scores (tf.keras >= 2.13) over multi-class / multi-label predictions."""
import numpy as np

from ..core.tensor import as_array
from .base import Metric, divide_no_nan


class FBetaScore(Metric):
    """`(1 + beta^2) * precision * recall / (beta^2 * precision + recall)` per class, or
    averaged (`average='micro' | 'macro' | 'weighted'`). Without `threshold`, the highest
    prediction of each row counts as the positive one.

    Example:

        m = keras.metrics.FBetaScore(beta=2.0, threshold=0.5)
        m.update_state(np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]]),
                       np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]))
        m.result()   # [0.3846154, 0.90909094, 0.8333334]
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', "
                             f"'macro', 'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: "
                             f"beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python "
                                 f"float. Received: threshold={threshold} of type "
                                 f"'{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify "
                                 f"0 < threshold <= 1. Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self.built = False

    def build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={y_pred_shape} and "
                             f"y_true.shape={y_true_shape}.")
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        self.true_positives = self.add_weight("true_positives", shape=shape)
        self.false_positives = self.add_weight("false_positives", shape=shape)
        self.false_negatives = self.add_weight("false_negatives", shape=shape)
        self.intermediate_weights = self.add_weight("intermediate_weights", shape=shape)
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = as_array(y_true, self._dtype), as_array(y_pred, self._dtype)
        if not self.built:
            self.build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            # The row maximum is positive; abs() > 1e-9 keeps an all-zero row all negative.
            top = np.max(y_pred, axis=-1, keepdims=True)
            predicted = (y_pred >= top) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(self._dtype)
        weights = None if sample_weight is None else as_array(sample_weight, self._dtype)[:, None]

        def weighted_sum(values):
            if weights is not None:
                values = values * weights
            return np.sum(values, axis=self.axis, dtype=self._dtype)
        self.true_positives.data += weighted_sum(predicted * y_true)
        self.false_positives.data += weighted_sum(predicted * (1 - y_true))
        self.false_negatives.data += weighted_sum((1 - predicted) * y_true)
        self.intermediate_weights.data += weighted_sum(y_true)

    def result(self):
        tp = self.true_positives.data
        precision = divide_no_nan(tp, tp + self.false_positives.data)
        recall = divide_no_nan(tp, tp + self.false_negatives.data)
        beta_squared = np.square(np.asarray(self.beta, self._dtype))
        score = divide_no_nan(precision * recall, beta_squared * precision + recall)
        score = score * (1 + beta_squared)
        if self.average == "weighted":
            support = self.intermediate_weights.data
            score = np.sum(score * divide_no_nan(support, np.sum(support)))
        elif self.average is not None:
            score = np.mean(score)
        return self._tensor(score)

    def reset_state(self):
        if self.built:
            super().reset_state()

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """The harmonic mean of precision and recall (FBetaScore with beta=1).

    Example:

        m = keras.metrics.F1Score(threshold=0.5)
        m.update_state(np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]]),
                       np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]))
        m.result()   # [0.5, 0.8, 0.6666667]
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
