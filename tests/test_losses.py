"""Losses: tf.keras 2.21 fixture values, string aliases against NumPy closed forms written from
the tf.keras formulas, from_logits / label_smoothing variants, the remembered-logits path,
reductions, configs and gradients."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import losses
from minikeras.core.tensor import Tensor
from conftest import FIXTURES, fixture_path, load_fixture_module
from gradcheck import check_gradients

RTOL, ATOL = 1e-5, 1e-6

with open(fixture_path("functions", "losses.json")) as _handle:
    CASES = json.load(_handle)
ARRAYS = np.load(fixture_path("functions", "arrays.npz"))


def _arg(value):
    if isinstance(value, str) and value.startswith("@"):
        return ARRAYS[value[1:]]
    return value


def _np(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


# ---------------------------------------------------------------------------------------
# fixture values
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_per_sample_function(case):
    args = [_arg(a) for a in case["args"]]
    fn = getattr(losses, case["function"])
    out = _np(fn(*args, **case["fn_kwargs"]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, case["per_sample"], rtol=RTOL, atol=ATOL)
    # the string alias resolves to the same function
    out2 = _np(losses.get(case["function"])(*args, **case["fn_kwargs"]))
    np.testing.assert_allclose(out2, case["per_sample"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_class_reductions(case):
    args = [_arg(a) for a in case["args"]]
    cls = getattr(losses, case["class"])
    kw = case["class_kwargs"]
    reduced = _np(cls(**kw)(*args))
    assert reduced.shape == () and reduced.dtype == np.float32
    np.testing.assert_allclose(reduced, case["reduced"], rtol=RTOL, atol=ATOL)
    weighted = _np(cls(**kw)(*args, sample_weight=ARRAYS["sample_weight"]))
    np.testing.assert_allclose(weighted, case["weighted"], rtol=RTOL, atol=ATOL)
    total = _np(cls(reduction="sum", **kw)(*args))
    np.testing.assert_allclose(total, case["sum"], rtol=RTOL, atol=ATOL)
    none = _np(cls(reduction="none", **kw)(*args))
    assert none.dtype == np.float32
    np.testing.assert_allclose(none, case["none"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_class_config(case):
    cls = getattr(losses, case["class"])
    obj = cls(**case["class_kwargs"])
    config = json.loads(json.dumps(obj.get_config()))
    assert config == case["class_config"]
    clone = cls.from_config(obj.get_config())
    assert json.loads(json.dumps(clone.get_config())) == case["class_config"]
    # by class name through get()
    got = losses.get({"class_name": case["class"], "config": obj.get_config()})
    assert isinstance(got, cls)


def test_fixture_sparse_labels_with_trailing_axis():
    case = next(c for c in CASES if c["name"] == "sparse_categorical_crossentropy")
    out = _np(losses.sparse_categorical_crossentropy(ARRAYS["sparse_true_col"], ARRAYS["cat_prob"]))
    np.testing.assert_allclose(out, case["per_sample"], rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------------------
# NumPy closed forms (float64) from the tf.keras 2 formulas
# ---------------------------------------------------------------------------------------
EPS = 1e-7


def _signed(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def _l2n(x, axis=-1):
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), 1e-12))


def _softplus(x):
    return np.logaddexp(x, 0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _log_softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def ref_bce(t, p, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        e = np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))
    else:
        p = np.clip(p, EPS, 1 - EPS)
        e = -(t * np.log(p + EPS) + (1 - t) * np.log(1 - p + EPS))
    return e.mean(-1)


def ref_cce(t, p, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    if from_logits:
        return -(t * _log_softmax(p)).sum(-1)
    p = p / p.sum(-1, keepdims=True)
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p)).sum(-1)


def ref_scce(labels, p, from_logits=False):
    logits = p if from_logits else np.log(np.clip(p, EPS, 1 - EPS))
    return -np.take_along_axis(_log_softmax(logits), labels.reshape(-1, 1).astype(int), -1)[:, 0]


def ref_huber(t, p, delta=1.0):
    e = p - t
    a = np.abs(e)
    return np.where(a <= delta, 0.5 * e * e, delta * a - 0.5 * delta * delta).mean(-1)


REFERENCES = {
    "mse": (lambda t, p: ((p - t) ** 2).mean(-1), "reg"),
    "mae": (lambda t, p: np.abs(p - t).mean(-1), "reg"),
    "mape": (lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1), "mape"),
    "msle": (lambda t, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2)
             .mean(-1), "pos"),
    "squared_hinge": (lambda t, p: (np.maximum(1 - _signed(t) * p, 0) ** 2).mean(-1), "bin_reg"),
    "hinge": (lambda t, p: np.maximum(1 - _signed(t) * p, 0).mean(-1), "bin_reg"),
    "categorical_hinge": (lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
                          "cat_reg"),
    "binary_crossentropy": (ref_bce, "bin"),
    "logcosh": (lambda t, p: ((p - t) + _softplus(-2 * (p - t)) - np.log(2)).mean(-1), "reg"),
    "categorical_crossentropy": (ref_cce, "cat"),
    "sparse_categorical_crossentropy": (ref_scce, "sparse"),
    "kld": (lambda t, p: (np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1)))
            .sum(-1), "soft"),
    "kullback_leibler_divergence": (None, "soft"),
    "poisson": (lambda t, p: (p - t * np.log(p + EPS)).mean(-1), "pos"),
    "cosine_similarity": (lambda t, p: -(_l2n(t) * _l2n(p)).sum(-1), "reg"),
    "huber": (ref_huber, "reg"),
}
REFERENCES["kullback_leibler_divergence"] = (REFERENCES["kld"][0], "soft")

DATA = {
    "reg": ("reg_true", "reg_pred"),
    "mape": ("mape_true", "reg_pred"),
    "pos": ("pos_true", "pos_pred"),
    "bin_reg": ("bin_true", "reg_pred"),
    "cat_reg": ("onehot_true", "cat_logits"),
    "bin": ("bin_true", "bin_prob"),
    "cat": ("onehot_true", "cat_unnormalized"),
    "sparse": ("sparse_true", "cat_prob"),
    "soft": ("soft_true", "cat_prob"),
}


@pytest.mark.parametrize("alias", sorted(REFERENCES))
def test_alias_matches_closed_form(alias):
    ref, kind = REFERENCES[alias]
    t, p = (ARRAYS[k] for k in DATA[kind])
    fn = losses.get(alias)
    got = _np(fn(t, p))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref(t.astype(np.float64), p.astype(np.float64)),
                               rtol=RTOL, atol=ATOL)


def test_hinge_keeps_signed_labels():
    t, p = ARRAYS["pm1_true"], ARRAYS["reg_pred"]
    np.testing.assert_allclose(_np(losses.hinge(t, p)), np.maximum(1 - t * p, 0).mean(-1),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(_np(losses.squared_hinge(t, p)),
                               (np.maximum(1 - t * p, 0) ** 2).mean(-1), rtol=RTOL, atol=ATOL)


def test_huber_delta_and_3d_inputs():
    t, p = ARRAYS["reg_true_3d"], ARRAYS["reg_pred_3d"]
    for delta in (0.5, 1.0, 2.5):
        np.testing.assert_allclose(_np(losses.huber(t, p, delta=delta)),
                                   ref_huber(t.astype(float), p.astype(float), delta),
                                   rtol=RTOL, atol=ATOL)
        got = _np(losses.Huber(delta=delta)(t, p))
        np.testing.assert_allclose(got, ref_huber(t.astype(float), p.astype(float), delta).mean(),
                                   rtol=RTOL, atol=ATOL)
    assert losses.Huber().get_config() == {"reduction": "auto", "name": "huber_loss",
                                           "delta": 1.0, "fn": "huber"}


def test_3d_mse_reduction_averages_over_all_elements():
    t, p = ARRAYS["reg_true_3d"], ARRAYS["reg_pred_3d"]
    per = ((p.astype(float) - t) ** 2).mean(-1)
    assert _np(losses.mse(t, p)).shape == (2, 3)
    np.testing.assert_allclose(_np(losses.MeanSquaredError()(t, p)), per.mean(), rtol=RTOL)
    sw = np.array([0.5, 2.0], np.float32)
    np.testing.assert_allclose(_np(losses.MeanSquaredError()(t, p, sample_weight=sw)),
                               (per * sw[:, None]).mean(), rtol=RTOL)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_variants(from_logits, label_smoothing):
    t = ARRAYS["bin_true"]
    p = ARRAYS["bin_logits"] if from_logits else ARRAYS["bin_prob"]
    expected = ref_bce(t.astype(float), p.astype(float), from_logits, label_smoothing)
    got = _np(losses.binary_crossentropy(t, p, from_logits=from_logits,
                                         label_smoothing=label_smoothing))
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    obj = losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    np.testing.assert_allclose(_np(obj(t, p)), expected.mean(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("from_logits", [False, True])
def test_categorical_crossentropy_variants(from_logits, label_smoothing):
    t = ARRAYS["onehot_true"]
    p = ARRAYS["cat_logits"] if from_logits else ARRAYS["cat_prob"]
    expected = ref_cce(t.astype(float), p.astype(float), from_logits, label_smoothing)
    got = _np(losses.categorical_crossentropy(t, p, from_logits=from_logits,
                                              label_smoothing=label_smoothing))
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    obj = losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    np.testing.assert_allclose(_np(obj(t, p)), expected.mean(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy_variants(from_logits):
    p = ARRAYS["cat_logits"] if from_logits else ARRAYS["cat_prob"]
    for labels in (ARRAYS["sparse_true"], ARRAYS["sparse_true_col"],
                   ARRAYS["sparse_true"].astype(np.float32)):
        got = _np(losses.sparse_categorical_crossentropy(labels, p, from_logits=from_logits))
        np.testing.assert_allclose(got, ref_scce(ARRAYS["sparse_true"], p.astype(float), from_logits),
                                   rtol=RTOL, atol=ATOL)


def test_sparse_categorical_crossentropy_ignore_class():
    p = ARRAYS["cat_logits"]
    labels = np.array([4, -1, 4, 3])
    got = _np(losses.sparse_categorical_crossentropy(labels, p, from_logits=True, ignore_class=-1))
    expected = ref_scce(np.array([4, 0, 4, 3]), p.astype(float), True)
    expected[1] = 0
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_cosine_similarity_axis():
    t, p = ARRAYS["reg_true"], ARRAYS["reg_pred"]
    np.testing.assert_allclose(_np(losses.cosine_similarity(t, p, axis=0)),
                               -(_l2n(t.astype(float), 0) * _l2n(p.astype(float), 0)).sum(0),
                               rtol=RTOL, atol=ATOL)
    obj = losses.CosineSimilarity(axis=0)
    assert obj.get_config() == {"reduction": "auto", "name": "cosine_similarity", "axis": 0,
                                "fn": "cosine_similarity"}


def test_logcosh_is_stable_for_large_errors():
    t = np.zeros((1, 2), np.float32)
    p = np.array([[100.0, -100.0]], np.float32)
    np.testing.assert_allclose(_np(losses.logcosh(t, p)), [100 - np.log(2)], rtol=RTOL)


# ---------------------------------------------------------------------------------------
# crossentropy after a softmax / sigmoid activation: computed from the remembered logits
# ---------------------------------------------------------------------------------------
def test_categorical_crossentropy_uses_softmax_logits():
    logits = np.array([[60.0, -60.0, 0.0], [0.5, 1.0, -2.0]], np.float32)
    t = np.array([[0, 1, 0], [1, 0, 0]], np.float32)
    probs = keras.activations.softmax(Tensor(logits))
    got = _np(losses.categorical_crossentropy(t, probs))
    expected = ref_cce(t.astype(float), logits.astype(float), from_logits=True)
    np.testing.assert_allclose(got, expected, rtol=RTOL)
    assert got[0] > 100  # the clipped probability path would give -log(1e-7) ~= 16.1
    clipped = _np(losses.categorical_crossentropy(t, _np(probs)))
    np.testing.assert_allclose(clipped[0], -np.log(EPS), rtol=1e-4)
    # through the class and sparse labels too
    np.testing.assert_allclose(_np(losses.CategoricalCrossentropy()(t, probs)), expected.mean(),
                               rtol=RTOL)
    sparse = _np(losses.sparse_categorical_crossentropy(np.array([1, 0]), probs))
    np.testing.assert_allclose(sparse, expected, rtol=RTOL)


def test_binary_crossentropy_uses_sigmoid_logits():
    logits = np.array([[40.0, -40.0, 3.0]], np.float32)
    t = np.array([[0.0, 1.0, 1.0]], np.float32)
    probs = keras.activations.sigmoid(Tensor(logits))
    got = _np(losses.binary_crossentropy(t, probs))
    expected = ref_bce(t.astype(float), logits.astype(float), from_logits=True)
    np.testing.assert_allclose(got, expected, rtol=RTOL)
    assert got[0] > 20
    assert _np(losses.binary_crossentropy(t, _np(probs)))[0] < 17


def test_dense_softmax_layer_output_remembers_logits():
    layer = keras.layers.Dense(3, activation="softmax")
    x = np.array([[1.0, 2.0]], np.float32)
    layer(x)
    layer.set_weights([np.array([[50.0, -50.0, 0.0], [0.0, 0.0, 0.0]], np.float32),
                       np.zeros(3, np.float32)])
    out = layer(x)
    t = np.array([[0, 1, 0]], np.float32)
    np.testing.assert_allclose(_np(losses.categorical_crossentropy(t, out)), [100.0], rtol=RTOL)


# ---------------------------------------------------------------------------------------
# reductions, sample weights, errors, serialization
# ---------------------------------------------------------------------------------------
def test_reduction_validation_and_sample_weight_shapes():
    with pytest.raises(ValueError, match="Invalid Reduction Key"):
        losses.MeanSquaredError(reduction="mean")
    t, p = ARRAYS["reg_true"], ARRAYS["reg_pred"]
    per = ((p.astype(float) - t) ** 2).mean(-1)
    sw = ARRAYS["sample_weight"]
    for weights in (sw, sw[:, None], float(2.0)):
        got = _np(losses.MeanSquaredError()(t, p, sample_weight=weights))
        np.testing.assert_allclose(got, (per * np.reshape(weights, -1)).mean(), rtol=RTOL)
    got = _np(losses.MeanSquaredError(reduction="sum_over_batch_size")(t, p))
    np.testing.assert_allclose(got, per.mean(), rtol=RTOL)


@pytest.mark.parametrize("name", ["MeanSquaredError", "MeanAbsoluteError", "Hinge", "LogCosh",
                                  "Poisson", "KLDivergence", "CategoricalHinge"])
def test_default_configs(name):
    cls = getattr(losses, name)
    obj = cls()
    snake = {"MeanSquaredError": "mean_squared_error", "MeanAbsoluteError": "mean_absolute_error",
             "Hinge": "hinge", "LogCosh": "log_cosh", "Poisson": "poisson",
             "KLDivergence": "kl_divergence", "CategoricalHinge": "categorical_hinge"}[name]
    assert obj.get_config() == {"reduction": "auto", "name": snake, "fn": snake}
    assert losses.serialize(obj)["class_name"] == name


def test_unknown_loss_raises():
    with pytest.raises(ValueError, match="Unknown loss function"):
        losses.get("not_a_loss")


# ---------------------------------------------------------------------------------------
# gradients (float64, central differences)
# ---------------------------------------------------------------------------------------
def _grad_data(kind):
    t, p = (ARRAYS[k].astype(np.float64) for k in DATA[kind])
    return t, p


@pytest.mark.parametrize("alias", sorted(REFERENCES))
def test_loss_gradients(alias, float64):
    _, kind = REFERENCES[alias]
    t, p = _grad_data(kind)
    fn = losses.get(alias)
    if kind == "sparse":
        check_gradients(lambda pred: fn(t, pred), [p], rtol=1e-4, atol=1e-6)
        return
    # move points away from kinks (hinges, clipping) so finite differences are valid
    if kind in ("bin_reg", "cat_reg"):
        p = p + 0.013
    check_gradients(lambda pred: fn(t, pred), [p], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("from_logits", [False, True])
def test_crossentropy_gradients_with_smoothing(from_logits, float64):
    t = ARRAYS["onehot_true"].astype(np.float64)
    p = (ARRAYS["cat_logits"] if from_logits else ARRAYS["cat_prob"]).astype(np.float64)
    check_gradients(lambda pred: losses.categorical_crossentropy(
        t, pred, from_logits=from_logits, label_smoothing=0.2), [p], rtol=1e-4, atol=1e-6)
    tb = ARRAYS["bin_true"].astype(np.float64)
    pb = (ARRAYS["bin_logits"] if from_logits else ARRAYS["bin_prob"]).astype(np.float64)
    check_gradients(lambda pred: losses.binary_crossentropy(
        tb, pred, from_logits=from_logits, label_smoothing=0.2), [pb], rtol=1e-4, atol=1e-6)
    # and through the labels
    check_gradients(lambda y: losses.binary_crossentropy(y, pb, from_logits=from_logits),
                    [tb * 0.8 + 0.1], rtol=1e-4, atol=1e-6)


def test_crossentropy_gradients_through_activation_logits(float64):
    logits = ARRAYS["cat_logits"].astype(np.float64)
    t = ARRAYS["onehot_true"].astype(np.float64)
    check_gradients(lambda z: losses.categorical_crossentropy(t, keras.activations.softmax(z)),
                    [logits], rtol=1e-4, atol=1e-6)
    check_gradients(lambda z: losses.sparse_categorical_crossentropy(
        ARRAYS["sparse_true"], keras.activations.softmax(z)), [logits], rtol=1e-4, atol=1e-6)
    zb = ARRAYS["bin_logits"].astype(np.float64)
    tb = ARRAYS["bin_true"].astype(np.float64)
    check_gradients(lambda z: losses.binary_crossentropy(tb, keras.activations.sigmoid(z)),
                    [zb], rtol=1e-4, atol=1e-6)


def test_class_reduction_gradient(float64):
    t, p = _grad_data("reg")
    sw = ARRAYS["sample_weight"].astype(np.float64)
    for reduction in ("auto", "sum", "none"):
        obj = losses.Huber(reduction=reduction)
        check_gradients(lambda pred: obj(t, pred, sample_weight=sw), [p], rtol=1e-4, atol=1e-6)


def test_dense_sigmoid_layer_output_remembers_logits():
    """Dense(activation='sigmoid') is a fused op: it must still hand its logits to the loss."""
    layer = keras.layers.Dense(2, activation="sigmoid")
    x = np.array([[1.0, 2.0]], np.float32)
    layer(x)
    layer.set_weights([np.array([[40.0, -30.0], [0.0, 0.0]], np.float32), np.zeros(2, np.float32)])
    out = layer(x)
    t = np.array([[0.0, 1.0]], np.float32)
    np.testing.assert_allclose(_np(losses.binary_crossentropy(t, out)), [35.0], rtol=RTOL)


def test_fit_reports_logit_based_loss_for_saturated_softmax():
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(2,),
                                                 kernel_initializer="zeros")])
    model.layers[0].set_weights([np.array([[50.0, -50.0, 0.0], [0.0, 0.0, 0.0]], np.float32),
                                 np.zeros(3, np.float32)])
    model.compile("sgd", "categorical_crossentropy")
    x = np.array([[1.0, 0.0]], np.float32)
    y = np.array([[0.0, 1.0, 0.0]], np.float32)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), 100.0, rtol=RTOL)


def test_ignore_class_batch_of_only_ignored_labels_passes_no_gradient():
    """tf.keras 2.21 (tests/fixtures/trainfuzz): a batch whose labels are all `ignore_class`
    has a NaN loss (0 / 0 valid entries) but no gradient: the weights stay finite and match."""
    cases = load_fixture_module("trainfuzz_regression_cases", "trainfuzz", "regression_cases.py")
    with open(os.path.join(FIXTURES, "trainfuzz", "regressions.json")) as f:
        expected = json.load(f)["ignore_class"]["history"]
    arrays = np.load(os.path.join(FIXTURES, "trainfuzz", "regressions.npz"))
    x, labels = cases.ignore_class_data()
    model, compile_kwargs = cases.ignore_class_model(keras)
    model.set_weights([arrays[f"ignore_class__init{k}"] for k in range(2)])
    model.compile(**compile_kwargs)
    history = model.fit(x, labels, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert np.isnan(history.history["loss"]).all() and np.isnan(expected["loss"]).all()
    np.testing.assert_allclose(history.history["accuracy"], expected["accuracy"], rtol=1e-6)
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, arrays[f"ignore_class__final{k}"], rtol=1e-5, atol=1e-6)
