"""Seeded random loss and metric configurations, recorded with tf_keras 2.21 (fid-lmfuzz sweep).

    python lmfuzz.py list                       # print the drawn specs (no TensorFlow needed)
    TF_ENABLE_ONEDNN_OPTS=0 TF_CPP_MIN_LOG_LEVEL=3 /work/peers/bin/python lmfuzz.py --peer record

`draw_specs()` draws, for every loss and metric tf_keras exports (classes and functions), a
configuration from each argument's domain with its edges (thresholds / top_k / class_id, AUC's
curve, summation, num_thresholds, multi_label, label_weights, from_logits, the IoU family's
ignore_class and sparse flags, F-score averages, R2Score aggregation, focal alpha/gamma/class
balancing, label smoothing, axes, every reduction, dtypes) and inputs: shapes of rank 1 to 4,
batch 1, odd last axes, integer and float labels, labels outside [0, 1], probabilities at exactly
0 and 1, logits of +-100, sample weights of every broadcastable shape (and wrong ones), several
update_state calls. A few cases fit a Masking model through compile's loss and metrics.

`record` runs each spec in tf_keras and writes tests/fixtures/lmfuzz/cases.json (the specs and
what tf_keras says: the error type and message if it refuses, configs, metric variables, result
dtypes) and cases.npz (the inputs, loss values and their gradients with respect to y_pred,
metric results after each update, after reset_state and after merge_state).
The tests read the files; they never import this recipe."""
import json
import sys

import numpy as np

from peer import Drawer, fixture_dir

SEED = 20261206
REDUCTIONS = ["auto", "sum_over_batch_size", "sum", "none"]


# --- inputs ------------------------------------------------------------------------------------
# An array is drawn at record time from its descriptor: (kind, shape, dtype[, extra]).
#   prob: uniform in [0, 1] with some entries exactly 0 and 1;  softmax: rows summing to 1 along
#   `extra` (the class axis) with some one-hot rows;  logits: normal * 3 with some +-100;
#   binary: {0, 1};  onehot: one-hot along `extra`;  int: integers in [0, extra);
#   any: normal * 2 (outside [0, 1]);  pos: positive;  weight: sample weights in [0, 2] with zeros
def make_array(desc, rng):
    kind, shape, dtype = desc[0], tuple(desc[1]), desc[2]
    extra = desc[3] if len(desc) > 3 else None
    if kind == "prob":
        x = rng.uniform(0, 1, shape)
        edge = rng.uniform(0, 1, shape)
        x = np.where(edge < 0.1, 0.0, np.where(edge > 0.9, 1.0, x))
    elif kind in ("softmax", "onehot"):
        axis = extra if extra is not None else -1
        logits = rng.normal(0, 2, shape)
        x = np.exp(logits - logits.max(axis=axis, keepdims=True))
        x = x / x.sum(axis=axis, keepdims=True)
        hard = (x == x.max(axis=axis, keepdims=True)).astype(np.float64)
        if kind == "onehot":
            x = hard
        elif x.ndim:
            pick = rng.uniform(0, 1, np.delete(np.array(shape), axis % len(shape)))
            pick = np.expand_dims(pick < 0.25, axis)
            x = np.where(pick, hard, x)
    elif kind == "logits":
        x = rng.normal(0, 3, shape)
        edge = rng.uniform(0, 1, shape)
        x = np.where(edge < 0.08, -100.0, np.where(edge > 0.92, 100.0, x))
    elif kind == "binary":
        x = (rng.uniform(0, 1, shape) < 0.5).astype(np.float64)
    elif kind == "int":
        x = rng.randint(0, extra, shape)
    elif kind == "any":
        x = rng.normal(0, 2, shape)
    elif kind == "pos":
        x = rng.uniform(0.01, 3, shape)
    elif kind == "weight":
        x = rng.uniform(0, 2, shape)
        x = np.where(rng.uniform(0, 1, shape) < 0.2, 0.0, x)
    else:
        raise ValueError(kind)
    if dtype == "pyfloat":
        return float(np.asarray(x, np.float32).reshape(-1)[0])
    return np.asarray(x).astype(dtype)


def spec(kind, name, kwargs, calls, **extra):
    """`calls`: one dict per call with array descriptors y_true / y_pred / sample_weight
    (values for Mean-like metrics), or None for an absent sample_weight."""
    return dict({"kind": kind, "name": name, "kwargs": kwargs, "calls": calls}, **extra)


def draw_shape(d, last=None, ranks=(1, 2, 2, 2, 3, 4)):
    rank = d.pick(ranks)
    batch = d.pick([1, 2, 3, 4])
    c = last if last is not None else d.pick([1, 3, 4, 5])
    if rank == 1:
        return [c if last is not None else d.pick([1, 3, 4])]
    return [batch] + [d.pick([1, 2, 3]) for _ in range(rank - 2)] + [c]


def weight_desc(d, y_shape, out_shape, p_none=0.35):
    """Sample weights of every broadcastable shape, and a few that do not broadcast."""
    if d.flip(p_none):
        return None
    options = [("weight", [], "pyfloat"), ("weight", [], "float32")]
    if len(y_shape) >= 1:
        options += [("weight", y_shape[:1], "float32"), ("weight", list(y_shape[:1]) + [1],
                                                         "float32")]
    if len(out_shape) >= 1:
        options.append(("weight", out_shape, "float32"))          # per-timestep / per-sample
    options.append(("weight", y_shape, "float32"))                # per element
    if d.flip(0.1):
        options.append(("weight", [7], "float32"))                # cannot broadcast
    return d.pick(options)


def label_dtype(d):
    return d.pick(["float32", "float32", "int32", "int64", "float64"])


# --- losses -------------------------------------------------------------------------------------
LOSS_FUNCTIONS = {
    "MeanSquaredError": "mean_squared_error", "MeanAbsoluteError": "mean_absolute_error",
    "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
    "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error", "LogCosh": "log_cosh",
    "Huber": "huber", "Poisson": "poisson", "KLDivergence": "kl_divergence",
    "CosineSimilarity": "cosine_similarity", "Hinge": "hinge", "SquaredHinge": "squared_hinge",
    "CategoricalHinge": "categorical_hinge", "BinaryCrossentropy": "binary_crossentropy",
    "BinaryFocalCrossentropy": "binary_focal_crossentropy",
    "CategoricalCrossentropy": "categorical_crossentropy",
    "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy"}
