"""Loss functions and classes with tf.keras 2.x formulas, names and reductions."""
import warnings

import numpy as np

from . import ops
from .core import config
from .core.tensor import Tensor
from .core.tensor import as_array
from .ops.math import squared_difference
from .ops.nn import l2_normalize, _mean_of_losses
from .core.serialization import deserialize_by_name, serialize_keras_object
from .core.registry import register_builtins
from .core import dispatch
from .core.concrete_scope import concrete_values_scope
from .core.dtype_errors import InvalidArgumentError

register_builtins("losses", globals())   # names looked up by `deserialize_keras_object`


def _eps(dtype):
    return np.asarray(config.epsilon(), dtype=dtype)


def _float_tensor(value):
    """A float Tensor as tf.convert_to_tensor would give: Python numbers and lists become
    floatx (float32), NumPy arrays keep a float dtype, other dtypes become floatx."""
    if isinstance(value, Tensor):
        return value
    data = np.asarray(value)
    if data.dtype.kind != "f" or not isinstance(value, (np.ndarray, np.generic)):
        data = data.astype(config.floatx())
    return Tensor(data)


def _prepare(y_true, y_pred):
    """y_pred as a float Tensor; y_true cast to its dtype (tf.keras casts labels)."""
    y_pred = _float_tensor(y_pred)
    if isinstance(y_true, Tensor):
        if y_true.dtype != y_pred.dtype:
            y_true = ops.cast(y_true, y_pred.dtype)
    else:
        y_true = np.asarray(y_true).astype(y_pred.dtype, copy=False)
    return y_true, y_pred


