"""What `compile()` sets up: the loss over every output and the metrics to track.

Follows tf.keras 2.x's containers: a loss, loss weight or metric given once applies to every
output; a list gives one entry per output; a dict is keyed by output name (missing names mean
"nothing for that output"). Multi-output models report `<output>_loss` and
`<output>_<metric>`; an output whose target is None is skipped.
"""
import functools

import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import ops
from ..core.tensor import Tensor, unwrap
from ..engine.keras_tensor import KerasTensor
from ..core.session import fresh_name_counters, to_snake_case
from ..core.nest import flatten, map_structure


_ARRAY_TYPES = (np.ndarray, Tensor)


# --- structure helpers (tf.keras' Container) -------------------------------------------------
def _is_nested(value):
    return isinstance(value, (list, tuple, dict))


def create_pseudo_output_names(outputs):
    """Names of a subclassed model's outputs: `output_1`, `output_2`, ... (dict keys for a
    dict, joined with `_` for deeper nesting)."""
    def paths(structure, prefix):
        if isinstance(structure, dict):
            return [p for key in sorted(structure) for p in paths(structure[key], prefix + (key,))]
        if isinstance(structure, (list, tuple)):
            return [p for i, item in enumerate(structure) for p in paths(item, prefix + (i + 1,))]
        return [prefix]
    names = []
    for path in paths(outputs, ()):
        if not path:
            names.append("output_1")
        else:
            name = "_".join(str(p) for p in path)
            names.append("output_" + name if isinstance(path[0], int) else name)
    return names


def map_to_output_names(y_pred, output_names, struct):
    """A dict keyed by output name -> a list in output order, when the outputs are one
    tensor or a flat list (for dict outputs the dict keys match by structure instead)."""
    single_output = not _is_nested(y_pred)
    flat_list = isinstance(y_pred, (list, tuple)) and not any(_is_nested(p) for p in y_pred)
    if not (single_output or flat_list) or not isinstance(struct, dict):
        return struct
    output_names = output_names or create_pseudo_output_names(y_pred)
    remaining = dict(struct)
    mapped = [remaining.pop(name, None) for name in output_names]
    if remaining:
        raise ValueError("Found unexpected losses or metrics that do not correspond to any Model "
                         f"output: {remaining.keys()}. Valid mode output names: {output_names}. "
                         f"Received struct is: {remaining}.")
    return mapped[0] if len(mapped) == 1 else mapped


def conform_to_outputs(y_pred, output_names, struct):
    struct = map_to_output_names(y_pred, output_names, struct)
    if isinstance(y_pred, dict) and isinstance(struct, dict):
        unknown = [key for key in struct if key not in y_pred]
        if unknown:
            raise ValueError(f"Found unexpected keys {unknown}; the model outputs are keyed "
                             f"{sorted(y_pred)}.")
        struct = {key: struct.get(key) for key in y_pred}   # a missing key means None
    if not _is_nested(struct) and _is_nested(y_pred):
        struct = map_structure(lambda _: struct, y_pred)
    return struct


def _flatten_up_to(y_pred, struct, what):
    """One entry per output (entries may themselves be lists, e.g. of metrics)."""
    if not _is_nested(y_pred):
        return [struct]
    if isinstance(y_pred, dict):
        if not isinstance(struct, dict):
            raise ValueError(f"The model outputs are a dict; {what} must be a dict with the same "
                             f"keys {sorted(y_pred)}. Received: {struct}")
        return [entry for key in sorted(y_pred)
                for entry in _flatten_up_to(y_pred[key], struct.get(key), what)]
    if not isinstance(struct, (list, tuple)) or len(struct) != len(y_pred):
        raise ValueError(f"The model has {len(flatten(y_pred))} outputs, but {what} has a "
                         f"different structure: {struct}")
    return [entry for pred, item in zip(y_pred, struct)
            for entry in _flatten_up_to(pred, item, what)]


def _per_output_values(y_pred, values, what):
    """Targets or sample weights, one per output (a single output also accepts `[y]`)."""
    if _is_nested(y_pred):
        return _flatten_up_to(y_pred, values, what)
    return flatten(values)[:1]


def match_rank(y_true, y_pred, sample_weight=None):
    """tf.keras' `match_dtype_and_rank`: rank-1 labels/weights of a rank-2 output gain an axis."""
    if _rank(y_pred) == 2:
        if y_true is not None and _rank(y_true) == 1:
            y_true = np.expand_dims(unwrap(y_true), -1)
        if sample_weight is not None and _rank(sample_weight) == 1:
            sample_weight = np.expand_dims(unwrap(sample_weight), -1)
    return y_true, sample_weight


