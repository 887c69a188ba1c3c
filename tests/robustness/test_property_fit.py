"""Property tests over fit/predict/evaluate inputs: any x, y, sample_weight and batch size either
train/predict, or end in a deliberate minikeras error (ValueError/TypeError raised by
minikeras, e.g. tf.keras' "Failed to find data adapter") - never an IndexError or an error
from inside NumPy."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minikeras as keras
from test_property_layers import _raised_by_minikeras

L = keras.layers
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def _array(kind, rows, columns):
    if kind == "float":
        return np.linspace(-1, 1, rows * columns, dtype="float32").reshape(rows, columns)
    if kind == "int":
        return np.arange(rows * columns).reshape(rows, columns) % 2
    if kind == "bool":
        return np.ones((rows, columns), bool)
    if kind == "nan":
        return np.full((rows, columns), np.nan, "float32")
    if kind == "string":
        return np.array([["a"] * columns] * rows)
    if kind == "object":
        return np.array([[None] * columns] * rows, dtype=object)
    if kind == "rank0":
        return np.float32(1.0)
    if kind == "rank1":
        return np.ones(rows, "float32")
    if kind == "rank3":
        return np.ones((rows, columns, 2), "float32")
    if kind == "list":
        return np.ones((rows, columns)).tolist()
    if kind == "dict":
        return {"wrong_name": np.ones((rows, columns), "float32")}
    if kind == "str":
        return "abc"
    if kind == "none":
        return None
    raise AssertionError(kind)


kinds = st.sampled_from(["float", "int", "bool", "nan", "string", "object", "rank0", "rank1",
                         "rank3", "list", "dict", "str", "none"])
rows = st.sampled_from([0, 1, 3, 4])
columns = st.sampled_from([1, 2, 3, 5])
batch_sizes = st.sampled_from([None, 1, 2, 0, -1, 2.5, "8"])


def model():
    keras.backend.clear_session()
    net = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    net.compile("sgd", "mse")
    return net


def _check(run, description):
    try:
        with np.errstate(all="ignore"):
            run()
    except (ValueError, TypeError) as error:
        assert _raised_by_minikeras(error), f"{description}: {type(error).__name__}: {error}"
        assert str(error), description


@SETTINGS
@given(x_kind=kinds, x_rows=rows, x_columns=columns, y_kind=kinds, y_rows=rows,
       y_columns=columns, weight_kind=st.sampled_from(["none", "float", "rank1", "rank0", "str",
                                                       "nan"]),
       batch_size=batch_sizes)
def test_fit_inputs(x_kind, x_rows, x_columns, y_kind, y_rows, y_columns, weight_kind,
                    batch_size):
    x = _array(x_kind, x_rows, x_columns)
    y = _array(y_kind, y_rows, y_columns)
    weights = _array(weight_kind, y_rows, 1)
    if weight_kind == "rank1":
        weights = np.ones(y_rows, "float32")
    description = f"fit(x={x_kind}{x_rows}x{x_columns}, y={y_kind}{y_rows}x{y_columns}, " \
                  f"sample_weight={weight_kind}, batch_size={batch_size!r})"
    _check(lambda: model().fit(x, y, sample_weight=weights, batch_size=batch_size, verbose=0),
           description)


@SETTINGS
@given(x_kind=kinds, x_rows=rows, x_columns=columns, batch_size=batch_sizes,
       method=st.sampled_from(["predict", "evaluate", "predict_on_batch", "call"]))
def test_predict_inputs(x_kind, x_rows, x_columns, batch_size, method):
    x = _array(x_kind, x_rows, x_columns)
    description = f"{method}(x={x_kind}{x_rows}x{x_columns}, batch_size={batch_size!r})"
    net = model()
    runs = {
        "predict": lambda: net.predict(x, batch_size=batch_size, verbose=0),
        "evaluate": lambda: net.evaluate(x, np.ones((max(x_rows, 1), 2)), batch_size=batch_size,
                                         verbose=0),
        "predict_on_batch": lambda: net.predict_on_batch(x),
        "call": lambda: net(x),
    }
    _check(runs[method], description)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "8"])
def test_bad_batch_sizes_name_the_argument(batch_size):
    with pytest.raises((ValueError, TypeError), match="batch_size"):
        model().fit(np.ones((4, 3)), np.ones((4, 2)), batch_size=batch_size, verbose=0)