ALIASES = ["MSE", "MAE", "MAPE", "MSLE", "KLD", "mse", "mae", "mape", "msle", "kld",
           "kullback_leibler_divergence", "logcosh"]
ALIAS_OF = {"MSE": "MeanSquaredError", "mse": "MeanSquaredError", "MAE": "MeanAbsoluteError",
            "mae": "MeanAbsoluteError", "MAPE": "MeanAbsolutePercentageError",
            "mape": "MeanAbsolutePercentageError", "MSLE": "MeanSquaredLogarithmicError",
            "msle": "MeanSquaredLogarithmicError", "KLD": "KLDivergence", "kld": "KLDivergence",
            "kullback_leibler_divergence": "KLDivergence", "logcosh": "LogCosh"}
REGRESSION_LABELS = {"MeanSquaredLogarithmicError": "pos", "Poisson": "pos",
                     "KLDivergence": "softmax", "Hinge": "binary", "SquaredHinge": "binary",
                     "CategoricalHinge": "onehot"}


def loss_options(d, cls, shape):
    """Keyword arguments of the class (the function takes the same minus reduction)."""
    kw = {}
    rank = len(shape)
    if cls in ("BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
               "CategoricalFocalCrossentropy"):
        if d.flip(0.5):
            kw["from_logits"] = d.flip()
        if d.flip(0.4):
            kw["label_smoothing"] = d.pick([0.0, 0.1, 0.5, 1.0])
        if d.flip(0.25) and rank >= 2:
            kw["axis"] = d.pick([-1, 0, 1, rank - 1, -rank])
    if cls in ("BinaryFocalCrossentropy", "CategoricalFocalCrossentropy"):
        if d.flip(0.6):
            kw["alpha"] = d.pick([0.0, 0.25, 0.5, 1.0])
        if d.flip(0.6):
            kw["gamma"] = d.pick([0.0, 0.5, 1.0, 2.0, 3.0])
    if cls == "BinaryFocalCrossentropy" and d.flip(0.5):
        kw["apply_class_balancing"] = d.flip()
    if cls == "SparseCategoricalCrossentropy":
        if d.flip(0.5):
            kw["from_logits"] = d.flip()
        if d.flip(0.4):
            kw["ignore_class"] = d.pick([0, 1, -1, 2])
    if cls == "Huber" and d.flip(0.7):
        kw["delta"] = d.pick([0.0, 0.1, 0.5, 1.0, 2.0, 5.0])
    if cls == "CosineSimilarity" and d.flip(0.5) and rank >= 2:
        kw["axis"] = d.pick([-1, 0, 1, rank - 1])
    return kw


def loss_inputs(d, cls, kw, shape):
    """(y_true, y_pred) descriptors fitting the loss (and sometimes stretching it)."""
    axis = kw.get("axis", -1)
    logits = kw.get("from_logits")
    pred = ("logits", shape, "float32") if logits else ("prob", shape, "float32")
    if cls in ("CategoricalCrossentropy", "CategoricalFocalCrossentropy"):
        if not logits:
            pred = ("softmax", shape, "float32", axis)
        true = d.pick([("onehot", shape, "float32", axis), ("softmax", shape, "float32", axis),
                       ("onehot", shape, "int32", axis), ("any", shape, "float32")])
    elif cls in ("BinaryCrossentropy", "BinaryFocalCrossentropy"):
        true = d.pick([("binary", shape, "float32"), ("binary", shape, label_dtype(d)),
                       ("prob", shape, "float32"), ("any", shape, "float32")])
    elif cls == "SparseCategoricalCrossentropy":
        if not logits:
            pred = ("softmax", shape, "float32")
        classes = shape[-1]
        label_shape = shape[:-1] if d.flip(0.6) else shape[:-1] + [1]
        if d.flip(0.05):
            label_shape = shape                        # one-hot labels given to the sparse loss
        true = ("int", label_shape, d.pick(["int32", "int64", "float32", "uint8"]), classes)
    else:
        label_kind = REGRESSION_LABELS.get(cls, "any")
        if d.flip(0.3):
            label_kind = d.pick(["any", "prob", "binary", "pos", "onehot"])
        true = (label_kind, shape, label_dtype(d) if label_kind in ("binary", "onehot")
                else "float32")
        pred = d.pick([("any", shape, "float32"), ("prob", shape, "float32"),
                       ("pos", shape, "float32"), ("softmax", shape, "float32")])
        if cls in ("MeanSquaredLogarithmicError", "Poisson", "KLDivergence") and d.flip(0.6):
            pred = ("prob" if d.flip() else "pos", shape, "float32")
    if d.flip(0.05):
        pred = (pred[0], pred[1], "float64") + tuple(pred[3:])
    return true, pred


def output_shape(cls, kw, shape):
    """The shape of the per-sample losses tf_keras returns (for weight shapes)."""
    if len(shape) <= 1:
        return []
    if cls == "SparseCategoricalCrossentropy":
        return shape[:-1]
    axis = kw.get("axis", -1) % len(shape)
    return shape[:axis] + shape[axis + 1:]


def gen_loss(d, cls):
    shape = draw_shape(d)
    kw = loss_options(d, cls, shape)
    true, pred = loss_inputs(d, cls, kw, shape)
    if d.flip(0.6):
        kw["reduction"] = d.pick(REDUCTIONS + (["mean"] if d.flip(0.1) else []))
    if d.flip(0.1):
        kw["name"] = "my_loss"
    sw = weight_desc(d, true[1], output_shape(cls, kw, shape))
    return spec("loss", cls, kw, [{"y_true": true, "y_pred": pred, "sample_weight": sw}])


def gen_loss_function(d, cls):
    shape = draw_shape(d)
    kw = loss_options(d, cls, shape)
    true, pred = loss_inputs(d, cls, kw, shape)
    name = LOSS_FUNCTIONS[cls]
    return spec("loss_fn", name, kw, [{"y_true": true, "y_pred": pred, "sample_weight": None}])


def gen_loss_alias(d, alias):
    cls = ALIAS_OF[alias]
    shape = draw_shape(d)
    true, pred = loss_inputs(d, cls, {}, shape)
    return spec("loss_fn", alias, {}, [{"y_true": true, "y_pred": pred, "sample_weight": None}])


# --- metrics ------------------------------------------------------------------------------------
def metric_calls(d, make, count=None, weights=True):
    """`count` update_state calls; `make()` gives (y_true, y_pred, out_shape) for a fresh
    batch."""
    calls = []
    for _ in range(count or d.pick([1, 2, 2, 3])):
        true, pred, out = make()
        sw = weight_desc(d, true[1], out) if weights else None
        calls.append({"y_true": true, "y_pred": pred, "sample_weight": sw})
    return calls


