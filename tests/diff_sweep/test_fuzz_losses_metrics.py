"""Seeded random loss and metric configurations (benchmarks/fixture_recipes/lmfuzz.py draws them,
with each argument's edges and awkward inputs) against tf_keras 2.21's record in
fixtures/lmfuzz/: every loss class and function with its reduction, axis, from_logits, label
smoothing, focal and ignore_class arguments (values, dtypes, gradients with respect to y_pred,
get_config/from_config); every metric class (results after each update_state, variables, after
reset_state, merge_state and from_config) and function; compiled Masking models evaluated and
trained one step with losses and metrics. Where tf_keras refuses, minikeras must refuse too,
with the same kind of error.

The specs live in cases.json, so the test needs no generator."""
import json
import os
import re

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES
from minikeras.core.tensor import Tensor

HERE = os.path.join(FIXTURES, "lmfuzz")
with open(os.path.join(HERE, "cases.json")) as f:
    FACTS = json.load(f)
ARRAYS = np.load(os.path.join(HERE, "cases.npz"))

# tf_keras errors and the minikeras exception types that stand for them: TF's op errors
# (InvalidArgumentError) are ValueErrors here (minikeras' InvalidArgumentError is one)
ERROR_TYPES = {"InvalidArgumentError": ValueError, "ValueError": ValueError,
               "TypeError": TypeError, "ZeroDivisionError": ZeroDivisionError}
# Cases where minikeras knowingly differs: tf_keras refuses, minikeras computes. The recipe
# feeds tf tensors (as compile does), this test NumPy arrays; on these tf's ops refuse to mix
# dtypes or its kernels lack one (limits of TensorFlow, not of the metric's definition).
TF_DTYPE_LIMIT = ("tf refuses to mix tensor dtypes here (InvalidArgumentError 'cannot compute "
                  "Mul/Equal ...' or 'Tensor conversion requested dtype float32 for Tensor with "
                  "dtype int32'); minikeras casts as tf does for NumPy inputs")
IN_TOP_K = "tf's InTopKV2 kernel takes float32 scores only: a float64/float16 top-k metric fails"
UNBATCHED_SPARSE = ("a rank-1 y_pred (one sample, no batch axis) in the SparseCategorical"
                    "Crossentropy class: tf_keras squeezes the tensor y_pred's trailing 1-axis "
                    "to a scalar and fails ('integer modulo by zero', or boolean_mask shapes); "
                    "minikeras computes the loss")
KNOWN = {
    "loss_CosineSimilarity_4": TF_DTYPE_LIMIT, "metric_Precision_4": TF_DTYPE_LIMIT,
    "metric_F1Score_6": TF_DTYPE_LIMIT, "metric_F1Score_7": TF_DTYPE_LIMIT,
    "metric_FBetaScore_2": TF_DTYPE_LIMIT, "metric_FBetaScore_3": TF_DTYPE_LIMIT,
    "metric_FBetaScore_4": TF_DTYPE_LIMIT, "metric_FBetaScore_7": TF_DTYPE_LIMIT,
    "metric_fn_binary_accuracy_1": TF_DTYPE_LIMIT,
    "metric_TopKCategoricalAccuracy_1": IN_TOP_K, "metric_TopKCategoricalAccuracy_2": IN_TOP_K,
    "metric_MeanMetricWrapper_2": IN_TOP_K,
    "loss_SparseCategoricalCrossentropy_2": UNBATCHED_SPARSE,
    "loss_SparseCategoricalCrossentropy_7": UNBATCHED_SPARSE,
    "loss_SparseCategoricalCrossentropy_8": UNBATCHED_SPARSE,
    "loss_KLDivergence_4": "float16 KLDivergence: tf's gradient of log(y_true / y_pred) squares "
                           "y_pred ~1e-7, which underflows to 0 in float16 (-inf); minikeras "
                           "gives the finite -y_true / y_pred",
}


def by_kind(*kinds):
    cases = [f for f in FACTS if f["spec"]["kind"] in kinds]
    return pytest.mark.parametrize("fact", cases, ids=[f["spec"]["id"] for f in cases])


