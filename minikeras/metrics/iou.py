"""Intersection-over-union metrics over a running confusion matrix (`MeanIoU`)."""
import numpy as np

from ..core.tensor import as_array
from .base import Metric, divide_no_nan


class MeanIoU(Metric):
    """The mean over classes of `TP / (TP + FP + FN)` (classes that never occur are left out).
    Labels and predictions are class ids unless `sparse_y_true` / `sparse_y_pred` is False
    (then the argmax along `axis` is taken).

    Example:

        m = keras.metrics.MeanIoU(num_classes=2)
        m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        float(m.result())   # 0.33333334
    """

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
            np.broadcast_to(as_array(sample_weight, self._dtype).reshape(-1), y_true.shape)
        if self.ignore_class is not None:
            keep = y_true != self.ignore_class
            y_true, y_pred, weights = y_true[keep], y_pred[keep], weights[keep]
        for ids, what in ((y_true, "labels"), (y_pred, "predictions")):
            if ids.size and (ids.min() < 0 or ids.max() >= self.num_classes):
                raise ValueError(f"`{what}` out of bound: expected class ids in "
                                 f"[0, {self.num_classes}), got {ids.min()}..{ids.max()}")
        np.add.at(self.total_cm.data, (y_true, y_pred), weights)

    def result(self):
        cm = self.total_cm.data
        true_positives = np.diag(cm)
        denominator = cm.sum(axis=0) + cm.sum(axis=1) - true_positives
        valid = np.sum(denominator > 1e-9, dtype=self._dtype)
        iou = divide_no_nan(true_positives, denominator)
        return self._tensor(divide_no_nan(np.sum(iou), valid))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