def dtype_option(d, kw):
    if d.flip(0.12):
        kw["dtype"] = d.pick(["float64", "float16", "float32"])


def with_batch(shape, batch):
    return shape if len(shape) <= 1 else [batch] + shape[1:]


def gen_metric_regression(d, cls):
    kw = {}
    dtype_option(d, kw)
    shape = draw_shape(d)
    if cls == "CosineSimilarity" and d.flip(0.4) and len(shape) >= 2:
        kw["axis"] = d.pick([0, 1, -1])
    label = {"Poisson": "pos", "MeanSquaredLogarithmicError": "pos", "KLDivergence": "softmax",
             "Hinge": "binary", "SquaredHinge": "binary", "CategoricalHinge": "onehot"}.get(
        cls, "any")

    def make():
        s = with_batch(shape, d.pick([1, 2, 3]))
        out = s[:-1]
        return (label, s, "float32"), (d.pick(["any", "prob", "pos"]), s, "float32"), out
    return spec("metric", cls, kw, metric_calls(d, make))


def gen_metric_probabilistic(d, cls):
    kw = {}
    dtype_option(d, kw)
    shape = draw_shape(d, ranks=(1, 2, 2, 3))
    if d.flip(0.4):
        kw["from_logits"] = d.flip()
    logits = kw.get("from_logits")
    if cls != "SparseCategoricalCrossentropy" and d.flip(0.3):
        kw["label_smoothing"] = d.pick([0.0, 0.1, 1.0])
    if cls == "SparseCategoricalCrossentropy" and d.flip(0.4):
        kw["ignore_class"] = d.pick([0, 1, -1])

    def make():
        s = with_batch(shape, d.pick([1, 2, 3]))
        if cls == "BinaryCrossentropy":
            pred = ("logits" if logits else "prob", s, "float32")
            return (d.pick(["binary", "prob", "any"]), s, "float32"), pred, s[:-1]
        if cls == "CategoricalCrossentropy":
            pred = ("logits", s, "float32") if logits else ("softmax", s, "float32")
            return ("onehot", s, d.pick(["float32", "int32"])), pred, s[:-1]
        pred = ("logits", s, "float32") if logits else ("softmax", s, "float32")
        return ("int", s[:-1] if d.flip() else s[:-1] + [1], d.pick(["int32", "float32"]),
                s[-1]), pred, s[:-1]
    return spec("metric", cls, kw, metric_calls(d, make))


def gen_metric_accuracy(d, cls):
    kw = {}
    dtype_option(d, kw)
    if cls == "BinaryAccuracy" and d.flip(0.5):
        kw["threshold"] = d.pick([0.0, 0.3, 0.5, 1.0])
    if cls in ("TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy") and d.flip(0.7):
        kw["k"] = d.pick([1, 2, 3, 6])
    shape = draw_shape(d, ranks=(1, 2, 2, 2, 3))

    def make():
        s = with_batch(shape, d.pick([1, 2, 3]))
        if cls == "Accuracy":
            true = ("int", s, d.pick(["int32", "float32"]), 3)
            return true, ("int", s, d.pick(["int32", "float32"]), 3), s
        if cls == "BinaryAccuracy":
            return (d.pick(["binary", "prob"]), s, label_dtype(d)), ("prob", s, "float32"), s[:-1]
        if cls in ("CategoricalAccuracy", "TopKCategoricalAccuracy"):
            return ("onehot", s, d.pick(["float32", "int32"])), ("softmax", s, "float32"), s[:-1]
        label = s[:-1] if d.flip() else s[:-1] + [1]
        return ("int", label, d.pick(["int32", "int64", "float32"]), s[-1]), \
            ("softmax", s, "float32"), s[:-1]
    return spec("metric", cls, kw, metric_calls(d, make))


def thresholds_option(d):
    return d.pick([None, 0.5, 0.0, 1.0, 0.3, [0.0, 0.5, 1.0], [0.2, 0.7], [0.9]])


def binary_scores(d, s):
    """Prediction scores: probabilities with edges, or (sometimes) values outside [0, 1]."""
    return (d.pick(["prob", "prob", "prob", "any"]), s, "float32")


def gen_metric_confusion(d, cls):
    kw = {}
    if d.flip(0.7):
        kw["thresholds"] = thresholds_option(d)
    shape = draw_shape(d, ranks=(1, 2, 2, 3))
    if cls in ("Precision", "Recall") and len(shape) >= 2:
        if d.flip(0.3):
            kw["top_k"] = d.pick([1, 2, 3])
        if d.flip(0.3):
            kw["class_id"] = d.pick([0, shape[-1] - 1, shape[-1]])
    dtype_option(d, kw)

    def make():
        s = with_batch(shape, d.pick([1, 2, 3]))
        true = (d.pick(["binary", "binary", "prob"]), s, label_dtype(d))
        return true, binary_scores(d, s), s
    return spec("metric", cls, kw, metric_calls(d, make))


def gen_metric_at(d, cls):
    arg = {"PrecisionAtRecall": "recall", "RecallAtPrecision": "precision",
           "SensitivityAtSpecificity": "specificity", "SpecificityAtSensitivity": "sensitivity"}
    kw = {arg[cls]: d.pick([0.0, 0.3, 0.5, 0.8, 1.0] + ([1.5, -0.1] if d.flip(0.1) else []))}
    if d.flip(0.5):
        kw["num_thresholds"] = d.pick([1, 2, 3, 10, 200])
    shape = draw_shape(d, ranks=(1, 2, 2, 3))
    if d.flip(0.3) and len(shape) >= 2:
        kw["class_id"] = d.pick([0, shape[-1] - 1])
    dtype_option(d, kw)

    def make():
        s = with_batch(shape, d.pick([1, 2, 3, 4]))
        return ("binary", s, label_dtype(d)), binary_scores(d, s), s
    return spec("metric", cls, kw, metric_calls(d, make))