def array(fact, key):
    """A recorded input (Python floats are kept in the JSON), or None when absent."""
    floats = fact.get("floats", {})
    if key in floats:
        return floats[key]
    name = f"{fact['spec']['id']}__{key}"
    return ARRAYS[name] if name in ARRAYS else None


def expected(fact, key):
    name = f"{fact['spec']['id']}__out_{key}"
    return ARRAYS[name] if name in ARRAYS else None


def tolerance_of(fact):
    """float32 round-off, or float16's for metrics or inputs in half precision."""
    dtype = str(fact["spec"]["kwargs"].get("dtype"))
    half = dtype == "float16" or fact["spec"]["calls"][0].get("y_pred", [0, 0, 0])[2] == "float16"
    return 2e-3 if half else 1e-5


def assert_close(got, want, rtol, what):
    got = np.asarray(got)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    finite = np.isfinite(want)
    assert np.array_equal(np.isfinite(got), finite), (what, got, want)
    assert np.array_equal(got[~finite], want[~finite], equal_nan=True), (what, got, want)
    scale = float(np.abs(want[finite]).max()) if finite.any() else 0.0
    np.testing.assert_allclose(got[finite].astype(np.float64), want[finite].astype(np.float64),
                               atol=rtol * max(scale, 1e-2) + 1e-7, rtol=rtol, err_msg=what)


# Messages written by TensorFlow's ops and converters (their words name kernels and devices):
# only the error type is compared for them.
OP_WORDS = ("{{function_node", "cannot compute", "Tensor conversion requested")


def first_words(message):
    """What a message says before it prints the arrays (tf shows them with its own layout)."""
    return message.split(" Received weights=")[0].split("\n")[0][:150]


def assert_refused_like(info, facts):
    """minikeras raised where tf_keras did, an error of the matching kind, and for the errors
    tf_keras words itself, the same words."""
    wanted = ERROR_TYPES.get(facts["error"], Exception)
    assert isinstance(info.value, wanted), (facts["error"], facts["message"], repr(info.value))
    message = facts["message"]
    if not any(words in message for words in OP_WORDS):
        assert first_words(str(info.value)) == first_words(message)


def jsonable(obj):
    """A config as tf_keras' JSON encoder writes it (functions by name)."""
    def encode(o):
        if hasattr(o, "tolist"):
            return o.tolist()
        return o.__name__ if callable(o) else repr(o)
    return json.loads(json.dumps(obj, default=encode))


def same_config(got, fact):
    """Configs equal; a generated name (no `name` argument) up to the `_<n>` suffix tf_keras
    adds to each further instance of a class in its process."""
    got, want = jsonable(got), dict(fact["config"])
    if "name" not in fact["spec"]["kwargs"] and "name" in want:
        got["name"] = re.sub(r"_\d+$", "", got["name"])
        want["name"] = re.sub(r"_\d+$", "", want["name"])
    assert got == want


def skip_known(fact):
    if fact["spec"]["id"] in KNOWN:
        pytest.skip(KNOWN[fact["spec"]["id"]])


# --- losses --------------------------------------------------------------------------------------
def loss_value(fact, y_pred):
    spec = fact["spec"]
    sw = array(fact, "sample_weight0")
    if spec["kind"] == "loss":
        loss = getattr(keras.losses, spec["name"])(**spec["kwargs"])
        return loss(array(fact, "y_true0"), y_pred, sample_weight=sw), loss
    return getattr(keras.losses, spec["name"])(array(fact, "y_true0"), y_pred,
                                               **spec["kwargs"]), None


