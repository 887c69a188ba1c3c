"""Small differences from tf_keras 2.21 found by the fid-small sweep: attribute setters, Loss
objects on symbolic tensors, error types and wording, callback counts. Each test holds
tf_keras' behaviour (fixtures in tests/fixtures/small_diffs/ and book_scripts/, written by
benchmarks/fixture_recipes/small_diffs.py and book_scripts.py, or closed forms)."""
import json
from pathlib import Path

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers

FIXTURES = Path(__file__).parent / "fixtures"


# --- 1. `name` is read-only on layers and models (tf.keras renames through `_name`) -------------
def test_assigning_a_layer_or_model_name_raises_tf_keras_error():
    expected = json.loads((FIXTURES / "book_scripts" / "renamed_layers.json").read_text())
    model = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    dense = layers.Dense(2)
    for obj in (model, dense):
        with pytest.raises(AttributeError) as info:
            obj.name = "x"
        assert str(info.value) == expected["name_setter_error"]
    assert (model.name, dense.name) != ("x", "x")
    dense._name = "renamed"
    assert dense.name == "renamed"


@pytest.mark.parametrize("attribute", ["weights", "trainable_weights", "dtype", "input_shape",
                                       "losses", "metrics", "variables"])
def test_assigning_any_read_only_property_raises_tf_keras_error(attribute):
    expected = json.loads((FIXTURES / "book_scripts" / "renamed_layers.json").read_text())
    model = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(AttributeError) as info:
        setattr(model.layers[0], attribute, [])
    assert str(info.value) == expected["name_setter_error"].replace('"name"', f'"{attribute}"')


# --- 2. a Loss object called on KerasTensors ---------------------------------------------------
def _loss_model(loss, with_weights=False):
    inputs, targets = keras.Input((3,)), keras.Input((3,))
    outputs = layers.Dense(3, kernel_initializer="ones")(inputs)
    if not with_weights:
        return keras.Model([inputs, targets], loss(targets, outputs))
    weights = keras.Input((1,))
    return keras.Model([inputs, targets, weights], loss(targets, outputs, sample_weight=weights))


def _data():
    x = np.arange(15, dtype="float32").reshape(5, 3) / 10
    return x, x.sum(axis=1, keepdims=True) * np.ones((1, 3), "float32")


def test_loss_object_on_keras_tensors_is_a_symbolic_scalar():
    inputs, targets = keras.Input((3,)), keras.Input((3,))
    loss = keras.losses.MeanSquaredError()(targets, layers.Dense(3)(inputs))
    assert keras.backend.is_keras_tensor(loss)
    assert tuple(loss.shape) == ()
    unreduced = keras.losses.MeanSquaredError(reduction="none")(targets, layers.Dense(3)(inputs))
    assert tuple(unreduced.shape) == (None,)


@pytest.mark.parametrize("reduction", ["auto", "sum", "none"])
def test_loss_object_as_model_output_matches_closed_form(reduction):
    x, prediction = _data()
    sample_weight = np.arange(5, dtype="float32")[:, None]
    per_sample = ((prediction - x) ** 2).mean(axis=1) * sample_weight[:, 0]
    expected = {"auto": per_sample.mean(), "sum": per_sample.sum(), "none": per_sample}[reduction]
    model = _loss_model(keras.losses.MeanSquaredError(reduction=reduction), with_weights=True)
    result = model.predict([x, x, sample_weight], verbose=0)
    np.testing.assert_allclose(result, expected, rtol=1e-6)


def test_scalar_model_output_is_stacked_per_batch_by_predict():
    # tf.keras stacks a scalar output, one value per batch (a Python float for one batch)
    x, prediction = _data()
    model = _loss_model(keras.losses.MeanSquaredError())
    per_sample = ((prediction - x) ** 2).mean(axis=1)
    whole = model.predict([x, x], verbose=0)
    assert isinstance(whole, float)
    np.testing.assert_allclose(whole, per_sample.mean(), rtol=1e-6)
    batched = model.predict([x, x], batch_size=2, verbose=0)
    np.testing.assert_allclose(batched, [per_sample[:2].mean(), per_sample[2:4].mean(),
                                         per_sample[4:].mean()], rtol=1e-6)