def gen_metric_auc(d, cls):
    kw = {}
    if d.flip(0.5):
        kw["num_thresholds"] = d.pick([2, 3, 10, 200] + ([1] if d.flip(0.2) else []))
    if d.flip(0.5):
        kw["curve"] = d.pick(["ROC", "PR", "roc", "pr"] + (["XY"] if d.flip(0.1) else []))
    if d.flip(0.5):
        kw["summation_method"] = d.pick(["interpolation", "minoring", "majoring"]
                                        + (["trapezoid"] if d.flip(0.1) else []))
    if d.flip(0.2):
        kw["thresholds"] = d.pick([[0.5], [0.1, 0.5, 0.9], [0.0, 0.3, 1.0]])
    labels = d.pick([1, 2, 3])
    multi = d.flip(0.4)
    if multi:
        kw["multi_label"] = True
        if d.flip(0.4):
            kw["num_labels"] = labels
    if d.flip(0.25):
        kw["label_weights"] = [round(d.rng.uniform(0, 2), 2) for _ in range(labels)]
    if d.flip(0.3):
        kw["from_logits"] = True
    dtype_option(d, kw)
    rank1 = d.flip(0.15) and not multi

    def make():
        s = [d.pick([1, 2, 4, 5])] + ([] if rank1 else [labels])
        pred = ("logits" if kw.get("from_logits") else "prob", s, "float32")
        return ("binary", s, label_dtype(d)), pred, s
    return spec("metric", cls, kw, metric_calls(d, make))


def gen_metric_iou(d, cls):
    classes = d.pick([2, 3, 4])
    kw = {"num_classes": classes}
    if cls in ("IoU", "OneHotIoU"):
        kw["target_class_ids"] = d.pick([[0], [classes - 1], list(range(classes)), [1, 0]])
    if d.flip(0.35):
        kw["ignore_class"] = d.pick([0, 1, -1])
    if cls in ("IoU", "MeanIoU"):
        if d.flip(0.3):
            kw["sparse_y_true"] = False
        if d.flip(0.3):
            kw["sparse_y_pred"] = False
    elif d.flip(0.3):
        kw["sparse_y_pred"] = True
    if d.flip(0.15):
        kw["axis"] = d.pick([-1, 1])
    dtype_option(d, kw)
    sparse_true = kw.get("sparse_y_true", cls in ("IoU", "MeanIoU"))
    sparse_pred = kw.get("sparse_y_pred", cls in ("IoU", "MeanIoU"))
    rank = d.pick([1, 2, 2, 3])

    def make():
        lead = [d.pick([1, 2, 3])] + [d.pick([1, 2, 3]) for _ in range(rank - 1)]
        true = ("int", lead, d.pick(["int32", "float32"]), classes) if sparse_true \
            else ("onehot", lead + [classes], "float32")
        pred = ("int", lead, d.pick(["int32", "float32"]), classes) if sparse_pred \
            else ("softmax", lead + [classes], "float32")
        return true, pred, lead
    # (the IoU family flattens weights without broadcasting: mostly full-shaped ones)
    calls = metric_calls(d, make)
    for call in calls:
        if call["sample_weight"] and d.flip(0.6):
            lead = call["y_pred"][1] if sparse_pred else call["y_pred"][1][:-1]
            call["sample_weight"] = ("weight", lead, "float32")
    return spec("metric", cls, kw, calls)


def gen_metric_binary_iou(d, cls):
    kw = {}
    if d.flip(0.6):
        kw["target_class_ids"] = d.pick([[0], [1], [0, 1], [1, 0]])
    if d.flip(0.5):
        kw["threshold"] = d.pick([0.0, 0.3, 0.5, 1.0])
    dtype_option(d, kw)
    shape = draw_shape(d, ranks=(1, 2, 3))

    def make():
        s = with_batch(shape, d.pick([1, 2, 3]))
        return ("binary", s, label_dtype(d)), ("prob", s, "float32"), s
    return spec("metric", cls, kw, metric_calls(d, make))


def gen_metric_fscore(d, cls):
    kw = {}
    if d.flip(0.7):
        kw["average"] = d.pick([None, "micro", "macro", "weighted"]
                               + (["samples"] if d.flip(0.1) else []))
    if cls == "FBetaScore" and d.flip(0.7):
        kw["beta"] = d.pick([0.5, 1.0, 2.0] + ([0.0] if d.flip(0.1) else []))
    if d.flip(0.5):
        kw["threshold"] = d.pick([None, 0.3, 0.5, 1.0])
    dtype_option(d, kw)
    classes = d.pick([1, 3, 4])
    rank = d.pick([2, 2, 2, 2, 1, 3])

    def make():
        s = [d.pick([1, 2, 3, 4])] + ([] if rank == 1 else [classes] if rank == 2 else [2, classes])
        return ("binary", s, d.pick(["float32", "float32", "float32", "int32"])), \
            (d.pick(["prob", "softmax"]), s, "float32"), s[:1]
    return spec("metric", cls, kw, metric_calls(d, make, weights=d.flip(0.4)))


def gen_metric_r2(d, cls):
    kw = {}
    if d.flip(0.6):
        kw["class_aggregation"] = d.pick(["uniform_average", "variance_weighted_average", None]
                                         + (["bogus"] if d.flip(0.1) else []))
    if d.flip(0.4):
        kw["num_regressors"] = d.pick([0, 1, 2, 10] + ([-1] if d.flip(0.1) else []))
    dtype_option(d, kw)
    outputs = d.pick([1, 2, 3])
    rank = d.pick([2, 2, 2, 1, 3])

    def make():
        s = [d.pick([1, 2, 3, 5])] + ([] if rank == 1 else [outputs] if rank == 2 else [2, outputs])
        return ("any", s, "float32"), ("any", s, "float32"), s[:1]
    return spec("metric", cls, kw, metric_calls(d, make))


def gen_metric_reduce(d, cls):
    kw = {}
    dtype_option(d, kw)
    if cls == "MeanTensor" and d.flip(0.3):
        kw["shape"] = None
    shape = draw_shape(d, ranks=(0, 1, 2, 3)) if d.flip(0.85) else []
    calls = []
    for _ in range(d.pick([1, 2, 3])):
        s = shape if cls == "MeanTensor" else with_batch(shape, d.pick([1, 2, 3]))
        values = ("any", s, d.pick(["float32", "float32", "int32", "float64"]))
        calls.append({"values": values, "sample_weight": weight_desc(d, s, s[:1])})
    return spec("metric", cls, kw, calls)


def gen_metric_relative(d, cls):
    shape = draw_shape(d, ranks=(1, 2, 2))
    kw = {"normalizer": ("pos", shape[-1:], "float32")}
    dtype_option(d, kw)

    def make():
        s = with_batch(shape, d.pick([1, 2, 3]))
        return ("any", s, "float32"), ("any", s, "float32"), s
    return spec("metric", cls, kw, metric_calls(d, make))


