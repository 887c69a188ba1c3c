"""Small differences from tf.keras 2.21 / Keras 3.15 found by the fid-left sweep.

Fixtures in tests/fixtures/small_diffs2/ were written by the peer with
benchmarks/fixture_recipes/small_diffs2.py (`tk`: tf_keras 2.21 facts; `k3`: a Keras 3.15
model on channels-first images)."""
import contextlib
import io
import json
import operator
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras.core.dtype_errors import InvalidArgumentError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "small_diffs2")


def _facts(section):
    with open(os.path.join(FIXTURES, "tf_keras_facts.json")) as f:
        return json.load(f)[section]


def _outcome(function):
    """What `function` gives, in the recipe's form: {"error", "message"} or {"value", "dtype"}."""
    try:
        value = function()
    except Exception as error:   # noqa: BLE001  (compared with the peer's error)
        return {"error": type(error).__name__, "message": str(error)}
    if isinstance(value, str):
        return {"value": value}
    value = np.asarray(value)
    return {"value": value.tolist(), "dtype": value.dtype.name}


def _same(ours, theirs, atol=0.0):
    assert ("error" in ours) == ("error" in theirs), (ours, theirs)
    if "error" in theirs:
        assert ours["error"] == theirs["error"]
        assert ours["message"] == theirs["message"]
    else:
        if "dtype" in theirs and not theirs["dtype"].startswith("str"):
            assert ours["dtype"] == theirs["dtype"]
        np.testing.assert_allclose(np.asarray(ours["value"], dtype=object if isinstance(
            ours["value"], str) else None), theirs["value"], atol=atol) \
            if not isinstance(theirs["value"], str) else None
        if isinstance(theirs["value"], str):
            assert ours["value"] == theirs["value"]


# --- 1. mixed tensor dtypes ------------------------------------------------------------------
def _tensors():
    return (K.constant([1., 2.]), K.constant([1., 2.], dtype="float64"),
            K.constant([1, 2], dtype="int32"))


_OPERATORS = ("add", "sub", "mul", "truediv", "pow", "lt", "le", "gt", "ge")


@pytest.mark.parametrize("name", _OPERATORS)
@pytest.mark.parametrize("other", ["f64", "i32"])
def test_tensor_operators_refuse_two_dtypes_as_tf(name, other):
    facts = _facts("mixed_dtypes")
    f32, f64, i32 = _tensors()
    ours = _outcome(lambda: getattr(operator, name)(f32, {"f64": f64, "i32": i32}[other]))
    _same(ours, facts[f"f32 {name} {other}"])


def test_tensor_operands_of_numpy_keep_working():
    facts = _facts("mixed_dtypes")
    f32, f64, i32 = _tensors()
    _same(_outcome(lambda: i32 + f32), facts["i32 add f32"])
    _same(_outcome(lambda: K.reshape(f32, (1, 2)) @ K.reshape(f64, (2, 1))),
          facts["f32 matmul f64"])
    _same(_outcome(lambda: f32 + np.array([1., 2.])), facts["f32 add float64 array"])
    _same(_outcome(lambda: f32 + np.float64(2.)), facts["f32 add np.float64"])


def test_backend_functions_refuse_two_dtypes_and_convert_numpy_operands():
    facts = _facts("mixed_dtypes")
    f32, f64, i32 = _tensors()
    cases = {
        "K.maximum f32 f64": lambda: K.maximum(f32, f64),
        "K.minimum f32 i32": lambda: K.minimum(f32, i32),
        "K.maximum f32 float64 array": lambda: K.maximum(f32, np.array([1., 5.])),
        "K.maximum f32 0": lambda: K.maximum(f32, 0),
        "K.concatenate f32 f32 f64": lambda: K.concatenate([f32, f32, f64]),
        "K.concatenate f32 i32": lambda: K.concatenate([f32, i32]),
        "K.dot f32 f64": lambda: K.dot(K.reshape(f32, (1, 2)), K.reshape(f64, (2, 1))),
        "K.dot 3d f32 i32": lambda: K.dot(K.reshape(f32, (1, 1, 2)), K.reshape(i32, (2, 1))),
        "K.batch_dot f32 f64": lambda: K.batch_dot(K.reshape(f32, (1, 1, 2)),
                                                   K.reshape(f64, (1, 2, 1))),
    }
    for key, function in cases.items():
        _same(_outcome(function), facts[key])
    with pytest.raises(InvalidArgumentError):   # also a ValueError, for generic handlers
        K.maximum(f32, f64)
    assert issubclass(InvalidArgumentError, ValueError)


@pytest.mark.parametrize("layer", ["Add", "Subtract", "Multiply", "Average", "Maximum",
                                   "Minimum", "Concatenate"])
def test_merge_layers_autocast_floats_and_refuse_integers(layer):
    facts = _facts("mixed_dtypes")
    f32, f64, i32 = (K.reshape(t, (1, 2)) for t in _tensors())
    for other, tensor in (("f64", f64), ("i32", i32)):
        ours = _outcome(lambda: getattr(keras.layers, layer)(name="merge")([f32, tensor]))
        _same(ours, facts[f"{layer} f32 {other}"])