def test_loss_object_value_added_with_add_loss_trains():
    x, prediction = _data()
    inputs, targets = keras.Input((3,)), keras.Input((3,))
    outputs = layers.Dense(3, kernel_initializer="ones")(inputs)
    model = keras.Model([inputs, targets], outputs)
    model.add_loss(keras.losses.MeanSquaredError()(targets, outputs))
    model.compile("sgd")
    loss = model.evaluate([x, x], verbose=0)
    np.testing.assert_allclose(loss, ((prediction - x) ** 2).mean(), rtol=1e-6)
    history = model.fit([x, x], epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


# --- 3. an unknown class in a config: tf.keras 2.13+'s TypeError, its legacy ValueError --------
class _Unregistered(layers.Layer):
    def call(self, inputs):
        return inputs * 2


_CANNOT_DESERIALIZE = ("Cannot deserialize object of type `_Unregistered`. If `_Unregistered` is "
                       "a custom class, please register it using the "
                       "`@keras.saving.register_keras_serializable()` decorator.")
_UNKNOWN_LAYER = ("Unknown layer: '_Unregistered'. Please ensure you are using a "
                  "`keras.utils.custom_object_scope` and that this object is included in the "
                  "scope. See https://www.tensorflow.org/guide/keras/save_and_serialize"
                  "#registering_the_custom_object for details.")


def _unregistered_model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, _Unregistered()(layers.Dense(2)(inputs)))


def test_unknown_class_of_a_keras_file_or_current_config_is_tf_keras_type_error(tmp_path):
    model = _unregistered_model()
    model.save(tmp_path / "m.keras")
    loaders = [lambda: keras.models.load_model(tmp_path / "m.keras"),
               lambda: keras.models.model_from_json(model.to_json()),
               lambda: keras.Model.from_config(model.get_config())]
    for load in loaders:
        with pytest.raises(TypeError) as info:
            load()
        assert str(info.value) == _CANNOT_DESERIALIZE


def test_unknown_class_of_an_h5_file_is_tf_keras_legacy_value_error(tmp_path):
    model = _unregistered_model()
    with pytest.warns(UserWarning):
        model.save(tmp_path / "m.h5")
    with pytest.raises(ValueError) as info:
        keras.models.load_model(tmp_path / "m.h5")
    assert str(info.value) == _UNKNOWN_LAYER


# --- 4. integer and float64 operands never promote float32 to float64 --------------------------
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float64"])
def test_tensor_operators_convert_numpy_operands_to_the_tensor_dtype(dtype):
    # tf.convert_to_tensor(other, dtype=tensor.dtype): float32 either way round
    tensor = keras.backend.constant(np.full((2, 2), 1.5))
    other = np.ones((2, 2), dtype)
    for result in (tensor * other, other * tensor, tensor + other, other - tensor,
                   tensor / np.float64(2.0)):
        assert result.dtype == np.float32
    np.testing.assert_array_equal(tensor * other, np.full((2, 2), 1.5, "float32"))


@pytest.mark.parametrize("make", [lambda: layers.Dense(2), lambda: layers.BatchNormalization(),
                                  lambda: layers.LayerNormalization()])
@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_dense_and_normalizations_cast_integer_inputs_like_tf_keras(make, dtype):
    layer = make()
    values = np.arange(8).reshape(2, 4)
    out = layer(values.astype(dtype))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, layer(values.astype("float32")), rtol=1e-6)


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.Conv2D(2, 3), (2, 5, 5, 3)), (lambda: layers.Conv1D(2, 3), (2, 5, 3)),
    (lambda: layers.Conv2DTranspose(2, 3), (2, 5, 5, 3)),
    (lambda: layers.SeparableConv2D(2, 3), (2, 5, 5, 3)),
    (lambda: layers.LSTM(2), (2, 5, 3)), (lambda: layers.GRU(2), (2, 5, 3))])
def test_convolutions_and_rnns_refuse_integer_inputs_like_tf_keras(make, shape):
    # tf.keras: InvalidArgumentError "... was expected to be a float tensor but is a int64
    # tensor"; minikeras used to compute in float64 (or fail deep inside NumPy)
    layer = make()
    with pytest.raises(TypeError, match="expected to be a float tensor but is a int64 tensor"):
        layer(np.ones(shape, "int64"))
    assert layer(np.ones(shape, "float64")).dtype == np.float32