WRAPPED = [("losses.mean_squared_error", {}), ("losses.huber", {"delta": 0.5}),
           ("metrics.binary_accuracy", {"threshold": 0.3}),
           ("metrics.sparse_top_k_categorical_accuracy", {"k": 2}),
           ("losses.categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.1}),
           ("metrics.top_k_categorical_accuracy", {"k": 1}),
           ("losses.binary_focal_crossentropy", {"gamma": 1.0, "apply_class_balancing": True})]


def gen_metric_wrapper(d, cls):
    fn, fn_kwargs = d.pick(WRAPPED)
    kw = dict(fn_kwargs, fn=fn, name=d.pick([None, "wrapped"]))
    dtype_option(d, kw)
    shape = draw_shape(d, ranks=(2, 2, 3), last=d.pick([3, 4]))

    def make():
        s = with_batch(shape, d.pick([1, 2, 3]))
        if "sparse" in fn:
            return ("int", s[:-1], "int32", s[-1]), ("softmax", s, "float32"), s[:-1]
        if "categorical" in fn:
            return ("onehot", s, "float32"), ("softmax", s, "float32"), s[:-1]
        return ("binary", s, "float32"), ("prob", s, "float32"), s[:-1]
    return spec("metric", cls, kw, metric_calls(d, make))


METRIC_FUNCTIONS = {
    "binary_accuracy": ("binary", "prob", {"threshold": [0.0, 0.5, 0.7]}),
    "categorical_accuracy": ("onehot", "softmax", {}),
    "sparse_categorical_accuracy": ("int", "softmax", {}),
    "top_k_categorical_accuracy": ("onehot", "softmax", {"k": [1, 2, 5]}),
    "sparse_top_k_categorical_accuracy": ("int", "softmax", {"k": [1, 2, 5]}),
    "binary_crossentropy": ("binary", "prob", {"from_logits": [False], "label_smoothing": [0.2]}),
    "binary_focal_crossentropy": ("binary", "prob", {"gamma": [0.0, 2.0]}),
    "categorical_crossentropy": ("onehot", "softmax", {"label_smoothing": [0.0, 0.3]}),
    "categorical_focal_crossentropy": ("onehot", "softmax", {"alpha": [0.25, 1.0]}),
    "sparse_categorical_crossentropy": ("int", "softmax", {"ignore_class": [None, 0]}),
    "hinge": ("binary", "any", {}), "squared_hinge": ("any", "any", {}),
    "kl_divergence": ("softmax", "softmax", {}), "poisson": ("pos", "pos", {}),
    "log_cosh": ("any", "any", {}), "mean_squared_logarithmic_error": ("any", "pos", {}),
    "mean_absolute_percentage_error": ("any", "any", {}),
}


def gen_metric_function(d, name):
    label, pred_kind, options = METRIC_FUNCTIONS[name]
    kw = {k: d.pick(v) for k, v in options.items() if d.flip(0.7)}
    shape = draw_shape(d, ranks=(1, 2, 2, 3))
    if label == "int":
        true = ("int", shape[:-1] if d.flip() else shape[:-1] + [1],
                d.pick(["int32", "float32", "int64"]), shape[-1])
    else:
        true = (label, shape, label_dtype(d) if label in ("binary", "onehot") else "float32")
    return spec("metric_fn", name, kw,
                [{"y_true": true, "y_pred": (pred_kind, shape, "float32"), "sample_weight": None}])


METRIC_GENERATORS = {
    gen_metric_regression: ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
                            "MeanSquaredLogarithmicError", "RootMeanSquaredError", "LogCoshError",
                            "Poisson", "KLDivergence", "CosineSimilarity", "Hinge", "SquaredHinge",
                            "CategoricalHinge"],
    gen_metric_probabilistic: ["BinaryCrossentropy", "CategoricalCrossentropy",
                               "SparseCategoricalCrossentropy"],
    gen_metric_accuracy: ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
                          "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
                          "SparseTopKCategoricalAccuracy"],
    gen_metric_confusion: ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
                           "Precision", "Recall"],
    gen_metric_at: ["PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
                    "SpecificityAtSensitivity"],
    gen_metric_auc: ["AUC"],
    gen_metric_iou: ["IoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU"],
    gen_metric_binary_iou: ["BinaryIoU"],
    gen_metric_fscore: ["F1Score", "FBetaScore"],
    gen_metric_r2: ["R2Score"],
    gen_metric_reduce: ["Mean", "Sum", "MeanTensor"],
    gen_metric_relative: ["MeanRelativeError"],
    gen_metric_wrapper: ["MeanMetricWrapper"],
}
# draws per class: the classes with many arguments get more
MANY = {"AUC": 22, "Precision": 10, "Recall": 10, "IoU": 8, "MeanIoU": 8, "OneHotIoU": 6,
        "OneHotMeanIoU": 6, "F1Score": 8, "FBetaScore": 8, "R2Score": 8, "BinaryIoU": 6,
        "BinaryCrossentropy": 8, "BinaryFocalCrossentropy": 10, "CategoricalCrossentropy": 8,
        "CategoricalFocalCrossentropy": 10, "SparseCategoricalCrossentropy": 10, "Huber": 6,
        "CosineSimilarity": 6}


# --- a Masking model through compile's loss and metrics -------------------------------------------
MASKED = [("mse", "linear", "any"), ("binary_crossentropy", "sigmoid", "binary"),
          ("categorical_crossentropy", "softmax", "onehot"),
          ("sparse_categorical_crossentropy", "softmax", "int"), ("huber", "linear", "any"),
          ("BinaryFocalCrossentropy", "sigmoid", "binary"), ("Hinge", "linear", "binary"),
          ("CategoricalFocalCrossentropy", "softmax", "onehot"), ("mae", "linear", "any"),
          ("SparseCategoricalCrossentropy", "softmax", "int")]
MASKED_METRICS = {"linear": ["mae", "MeanSquaredError", "CosineSimilarity"],
                  "sigmoid": ["accuracy", "AUC", "Precision", "BinaryAccuracy"],
                  "softmax": ["accuracy", "CategoricalAccuracy", "TopKCategoricalAccuracy"]}