@pytest.mark.parametrize("layer", ["Add", "Multiply", "Concatenate"])
def test_merge_layers_on_keras_tensors_of_two_dtypes(layer):
    facts = _facts("mixed_dtypes")
    inputs = {"f32": keras.Input((2,)), "f64": keras.Input((2,), dtype="float64"),
              "i32": keras.Input((2,), dtype="int32")}
    for other in ("f64", "i32"):
        ours = _outcome(lambda: getattr(keras.layers, layer)(name="merge")(
            [inputs["f32"], inputs[other]]).dtype.name)
        _same(ours, facts[f"symbolic {layer} f32 {other}"])


@pytest.mark.parametrize("name", ["add", "sub", "mul", "truediv", "pow", "matmul"])
def test_operators_on_keras_tensors_of_two_dtypes(name):
    facts = _facts("mixed_dtypes")
    for other in ("f64", "i32"):
        keras.backend.clear_session()
        first = keras.Input((2,))
        second = keras.Input((2,), dtype={"f64": "float64", "i32": "int32"}[other])
        ours = _outcome(lambda: getattr(operator, name)(first, second).dtype.name)
        _same(ours, facts[f"symbolic {name} f32 {other}"])


# --- 2. custom_objects naming a built-in class ---------------------------------------------
def test_custom_objects_replace_a_builtin_only_in_legacy_entries(tmp_path):
    facts = _facts("custom_dense")

    class MyDense(keras.layers.Dense):
        pass
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.save(tmp_path / "dense.h5")
    model.save(tmp_path / "dense.keras")
    custom = {"Dense": MyDense}
    ours = {
        "h5": keras.models.load_model(tmp_path / "dense.h5", custom_objects=custom),
        "keras": keras.models.load_model(tmp_path / "dense.keras", custom_objects=custom),
        "to_json": keras.models.model_from_json(model.to_json(), custom_objects=custom),
        "get_config": keras.Sequential.from_config(model.get_config(), custom_objects=custom),
    }
    ours = {name: type(loaded.layers[0]).__name__ for name, loaded in ours.items()}
    ours["deserialize legacy entry"] = type(keras.layers.deserialize(
        {"class_name": "Dense", "config": {"units": 2}}, custom_objects=custom)).__name__
    ours["deserialize serialize()"] = type(keras.layers.deserialize(
        keras.layers.serialize(keras.layers.Dense(2)), custom_objects=custom)).__name__
    assert ours == facts


# --- 3. complex inputs -------------------------------------------------------------------------
def test_complex_inputs_keep_their_real_part():
    facts = _facts("complex")
    x = np.array([[1 + 2j, 3 - 1j], [0.5 - 4j, -2 + 1j]], dtype=np.complex64)
    model = keras.Sequential([keras.layers.Dense(1, kernel_initializer="ones",
                                                 input_shape=(2,))])
    model.compile("sgd", "mse")
    history = model.fit(np.ones((2, 2), "float32"), np.array([[1 + 5j], [2 - 1j]]),
                        epochs=1, verbose=0, shuffle=False).history
    np.testing.assert_allclose(history["loss"], facts["fit complex y loss"], rtol=1e-6)
    _same(_outcome(lambda: model.predict(x, verbose=0)), facts["predict"], atol=1e-6)
    _same(_outcome(lambda: model(x)), facts["call"], atol=1e-6)
    _same(_outcome(lambda: keras.layers.Dense(1, kernel_initializer="ones")(x)),
          facts["Dense direct"])


# --- 4. to_categorical --------------------------------------------------------------------------
def test_to_categorical_wraps_negative_labels_and_raises_numpys_index_error():
    facts = _facts("to_categorical")
    to_categorical = keras.utils.to_categorical
    cases = {"[-1, 0] of 3": lambda: to_categorical([-1, 0], 3),
             "[-3, 2] of 3": lambda: to_categorical([-3, 2], 3),
             "[-4, 0] of 3": lambda: to_categorical([-4, 0], 3),
             "[0, 5, 7] of 3": lambda: to_categorical([0, 5, 7], 3),
             "[-1]": lambda: to_categorical([-1])}
    for key, function in cases.items():
        _same(_outcome(function), facts[key])


# --- 5. transposed convolutions of inputs without channels ------------------------------------
def test_conv_transposes_of_zero_channels_give_the_bias():
    """TF's Conv3DBackpropInput leaves such an output partly unset (NaN or stale values in the
    fixture, varying by run): for Conv3DTranspose only its shape is compared, and the values
    with the closed form (zeros, then the bias and relu: ones)."""
    facts = _facts("zero_channel_transposes")
    for name, shape in (("Conv1DTranspose", (2, 4, 0)), ("Conv2DTranspose", (2, 3, 4, 0)),
                        ("Conv3DTranspose", (1, 2, 3, 2, 0))):
        layer = getattr(keras.layers, name)(3, 3, strides=2, padding="same",
                                            bias_initializer="ones", activation="relu")
        ours = np.asarray(layer(np.zeros(shape, "float32")))
        theirs = np.asarray(facts[name]["value"], dtype="float32")
        assert ours.shape == theirs.shape and ours.dtype == np.float32
        np.testing.assert_array_equal(ours, np.ones_like(ours))
        if name != "Conv3DTranspose":
            np.testing.assert_array_equal(ours, theirs)
    layer = keras.layers.Conv2DTranspose(2, 2, strides=2, data_format="channels_first",
                                         bias_initializer=keras.initializers.Constant(0.5))
    _same(_outcome(lambda: layer(np.zeros((1, 0, 2, 3), "float32"))),
          facts["Conv2DTranspose channels_first"])


