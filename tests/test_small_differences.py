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