def _rank(value):
    """`np.ndim` of a Tensor, array or nested values (arrays without np.ndim's wrapper)."""
    return value.ndim if isinstance(value, _ARRAY_TYPES) else np.ndim(unwrap(value))


def _output_mask(y_pred):
    mask = getattr(y_pred, "_keras_mask", None)
    if mask is None or mask is True:
        return None
    return np.asarray(unwrap(mask))


def apply_mask(y_pred, sample_weight, mask):
    """Sample weights times the output's Keras mask (tf.keras `losses_utils.apply_mask`)."""
    if mask is None:
        return sample_weight
    mask = mask.astype(np.asarray(unwrap(y_pred)).dtype)
    if sample_weight is None:
        return mask
    weight = np.asarray(unwrap(sample_weight), dtype=mask.dtype)
    while weight.ndim < mask.ndim:
        weight = weight[..., None]
    while weight.ndim > mask.ndim and weight.shape[-1] == 1:
        weight = weight[..., 0]
    return weight * mask


def get_custom_object_name(obj):
    if hasattr(obj, "name"):
        return obj.name
    if hasattr(obj, "__name__"):
        return obj.__name__
    return to_snake_case(type(obj).__name__)


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
    if not callable(fn):
        raise ValueError(f"Loss should be a callable, received: {identifier}")
    name = identifier if isinstance(identifier, str) else get_custom_object_name(fn)
    return losses_module.LossFunctionWrapper(fn, name=name)


# --- losses ----------------------------------------------------------------------------------------
class LossesContainer:
    """Computes the total training loss and tracks its epoch mean (`loss`, `<out>_loss`).

    Built on the structure of the model's outputs: at compile time for graph models, on the
    first batch for subclassed models.
    """

    def __init__(self, loss, loss_weights, output_names, outputs=None):
        self.output_names = output_names
        self._user_losses = loss
        self._user_loss_weights = loss_weights
        self.loss_metric = metrics_module.Mean(name="loss")
        self._per_output_metrics = []
        self._built = False
        # tf.keras lists the loss metrics only once a batch went through (`metrics_names` is []
        # right after compile, and after predict); graph models build them at compile time
        # here, so `metrics` hides them until the first batch
        self._seen_batch = False
        if outputs is not None:
            self.build(outputs)

    def build(self, y_pred):
        if self.output_names is None:
            self.output_names = create_pseudo_output_names(y_pred)
        losses = self._user_losses
        if not _is_nested(losses):
            losses = map_structure(lambda _: self._user_losses, y_pred)
        losses = conform_to_outputs(y_pred, self.output_names, losses)
        self._losses = [_loss_object(spec) for spec in _per_output_values(y_pred, losses, "loss")]
        weights = self._user_loss_weights
        if not _is_nested(weights):
            weights = map_structure(lambda _: self._user_loss_weights, y_pred)
        weights = conform_to_outputs(y_pred, self.output_names, weights)
        self._weights = _per_output_values(y_pred, weights, "loss_weights")
        multi = len(self.output_names) > 1
        self._per_output_metrics = [
            metrics_module.Mean(name=f"{name}_loss") if multi and loss is not None else None
            for name, loss in zip(self.output_names, self._losses)]
        self._built = True

    @property
    def metrics(self):
        if not self._seen_batch:
            return []
        return [self.loss_metric] + [m for m in self._per_output_metrics if m is not None]

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        self._seen_batch = True
        if self._built and _one_array_each(y_true, y_pred, sample_weight):
            # what the structure handling below gives for one output, one target array and
            # one (or no) weight array, without it (every fit step of such a model)
            preds, trues, weights = [y_pred], [y_true], [sample_weight]
        else:
            preds, trues, weights = self._per_output(y_true, y_pred, sample_weight)
        total, batch = None, None
        for yt, yp, sw, loss_obj, loss_weight, metric in zip(
                trues, preds, weights, self._losses, self._weights, self._per_output_metrics):
            if yt is None or loss_obj is None:
                continue   # no loss for this output (tf.keras allows it)
            yt, sw = match_rank(yt, yp, sw)
            sw = _valid_mask_weights(yp, sw, loss_obj)
            value = loss_obj(yt, yp, sample_weight=sw)
            if batch is None:
                batch = np.shape(unwrap(yt))[0] if _rank(yt) else 1
            if metric is not None:
                metric.update_state(_loss_metric_input(value), sample_weight=batch)
            if loss_weight is not None:
                value = ops.multiply(value, np.asarray(loss_weight, value.dtype))
            if total is not None:
                _check_same_loss_shapes(total, value)
            total = value if total is None else ops.add(total, value)
        for regularization in regularization_losses or []:
            _check_concrete_loss(regularization)
            if total is not None:
                _check_same_loss_shapes(total, regularization)
            total = regularization if total is None else ops.add(total, regularization)
        if total is None:
            return None      # no compiled loss applies and nothing was added with add_loss
        # With only `add_loss` losses there is no batch size: each batch counts once (tf.keras).
        self.loss_metric.update_state(_loss_metric_input(total), sample_weight=batch)
        return total

    def _per_output(self, y_true, y_pred, sample_weight):
        """(predictions, targets, sample weights), one entry per output."""
        y_true = conform_to_outputs(y_pred, self.output_names, y_true)
        sample_weight = conform_to_outputs(y_pred, self.output_names, sample_weight)
        if not self._built:
            self.build(y_pred)
        preds = flatten(y_pred)
        trues = _per_output_values(y_pred, y_true, "y")
        weights = _per_output_values(y_pred, sample_weight, "sample_weight")
        return preds, trues, weights

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()



