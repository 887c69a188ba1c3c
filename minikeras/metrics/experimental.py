"""`keras.metrics.experimental`: `PyMetric`, a metric whose state is plain Python.

In tf.keras a PyMetric runs outside the TensorFlow graph; minikeras runs every metric eagerly,
so a PyMetric is an ordinary metric whose `reset_state` also sets up its state at construction.
"""
from .base import Metric


class PyMetric(Metric):
    """A metric computed in Python (NumPy, scikit-learn...), with the `Metric` interface.

    Subclasses implement `update_state`, `result` (one scalar) and `reset_state`, which is also
    called by the constructor to create the state.

    Example:

        class MeanAbsolute(keras.metrics.experimental.PyMetric):
            def update_state(self, y_true, y_pred, sample_weight=None):
                self.total += float(np.abs(np.asarray(y_true) - np.asarray(y_pred)).mean())
                self.count += 1

            def reset_state(self):
                self.total, self.count = 0.0, 0

            def result(self):
                return self.total / max(self.count, 1)
    """

    def __init__(self, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError("Subclasses of PyMetric must implement `update_state()`.")

    def result(self):
        raise NotImplementedError("Subclasses of PyMetric must implement `result()`.")

    def reset_state(self):
        raise NotImplementedError("Subclasses of PyMetric must implement `reset_state()`.")