def gen_masked(d, number):
    loss, activation, label = MASKED[number % len(MASKED)]
    batch, steps, features = d.pick([2, 3, 4]), d.pick([2, 3, 4]), d.pick([1, 2])
    units = d.pick([1, 3]) if activation != "softmax" else 3
    metric = d.pick(MASKED_METRICS[activation])
    if label == "int":
        metric = d.pick(["accuracy", "SparseCategoricalAccuracy", "SparseTopKCategoricalAccuracy"])
    y_shape = [batch, steps] + ([] if label == "int" else [units])
    true = ("int", y_shape, "int32", units) if label == "int" else (label, y_shape, "float32")
    sw = d.pick([None, ("weight", [batch], "float32"), ("weight", [batch, steps], "float32")])
    return spec("masked", loss, {"activation": activation, "units": units, "metric": metric,
                                 "weighted": d.flip()},
                [{"x": ("any", [batch, steps, features], "float32"), "y_true": true,
                  "sample_weight": sw, "weights": [("any", [features, units], "float32"),
                                                   ("any", [units], "float32")]}],
                masked_steps=d.pick([[0], [steps - 1], [0, steps - 1]]))


MASKED_CLASSES = [("BinaryCrossentropy", "sigmoid", "binary"),
                  ("BinaryFocalCrossentropy", "sigmoid", "prob"),
                  ("CategoricalCrossentropy", "softmax", "onehot"),
                  ("CategoricalFocalCrossentropy", "softmax", "onehot"),
                  ("SparseCategoricalCrossentropy", "softmax", "int"),
                  ("Huber", "linear", "any"), ("MeanSquaredError", "linear", "any"),
                  ("Poisson", "softplus", "pos"), ("KLDivergence", "softmax", "softmax"),
                  ("CosineSimilarity", "linear", "any"), ("LogCosh", "linear", "any"),
                  ("SquaredHinge", "tanh", "binary"), ("CategoricalHinge", "softmax", "onehot"),
                  ("MeanAbsolutePercentageError", "linear", "pos"),
                  ("MeanSquaredLogarithmicError", "softplus", "pos")]


def gen_masked_class(d, number):
    """A loss object with drawn arguments (reduction included) as the compiled loss."""
    cls, activation, label = MASKED_CLASSES[number % len(MASKED_CLASSES)]
    batch, steps, features = d.pick([1, 2, 3]), d.pick([2, 3]), d.pick([1, 2])
    units = 1 if cls.startswith("Binary") and d.flip() else 3
    loss_kwargs = {k: v for k, v in loss_options(d, cls, [batch, steps, units]).items()
                   if k not in ("axis", "from_logits")}
    if d.flip(0.6):
        loss_kwargs["reduction"] = d.pick(REDUCTIONS)
    if cls == "SparseCategoricalCrossentropy" and "ignore_class" in loss_kwargs:
        loss_kwargs["ignore_class"] = d.pick([0, 2])
    y_shape = [batch, steps] + ([] if label == "int" else [units])
    true = ("int", y_shape, "int32", units) if label == "int" else (label, y_shape, "float32")
    metric = d.pick(MASKED_METRICS["sigmoid" if activation == "sigmoid" else
                                   "softmax" if activation == "softmax" else "linear"])
    if label == "int":
        metric = d.pick(["accuracy", "SparseCategoricalAccuracy"])
    sw = d.pick([None, ("weight", [batch], "float32"), ("weight", [batch, steps], "float32")])
    return spec("masked", cls, {"activation": activation, "units": units, "metric": metric,
                                "weighted": d.flip(), "loss_kwargs": loss_kwargs},
                [{"x": ("any", [batch, steps, features], "float32"), "y_true": true,
                  "sample_weight": sw, "weights": [("any", [features, units], "float32"),
                                                   ("any", [units], "float32")]}],
                masked_steps=d.pick([[0], [steps - 1]]))


def sensible(case, d):
    """A second round for the metrics tf refuses most draws of: labels of the metric dtype,
    rank-2 inputs where asked, and weights of the shapes tf takes (or none)."""
    name = case["name"]
    for call in case["calls"]:
        shape = call["y_pred"][1]
        if name in ("F1Score", "FBetaScore", "R2Score") and len(shape) != 2:
            shape = [max(shape[0], 1), shape[-1]] if len(shape) > 1 else [shape[0], 2]
            call["y_pred"] = (call["y_pred"][0], shape, "float32")
            call["y_true"] = (call["y_true"][0], shape, "float32")
        if name in ("F1Score", "FBetaScore"):
            call["y_true"] = (call["y_true"][0], shape, case["kwargs"].get("dtype", "float32"))
            call["y_pred"] = (call["y_pred"][0], shape, case["kwargs"].get("dtype", "float32"))
        options = [None, ("weight", shape, "float32")] if name == "BinaryIoU" else \
            [None, ("weight", shape[:1], "float32"), ("weight", shape[:1] + [1], "float32")]
        call["sample_weight"] = d.pick(options)
    if name in ("TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy"):
        case["kwargs"].pop("dtype", None)
    return case


SECOND_ROUND = {gen_metric_fscore: ["F1Score", "FBetaScore"], gen_metric_r2: ["R2Score"],
                gen_metric_binary_iou: ["BinaryIoU"],
                gen_metric_accuracy: ["TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy"],
                gen_metric_auc: ["AUC"]}


def in_dtype(case, dtype):
    """The case with predictions (and float labels) in `dtype` (mixed precision's float16
    outputs, float64 arrays)."""
    for call in case["calls"]:
        call["y_pred"] = (call["y_pred"][0], call["y_pred"][1], dtype) + tuple(call["y_pred"][3:])
        if call["y_true"][2] == "float32":
            call["y_true"] = (call["y_true"][0], call["y_true"][1], dtype) + \
                tuple(call["y_true"][3:])
    return case


DTYPE_ROUND = ["BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
               "CategoricalFocalCrossentropy", "SparseCategoricalCrossentropy", "Huber",
               "MeanSquaredLogarithmicError", "KLDivergence", "Poisson", "LogCosh",
               "CosineSimilarity", "MeanAbsolutePercentageError"]


# names given to keras.losses.get / keras.metrics.get (compile resolves strings through them)
LOOKUPS = {
    "losses": ["mse", "MSE", "mae", "mape", "msle", "kld", "KLD", "logcosh", "log_cosh", "huber",
               "huber_loss", "bce", "BCE", "binary_crossentropy", "categorical_focal_crossentropy",
               "kullback_leibler_divergence", "cosine_similarity", "cosine_proximity", "Huber",
               "BinaryCrossentropy", "LogCosh", "hinge", "categorical_hinge", "poisson",
               "sparse_categorical_crossentropy", "Reduction", "Loss", "acc", "accuracy"],
    "metrics": ["mse", "MSE", "mae", "acc", "ACC", "bce", "BCE", "accuracy", "auc", "AUC",
                "precision", "Precision", "recall", "f1_score", "F1Score", "r2_score", "R2Score",
                "log_cosh", "logcosh", "cosine_proximity", "cosine_similarity", "kld",
                "kullback_leibler_divergence", "binary_focal_crossentropy", "huber",
                "sparse_top_k_categorical_accuracy", "MeanIoU", "Mean", "Sum", "top_k", "ce",
                "crossentropy", "squared_hinge", "SquaredHinge", "RootMeanSquaredError"]}


