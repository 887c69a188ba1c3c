"""Metrics over confusion-matrix counts at thresholds: TruePositives ... FalseNegatives,
Precision, Recall and AUC, computed as tf.keras 2.x does (`metrics_utils`)."""
import numpy as np

from ..core import config
from ..core.tensor import as_array
from ..core.dtype_errors import InvalidArgumentError
from .base import Metric, broadcast_weights, divide_no_nan, squeeze_or_expand_dimensions

NEG_INF = -1e10
TP, FP, TN, FN = "tp", "fp", "tn", "fn"


def parse_init_thresholds(thresholds, default_threshold=0.5):
    """A list of thresholds in [0, 1] from a number, a list or None (the default)."""
    if thresholds is not None:
        listed = thresholds if isinstance(thresholds, (list, tuple)) else [thresholds]
        invalid = [t for t in listed if t is None or t < 0 or t > 1]
        if invalid:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    thresholds = default_threshold if thresholds is None else thresholds
    return list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]


def is_evenly_distributed_thresholds(thresholds):
    """True for thresholds `i / (n - 1)`, i = 0..n-1 (n >= 3), up to epsilon."""
    thresholds = np.asarray(thresholds)
    count = len(thresholds)
    if count < 3:
        return False
    even = np.arange(count, dtype=np.float32) / (count - 1)
    return bool(np.allclose(thresholds, even, atol=config.epsilon()))


def _filter_top_k(x, k):
    """Keep the k largest values along the last axis (first index wins ties), NEG_INF
    elsewhere."""
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    mask = np.zeros_like(x)
    np.put_along_axis(mask, order, 1, axis=-1)
    return x * mask + np.asarray(NEG_INF, x.dtype) * (1 - mask)


def update_confusion_matrix(variables, y_true, y_pred, thresholds, top_k=None, class_id=None,
                            sample_weight=None, multi_label=False, label_weights=None,
                            thresholds_distributed_evenly=False):
    """Add the weighted counts of `y_true != 0` / `y_pred > threshold` (for each threshold) to
    the variables named by `tp`, `fp`, `tn`, `fn`."""
    dtype = next(iter(variables.values())).dtype
    y_true, y_pred = as_array(y_true, dtype), as_array(y_pred, dtype)
    # tf.keras 2.21 takes predictions outside [0, 1] as they are (logits, hinge scores): the
    # even-threshold buckets clip them, explicit thresholds compare them raw.
    with_epsilon = thresholds_distributed_evenly and (thresholds[0] < 0.0 or thresholds[-1] > 1.0)
    thresholds = np.asarray(thresholds, dtype)
    if sample_weight is None:
        y_pred, y_true = squeeze_or_expand_dimensions(y_pred, y_true)
    else:
        y_pred, y_true, sample_weight = squeeze_or_expand_dimensions(
            y_pred, y_true, as_array(sample_weight, dtype))
    if y_pred.shape != y_true.shape:
        raise ValueError(f"Shapes {y_pred.shape} and {y_true.shape} are incompatible")
    if (multi_label or label_weights is not None) and y_true.ndim != 2:
        # tf.debugging.assert_shapes: labels of shape (examples, labels)
        raise ValueError(f"Number of labels is not consistent..  Tensor  must have rank 2.  "
                         f"Received rank {y_true.ndim}, shape {y_true.shape}")
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if not -y_pred.shape[-1] <= class_id < y_pred.shape[-1]:
            raise InvalidArgumentError(f"slice index {class_id} of dimension "
                                       f"{y_pred.ndim - 1} out of bounds.")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    weights = np.ones_like(y_pred) if sample_weight is None else \
        broadcast_weights(sample_weight, y_pred)
    if label_weights is not None and not multi_label:
        weights = weights * np.broadcast_to(as_array(label_weights, dtype)[None], y_pred.shape)
    if not multi_label:
        y_true, y_pred, weights = y_true.reshape(-1), y_pred.reshape(-1), weights.reshape(-1)
    positive = (y_true != 0).astype(dtype)
    true_weights, false_weights = positive * weights, (1 - positive) * weights
    if thresholds_distributed_evenly:
        tp, fp = _bucketed_counts(y_pred, true_weights, false_weights, len(thresholds),
                                  with_epsilon, dtype)
    else:
        # (thresholds, samples[, labels]) comparisons, summed over the samples.
        shape = (-1,) + (1,) * y_pred.ndim
        above = y_pred[None] > thresholds.reshape(shape)
        tp = np.sum(above * true_weights[None], axis=1, dtype=dtype)
        fp = np.sum(above * false_weights[None], axis=1, dtype=dtype)
    counts = {TP: tp, FP: fp}
    if TN in variables or FN in variables:
        counts[TN] = np.sum(false_weights, axis=0, dtype=dtype) - fp
        counts[FN] = np.sum(true_weights, axis=0, dtype=dtype) - tp
    for key, variable in variables.items():
        variable.data += counts[key]


