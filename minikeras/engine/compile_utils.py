"""What `compile()` sets up: the loss over every output and the metrics to track."""
import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import ops
from ..backend.tensor import Tensor
from .keras_tensor import flatten


def _per_output(spec, output_names, what):
    """A loss/metric spec (one value, list or dict by output name) -> one entry per output."""
    count = len(output_names) if output_names else 1
    if isinstance(spec, dict):
        if output_names is None:
            raise ValueError(f"A dict of {what} needs a model with named outputs.")
        unknown = [k for k in spec if k not in output_names]
        if unknown:
            raise ValueError(f"Found unexpected {what} keys {unknown}. Expected keys are the output "
                             f"names {output_names}.")
        return [spec.get(name) for name in output_names]
    if isinstance(spec, (list, tuple)) and what == "losses":
        if len(spec) != count:
            raise ValueError(f"When passing a list as loss, it should have one entry per model "
                             f"outputs. The model has {count} outputs, but you passed "
                             f"loss={spec}")
        return list(spec)
    return [spec] * count


def _structure_to_list(values, output_names):
    if isinstance(values, dict):
        if output_names is None:
            return [values[k] for k in sorted(values)]
        return [values.get(name) for name in output_names]
    if isinstance(values, (list, tuple)):
        return list(values)
    return [values]


def match_rank(y_true, y_pred, sample_weight=None):
    """tf.keras' `match_dtype_and_rank`: rank-1 labels/weights of a rank-2 output gain an axis."""
    pred_ndim = len(np.shape(y_pred.data if isinstance(y_pred, Tensor) else y_pred))
    if pred_ndim == 2:
        if y_true is not None and np.ndim(_value(y_true)) == 1:
            y_true = np.expand_dims(_value(y_true), -1)
        if sample_weight is not None and np.ndim(_value(sample_weight)) == 1:
            sample_weight = np.expand_dims(_value(sample_weight), -1)
    return y_true, sample_weight


def _value(x):
    return x.data if isinstance(x, Tensor) else x


def _loss_object(identifier):
    if identifier is None:
        return None
    if isinstance(identifier, losses_module.Loss):
        return identifier
    fn = losses_module.get(identifier)
    if isinstance(fn, losses_module.Loss):
        return fn
    if isinstance(fn, type) and issubclass(fn, losses_module.Loss):
        return fn()
    name = identifier if isinstance(identifier, str) else getattr(fn, "__name__", "loss")
    return losses_module.LossFunctionWrapper(fn, name=name)


class LossesContainer:
    """Computes the total training loss and tracks its epoch mean (`loss`, `<out>_loss`)."""

    def __init__(self, loss, loss_weights, output_names):
        self.output_names = output_names
        self._losses = [_loss_object(spec) for spec in _per_output(loss, output_names, "losses")]
        if loss_weights is None:
            self._weights = [1.0] * len(self._losses)
        else:
            self._weights = [1.0 if w is None else w for w in
                             _per_output(loss_weights, output_names, "loss_weights")] \
                if isinstance(loss_weights, dict) else list(loss_weights) \
                if isinstance(loss_weights, (list, tuple)) else [loss_weights] * len(self._losses)
        self.loss_metric = metrics_module.Mean(name="loss")
        multi = output_names is not None and len(output_names) > 1
        self._per_output_metrics = [metrics_module.Mean(name=f"{name}_loss") if multi and fn else None
                                    for name, fn in zip(output_names or [None], self._losses)]

    @property
    def metrics(self):
        return [self.loss_metric] + [m for m in self._per_output_metrics if m is not None]

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        preds = flatten(y_pred) if not isinstance(y_pred, dict) else \
            _structure_to_list(y_pred, self.output_names)
        trues = _structure_to_list(y_true, self.output_names) if len(preds) > 1 else [y_true]
        weights = _structure_to_list(sample_weight, self.output_names) \
            if isinstance(sample_weight, (dict, list)) and len(preds) > 1 else [sample_weight] * len(preds)
        if len(trues) != len(preds):
            raise ValueError(f"Expected {len(preds)} target arrays (one per output), got {len(trues)}.")
        batch = preds[0].shape[0] if preds[0].ndim else 1
        total = None
        for loss_obj, weight, metric, yt, yp, sw in zip(self._losses, self._weights,
                                                        self._per_output_metrics, trues, preds, weights):
            if loss_obj is None:
                continue
            if yt is None:
                raise ValueError("Target data is missing. Your model was compiled with a loss, and "
                                 "therefore expects target data to be passed in `fit()`.")
            yt, sw = match_rank(yt, yp, sw)
            value = loss_obj(yt, yp, sample_weight=sw)
            if metric is not None:
                metric.update_state(float(value.data), sample_weight=batch)
            if weight != 1.0:
                value = ops.multiply(value, np.asarray(weight, value.dtype))
            total = value if total is None else ops.add(total, value)
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        for reg in regularization_losses or []:
            total = ops.add(total, reg)
        self.loss_metric.update_state(float(total.data), sample_weight=batch)
        return total

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()