def draw_specs():
    d = Drawer(SEED)
    specs = []
    for cls in LOSS_FUNCTIONS:
        for _ in range(MANY.get(cls, 4)):
            specs.append(gen_loss(d, cls))
        for _ in range(2):
            specs.append(gen_loss_function(d, cls))
    for alias in ALIASES:
        specs.append(gen_loss_alias(d, alias))
    for gen, classes in METRIC_GENERATORS.items():
        for cls in classes:
            for _ in range(MANY.get(cls, 4)):
                specs.append(gen(d, cls))
    for name in METRIC_FUNCTIONS:
        for _ in range(2):
            specs.append(gen_metric_function(d, name))
    for number in range(12):
        specs.append(gen_masked(d, number))
    for number in range(30):
        specs.append(gen_masked_class(d, number))
    for gen, classes in SECOND_ROUND.items():
        for cls in classes:
            for _ in range(8):
                specs.append(sensible(gen(d, cls), d))
    for cls in DTYPE_ROUND:
        for dtype in ("float16", "float64"):
            specs.append(in_dtype(gen_loss(d, cls), dtype))
    for cls in ("Huber", "BinaryCrossentropy", "CategoricalCrossentropy", "LogCosh"):
        for dtype in ("float16", "float64"):
            specs.append(in_dtype(gen_loss_function(d, cls), dtype))
    for cls in ("BinaryCrossentropy", "CategoricalCrossentropy", "AUC", "Precision",
                "BinaryAccuracy", "MeanSquaredError", "KLDivergence", "Poisson"):
        gen = next(g for g, names in METRIC_GENERATORS.items() if cls in names)
        for dtype in ("float16", "float64"):
            specs.append(in_dtype(gen(d, cls), dtype))
    for module, names in LOOKUPS.items():
        for name in names:
            specs.append(spec("lookup", name, {"module": module}, []))
    # a Keras mask and ignore_class together: tf.keras' Loss.__call__ averages over the entries
    # valid under both (found by a fit probe, after the draws above)
    for ignore, reduction, weights in ((0, "auto", "batch"), (2, "auto", "step"), (1, "sum", None),
                                       (0, "sum_over_batch_size", None), (1, "none", "batch")):
        batch, steps = 4, 3
        sw = {"batch": ("weight", [batch], "float32"), "step": ("weight", [batch, steps],
                                                             "float32"), None: None}[weights]
        specs.append(spec("masked", "SparseCategoricalCrossentropy", {
            "activation": "softmax", "units": 3, "metric": "accuracy", "weighted": True,
            "loss_kwargs": {"ignore_class": ignore, "reduction": reduction}},
            [{"x": ("any", [batch, steps, 2], "float32"), "y_true": ("int", [batch, steps], "int32", 3),
              "sample_weight": sw, "weights": [("any", [2, 3], "float32"), ("any", [3], "float32")]}],
            masked_steps=[steps - 1]))
    counts = {}
    for s in specs:
        key = f"{s['kind']}_{s['name']}"
        s["id"] = f"{key}_{counts.get(key, 0)}"
        counts[key] = counts.get(key, 0) + 1
    return specs


def to_jsonable(obj):
    if isinstance(obj, tuple):
        return [to_jsonable(o) for o in obj]
    if isinstance(obj, list):
        return [to_jsonable(o) for o in obj]
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    return obj


def case_arrays(case_spec, number):
    """The inputs of a case, drawn from its descriptors by a seeded generator."""
    rng = np.random.RandomState(SEED % 10000 + number)
    arrays = {}
    for i, call in enumerate(case_spec["calls"]):
        for key in ("y_true", "y_pred", "sample_weight", "values", "x"):
            if call.get(key) is not None:
                arrays[f"{key}{i}"] = make_array(call[key], rng)
        for k, w in enumerate(call.get("weights", [])):
            arrays[f"weight{i}_{k}"] = make_array(w, rng)
    normalizer = case_spec["kwargs"].get("normalizer")
    if normalizer is not None:
        arrays["normalizer"] = make_array(normalizer, rng)
    return arrays