def _bucketed_counts(y_pred, true_weights, false_weights, num_thresholds, with_epsilon, dtype):
    """TP and FP at evenly spaced thresholds in one pass: each prediction falls into bucket
    `ceil(p * (n - 1)) - 1`, and the counts are reversed cumulative sums of the buckets."""
    y_pred = np.clip(y_pred, 0, 1)
    buckets = np.ceil(y_pred * np.asarray(num_thresholds - 1, dtype)) - 1
    if with_epsilon:
        buckets = np.maximum(buckets, 0)
    buckets = buckets.astype(np.int64)

    def reversed_cumsum(weights, index):
        valid = index >= 0  # unsorted_segment_sum drops negative segment ids
        per_bucket = np.bincount(index[valid], weights[valid], minlength=num_thresholds)
        return np.cumsum(per_bucket[::-1])[::-1].astype(dtype)
    if y_pred.ndim == 1:
        return reversed_cumsum(true_weights, buckets), reversed_cumsum(false_weights, buckets)
    tp = np.stack([reversed_cumsum(true_weights[:, j], buckets[:, j])
                   for j in range(y_pred.shape[1])], axis=1)
    fp = np.stack([reversed_cumsum(false_weights[:, j], buckets[:, j])
                   for j in range(y_pred.shape[1])], axis=1)
    return tp, fp