@by_kind("loss", "loss_fn")
def test_loss_matches_tf_keras(fact):
    skip_known(fact)
    y_pred = Tensor(array(fact, "y_pred0"))
    if "error" in fact:
        with pytest.raises(Exception) as info:
            value, _ = loss_value(fact, y_pred)
            np.asarray(value)
        assert_refused_like(info, fact)
        return
    with keras.GradientTape() as tape:
        tape.watch(y_pred)
        value, loss = loss_value(fact, y_pred)
        total = keras.ops.sum(value)
    grad = tape.gradient(total, y_pred)
    assert str(np.asarray(value).dtype) == fact["dtype"]
    rtol = tolerance_of(fact)
    assert_close(value, expected(fact, "value"), rtol, "value")
    grad = np.zeros_like(np.asarray(y_pred)) if grad is None else grad
    assert_close(grad, expected(fact, "grad"), 10 * rtol, "gradient")
    if loss is not None:
        same_config(loss.get_config(), fact)
        again = type(loss).from_config(dict(fact["config"]))
        assert_close(again(array(fact, "y_true0"), array(fact, "y_pred0"),
                           sample_weight=array(fact, "sample_weight0")),
                     expected(fact, "value_from_config"), rtol, "from_config")


# --- metrics -------------------------------------------------------------------------------------
def resolve(name):
    module, fn = name.split(".")
    return getattr(getattr(keras, module), fn)


def make_metric(fact):
    spec = fact["spec"]
    kwargs = dict(spec["kwargs"])
    if "fn" in kwargs:
        kwargs["fn"] = resolve(kwargs["fn"])
    if "normalizer" in kwargs:
        kwargs["normalizer"] = array(fact, "normalizer")
    return getattr(keras.metrics, spec["name"])(**kwargs)


def update(metric, fact, step):
    sw = array(fact, f"sample_weight{step}")
    if "values" in fact["spec"]["calls"][step]:
        return metric.update_state(array(fact, f"values{step}"), sample_weight=sw)
    return metric.update_state(array(fact, f"y_true{step}"), array(fact, f"y_pred{step}"),
                               sample_weight=sw)


@by_kind("metric")
def test_metric_matches_tf_keras(fact):
    skip_known(fact)
    rtol = tolerance_of(fact)
    if "error" in fact:
        with pytest.raises(Exception) as info:
            make_metric(fact)
        assert_refused_like(info, fact)
        return
    metric = make_metric(fact)
    if "config" in fact:
        same_config(metric.get_config(), fact)
    assert [[v.name, list(v.shape), str(v.dtype)] for v in metric.variables] == \
        [[name, shape, dtype] for name, shape, dtype in fact["variables"]]
    for step, facts in enumerate(fact["steps"]):
        if "error" in facts:
            with pytest.raises(Exception) as info:
                update(metric, fact, step)
                np.asarray(metric.result())
            assert_refused_like(info, facts)
            return
        update(metric, fact, step)
        result = metric.result()
        assert str(np.asarray(result).dtype) == facts["dtype"], (step, result)
        assert_close(result, expected(fact, f"result{step}"), rtol, f"result {step}")
    assert [[v.name, list(v.shape)] for v in metric.variables] == fact["variables_after"]
    metric.reset_state()
    assert_close(metric.result(), expected(fact, "reset"), rtol, "after reset_state")
    if "merge_error" not in fact:
        first, last = make_metric(fact), make_metric(fact)
        update(first, fact, 0)
        update(last, fact, len(fact["steps"]) - 1)
        first.merge_state([last])
        assert_close(first.result(), expected(fact, "merged"), rtol, "merge_state")
    if "config" in fact and "from_config_error" not in fact:
        again = type(metric).from_config(metric.get_config())
        update(again, fact, 0)
        assert_close(again.result(), expected(fact, "from_config0"), rtol, "from_config")


@by_kind("metric_fn")
def test_metric_function_matches_tf_keras(fact):
    skip_known(fact)
    spec = fact["spec"]
    fn = getattr(keras.metrics, spec["name"])
    if "error" in fact:
        with pytest.raises(Exception) as info:
            np.asarray(fn(array(fact, "y_true0"), array(fact, "y_pred0"), **spec["kwargs"]))
        assert_refused_like(info, fact)
        return
    value = fn(array(fact, "y_true0"), array(fact, "y_pred0"), **spec["kwargs"])
    assert str(np.asarray(value).dtype) == fact["dtype"]
    assert_close(value, expected(fact, "value"), 1e-5, "value")