# --- recording ------------------------------------------------------------------------------------
def record():
    import tensorflow as tf
    import tf_keras as keras
    from tf_keras.src.saving.legacy.saved_model.json_utils import get_json_type

    def jsonable(obj):
        return json.loads(json.dumps(obj, default=get_json_type))

    def error_facts(error):
        return {"error": type(error).__name__, "message": str(error)[:400]}

    def tensor(value):
        return value if isinstance(value, float) else tf.constant(value)

    def resolve(name):
        module, fn = name.split(".")
        return getattr(getattr(keras, module), fn)

    def metric_kwargs(case, arrays):
        kw = dict(case["kwargs"])
        if "fn" in kw:
            kw["fn"] = resolve(kw["fn"])
        if "normalizer" in kw:
            kw["normalizer"] = arrays["normalizer"]
        return kw

    def run_loss(case, arrays, out, facts):
        call = case["calls"][0]
        y_true = arrays["y_true0"]
        y_pred = tf.Variable(arrays["y_pred0"])
        sw = arrays.get("sample_weight0")
        try:
            if case["kind"] == "loss":
                loss = getattr(keras.losses, case["name"])(**case["kwargs"])
                facts["config"] = jsonable(loss.get_config())
            with tf.GradientTape() as tape:
                if case["kind"] == "loss":
                    value = loss(tensor(y_true), y_pred,
                                 sample_weight=None if sw is None else tensor(sw))
                else:
                    value = getattr(keras.losses, case["name"])(tf.constant(y_true), y_pred,
                                                                **case["kwargs"])
                total = tf.reduce_sum(value)
            grad = tape.gradient(total, y_pred)
        except Exception as e:               # noqa: BLE001 (recorded)
            facts.update(error_facts(e))
            return
        del call
        out["value"] = value.numpy()
        facts["dtype"] = value.dtype.name
        out["grad"] = np.zeros_like(arrays["y_pred0"]) if grad is None else grad.numpy()
        if case["kind"] == "loss":
            # (from_config pops 'fn' from the dict it is given)
            again = getattr(keras.losses, case["name"]).from_config(dict(facts["config"]))
            out["value_from_config"] = again(tensor(y_true), tf.constant(arrays["y_pred0"]),
                                             sample_weight=None if sw is None else tensor(sw))

    def update(metric, case, arrays, i):
        call = case["calls"][i]
        sw = arrays.get(f"sample_weight{i}")
        sw = None if sw is None else tensor(sw)
        if "values" in call:
            return metric.update_state(tensor(arrays[f"values{i}"]), sample_weight=sw)
        return metric.update_state(tf.constant(arrays[f"y_true{i}"]),
                                   tf.constant(arrays[f"y_pred{i}"]), sample_weight=sw)

    def run_metric(case, arrays, out, facts):
        cls = getattr(keras.metrics, case["name"])
        try:
            metric = cls(**metric_kwargs(case, arrays))
        except Exception as e:               # noqa: BLE001
            facts.update(error_facts(e))
            return
        try:
            facts["config"] = jsonable(metric.get_config())
        except Exception as e:               # noqa: BLE001
            facts["config_error"] = error_facts(e)
        facts["variables"] = [[v.name, list(v.shape), v.dtype.name] for v in metric.variables]
        facts["steps"] = []
        for i in range(len(case["calls"])):
            try:
                update(metric, case, arrays, i)
                result = metric.result()
            except Exception as e:           # noqa: BLE001
                facts["steps"].append(error_facts(e))
                return
            out[f"result{i}"] = tf.nest.map_structure(np.asarray, result)
            facts["steps"].append({"dtype": result.dtype.name})
        facts["variables_after"] = [[v.name, list(v.shape)] for v in metric.variables]
        metric.reset_state()
        try:
            out["reset"] = np.asarray(metric.result())
        except Exception as e:               # noqa: BLE001
            facts["reset_error"] = error_facts(e)
        try:
            first, last = cls(**metric_kwargs(case, arrays)), cls(**metric_kwargs(case, arrays))
            update(first, case, arrays, 0)
            update(last, case, arrays, len(case["calls"]) - 1)
            first.merge_state([last])
            out["merged"] = np.asarray(first.result())
        except Exception as e:               # noqa: BLE001
            facts["merge_error"] = error_facts(e)
        if "config" in facts:
            try:
                again = cls.from_config(metric.get_config())
                update(again, case, arrays, 0)
                out["from_config0"] = np.asarray(again.result())
            except Exception as e:           # noqa: BLE001
                facts["from_config_error"] = error_facts(e)

    def run_metric_fn(case, arrays, out, facts):
        try:
            value = getattr(keras.metrics, case["name"])(
                tf.constant(arrays["y_true0"]), tf.constant(arrays["y_pred0"]), **case["kwargs"])
        except Exception as e:               # noqa: BLE001
            facts.update(error_facts(e))
            return
        out["value"] = value.numpy()
        facts["dtype"] = value.dtype.name

    def run_masked(case, arrays, out, facts):
        kw = case["kwargs"]
        x = arrays["x0"].copy()
        x[:, case["masked_steps"], :] = 0.0
        arrays["x0"] = x
        inputs = keras.Input(shape=x.shape[1:])
        hidden = keras.layers.Masking(0.0)(inputs)
        outputs = keras.layers.Dense(kw["units"], activation=kw["activation"])(hidden)
        model = keras.Model(inputs, outputs)
        model.set_weights([arrays["weight0_0"], arrays["weight0_1"]])
        loss = case["name"] if case["name"][0].islower() else \
            getattr(keras.losses, case["name"])(**kw.get("loss_kwargs", {}))
        metric = kw["metric"] if kw["metric"][0].islower() else \
            getattr(keras.metrics, kw["metric"])()
        place = "weighted_metrics" if kw["weighted"] else "metrics"
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, **{place: [metric]})
        sw = arrays.get("sample_weight0")
        try:
            result = model.evaluate(x, arrays["y_true0"], sample_weight=sw,
                                    batch_size=len(x), verbose=0, return_dict=True)
            trained = model.train_on_batch(x, arrays["y_true0"], sample_weight=sw,
                                           return_dict=True)
        except Exception as e:               # noqa: BLE001
            facts.update(error_facts(e))
            return
        facts["evaluate"] = {k: np.asarray(v).tolist() for k, v in result.items()}
        facts["train_on_batch"] = {k: np.asarray(v).tolist() for k, v in trained.items()}
        for k, w in enumerate(model.get_weights()):
            out[f"trained_weight{k}"] = w

    def run_lookup(case, arrays, out, facts):
        try:
            found = getattr(keras, case["kwargs"]["module"]).get(case["name"])
        except Exception as e:               # noqa: BLE001
            facts.update(error_facts(e))
            return
        facts["found"] = [type(found).__name__ if not callable(found) or isinstance(found, type)
                          or hasattr(found, "get_config") else "function",
                          getattr(found, "__name__", None) or getattr(found, "name", None)
                          or str(found)]

    facts_all, arrays_all = [], {}
    for number, case in enumerate(draw_specs()):
        arrays = case_arrays(case, number)
        out, facts = {}, {"spec": to_jsonable(case)}
        runner = {"loss": run_loss, "loss_fn": run_loss, "metric": run_metric,
                  "metric_fn": run_metric_fn, "masked": run_masked,
                  "lookup": run_lookup}[case["kind"]]
        try:
            runner(case, arrays, out, facts)
        except Exception as e:               # noqa: BLE001 (a recipe bug shows in the facts)
            facts["recipe_error"] = error_facts(e)
        for key, value in arrays.items():
            if not isinstance(value, float):
                arrays_all[f"{case['id']}__{key}"] = value
            else:
                facts.setdefault("floats", {})[key] = value
        for key, value in out.items():
            arrays_all[f"{case['id']}__out_{key}"] = np.asarray(value)
        facts_all.append(facts)
    folder = fixture_dir("lmfuzz")
    import os
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "cases.json"), "w") as f:
        json.dump(facts_all, f, indent=0, sort_keys=True)
    np.savez_compressed(os.path.join(folder, "cases.npz"), **arrays_all)
    print(len(facts_all), "cases;", sum("error" in f for f in facts_all), "refused")


if __name__ == "__main__":
    if sys.argv[-1] == "list":
        for s in draw_specs():
            print(json.dumps(to_jsonable(s)))
    else:
        from peer import require_peer
        require_peer()
        record()