def _one_array_each(y_true, y_pred, sample_weight):
    """Whether the model gave one Tensor and the targets and sample weights are one array
    each (or no weights)."""
    return type(y_pred) is Tensor and isinstance(y_true, _ARRAY_TYPES) and \
        (sample_weight is None or isinstance(sample_weight, _ARRAY_TYPES))


def _check_concrete_loss(loss):
    """A loss that is still symbolic when a batch runs came from `add_loss` in a layer's call
    that used a symbolic tensor of the model other than the layer's inputs (Keras 2's
    CustomVariationalLayer closing over `z_mean`); tf.keras 2.x fails there too."""
    if isinstance(loss, KerasTensor):
        raise TypeError(
            f"You are passing {loss}, an intermediate Keras symbolic input/output, as a loss "
            "value: a loss added with `add_loss()` inside a layer's `call()` was computed from "
            "a symbolic tensor that is not among that call's inputs. Pass every tensor the loss "
            "uses as an input of the layer (or use `model.add_loss(...)` on the functional "
            "model).")


def _loss_metric_input(value):
    """What the loss trackers average: the scalar loss, or, for a loss compiled with
    reduction="none", its per-sample values, each weighted by the batch size as in tf.keras
    (the epoch loss is then sum(batch * values) / sum(batch * len(values)))."""
    data = value.data
    return float(data) if data.ndim == 0 else data


def _check_same_loss_shapes(total, value):
    """tf.keras adds the outputs' losses and the regularization losses with tf.add_n, which
    needs equal shapes: a reduction="none" loss (one value per sample) cannot be added to
    a scalar (another output's loss, a regularizer's)."""
    first, second = np.shape(unwrap(total)), np.shape(unwrap(value))
    if first != second:
        raise ValueError(f"Shapes must be equal rank, but are {len(first)} and {len(second)}: "
                         "the loss values added with tf.add_n (AddN) have input shapes "
                         f"{list(first)}, {list(second)} (a loss with reduction='none' cannot "
                         "be added to another output's loss or to regularization losses).")


def _valid_mask_weights(y_pred, sample_weight, loss_obj):
    """tf.keras 2.x masked losses: masked entries weigh 0 (compile's `apply_mask`); a
    mean-reduced loss is divided by the number of valid entries (weights scaled by total /
    valid). A built-in Loss does that scaling itself from the prediction's mask, together with
    its own mask of valid entries (ignore_class), as tf.keras' Loss.__call__; other loss objects
    get it here. A batch with no valid entry gives NaN weights (tf.keras' 0 * total / 0)."""
    mask = _output_mask(y_pred)
    if mask is None:
        return sample_weight
    weight = apply_mask(y_pred, sample_weight, mask)
    if type(loss_obj).__call__ is losses_module.Loss.__call__:
        return weight
    if loss_obj.reduction in (losses_module.Reduction.AUTO,
                              losses_module.Reduction.SUM_OVER_BATCH_SIZE):
        mask = mask.astype(weight.dtype)
        valid = float(np.sum(mask))
        scale = mask.size / valid if valid > 0 else np.nan
        weight = weight * np.asarray(scale, weight.dtype)
    return weight


