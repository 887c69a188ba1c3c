"""Stateful metrics: the tf.keras documentation examples (numbers printed by tf.keras),
closed-form AUC / precision / recall computed by hand, configs, compile() resolution."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

M = keras.metrics
BIN_TRUE, BIN_PRED = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
REG_TRUE, REG_PRED = [[0, 1], [0, 0]], [[1, 1], [0, 0]]
CAT_TRUE, CAT_PRED = [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
TOP_TRUE, TOP_PRED = [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]

# (metric, y_true, y_pred, result, sample_weight, weighted result) from the tf.keras docs.
DOC_EXAMPLES = [
    (lambda: M.Accuracy(), [[1], [2], [3], [4]], [[0], [2], [3], [4]], 0.75, [1, 1, 0, 0], 0.5),
    (lambda: M.BinaryAccuracy(), [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], 0.75,
     [1, 0, 0, 1], 0.5),
    (lambda: M.CategoricalAccuracy(), TOP_TRUE, TOP_PRED, 0.5, [0.7, 0.3], 0.3),
    (lambda: M.SparseCategoricalAccuracy(), [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], 0.5,
     [0.7, 0.3], 0.3),
    (lambda: M.TopKCategoricalAccuracy(k=1), TOP_TRUE, TOP_PRED, 0.5, [0.7, 0.3], 0.3),
    (lambda: M.SparseTopKCategoricalAccuracy(k=1), [2, 1], TOP_PRED, 0.5, [0.7, 0.3], 0.3),
    (lambda: M.MeanSquaredError(), REG_TRUE, REG_PRED, 0.25, [1, 0], 0.5),
    (lambda: M.RootMeanSquaredError(), REG_TRUE, REG_PRED, 0.5, [1, 0], 0.70710677),
    (lambda: M.MeanAbsoluteError(), REG_TRUE, REG_PRED, 0.25, [1, 0], 0.5),
    (lambda: M.MeanAbsolutePercentageError(), REG_TRUE, REG_PRED, 250000000.0, [1, 0],
     500000000.0),
    (lambda: M.MeanSquaredLogarithmicError(), REG_TRUE, REG_PRED, 0.12011322, [1, 0],
     0.24022643),
    (lambda: M.CosineSimilarity(axis=1), [[0., 1.], [1., 1.]], [[1., 0.], [1., 1.]], 0.49999997,
     [0.3, 0.7], 0.6999999),
    (lambda: M.LogCoshError(), REG_TRUE, REG_PRED, 0.10844523, [1, 0], 0.21689045),
    (lambda: M.BinaryCrossentropy(), BIN_TRUE, BIN_PRED, 0.81492424, [1, 0], 0.9162905),
    (lambda: M.CategoricalCrossentropy(), CAT_TRUE, CAT_PRED, 1.1769392, [0.3, 0.7], 1.6271976),
    (lambda: M.SparseCategoricalCrossentropy(), [1, 2], CAT_PRED, 1.1769392, [0.3, 0.7],
     1.6271976),
    (lambda: M.KLDivergence(), BIN_TRUE, BIN_PRED, 0.45814306, [1, 0], 0.9162892),
    (lambda: M.Poisson(), REG_TRUE, REG_PRED, 0.49999997, [1, 0], 0.99999994),
    (lambda: M.Hinge(), BIN_TRUE, BIN_PRED, 1.3, [1, 0], 1.1),
    (lambda: M.SquaredHinge(), BIN_TRUE, BIN_PRED, 1.86, [1, 0], 1.46),
    (lambda: M.CategoricalHinge(), BIN_TRUE, BIN_PRED, 1.4000001, [1, 0], 1.2),
    (lambda: M.TruePositives(), [0, 1, 1, 1], [1, 0, 1, 1], 2.0, [0, 0, 1, 0], 1.0),
    (lambda: M.FalsePositives(), [0, 1, 0, 0], [0, 0, 1, 1], 2.0, [0, 0, 1, 0], 1.0),
    (lambda: M.TrueNegatives(), [0, 1, 0, 0], [1, 1, 0, 0], 2.0, [0, 0, 1, 0], 1.0),
    (lambda: M.FalseNegatives(), [0, 1, 1, 1], [0, 1, 0, 0], 2.0, [0, 0, 1, 0], 1.0),
    (lambda: M.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], 0.6666667, [0, 0, 1, 0], 1.0),
    (lambda: M.Recall(), [0, 1, 1, 1], [1, 0, 1, 1], 0.6666667, [0, 0, 1, 0], 1.0),
    (lambda: M.AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.75, [1, 0, 0, 1], 1.0),
]


@pytest.mark.parametrize("example", DOC_EXAMPLES, ids=lambda e: type(e[0]()).__name__
                         if callable(e) else None)
def test_tf_keras_documentation_examples(example):
    make, y_true, y_pred, expected, weights, weighted = example
    metric = make()
    metric.update_state(np.array(y_true, np.float32), np.array(y_pred, np.float32))
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5, atol=1e-6)
    metric.reset_state()
    result = metric(y_true, y_pred, sample_weight=weights)  # __call__ = update + result
    np.testing.assert_allclose(float(result), weighted, rtol=1e-5, atol=1e-6)
    assert result.numpy().dtype == np.float32


def test_mean_and_sum():
    mean = M.Mean()
    mean.update_state([1, 3, 5, 7])
    assert float(mean.result()) == 4.0
    mean.reset_state()
    mean.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert float(mean.result()) == 2.0
    total = M.Sum()
    total.update_state([1, 3, 5, 7])
    assert float(total.result()) == 16.0
    assert [v.name for v in mean.variables] == ["total:0", "count:0"]
    assert float(M.Mean().result()) == 0.0  # no data: divide_no_nan


def test_mean_weights_broadcast_and_reduce_as_tf_keras():
    values = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    mean = M.Mean()
    mean.update_state(values, sample_weight=[1.0, 3.0])  # rank mismatch: values averaged first
    per_sample = values.reshape(2, -1).mean(axis=1)
    np.testing.assert_allclose(float(mean.result()), (per_sample[0] + 3 * per_sample[1]) / 4)
    mean = M.Mean()
    mean.update_state(values[..., 0], sample_weight=[[1.0], [3.0]])  # broadcast over the row
    expected = (values[0, :, 0].sum() + 3 * values[1, :, 0].sum()) / 12
    np.testing.assert_allclose(float(mean.result()), expected, rtol=1e-6)


def test_precision_and_recall_top_k_and_class_id():
    precision = M.Precision(top_k=2)
    precision.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert float(precision.result()) == 0.0
    precision = M.Precision(top_k=4)
    precision.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert float(precision.result()) == 0.5
    y_true = np.array([[0, 1, 0], [1, 0, 0], [0, 1, 1]], np.float32)
    y_pred = np.array([[0.2, 0.7, 0.6], [0.9, 0.1, 0.3], [0.3, 0.4, 0.8]], np.float32)
    recall = M.Recall(class_id=1)
    recall.update_state(y_true, y_pred)
    assert float(recall.result()) == 0.5  # column 1: labels 1, 0, 1; predicted 0.7 and 0.4
    several = M.Precision(thresholds=[0.25, 0.5, 0.75])
    several.update_state(y_true, y_pred)
    flat_t, flat_p = y_true.ravel(), y_pred.ravel()
    expected = [np.sum((flat_p > t) & (flat_t == 1)) / np.sum(flat_p > t) for t in
                (0.25, 0.5, 0.75)]
    np.testing.assert_allclose(several.result().numpy(), expected, rtol=1e-6)


def auc_by_hand(y_true, y_pred, weights, num_thresholds, curve):
    """The Riemann sum of tf.keras' AUC computed directly in float64."""
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    thresholds = np.array([-1e-7] + inner + [1 + 1e-7])
    above = y_pred[None, :] > thresholds[:, None]
    positive = y_true[None, :] == 1
    tp = np.sum(above * positive * weights, axis=1)
    fp = np.sum(above * ~positive * weights, axis=1)
    fn = np.sum(~above * positive * weights, axis=1)
    tn = np.sum(~above * ~positive * weights, axis=1)
    recall = tp / (tp + fn)
    if curve == "ROC":
        x, y = fp / (fp + tn), recall
        return np.sum((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2)
    # Davis & Goadrich interpolation of precision between thresholds.
    p = tp + fp
    dtp, dp = tp[:-1] - tp[1:], p[:-1] - p[1:]
    slope = np.divide(dtp, dp, out=np.zeros_like(dtp), where=dp > 0)
    intercept = tp[1:] - slope * p[1:]
    ratio = np.where((p[:-1] > 0) & (p[1:] > 0), p[:-1] / np.where(p[1:] > 0, p[1:], 1), 1.0)
    total = tp[1:] + fn[1:]
    return np.sum(slope * (dtp + intercept * np.log(ratio)) / total)


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("num_thresholds", [200, 7])
def test_auc_matches_the_riemann_sum_by_hand(curve, num_thresholds):
    rng = np.random.default_rng(3)
    y_true = (rng.random(300) < 0.4).astype(np.float32)
    y_pred = np.clip(0.35 * y_true + 0.65 * rng.random(300), 0, 1).astype(np.float32)
    weights = rng.random(300).astype(np.float32)
    auc = M.AUC(num_thresholds=num_thresholds, curve=curve)
    auc.update_state(y_true[:150], y_pred[:150], sample_weight=weights[:150])
    auc.update_state(y_true[150:], y_pred[150:], sample_weight=weights[150:])
    expected = auc_by_hand(y_true.astype(np.float64), y_pred.astype(np.float64),
                           weights.astype(np.float64), num_thresholds, curve)
    np.testing.assert_allclose(float(auc.result()), expected, rtol=1e-5)


def test_auc_multi_label_averages_per_label_aucs():
    rng = np.random.default_rng(4)
    y_true = (rng.random((80, 3)) < 0.5).astype(np.float32)
    y_pred = rng.random((80, 3)).astype(np.float32)
    auc = M.AUC(multi_label=True)
    auc.update_state(y_true, y_pred)
    per_label = [auc_by_hand(y_true[:, j].astype(np.float64), y_pred[:, j].astype(np.float64),
                             np.ones(80), 200, "ROC") for j in range(3)]
    np.testing.assert_allclose(float(auc.result()), np.mean(per_label), rtol=1e-5)
    # tf.keras' config keeps the constructor argument (None), not the width it inferred
    assert auc.get_config()["num_labels"] is None
    assert auc.true_positives.shape == (200, 3)


def test_auc_from_logits_and_custom_thresholds():
    logits = np.array([-2.0, 0.5, -0.3, 1.5], np.float32)
    labels = np.array([0, 0, 1, 1], np.float32)
    from_logits = M.AUC(from_logits=True)
    from_logits.update_state(labels, logits)
    plain = M.AUC()
    plain.update_state(labels, 1 / (1 + np.exp(-logits)))
    np.testing.assert_allclose(float(from_logits.result()), float(plain.result()), rtol=1e-6)
    custom = M.AUC(thresholds=[0.5])
    assert custom.num_thresholds == 3
    assert custom.get_config()["thresholds"] == [0.5]
    custom.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert float(custom.result()) == 0.75


def test_confusion_metric_argument_errors():
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        M.Precision(thresholds=1.5)
    with pytest.raises(ValueError, match="Invalid AUC curve value"):
        M.AUC(curve="XY")
    with pytest.raises(ValueError, match="Invalid AUC summation method value"):
        M.AUC(summation_method="simpson")
    with pytest.raises(ValueError, match="`num_thresholds` must be an integer > 1"):
        M.AUC(num_thresholds=1)


def test_default_names_count_up_for_unnamed_metrics():
    assert [M.AUC().name, M.AUC().name, M.Precision().name] == ["auc", "auc_1", "precision"]
    keras.backend.clear_session()
    assert M.AUC().name == "auc"


@pytest.mark.parametrize("metric,config", [
    (lambda: M.BinaryAccuracy(), {"name": "binary_accuracy", "dtype": "float32",
                                  "threshold": 0.5}),
    (lambda: M.TopKCategoricalAccuracy(3), {"name": "top_k_categorical_accuracy",
                                            "dtype": "float32", "k": 3}),
    (lambda: M.CategoricalCrossentropy(), {"name": "categorical_crossentropy", "dtype": "float32",
                                           "from_logits": False, "label_smoothing": 0,
                                           "axis": -1}),
    (lambda: M.Precision(name="p"), {"name": "p", "dtype": "float32", "thresholds": None,
                                     "top_k": None, "class_id": None}),
    (lambda: M.AUC(name="auc"), {"name": "auc", "dtype": "float32", "num_thresholds": 200,
                                 "curve": "ROC", "summation_method": "interpolation",
                                 "multi_label": False, "num_labels": None,
                                 "label_weights": None, "from_logits": False}),
    (lambda: M.Mean(), {"name": "mean", "dtype": "float32"}),
])
def test_get_config_and_round_trip(metric, config):
    metric = metric()
    assert metric.get_config() == config
    again = M.deserialize(M.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == config


def test_get_resolves_names_functions_and_classes():
    assert M.get("mse") is M.mean_squared_error
    assert M.get("binary_accuracy") is M.binary_accuracy
    assert isinstance(M.get("AUC"), M.AUC)
    assert isinstance(M.get({"class_name": "Recall", "config": {"name": "r"}}), M.Recall)
    with pytest.raises(ValueError, match="Unknown metric function"):
        M.get("not_a_metric")


def test_compile_resolves_metric_strings_and_objects():
    rng = np.random.default_rng(0)
    x = rng.random((32, 4)).astype(np.float32)
    y = (rng.random((32, 1)) < 0.5).astype(np.float32)
    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid", input_shape=(4,))])
    model.compile("sgd", "binary_crossentropy",
                  metrics=["accuracy", "mse", "AUC", M.Precision(name="prec"), M.Recall()])
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert sorted(history.history) == ["accuracy", "auc", "loss", "mse", "prec", "recall"]
    pred = model.predict(x, verbose=0)
    results = dict(zip(model.metrics_names, model.evaluate(x, y, batch_size=8, verbose=0)))
    np.testing.assert_allclose(results["accuracy"], np.mean((pred > 0.5) == y), rtol=1e-6)
    np.testing.assert_allclose(results["mse"], np.mean((pred - y) ** 2), rtol=1e-5)
    auc = M.AUC()
    auc.update_state(y, pred)
    np.testing.assert_allclose(results["auc"], float(auc.result()), rtol=1e-6)


def test_custom_metric_subclass():
    class CountPositives(M.Metric):
        def __init__(self, name="count_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.count = self.add_weight(name="count", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.count.assign_add(np.sum(np.asarray(y_pred) > 0.5, dtype=np.float32))

        def result(self):
            return self.count
    metric = CountPositives()
    metric.update_state(None, [0.2, 0.7, 0.9])
    assert float(metric.result()) == 2.0
    metric.reset_state()
    assert float(metric.result()) == 0.0
    assert metric.get_config() == {"name": "count_positives", "dtype": "float32"}


def test_crossentropy_metrics_use_the_logits_of_the_output_activation():
    """tf.keras hands metrics the same output tensor as the loss, so a crossentropy metric is
    computed from the sigmoid's logits too: with saturated outputs, clipped probabilities
    would give a different value."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 3)).astype(np.float32) * 40
    y = (rng.random((16, 1)) < 0.5).astype(np.float32)
    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile("sgd", "binary_crossentropy", metrics=["binary_crossentropy"])
    loss, metric = model.evaluate(x, y, batch_size=16, verbose=0)
    np.testing.assert_allclose(metric, loss, rtol=1e-6)
    clipped = float(np.mean(M.binary_crossentropy(y, model.predict(x, verbose=0))))
    assert abs(clipped - loss) > 1e-3  # the outputs are saturated


F_TRUE = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32)
F_PRED = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)


def test_f_scores_documentation_examples():
    f1 = M.F1Score(threshold=0.5)
    f1.update_state(F_TRUE, F_PRED)
    np.testing.assert_allclose(f1.result(), [0.5, 0.8, 0.6666667], rtol=1e-6)
    fbeta = M.FBetaScore(beta=2.0, threshold=0.5)
    fbeta.update_state(F_TRUE, F_PRED)
    np.testing.assert_allclose(fbeta.result(), [0.3846154, 0.90909094, 0.8333334], rtol=1e-6)
    assert "beta" not in f1.get_config() and fbeta.get_config()["beta"] == 2.0


@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
def test_f1_averages_by_hand(average):
    weights = np.array([1.0, 0.5, 2.0])
    predicted = (F_PRED == F_PRED.max(axis=1, keepdims=True)).astype(float)  # no threshold
    cells = [(predicted * F_TRUE), (predicted * (1 - F_TRUE)), ((1 - predicted) * F_TRUE)]
    axis = None if average == "micro" else 0
    tp, fp, fn = [np.sum(c * weights[:, None], axis=axis) for c in cells]
    f1 = 2 * tp / (2 * tp + fp + fn)
    if average == "weighted":
        support = np.sum(F_TRUE * weights[:, None], axis=0)
        expected = np.sum(f1 * support / support.sum())
    else:
        expected = np.mean(f1)
    metric = M.F1Score(average=average)
    metric.update_state(F_TRUE, F_PRED, sample_weight=weights)
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="Invalid `average` argument value"):
        M.F1Score(average="samples")


def test_mean_iou_documentation_example_and_by_hand():
    m = M.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    np.testing.assert_allclose(float(m.result()), 0.33333334, rtol=1e-6)
    m.reset_state()
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1])
    np.testing.assert_allclose(float(m.result()), 0.23809525, rtol=1e-6)
    rng = np.random.default_rng(5)
    labels, scores = rng.integers(0, 4, (6, 5)), rng.random((6, 5, 4))
    m = M.MeanIoU(num_classes=4, sparse_y_pred=False, ignore_class=3)
    m.update_state(labels, scores)
    keep = labels.ravel() != 3
    t, p = labels.ravel()[keep], scores.argmax(-1).ravel()[keep]
    ious = [np.sum((t == c) & (p == c)) / np.sum((t == c) | (p == c)) for c in range(4)
            if np.sum((t == c) | (p == c))]
    np.testing.assert_allclose(float(m.result()), np.mean(ious), rtol=1e-6)


def test_results_are_snapshots():
    total = M.Sum()
    total.update_state([1.0, 2.0])
    first = total.result()
    total.update_state([4.0])
    assert float(first) == 3.0 and float(total.result()) == 7.0
    counts = M.TruePositives(thresholds=[0.3, 0.6])
    counts.update_state([1, 1], [0.5, 0.9])
    snapshot = counts.result()
    counts.update_state([1], [0.9])
    np.testing.assert_array_equal(snapshot, [2, 1])


_TRAINFUZZ = load_fixture_module("trainfuzz_regression_cases", "trainfuzz",
                                 "regression_cases.py")
with open(os.path.join(FIXTURES, "trainfuzz", "regressions.json")) as _f:
    _TRAINFUZZ_FACTS = json.load(_f)


@pytest.mark.parametrize("name", sorted(_TRAINFUZZ.CONFUSION_METRICS))
def test_confusion_metrics_take_scores_outside_unit_interval_as_tf_keras(name):
    """tf.keras 2.21 asserts nothing about the range: hinge scores and logits are compared
    with the thresholds as they are (the even-threshold buckets clip them)."""
    cls, kwargs = _TRAINFUZZ.CONFUSION_METRICS[name]
    metric = getattr(M, cls)(**kwargs)
    metric.update_state(_TRAINFUZZ.CONFUSION_Y_TRUE, _TRAINFUZZ.CONFUSION_Y_PRED)
    np.testing.assert_allclose(np.asarray(metric.result()),
                               _TRAINFUZZ_FACTS[f"confusion__{name}"], rtol=1e-6, atol=1e-7)