# ---------------------------------------------------------------------------------------
# per-sample loss functions
# ---------------------------------------------------------------------------------------
def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    return ops.mean(squared_difference(y_pred, y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    return ops.mean(ops.abs(ops.subtract(y_pred, y_true)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    dtype = y_pred.dtype
    diff = ops.abs(ops.divide(ops.subtract(y_true, y_pred),
                              ops.maximum(ops.abs(y_true), _eps(dtype))))
    return ops.multiply(np.asarray(100.0, dtype), ops.mean(diff, axis=-1))


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = _eps(y_pred.dtype)
    first = ops.log(ops.add(ops.maximum(y_pred, eps), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, eps), 1.0))
    return ops.mean(squared_difference(first, second), axis=-1)


def _to_signed_labels(y_true):
    """Keras 2 hinge losses turn {0, 1} labels into {-1, 1} (other labels pass through)."""
    data = as_array(y_true)
    if np.all((data == 0) | (data == 1)):
        return ops.subtract(ops.multiply(y_true, 2.0), 1.0)
    return y_true


def hinge(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true = _to_signed_labels(y_true)
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true = _to_signed_labels(y_true)
    margin = ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0)
    return ops.mean(ops.square(margin), axis=-1)


def categorical_hinge(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


def log_cosh(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    x = ops.subtract(y_pred, y_true)
    dtype = y_pred.dtype
    value = ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, np.asarray(-2.0, dtype)))),
                         np.asarray(np.float32(np.log(2.0)), dtype))  # tf: cast(log(2.0))
    return ops.mean(value, axis=-1)


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = _prepare(y_true, y_pred)
    dtype = np.dtype(config.floatx())     # tf.keras' huber alone computes in floatx
    if y_pred.dtype != dtype:
        y_true, y_pred = ops.cast(y_true, dtype), ops.cast(y_pred, dtype)
    delta = np.asarray(delta, dtype)
    error = ops.subtract(y_pred, y_true)
    abs_error = ops.abs(error)
    half = np.asarray(0.5, dtype)
    quadratic = ops.multiply(half, ops.square(error))
    linear = ops.subtract(ops.multiply(delta, abs_error), half * delta * delta)
    return ops.mean(ops.where(as_array(abs_error) <= delta, quadratic, linear), axis=-1)


def kl_divergence(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = _eps(y_pred.dtype)
    y_true = ops.clip(y_true, eps, 1.0)
    y_pred = ops.clip(y_pred, eps, 1.0)
    return ops.sum(ops.multiply(y_true, ops.log(ops.divide(y_true, y_pred))), axis=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = _eps(y_pred.dtype)
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, ops.log(ops.add(y_pred, eps)))), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """The *negative* cosine similarity (Keras 2's convention: lower is better)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return ops.negative(ops.sum(ops.multiply(l2_normalize(y_true, axis), l2_normalize(y_pred, axis)),
                                axis=axis))


def binary_crossentropy_elementwise(target, output, from_logits=False):
    """Keras 2 `K.binary_crossentropy`: elementwise, from a sigmoid's logits when known."""
    target, output = _prepare(target, output)
    logits = getattr(output, "_keras_logits", None)
    if logits is not None:
        _warn_logits_of_activation(from_logits, "binary_crossentropy", "Sigmoid")
        _assert_same_logits_shape(target, logits)
        return ops.sigmoid_cross_entropy(target, logits)
    if from_logits:
        _assert_same_logits_shape(target, output)
        return ops.sigmoid_cross_entropy(target, output)
    eps = _eps(output.dtype)
    output = ops.clip(output, eps, 1.0 - eps)
    positive = ops.multiply(target, ops.log(ops.add(output, eps)))
    negative = ops.multiply(ops.subtract(1.0, target), ops.log(ops.add(ops.subtract(1.0, output), eps)))
    return ops.negative(ops.add(positive, negative))


def _warn_logits_of_activation(from_logits, function_name, activation):
    """tf.keras' warning (`backend._get_logits`) when a crossentropy is told `from_logits=True`
    about a softmax/sigmoid output: it then reads that activation's logits anyway."""
    if from_logits:
        warnings.warn(f'"`{function_name}` received `from_logits=True`, but the `output` '
                      f"argument was produced by a {activation} activation and thus does not "
                      "represent logits. Was this intended?", stacklevel=3)


def _assert_same_logits_shape(labels, logits):
    """tf.nn.sigmoid_cross_entropy_with_logits' check: no broadcasting between the two."""
    labels_shape, logits_shape = tuple(np.shape(as_array(labels))), tuple(as_array(logits).shape)
    if labels_shape != logits_shape:
        raise ValueError("`logits` and `labels` must have the same shape, received "
                         f"({logits_shape} vs {labels_shape}).")


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _prepare(y_true, y_pred)
    if label_smoothing:
        ls = np.asarray(label_smoothing, y_pred.dtype)
        y_true = ops.add(ops.multiply(y_true, 1.0 - ls), 0.5 * ls)
    return ops.mean(binary_crossentropy_elementwise(y_true, y_pred, from_logits), axis=axis)


def _assert_compatible_shapes(y_true, y_pred):
    """tf.keras' `assert_is_compatible_with`: same rank, same sizes (integer labels given to a
    categorical loss would otherwise broadcast silently)."""
    true_shape, pred_shape = tuple(np.shape(as_array(y_true))), tuple(as_array(y_pred).shape)
    if true_shape != pred_shape:
        raise ValueError(f"Shapes {true_shape} and {pred_shape} are incompatible")


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """tf.keras' focal binary crossentropy (Lin et al., 2018), mean over `axis`:
    `(1 - p_t) ** gamma * bce`, where `p_t` is the predicted probability of the true class;
    with class balancing, weighted by `alpha` for class 1 and `1 - alpha` for class 0."""
    y_true, y_pred = _prepare(y_true, y_pred)
    if label_smoothing:
        ls = np.asarray(label_smoothing, y_pred.dtype)
        y_true = ops.add(ops.multiply(y_true, 1.0 - ls), 0.5 * ls)
    # As tf.keras: p_t from the probabilities as given (sigmoid of logits when from_logits),
    # the crossentropy itself from a sigmoid activation's logits when y_pred remembers them.
    probabilities = ops.sigmoid(y_pred) if from_logits else y_pred
    p_t = ops.add(ops.multiply(y_true, probabilities),
                  ops.multiply(ops.subtract(1.0, y_true), ops.subtract(1.0, probabilities)))
    focal_factor = ops.power(ops.subtract(1.0, p_t), np.asarray(gamma, y_pred.dtype))
    focal_bce = ops.multiply(focal_factor,
                             binary_crossentropy_elementwise(y_true, y_pred, from_logits))
    if apply_class_balancing:
        alpha = np.asarray(alpha, y_pred.dtype)
        weight = ops.add(ops.multiply(y_true, alpha),
                         ops.multiply(ops.subtract(1.0, y_true), 1.0 - alpha))
        focal_bce = ops.multiply(weight, focal_bce)
    return ops.mean(focal_bce, axis=axis)


def categorical_focal_crossentropy_from_target(target, output, alpha=0.25, gamma=2.0,
                                              from_logits=False, axis=-1):
    """`sum(alpha * (1 - p)^gamma * -target * log p)` over `axis`, with `p` the renormalised,
    clipped probabilities (`K.categorical_focal_crossentropy`)."""
    if from_logits:
        output = ops.softmax(output, axis=axis)
    dtype = as_array(output).dtype
    output = ops.divide(output, ops.sum(output, axis=axis, keepdims=True))
    eps = _eps(dtype)
    output = ops.clip(output, eps, np.asarray(1, dtype) - eps)
    cce = ops.multiply(ops.negative(target), ops.log(output))
    modulating = ops.power(ops.subtract(np.asarray(1, dtype), output), np.asarray(gamma, dtype))
    focal = ops.multiply(ops.multiply(modulating, np.asarray(alpha, dtype)), cce)
    return ops.sum(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """tf.keras' focal categorical crossentropy (Lin et al., 2018); labels smoothed towards
    `1 / num_classes` first."""
    y_true, y_pred = _prepare(y_true, y_pred)
    if label_smoothing:
        n_classes = as_array(y_true).shape[-1]
        ls = np.asarray(label_smoothing, y_pred.dtype)
        y_true = ops.add(ops.multiply(y_true, 1.0 - ls), ls / np.asarray(n_classes, y_pred.dtype))
    return categorical_focal_crossentropy_from_target(y_true, y_pred, alpha, gamma, from_logits,
                                                      axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample crossentropy; from the softmax's logits when y_pred remembers them, else
    renormalised probabilities clipped to [eps, 1 - eps], as tf.keras."""
    y_true, y_pred = _prepare(y_true, y_pred)
    _assert_compatible_shapes(y_true, y_pred)
    if label_smoothing:
        ls = np.asarray(label_smoothing, y_pred.dtype)
        num_classes = np.asarray(y_pred.shape[axis], y_pred.dtype)
        y_true = ops.add(ops.multiply(y_true, 1.0 - ls), ls / num_classes)
    logits = getattr(y_pred, "_keras_logits", None)
    if logits is not None:
        _warn_logits_of_activation(from_logits, "categorical_crossentropy", "Softmax")
        return ops.softmax_cross_entropy(y_true, logits, axis=axis, softmax=y_pred)
    if from_logits:
        return ops.softmax_cross_entropy(y_true, y_pred, axis=axis)
    eps = _eps(y_pred.dtype)
    probs = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    probs = ops.clip(probs, eps, 1.0 - eps)
    return ops.negative(ops.sum(ops.multiply(y_true, ops.log(probs)), axis=axis))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1, ignore_class=None):
    y_pred = _float_tensor(y_pred)
    if ignore_class is not None and len(y_pred.shape) == 1:
        _refuse_unbatched_ignore_class(y_true)
    labels = _labels_matching_output(np.asarray(as_array(y_true)), tuple(y_pred.shape), axis)
    labels = _integer_labels(labels, y_pred.shape[axis], ignore_class)
    logits = getattr(y_pred, "_keras_logits", None)
    softmax = y_pred if logits is not None else None    # lends its sums (ops.nn)
    if logits is not None:
        _warn_logits_of_activation(from_logits, "sparse_categorical_crossentropy", "Softmax")
    if logits is None:
        if from_logits:
            logits = y_pred
        else:
            eps = _eps(y_pred.dtype)
            logits = ops.log(ops.clip(y_pred, eps, 1.0 - eps))
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = np.where(valid, labels, 0)
    loss = ops.sparse_softmax_cross_entropy(labels, logits, axis=axis, softmax=softmax)
    if valid is not None:
        # tf.where, not a product: ignored entries pass no gradient even when the weights
        # are NaN (a batch with only ignored labels: mask / mean(mask) = 0 / 0)
        loss = ops.where(valid, loss, np.zeros((), as_array(loss).dtype))
        loss._keras_mask = valid        # the loss classes average over the valid entries only
    return loss


def _refuse_unbatched_ignore_class(y_true):
    """tf_keras masks the ignored labels with a mask shaped as the output without its class
    axis: for a rank-1 output that is a scalar, which tf refuses."""
    if np.ndim(as_array(y_true)) == 0:
        raise ValueError("mask cannot be scalar.")
    raise InvalidArgumentError("WhereOp : Unhandled input dimensions: 0 (ignore_class needs "
                               "a batch axis before the class axis)")


def _labels_matching_output(labels, output_shape, axis):
    """Labels shaped as the output without its class axis, by tf_keras' rule: unless the ranks
    differ by one, the labels are flattened and the output read as (-1, n_classes) (so (N, 1)
    or (N, 1, 1) labels fit (N, C) outputs). Reshapes are views: the output is never copied."""
    rank = len(output_shape)
    axis %= rank
    expected = output_shape[:axis] + output_shape[axis + 1:]
    if labels.ndim != rank - 1:
        labels = labels.reshape(-1)
        if labels.size == int(np.prod(expected)):
            labels = labels.reshape(expected)
        elif rank > 2:
            expected = (int(np.prod(expected)),)
    if labels.shape != expected:
        # tf.nn.sparse_softmax_cross_entropy_with_logits' words (tf_keras 2.21), with the
        # flattened labels and the output as tf reshaped it
        raise ValueError("`labels.shape` must equal `logits.shape` except for the last "
                         f"dimension. Received: labels.shape={labels.shape} and "
                         f"logits.shape={expected + (output_shape[axis],)}")
    return labels


def _integer_labels(labels, n_classes, ignore_class=None):
    """Class indices as int64, refusing (and naming) the first label that is not one: negative,
    too large, NaN or fractional."""
    values = labels.astype(np.float64, copy=False) if labels.dtype.kind in "biuf" else None
    if values is None:
        raise ValueError(f"Labels must be integer class indices; received dtype {labels.dtype}.")
    bad = ~np.isfinite(values) | (values < 0) | (values >= n_classes) | (values != np.floor(values))
    if ignore_class is not None:
        bad &= values != ignore_class
    if bad.any():
        first = values[bad].flat[0]
        inside = np.isfinite(first) and 0 <= first < n_classes
        problem = ("which is not an integer class index (tf.keras would truncate it)"
                   if inside else f"which is outside the valid range of [0, {n_classes})")
        raise ValueError(f"Received a label value of {labels[bad].flat[0]} {problem}.  Label "
                         f"values: {' '.join(str(v) for v in labels.flat[:20])}")
    return np.where(np.isfinite(values), values, 0).astype(np.int64)


# Called on KerasTensors, the loss functions build TFOpLambda layers (as tf.keras does).
dispatch.dispatch_all(globals(), "losses", exclude=(
    "binary_crossentropy_elementwise", "categorical_focal_crossentropy_from_target"))

# Keras' short aliases.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


# ---------------------------------------------------------------------------------------
# reductions and loss classes
# ---------------------------------------------------------------------------------------
class Reduction:
    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls):
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)

    @classmethod
    def validate(cls, key):
        if key not in cls.all():
            raise ValueError(f'Invalid Reduction Key: {key}. Expected keys are "{cls.all()}"')


def _broadcast_weights(sample_weight, losses):
    sw = as_array(sample_weight).astype(as_array(losses).dtype, copy=False)
    loss_ndim = as_array(losses).ndim
    if sw.ndim == loss_ndim + 1:
        if sw.shape[-1] != 1:   # tf.squeeze(sample_weight, [-1]) refuses it
            raise ValueError(f"Can not squeeze dim[{sw.ndim - 1}], expected a dimension of 1, "
                             f"got {sw.shape[-1]} (sample_weight of shape {sw.shape} for "
                             f"per-sample losses of shape {as_array(losses).shape}).")
        sw = sw[..., 0]
    while sw.ndim < loss_ndim:
        sw = sw[..., None]
    return sw


def _keras_mask_of(y_pred):
    mask = getattr(y_pred, "_keras_mask", None)
    return None if mask is None or mask is True else np.asarray(as_array(mask))


def _apply_valid_mask(losses, sample_weight, reduction, in_mask=None):
    """tf.keras' `apply_valid_mask`: the entries valid under both the prediction's Keras mask
    and the loss' own mask of valid entries (ignore_class) keep their weights multiplied by
    `mask / mean(mask)`, so the mean runs over them; the others weigh 0."""
    out_mask = getattr(losses, "_keras_mask", None)
    if in_mask is None and out_mask is None:
        return sample_weight
    if in_mask is None or out_mask is None:
        mask = in_mask if out_mask is None else out_mask
    else:
        mask = np.logical_and(np.asarray(in_mask, bool), np.asarray(out_mask, bool))
    dtype = as_array(losses).dtype
    mask = np.asarray(mask).astype(dtype)
    if reduction == Reduction.SUM_OVER_BATCH_SIZE:
        with np.errstate(invalid="ignore", divide="ignore"):
            mask = mask / mask.mean(dtype=dtype)
    if sample_weight is None:
        return mask
    return mask * _broadcast_weights(sample_weight, mask)


def compute_weighted_loss(losses, sample_weight=None, reduction=Reduction.SUM_OVER_BATCH_SIZE):
    """Weight per-sample losses, then reduce: sum, or sum / number of loss elements."""
    if sample_weight is not None:
        losses = ops.multiply(losses, _broadcast_weights(sample_weight, losses))
    if reduction == Reduction.NONE:
        return losses
    if reduction == Reduction.SUM_OVER_BATCH_SIZE and sample_weight is None and \
            isinstance(losses, Tensor) and type(losses.data) is np.ndarray and \
            losses.data.dtype.kind == "f":
        # one op instead of a sum and a division (the same bits), merged into the op that
        # made the losses when it offers that (a crossentropy from logits)
        if getattr(losses._backward, "fuses_mean", False):
            return _mean_of_losses(losses.data, losses._parents, losses._backward)
        return _mean_of_losses(losses)
    total = ops.sum(losses)
    if reduction == Reduction.SUM:
        return total
    count = max(int(np.prod(as_array(losses).shape)), 1)
    return ops.divide(total, np.asarray(count, as_array(total).dtype))


# Called on KerasTensors (a Loss object inside a functional model, for `add_loss` or as an
# output), the weighting and reduction build TFOpLambda layers as in tf.keras.
compute_weighted_loss = dispatch.symbolic_dispatch("losses")(compute_weighted_loss)


class Loss:
    """Base class: `loss(y_true, y_pred, sample_weight)` returns the reduced loss."""

    def __init__(self, reduction=Reduction.AUTO, name=None):
        Reduction.validate(reduction)
        self.reduction = reduction
        self.name = name

    def __call__(self, y_true, y_pred, sample_weight=None):
        losses = self.call(y_true, y_pred)
        reduction = Reduction.SUM_OVER_BATCH_SIZE if self.reduction == Reduction.AUTO else self.reduction
        if not dispatch.is_symbolic(losses):
            sample_weight = _apply_valid_mask(losses, sample_weight, reduction,
                                              _keras_mask_of(y_pred))
        return compute_weighted_loss(losses, sample_weight, reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError("Must be implemented in subclasses.")

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)


class LossFunctionWrapper(Loss):
    """A Loss computed by a per-sample function `fn(y_true, y_pred, **kwargs)`."""

    def __init__(self, fn, reduction=Reduction.AUTO, name=None, **kwargs):
        super().__init__(reduction=reduction, name=name)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        if not isinstance(y_pred, (Tensor, np.ndarray)):     # symbolic: builds layers
            return self.fn(y_true, y_pred, **self._fn_kwargs)
        with concrete_values_scope():
            return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config_ = super().get_config()
        config_.update(self._fn_kwargs)
        config_["fn"] = self.fn.__name__
        return config_

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        config_.pop("fn", None)
        return cls(**config_)


def _loss_class(class_name, fn, default_name, **defaults):
    """A LossFunctionWrapper subclass with Keras' signature (keyword defaults preserved)."""
    def __init__(self, *args, reduction=Reduction.AUTO, name=default_name, **kwargs):
        names = list(defaults)
        if len(args) > len(names):
            raise TypeError(f"{class_name} takes at most {len(names)} positional arguments")
        values = dict(defaults)
        values.update(zip(names, args))
        for key in kwargs:
            if key not in defaults:
                raise TypeError(f"{class_name}.__init__() got an unexpected keyword argument '{key}'")
        values.update(kwargs)
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, **values)
    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__,
                                                      "__doc__": f"Class form of `{fn.__name__}`."})


MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError",
                                          mean_absolute_percentage_error,
                                          "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError",
                                          mean_squared_logarithmic_error,
                                          "mean_squared_logarithmic_error")
Hinge = _loss_class("Hinge", hinge, "hinge")
SquaredHinge = _loss_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _loss_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
LogCosh = _loss_class("LogCosh", log_cosh, "log_cosh")
Huber = _loss_class("Huber", huber, "huber_loss", delta=1.0)
KLDivergence = _loss_class("KLDivergence", kl_divergence, "kl_divergence")
Poisson = _loss_class("Poisson", poisson, "poisson")
CosineSimilarity = _loss_class("CosineSimilarity", cosine_similarity, "cosine_similarity", axis=-1)
BinaryCrossentropy = _loss_class("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                                 from_logits=False, label_smoothing=0.0, axis=-1)
BinaryFocalCrossentropy = _loss_class(
    "BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
    apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
    axis=-1)
CategoricalFocalCrossentropy = _loss_class(
    "CategoricalFocalCrossentropy", categorical_focal_crossentropy,
    "categorical_focal_crossentropy", alpha=0.25, gamma=2.0, from_logits=False,
    label_smoothing=0.0, axis=-1)
CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", categorical_crossentropy,
                                      "categorical_crossentropy", from_logits=False,
                                      label_smoothing=0.0, axis=-1)
SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy",
                                            sparse_categorical_crossentropy,
                                            "sparse_categorical_crossentropy", from_logits=False,
                                            ignore_class=None)
huber_loss = huber

_FUNCTIONS = {
    "mean_squared_error": mean_squared_error, "mse": mse, "MSE": mse,
    "mean_absolute_error": mean_absolute_error, "mae": mae, "MAE": mae,
    "mean_absolute_percentage_error": mape, "mape": mape, "MAPE": mape,
    "mean_squared_logarithmic_error": msle, "msle": msle, "MSLE": msle,
    "hinge": hinge, "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge,
    "log_cosh": log_cosh, "logcosh": log_cosh, "huber": huber, "huber_loss": huber,
    "kl_divergence": kld, "kld": kld, "KLD": kld, "kullback_leibler_divergence": kld,
    "poisson": poisson, "cosine_similarity": cosine_similarity,
    "binary_crossentropy": binary_crossentropy, "bce": binary_crossentropy,
    "BCE": binary_crossentropy, "categorical_crossentropy": categorical_crossentropy,
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}
_CLASSES = {cls.__name__: cls for cls in (
    Loss, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    Hinge, SquaredHinge, CategoricalHinge, LogCosh, Huber, KLDivergence, Poisson, CosineSimilarity,
    BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    CategoricalFocalCrossentropy, SparseCategoricalCrossentropy)}


def serialize(loss):
    if isinstance(loss, Loss):
        return serialize_keras_object(loss, "keras.losses")
    return getattr(loss, "__name__", loss)


def deserialize(name, custom_objects=None):
    return deserialize_by_name(name, {**_FUNCTIONS, **_CLASSES}, custom_objects, "loss function")


def get(identifier):
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return deserialize(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss function identifier: {identifier}")

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from .core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ())