# --- metrics --------------------------------------------------------------------------------------
def resolve_accuracy(metric, y_true, y_pred, label_sizes_known=True):
    """'accuracy'/'acc' (and 'crossentropy'/'ce') -> binary, sparse categorical or
    categorical, chosen from the shapes of labels and outputs as tf.keras 2.x does. Labels
    from a generator or Sequence have only their rank known in tf.keras (its dataset keeps
    no sizes), so (batch, 1) labels there are not taken as sparse."""
    y_t_shape, y_p_shape = np.shape(unwrap(y_true)), np.shape(unwrap(y_pred))
    is_binary = bool(y_p_shape) and y_p_shape[-1] == 1
    is_sparse = len(y_t_shape) < len(y_p_shape) or (
        label_sizes_known and bool(y_t_shape) and y_t_shape[-1] == 1 and bool(y_p_shape)
        and y_p_shape[-1] > 1)
    if str(metric).lower() in ("accuracy", "acc"):
        return (metrics_module.binary_accuracy if is_binary else
                metrics_module.sparse_categorical_accuracy if is_sparse else
                metrics_module.categorical_accuracy)
    return (metrics_module.binary_crossentropy if is_binary else
            metrics_module.sparse_categorical_crossentropy if is_sparse else
            metrics_module.categorical_crossentropy)