class _ConfusionMatrixConditionCount(Metric):
    """The weighted count of one confusion-matrix cell at each threshold."""

    _condition = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=0.5)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.accumulator = self.add_weight("accumulator", shape=(len(self.thresholds),))

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix({self._condition: self.accumulator}, y_true, y_pred,
                                self.thresholds, sample_weight=sample_weight,
                                thresholds_distributed_evenly=self._thresholds_distributed_evenly)

    def result(self):
        value = self.accumulator.data
        return self._tensor(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """Weighted count of `y_true != 0` and `y_pred > threshold`.

    Example:

        m = keras.metrics.TruePositives()
        m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        float(m.result())   # 2.0
    """
    _condition = TP


class FalsePositives(_ConfusionMatrixConditionCount):
    """Weighted count of `y_true == 0` and `y_pred > threshold`.

    Example:

        m = keras.metrics.FalsePositives()
        m.update_state([0, 1, 0, 0], [0, 0, 1, 1])
        float(m.result())   # 2.0
    """
    _condition = FP


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of `y_true == 0` and `y_pred <= threshold`.

    Example:

        m = keras.metrics.TrueNegatives()
        m.update_state([0, 1, 0, 0], [1, 1, 0, 0])
        float(m.result())   # 2.0
    """
    _condition = TN


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of `y_true != 0` and `y_pred <= threshold`.

    Example:

        m = keras.metrics.FalseNegatives()
        m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
        float(m.result())   # 2.0
    """
    _condition = FN


class Precision(Metric):
    """`TP / (TP + FP)` at each threshold (0.5 by default; with `top_k`, only the k highest
    predictions count as positive; with `class_id`, one column only).

    Example:

        m = keras.metrics.Precision()
        m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        float(m.result())   # 0.6666667
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=default)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.true_positives = self.add_weight("true_positives", shape=(len(self.thresholds),))
        self.false_positives = self.add_weight("false_positives", shape=(len(self.thresholds),))

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix({TP: self.true_positives, FP: self.false_positives}, y_true,
                                y_pred, self.thresholds, top_k=self.top_k, class_id=self.class_id,
                                sample_weight=sample_weight,
                                thresholds_distributed_evenly=self._thresholds_distributed_evenly)

    def result(self):
        tp = self.true_positives.data
        value = divide_no_nan(tp, tp + self.false_positives.data)
        return self._tensor(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Recall(Metric):
    """`TP / (TP + FN)` at each threshold (0.5 by default), with `top_k` and `class_id` as in
    `Precision`.

    Example:

        m = keras.metrics.Recall()
        m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        float(m.result())   # 0.6666667
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=default)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.true_positives = self.add_weight("true_positives", shape=(len(self.thresholds),))
        self.false_negatives = self.add_weight("false_negatives", shape=(len(self.thresholds),))

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix({TP: self.true_positives, FN: self.false_negatives}, y_true,
                                y_pred, self.thresholds, top_k=self.top_k, class_id=self.class_id,
                                sample_weight=sample_weight,
                                thresholds_distributed_evenly=self._thresholds_distributed_evenly)

    def result(self):
        tp = self.true_positives.data
        value = divide_no_nan(tp, tp + self.false_negatives.data)
        return self._tensor(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


_CURVES = {"roc": "ROC", "pr": "PR"}
_SUMMATIONS = {"interpolation": "interpolation", "majoring": "majoring", "minoring": "minoring"}


class AUC(Metric):
    """Area under the ROC or PR curve, a Riemann sum over `num_thresholds` thresholds
    (`summation_method='interpolation'`: trapezoids for ROC, Davis & Goadrich's interpolation
    for PR).

    Example:

        m = keras.metrics.AUC(num_thresholds=3)
        m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        float(m.result())   # 0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        if str(curve).lower() not in _CURVES:
            raise ValueError(f'Invalid AUC curve value "{curve}". Expected values are '
                             "['ROC', 'PR']")
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value "{summation_method}". '
                             "Expected values are ['interpolation', 'majoring', 'minoring']")
        super().__init__(name=name, dtype=dtype)
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = _SUMMATIONS[str(summation_method).lower()]
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(thresholds)
            self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(
                np.array([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        # End points just outside [0, 1] absorb floating point imprecision.
        epsilon = config.epsilon()
        self._thresholds = np.array([0.0 - epsilon] + thresholds + [1.0 + epsilon])
        self.multi_label = multi_label
        self.label_weights = None if label_weights is None else \
            np.asarray(label_weights, self._dtype)
        if label_weights is not None and np.any(self.label_weights < 0):
            raise ValueError("All values of `label_weights` must be non-negative.")
        self._from_logits = from_logits
        self._built = False
        self.num_labels = num_labels     # the argument (tf.keras' config keeps it, even None)
        self._num_labels = None          # the built width
        if self.multi_label:
            if num_labels:
                self._build(num_labels)
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self):
        """The thresholds, including the two end points."""
        return list(self._thresholds)

    def _build(self, num_labels):
        shape = (self.num_thresholds,) if num_labels is None else (self.num_thresholds, num_labels)
        self._num_labels = num_labels
        self.true_positives = self.add_weight("true_positives", shape=shape)
        self.true_negatives = self.add_weight("true_negatives", shape=shape)
        self.false_positives = self.add_weight("false_positives", shape=shape)
        self.false_negatives = self.add_weight("false_negatives", shape=shape)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = as_array(y_pred, self._dtype)
        if self.multi_label and not self._built:
            if y_pred.ndim != 2:
                raise ValueError("`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                                 f"{y_pred.ndim}. Full shape received for `y_pred`: "
                                 f"{y_pred.shape}")
            self._build(y_pred.shape[1])
        if self._from_logits:
            y_pred = 1 / (1 + np.exp(-y_pred))
        update_confusion_matrix(
            {TP: self.true_positives, TN: self.true_negatives, FP: self.false_positives,
             FN: self.false_negatives}, y_true, y_pred, self._thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights)

    def _average_over_labels(self, by_label):
        if self.label_weights is None:
            return np.mean(by_label)
        return divide_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights))

    def interpolate_pr_auc(self):
        """PR AUC with precision interpolated between thresholds (Davis & Goadrich 2006)."""
        n = self.num_thresholds
        tp, fp, fn = (self.true_positives.data, self.false_positives.data,
                      self.false_negatives.data)
        dtp = tp[:n - 1] - tp[1:]
        p = tp + fp
        dp = p[:n - 1] - p[1:]
        slope = divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:n - 1] > 0) & (p[1:] > 0)
        ratio = np.where(both_positive, divide_no_nan(p[:n - 1], np.maximum(p[1:], 0)),
                         np.ones_like(p[1:]))
        with np.errstate(divide="ignore"):
            log_ratio = np.log(ratio)
        increment = divide_no_nan(slope * (dtp + intercept * log_ratio),
                                  np.maximum(tp[1:] + fn[1:], 0))
        if self.multi_label:
            return self._tensor(self._average_over_labels(np.sum(increment, axis=0)))
        return self._tensor(np.sum(increment))

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        n = self.num_thresholds
        tp, tn = self.true_positives.data, self.true_negatives.data
        fp, fn = self.false_positives.data, self.false_negatives.data
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / np.asarray(2, self._dtype)
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:n - 1], y[1:])
        else:
            heights = np.maximum(y[:n - 1], y[1:])
        terms = (x[:n - 1] - x[1:]) * heights
        if self.multi_label:
            return self._tensor(self._average_over_labels(np.sum(terms, axis=0)))
        return self._tensor(np.sum(terms))

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        label_weights = None if self.label_weights is None else self.label_weights.tolist()
        config_ = {"num_thresholds": self.num_thresholds, "curve": self.curve,
                   "summation_method": self.summation_method, "multi_label": self.multi_label,
                   "num_labels": self.num_labels, "label_weights": label_weights,
                   "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config_["thresholds"] = self.thresholds[1:-1]
        return {**super().get_config(), **config_}


class _SensitivitySpecificityBase(Metric):
    """Confusion counts at `num_thresholds` evenly spaced thresholds in [0, 1]; subclasses
    report the best value of one rate among thresholds where another meets `value`."""

    _VALUE_NAME = None

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. Received: "
                             f"num_thresholds={num_thresholds}")
        if value < 0 or value > 1:
            raise ValueError(f"Argument `{self._VALUE_NAME}` must be in the range [0, 1]. "
                             f"Received: {self._VALUE_NAME}={value}")
        self.value = value
        self.class_id = class_id
        self.num_thresholds = num_thresholds
        shape = (num_thresholds,)
        self.true_positives = self.add_weight("true_positives", shape=shape)
        self.true_negatives = self.add_weight("true_negatives", shape=shape)
        self.false_positives = self.add_weight("false_positives", shape=shape)
        self.false_negatives = self.add_weight("false_negatives", shape=shape)
        if num_thresholds == 1:
            self.thresholds, self._thresholds_distributed_evenly = [0.5], False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._thresholds_distributed_evenly = [0.0] + inner + [1.0], True

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix(
            {TP: self.true_positives, TN: self.true_negatives, FP: self.false_positives,
             FN: self.false_negatives}, y_true, y_pred, self.thresholds,
            class_id=self.class_id, sample_weight=sample_weight,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly)

    def _rates(self):
        tp, tn = self.true_positives.data, self.true_negatives.data
        fp, fn = self.false_positives.data, self.false_negatives.data
        return {"sensitivity": divide_no_nan(tp, tp + fn), "recall": divide_no_nan(tp, tp + fn),
                "specificity": divide_no_nan(tn, tn + fp), "precision": divide_no_nan(tp, tp + fp)}

    def _max_under_constraint(self, constrained, dependent):
        feasible = constrained >= self.value
        return self._tensor(dependent[feasible].max() if feasible.any() else 0.0)

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._VALUE_NAME: self.value}


class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    """The best sensitivity (recall) among thresholds with specificity >= `specificity`."""

    _VALUE_NAME = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)
        self.specificity = specificity

    def result(self):
        rates = self._rates()
        return self._max_under_constraint(rates["specificity"], rates["sensitivity"])


class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    """The best specificity among thresholds with sensitivity >= `sensitivity`."""

    _VALUE_NAME = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)
        self.sensitivity = sensitivity

    def result(self):
        rates = self._rates()
        return self._max_under_constraint(rates["sensitivity"], rates["specificity"])


class PrecisionAtRecall(_SensitivitySpecificityBase):
    """The best precision among thresholds with recall >= `recall`."""

    _VALUE_NAME = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)
        self.recall = recall

    def result(self):
        rates = self._rates()
        return self._max_under_constraint(rates["recall"], rates["precision"])


class RecallAtPrecision(_SensitivitySpecificityBase):
    """The best recall among thresholds with precision >= `precision`."""

    _VALUE_NAME = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
        self.precision = precision

    def result(self):
        rates = self._rates()
        return self._max_under_constraint(rates["precision"], rates["recall"])