# --- a Masking model through compile --------------------------------------------------------------
@by_kind("masked")
def test_masked_model_loss_and_metrics_match_tf_keras(fact):
    skip_known(fact)
    spec = fact["spec"]
    kw = spec["kwargs"]
    x = array(fact, "x0")
    inputs = keras.Input(shape=x.shape[1:])
    hidden = keras.layers.Masking(0.0)(inputs)
    outputs = keras.layers.Dense(kw["units"], activation=kw["activation"])(hidden)
    model = keras.Model(inputs, outputs)
    model.set_weights([array(fact, "weight0_0"), array(fact, "weight0_1")])
    name = spec["name"]
    loss = name if name[0].islower() else getattr(keras.losses, name)(**kw.get("loss_kwargs", {}))
    metric = kw["metric"] if kw["metric"][0].islower() else getattr(keras.metrics, kw["metric"])()
    place = "weighted_metrics" if kw["weighted"] else "metrics"
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, **{place: [metric]})
    y, sw = array(fact, "y_true0"), array(fact, "sample_weight0")
    result = model.evaluate(x, y, sample_weight=sw, batch_size=len(x), verbose=0,
                            return_dict=True)
    trained = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)
    for got, want in ((result, fact["evaluate"]), (trained, fact["train_on_batch"])):
        # (a metric object's generated name counts the instances made in the process)
        got = {re.sub(r"_\d+$", "", key): value for key, value in got.items()}
        want = {re.sub(r"_\d+$", "", key): value for key, value in want.items()}
        assert sorted(got) == sorted(want)
        for key in want:
            assert_close(np.asarray(got[key], np.float32), np.asarray(want[key], np.float32),
                         1e-5, key)
    for k, weight in enumerate(model.get_weights()):
        assert_close(weight, expected(fact, f"trained_weight{k}"), 1e-5, f"weight {k}")


# --- names through keras.losses.get / keras.metrics.get ---------------------------------------------
@by_kind("lookup")
def test_lookup_by_name_matches_tf_keras(fact):
    skip_known(fact)
    get = getattr(keras, fact["spec"]["kwargs"]["module"]).get
    if "error" in fact:
        with pytest.raises(Exception) as info:
            get(fact["spec"]["name"])
        assert isinstance(info.value, (ValueError, TypeError)), repr(info.value)
        return
    kind, name = fact["found"]
    if kind == "str":
        pytest.skip("tf_keras' metrics.get gives back a name it cannot resolve as the string "
                    "itself (compile then fails); minikeras resolves it or raises ValueError")
    found = get(fact["spec"]["name"])
    if kind == "function":
        assert found.__name__ == name
    else:
        assert type(found).__name__ == kind
        if not isinstance(found, keras.losses.Loss) or kind != "Loss":
            assert re.sub(r"_\d+$", "", found.name) == re.sub(r"_\d+$", "", name)


# --- a prediction carrying a Keras mask, outside compile ---------------------------------------------
def test_loss_of_a_masked_prediction_averages_over_the_valid_entries():
    """tf.keras' Loss.__call__ reads the prediction's Keras mask (a Masking model's eager
    output) and, with ignore_class, its own mask too: the mean runs over the entries valid under
    both (closed form from the unreduced losses)."""
    rng = np.random.RandomState(0)
    x = rng.normal(size=(3, 4, 2)).astype("float32")
    x[:, -1] = 0
    x[0, 1] = 0
    y = rng.randint(0, 3, size=(3, 4))
    inputs = keras.Input((4, 2))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Masking()(inputs))
    prediction = keras.Model(inputs, outputs)(x)
    per_entry = np.asarray(keras.losses.sparse_categorical_crossentropy(y, prediction))
    kept = np.any(x != 0, axis=-1)
    for ignore_class in (None, 1):
        valid = kept if ignore_class is None else kept & (y != ignore_class)
        loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=ignore_class)
        np.testing.assert_allclose(np.asarray(loss(y, prediction)),
                                   per_entry[valid].sum() / valid.sum(), rtol=1e-6)
        summed = keras.losses.SparseCategoricalCrossentropy(ignore_class=ignore_class,
                                                            reduction="sum")
        np.testing.assert_allclose(np.asarray(summed(y, prediction)), per_entry[valid].sum(),
                                   rtol=1e-6)