class MetricsContainer:
    """The compiled metrics of every output, built on the first batch (so that 'accuracy' can
    be resolved from the data)."""

    def __init__(self, metrics, weighted_metrics, output_names, loss=None):
        self.output_names = output_names
        _check_duplicated_metrics(metrics, weighted_metrics)
        self._user_metrics = metrics
        self._user_weighted_metrics = weighted_metrics
        self._built = False
        # False when the first batch comes from a generator or Sequence (see resolve_accuracy)
        self.label_sizes_known = True
        self._metrics = []            # per output: list of metric objects
        self._weighted_metrics = []
        self._metrics_in_order = []
        # metrics read back from an `.h5` training_config already carry their final names
        # (`out_a_mae`): tf.keras (`compile(from_serialized=True)`) does not prefix them again
        self._from_serialized = False

    @property
    def metrics(self):
        return list(self._metrics_in_order)

    def build(self, y_pred, y_true):
        if self.output_names is None:
            self.output_names = create_pseudo_output_names(y_pred)
        trues = _per_output_values(y_pred, y_true, "y")
        preds = flatten(y_pred)
        # tf.keras builds these while tracing the first train/test step, in a fresh graph:
        # metrics made from names or classes ('AUC') count their automatic names from zero.
        with fresh_name_counters():
            self._metrics = self._per_output(self._user_metrics, y_pred, trues, preds)
            self._weighted_metrics = self._per_output(self._user_weighted_metrics, y_pred,
                                                      trues, preds)
        if not self._from_serialized:
            self._set_metric_names()
        self._metrics_in_order = [m for plain, weighted in zip(self._metrics, self._weighted_metrics)
                                  for m in plain + weighted]
        self._built = True

    def _per_output(self, specs, y_pred, trues, preds):
        multi = len(flatten(y_pred)) > 1
        if _should_broadcast(specs):
            specs = map_structure(lambda _: _copy_specs(specs) if multi else specs, y_pred) \
                if _is_nested(y_pred) else specs
        specs = conform_to_outputs(y_pred, self.output_names, specs)
        per_output = _flatten_up_to(y_pred, specs, "metrics") if _is_nested(y_pred) else [specs]
        return [[_metric_object(spec, yt, yp, self.label_sizes_known)
                 for spec in flatten(entry) if spec is not None]
                for entry, yt, yp in zip(per_output, trues, preds)]

    def _set_metric_names(self):
        names = set()
        multi = len(self.output_names) > 1
        for output_name, plain, weighted in zip(self.output_names, self._metrics,
                                                self._weighted_metrics):
            for metric in plain:
                if multi:
                    metric.name = f"{output_name}_{metric.name}"
                if metric.name in names:
                    raise ValueError(f"Found two metrics with the same name: {metric.name}. All "
                                     "the metrics added to the model need to have unique names.")
                names.add(metric.name)
            for metric in weighted:
                if multi:
                    prefixed = f"{output_name}_{metric.name}"
                    metric.name = f"{output_name}_weighted_{metric.name}" if prefixed in names \
                        else prefixed
                elif metric.name in names:
                    metric.name = "weighted_" + metric.name
                if metric.name in names:
                    raise ValueError("Found two weighted metrics with the same name: "
                                     f"{metric.name}.All the metrics added to the model need to "
                                     "have unique names.")
                names.add(metric.name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        try:
            self._update_state(y_true, y_pred, sample_weight)
        except ValueError as error:
            # an op refusing a dtype: tf raises this while tracing the compiled step
            graph_error = getattr(error, "graph_error", None)
            if graph_error is None:
                raise
            raise graph_error from None

    def _update_state(self, y_true, y_pred, sample_weight=None):
        y_true = conform_to_outputs(y_pred, self.output_names, y_true)
        sample_weight = conform_to_outputs(y_pred, self.output_names, sample_weight)
        if not self._built:
            self.build(y_pred, y_true)
        preds = flatten(y_pred)
        trues = _per_output_values(y_pred, y_true, "y")
        weights = _per_output_values(y_pred, sample_weight, "sample_weight")
        for yt, yp, sw, plain, weighted in zip(trues, preds, weights, self._metrics,
                                               self._weighted_metrics):
            if yt is None or not (plain or weighted):
                continue
            yt, sw = match_rank(yt, yp, sw)
            mask = _output_mask(yp)
            sw = apply_mask(yp, sw, mask)
            # Predictions stay Tensors: a sigmoid/softmax output remembers its logits, which
            # the crossentropy metrics use as tf.keras does.
            # tf.keras 2.x: plain `metrics` only see the mask; `weighted_metrics` the weights.
            for metric in plain:
                metric.update_state(yt, yp, sample_weight=mask)
            for metric in weighted:
                metric.update_state(yt, yp, sample_weight=sw)

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()


def _should_broadcast(specs):
    if not _is_nested(specs):
        return True
    return isinstance(specs, (list, tuple)) and not any(_is_nested(s) for s in specs)


def _copy_specs(specs):
    """Each output gets its own copy of a Metric object given once for all outputs."""
    def copy_one(spec):
        if isinstance(spec, metrics_module.Metric):
            return type(spec).from_config(spec.get_config())
        return spec
    return [copy_one(s) for s in specs] if isinstance(specs, (list, tuple)) else copy_one(specs)


def _check_duplicated_metrics(metrics, weighted_metrics):
    seen, duplicated = set(), []
    for metric in flatten(metrics) + flatten(weighted_metrics):
        if isinstance(metric, metrics_module.Metric):
            if id(metric) in seen:
                duplicated.append(metric)
            seen.add(id(metric))
    if duplicated:
        raise ValueError("Found duplicated metrics object in the user provided metrics and "
                         "weighted metrics. This will cause the same metric object to be updated "
                         f"multiple times, and report wrong results. \nDuplicated items: {duplicated}")


def _metric_object(spec, y_true, y_pred, label_sizes_known=True):
    if isinstance(spec, metrics_module.Metric):
        return spec
    if isinstance(spec, str) and spec.lower() in ("accuracy", "acc", "crossentropy", "ce"):
        return metrics_module.MeanMetricWrapper(
            resolve_accuracy(spec, y_true, y_pred, label_sizes_known), name=spec)
    obj = metrics_module.get(spec)
    if isinstance(obj, type) and issubclass(obj, metrics_module.Metric):
        return obj()
    if isinstance(obj, metrics_module.Metric):
        return obj
    name = spec if isinstance(spec, str) else get_custom_object_name(obj)
    if name is None:
        raise ValueError(f"Metric should be a callable, received: {spec}")
    return metrics_module.MeanMetricWrapper(obj, name=name)


__all__ = ["LossesContainer", "MetricsContainer", "match_rank", "resolve_accuracy"]


def loss_refers_to_keras_tensors(loss):
    """Whether a compiled `loss` (a function, a list or dict of them) is bound to Keras
    tensors: a `functools.partial` argument, a closure variable or a default (keras-contrib's
    improved_wgan: `partial(gradient_penalty_loss, averaged_samples=<Keras tensor>)`, which
    takes `K.gradients` of it). Such a loss needs the step's forward pass recorded, in
    `evaluate` as in `fit`."""
    if isinstance(loss, dict):
        return any(loss_refers_to_keras_tensors(v) for v in loss.values())
    if isinstance(loss, (list, tuple)):
        return any(loss_refers_to_keras_tensors(v) for v in loss)
    bound = []
    if isinstance(loss, functools.partial):
        bound += list(loss.args) + list(loss.keywords.values())
        loss = loss.func
    bound += [cell.cell_contents for cell in getattr(loss, "__closure__", None) or ()
              if _cell_is_set(cell)]
    bound += list(getattr(loss, "__defaults__", None) or ())
    return any(isinstance(value, KerasTensor) or (
        isinstance(value, (list, tuple)) and any(isinstance(v, KerasTensor) for v in value))
        for value in bound)


def _cell_is_set(cell):
    try:
        cell.cell_contents
    except ValueError:                     # a closure variable not assigned yet
        return False
    return True