# --- 6. a relaxed Sequential's layers read the new graph ---------------------------------------
def test_relaxed_sequential_layers_report_the_new_shapes():
    facts = _facts("relaxed_sequential")
    keras.backend.clear_session()
    for _ in range(4):   # the peer's names: dense_4, dense_5, sequential_2
        keras.layers.Dense(1)
    keras.Sequential()
    keras.Sequential()
    layers = keras.layers
    model = keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(3)])
    model.build((None, 5, 6))
    model(np.zeros((2, 7, 6), "float32"))
    shapes = {layer.name: [list(layer.input_shape), list(layer.output_shape)]
              for layer in model.layers}
    assert shapes == facts["shapes"]
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        model.summary()
    assert text.getvalue() == facts["summary"]
    # the model still runs on either size
    assert model.predict(np.ones((1, 5, 6)), verbose=0).shape == (1, 5, 3)


# --- 7. Keras 3 channels-first image preprocessing layers --------------------------------------
def test_keras3_channels_first_image_layers_load_and_predict():
    data = np.load(os.path.join(FIXTURES, "channels_first.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "channels_first.keras"))
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["predicted"],
                               atol=1e-3)


def test_channels_first_resizing_and_center_crop_match_keras3():
    data = np.load(os.path.join(FIXTURES, "channels_first.npz"))
    fmt = {"data_format": "channels_first"}
    resize = keras.layers.Resizing(4, 6, crop_to_aspect_ratio=True, **fmt)
    np.testing.assert_allclose(resize(data["x"]), data["resized"], atol=1e-3)
    np.testing.assert_allclose(resize(data["x"][0]), data["resized_unbatched"], atol=1e-3)
    centre = keras.layers.CenterCrop(12, 9, **fmt)
    np.testing.assert_allclose(centre(data["x"]), data["centre"], atol=1e-3)
    assert centre.compute_output_shape((None, 3, 10, 8)) == (None, 3, 12, 9)
    assert resize.get_config()["data_format"] == "channels_first"
    assert "data_format" not in keras.layers.Resizing(4, 6).get_config()
    with pytest.raises(ValueError, match="data_format"):
        keras.layers.RandomFlip(data_format="channels_middle")


# --- probes: pop() to empty, summary positions --------------------------------------------------
def test_sequential_emptied_by_pop_forgets_its_input():
    facts = _facts("model_probes")
    layers = keras.layers
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.pop()
    assert not model.built and not model.outputs and facts["emptied"] == {
        "outputs": None, "built": False}   # tf's None, our empty list: both falsy
    model.add(layers.Dense(4))
    regrown = {"built_after_add": model.built,
               "output_after_call": list(model(np.ones((1, 5), "float32")).shape),
               "count_params": model.count_params()}
    assert regrown == facts["regrown"]


def test_summary_with_fewer_positions_than_columns_raises_tfs_index_error():
    facts = _facts("model_probes")
    first, second = keras.Input((4,)), keras.Input((4,))
    joined = keras.Model([first, second], keras.layers.Concatenate()([first, second]))
    ours = _outcome(lambda: joined.summary(positions=[0.5, 0.8, 1.0],
                                           print_fn=lambda *a, **k: None))
    _same(ours, facts["few_positions"])


def test_keras3_operators_of_two_dtypes_still_promote(tmp_path):
    """Keras 3 promotes `float32 * int32` where tf.keras raises: its files keep loading, and
    so do our saves of them."""
    data = np.load(os.path.join(FIXTURES, "promoting_operators.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "promoting_operators.keras"))
    np.testing.assert_allclose(model.predict([data["x"], data["n"]], verbose=0),
                               data["predicted"], atol=1e-5)
    for name in ("again.keras", "again.h5"):
        model.save(tmp_path / name)
        again = keras.models.load_model(tmp_path / name)
        np.testing.assert_allclose(again.predict([data["x"], data["n"]], verbose=0),
                                   data["predicted"], atol=1e-5)


def test_dot_layer_refuses_an_integer_input_with_tfs_batch_matmul_errors():
    facts = _facts("mixed_dtypes")
    f32, _, i32 = (K.reshape(t, (1, 2)) for t in _tensors())
    _same(_outcome(lambda: keras.layers.Dot(1, name="merge")([f32, i32])), facts["Dot f32 i32"])
    ours = _outcome(lambda: keras.layers.Dot(1, name="merge")(
        [keras.Input((2,)), keras.Input((2,), dtype="int32")]).dtype.name)
    _same(ours, facts["symbolic Dot f32 i32"])