def test_integer_images_fit_through_a_model_input_as_in_tf_keras():
    # the model's Input casts (tf.keras' functional models conform inputs to their dtype)
    model = keras.Sequential([layers.Conv2D(1, 3, input_shape=(5, 5, 1)), layers.Flatten(),
                              layers.Dense(1)])
    model.compile("sgd", "mse")
    images = np.ones((4, 5, 5, 1), "uint8")
    model.fit(images, np.ones((4, 1)), verbose=0)
    assert model.predict(images, verbose=0).dtype == np.float32


# --- 5. `call` prints once while a functional graph is built -----------------------------------
class _Printing(layers.Layer):
    def call(self, inputs):
        print("call of", self.name)
        return inputs * 2


def test_a_print_in_call_shows_once_during_functional_construction(capsys):
    # tf.keras runs `call` once, symbolically; we run it on placeholders of two sizes to tell
    # unknown dimensions, the second run silenced
    inputs = keras.Input((3,))
    outputs = _Printing(name="printing")(inputs)
    assert capsys.readouterr().out == "call of printing\n"
    assert tuple(outputs.shape) == (None, 3)
    keras.Sequential([keras.Input((4, 2)), _Printing(name="in_sequential")])
    assert capsys.readouterr().out == "call of in_sequential\n"
    keras.Model(inputs, outputs).predict(np.ones((2, 3)), verbose=0)
    assert capsys.readouterr().out == "call of printing\n"


# --- 6. a batch whose outputs are all masked: NaN loss under a mean, as tf.keras ---------------
def _masked_model(loss="mse", metrics=None):
    model = keras.Sequential([
        layers.Masking(0.0, input_shape=(3, 2)),
        layers.TimeDistributed(layers.Dense(1, kernel_initializer="ones"))])
    model.compile("sgd", loss, metrics=metrics)
    return model


def test_fully_masked_batch_gives_nan_mean_loss_and_zero_sum_loss():
    # tf.keras scales the mask by total / valid = n / 0: 0 * inf is NaN
    x, y = np.zeros((2, 3, 2), "float32"), np.ones((2, 3, 1), "float32")
    assert np.isnan(_masked_model().evaluate(x, y, verbose=0))
    assert np.isnan(_masked_model().train_on_batch(x, y))
    sum_loss = keras.losses.MeanSquaredError(reduction="sum")
    assert _masked_model(sum_loss).evaluate(x, y, verbose=0) == 0.0
    loss, mae = _masked_model(metrics=["mae"]).evaluate(x, y, verbose=0)
    assert np.isnan(loss) and mae == 0.0


def test_zero_sample_weights_without_mask_still_give_zero_loss():
    x, y = np.ones((2, 3, 2), "float32"), np.ones((2, 3, 1), "float32")
    model = _masked_model()
    model.compile("sgd", "mse", weighted_metrics=[])
    assert model.evaluate(x, y, sample_weight=np.zeros(2), verbose=0) == 0.0


# --- 8. validation_freq is checked where tf.keras checks it ------------------------------------
def _tiny_compiled_model():
    model = keras.Sequential([layers.Dense(1, input_shape=(2,), kernel_initializer="ones")])
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("freq", [(1, 2), range(1, 3), "a", 2.0])
def test_validation_freq_of_a_wrong_type_raises_after_the_first_epoch(freq):
    # tf.keras' _should_eval: a list or an int only, checked once the first epoch trained
    events = []
    callback = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: events.append(("begin", epoch)),
        on_epoch_end=lambda epoch, logs: events.append(("end", epoch)))
    model = _tiny_compiled_model()
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    with pytest.raises(ValueError, match="Expected `validation_freq` to be a list or int. "
                                         "Received: validation_freq="):
        model.fit(x, y, epochs=2, verbose=0, validation_split=0.5, validation_freq=freq,
                  callbacks=[callback])
    assert events == [("begin", 0)]
    np.testing.assert_allclose(model.get_weights()[0].ravel(), [0.96, 0.96], rtol=1e-6)