def resolve_accuracy(metric, y_true, y_pred, loss):
    """'accuracy'/'acc' -> binary, sparse categorical or categorical accuracy, as tf.keras does
    (from the loss when it is a crossentropy, else from the shapes of labels and outputs)."""
    loss_name = loss if isinstance(loss, str) else getattr(loss, "name", None) or \
        getattr(loss, "__name__", None)
    if loss_name in ("binary_crossentropy",):
        return metrics_module.binary_accuracy
    if loss_name in ("sparse_categorical_crossentropy",):
        return metrics_module.sparse_categorical_accuracy
    y_t_shape, y_p_shape = np.shape(y_true), np.shape(y_pred)
    if y_p_shape and y_p_shape[-1] == 1:
        return metrics_module.binary_accuracy
    if len(y_t_shape) < len(y_p_shape) or (y_t_shape and y_t_shape[-1] == 1 and y_p_shape[-1] > 1):
        return metrics_module.sparse_categorical_accuracy
    return metrics_module.categorical_accuracy


class MetricsContainer:
    """The compiled metrics of every output, built on the first batch (so that 'accuracy' can
    be resolved from the data)."""

    def __init__(self, metrics, weighted_metrics, output_names, loss):
        self.output_names = output_names
        self._specs = _per_output(metrics or [], output_names, "metrics")
        self._weighted_specs = _per_output(weighted_metrics or [], output_names, "metrics")
        self._loss_specs = _per_output(loss, output_names, "losses") if not isinstance(loss, (list, tuple)) \
            or len(loss) == len(output_names or [0]) else [loss]
        self._built = False
        self._metrics = []          # (output index, metric object, weighted?)

    @property
    def metrics(self):
        return [m for _, m, _ in self._metrics]

    def _build(self, trues, preds):
        multi = self.output_names is not None and len(self.output_names) > 1
        for index, (specs, wspecs) in enumerate(zip(self._specs, self._weighted_specs)):
            for spec_list, weighted in ((specs, False), (wspecs, True)):
                if spec_list is None:
                    continue
                if not isinstance(spec_list, (list, tuple)):
                    spec_list = [spec_list]
                for spec in spec_list:
                    metric = self._make_metric(spec, trues[index], preds[index],
                                               self._loss_specs[index] if index < len(self._loss_specs) else None)
                    if multi:
                        metric.name = f"{self.output_names[index]}_{metric.name}"
                    if weighted and not multi:
                        metric.name = "weighted_" + metric.name if any(
                            m.name == metric.name for _, m, _ in self._metrics) else metric.name
                    self._metrics.append((index, metric, weighted))
        self._built = True

    @staticmethod
    def _make_metric(spec, y_true, y_pred, loss):
        if isinstance(spec, metrics_module.Metric):
            return spec
        if isinstance(spec, str) and spec in ("accuracy", "acc"):
            return metrics_module.MeanMetricWrapper(resolve_accuracy(spec, y_true, y_pred, loss), name=spec)
        if isinstance(spec, str) and spec in ("crossentropy", "ce"):
            fn = {metrics_module.binary_accuracy: metrics_module.binary_crossentropy,
                  metrics_module.sparse_categorical_accuracy: metrics_module.sparse_categorical_crossentropy
                  }.get(resolve_accuracy("accuracy", y_true, y_pred, loss),
                        metrics_module.categorical_crossentropy)
            return metrics_module.MeanMetricWrapper(fn, name=spec)
        obj = metrics_module.get(spec)
        if isinstance(obj, type) and issubclass(obj, metrics_module.Metric):
            return obj()
        if isinstance(obj, metrics_module.Metric):
            return obj
        name = spec if isinstance(spec, str) else getattr(obj, "__name__", "metric")
        return metrics_module.MeanMetricWrapper(obj, name=name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        preds = flatten(y_pred) if not isinstance(y_pred, dict) else \
            _structure_to_list(y_pred, self.output_names)
        trues = _structure_to_list(y_true, self.output_names) if len(preds) > 1 else [y_true]
        weights = _structure_to_list(sample_weight, self.output_names) \
            if isinstance(sample_weight, (dict, list)) and len(preds) > 1 else [sample_weight] * len(preds)
        # Predictions stay Tensors: a sigmoid/softmax output remembers its logits, which the
        # crossentropy metrics use as tf.keras does.
        if not self._built:
            self._build(trues, preds)
        for index, metric, weighted in self._metrics:
            # tf.keras 2.x: plain `metrics` ignore sample weights; `weighted_metrics` use them.
            sw = weights[index] if weighted else None
            y_true_i, sw = match_rank(trues[index], preds[index], sw)
            metric.update_state(y_true_i, preds[index], sample_weight=sw)

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()
