"""Intersection-over-union metrics over a running confusion matrix: `IoU`, `MeanIoU`,
`BinaryIoU`, `OneHotIoU`, `OneHotMeanIoU` (tf.keras 2.x)."""
import numpy as np

from ..core.tensor import as_array
from .base import Metric, divide_no_nan


class _IoUBase(Metric):
    """The running confusion matrix. Labels and predictions are class ids unless
    `sparse_y_true` / `sparse_y_pred` is False (then the argmax along `axis` is taken)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_weight("total_confusion_matrix",
                                        shape=(num_classes, num_classes))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = as_array(y_true), as_array(y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        # tf.math.confusion_matrix truncates the (float) ids to integers.
        y_true = y_true.astype(self._dtype).reshape(-1).astype(np.int64)
        y_pred = y_pred.astype(self._dtype).reshape(-1).astype(np.int64)
        weights = np.ones(y_true.shape, self._dtype) if sample_weight is None else \
            self._flat_weights(as_array(sample_weight, self._dtype), y_true.shape,
                               self.ignore_class is not None)
        if self.ignore_class is not None:
            keep = y_true != self.ignore_class
            y_true, y_pred, weights = y_true[keep], y_pred[keep], weights[keep]
        for ids, what in ((y_true, "labels"), (y_pred, "predictions")):
            if ids.size and (ids.min() < 0 or ids.max() >= self.num_classes):
                raise ValueError(f"`{what}` out of bound: expected class ids in "
                                 f"[0, {self.num_classes}), got {ids.min()}..{ids.max()}")
        np.add.at(self.total_cm.data, (y_true, y_pred), weights)
        return self.total_cm        # what tf.keras' update_state returns

    @staticmethod
    def _flat_weights(weights, flat_shape, masked):
        """tf.keras flattens weights of rank > 1 and never broadcasts them: tf.math.
        confusion_matrix wants one weight per label (a scalar weight is refused too). With
        `ignore_class` tf's boolean_mask of the weights refuses first (its words name the
        weights first)."""
        if weights.ndim > 1:
            weights = weights.reshape(-1)
        if weights.shape != flat_shape:
            shapes = (weights.shape, flat_shape) if masked else (flat_shape, weights.shape)
            raise ValueError(f"Shapes {shapes[0]} and {shapes[1]} are incompatible")
        return weights

class IoU(_IoUBase):
    """The mean over `target_class_ids` of `TP / (TP + FP + FN)` (a class that never occurs
    is left out).

    Example:

        m = keras.metrics.IoU(num_classes=2, target_class_ids=[0])
        m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        float(m.result())   # 0.33333334
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is "
                             f"[0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def result(self):
        cm = self.total_cm.data
        true_positives = np.diag(cm)
        denominator = cm.sum(axis=0) + cm.sum(axis=1) - true_positives
        true_positives = true_positives[self.target_class_ids]
        denominator = denominator[self.target_class_ids]
        valid = np.sum(denominator > 1e-9, dtype=self._dtype)
        iou = divide_no_nan(true_positives, denominator)
        return self._tensor(divide_no_nan(np.sum(iou), valid))

    def get_config(self):
        return {**Metric.get_config(self), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class MeanIoU(IoU):
    """The mean over all classes of `TP / (TP + FP + FN)` (classes that never occur are left
    out).

    Example:

        m = keras.metrics.MeanIoU(num_classes=2)
        m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        float(m.result())   # 0.33333334
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {**Metric.get_config(self), "num_classes": self.num_classes,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of classes 0 and/or 1 after thresholding predictions (`>= threshold` is class 1)."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = (as_array(y_pred).astype(self._dtype) >= self.threshold).astype(self._dtype)
        return super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": Metric.get_config(self)["dtype"]}


class OneHotIoU(IoU):
    """IoU over `target_class_ids` with one-hot labels (and scores for predictions)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "name": self.name, "dtype": Metric.get_config(self)["dtype"],
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """MeanIoU with one-hot labels (and scores for predictions)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name,
                "dtype": Metric.get_config(self)["dtype"], "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