def test_validation_freq_is_not_checked_without_validation_data():
    model = _tiny_compiled_model()
    history = model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0,
                        validation_freq="a")
    assert list(history.history) == ["loss"]


# --- 9. ModelCheckpoint and ReduceLROnPlateau take unknown keywords (tf.keras ignores them) ----
def test_model_checkpoint_and_reduce_lr_accept_unknown_keywords(tmp_path, caplog):
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "m.h5"), foo=1)
    reduce_lr = keras.callbacks.ReduceLROnPlateau(foo=1)
    assert checkpoint.period == 1 and reduce_lr.factor == 0.1
    assert "ignores the keyword arguments ['foo']" in caplog.text
    with pytest.raises(TypeError):     # tf.keras' EarlyStopping has no **kwargs
        keras.callbacks.EarlyStopping(foo=1)


# --- 11. Keras 3's RandomContrast value_range ---------------------------------------------------
def test_keras3_random_contrast_with_another_value_range_loads_and_clips_to_it(tmp_path):
    folder = FIXTURES / "small_diffs"
    expected = np.load(folder / "random_contrast_value_range.npz")
    model = keras.models.load_model(folder / "random_contrast_value_range.keras")
    layer = model.get_layer("contrast")
    assert layer.value_range == (0, 1)
    np.testing.assert_array_equal(model.predict(expected["x"], verbose=0), expected["predicted"])
    np.testing.assert_allclose(layer(expected["x"], training=True), expected["training"],
                               atol=1e-6)
    model.save(tmp_path / "again.keras")
    again = keras.models.load_model(tmp_path / "again.keras")
    assert again.get_layer("contrast").value_range == (0, 1)
    assert "value_range" not in layers.RandomContrast(0.2).get_config()   # tf.keras' keys


# --- reprs in tf's layout ------------------------------------------------------------------------
def test_tensor_and_variable_reprs_follow_tf_layout():
    # tf: <tf.Tensor: shape=(2,), dtype=float32, numpy=array([1., 2.], dtype=float32)>, the
    # array on a line of its own only when it takes several
    tensor = keras.backend.constant([1.0, 2.0])
    assert repr(tensor) == ("<Tensor: shape=(2,), dtype=float32, "
                            "numpy=array([1., 2.], dtype=float32)>")
    bias = keras.backend.variable(np.zeros(3), name="bias")
    assert repr(bias).endswith("shape=(3,) dtype=float32, "
                               "numpy=array([0., 0., 0.], dtype=float32)>")
    kernel = keras.backend.variable(np.zeros((2, 2)), name="kernel")
    assert repr(kernel).endswith("dtype=float32, numpy=\narray([[0., 0.],\n"
                                 "       [0., 0.]], dtype=float32)>")


def test_validation_data_given_as_a_bare_array_raises_as_in_tf_keras():
    # tf.keras' `if validation_data` after the first epoch: NumPy's ambiguous truth value
    # (minikeras used to validate without targets and report val_loss 0.0)
    model = _tiny_compiled_model()
    x = np.ones((4, 2), "float32")
    with pytest.raises(ValueError, match="The truth value of an array with more than one "
                                         "element is ambiguous"):
        model.fit(x, np.zeros((4, 1)), epochs=1, verbose=0, validation_data=x)


def test_loss_object_on_keras_tensors_records_tf_keras_layers():
    # the TFOpLambda layers tf_keras 2.21 records for MeanSquaredError()(targets, outputs):
    # the loss, then compute_weighted_loss (weights 1.0) and _safe_mean
    keras.backend.clear_session()
    inputs, targets = keras.Input((3,)), keras.Input((3,))
    outputs = layers.Dense(3)(inputs)
    model = keras.Model([inputs, targets], keras.losses.MeanSquaredError()(targets, outputs))
    assert [layer.name for layer in model.layers[3:]] == [
        "tf.convert_to_tensor", "tf.cast", "tf.math.squared_difference", "tf.math.reduce_mean",
        "tf.math.multiply", "tf.math.reduce_sum", "tf.compat.v1.size", "tf.math.reduce_sum_1",
        "tf.cast_1", "tf.math.divide_no_nan"]
    summed = keras.losses.MeanSquaredError(reduction="sum")(targets, outputs)
    assert summed.name.startswith("tf.math.reduce_sum_2")
