"""Reading a functional `.keras` archive written the way Keras 3 writes it (config with
`__keras_tensor__` nodes and DTypePolicy dtypes, weights at `layers/<class>[_n]/vars/<i>`),
built by hand here so the reader is checked against the format, not against our writer."""
import io
import json
import zipfile

import h5py
import numpy as np
import pytest

import minikeras as keras

POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
          "registered_name": None}


def keras_tensor(name, shape):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": shape, "dtype": "float32", "keras_history": [name, 0, 0]}}


def dense(name, units, activation, source, in_dim):
    return {"module": "keras.layers", "class_name": "Dense",
            "config": {"name": name, "trainable": True, "dtype": POLICY, "units": units,
                       "activation": activation, "use_bias": True,
                       "kernel_initializer": {"module": "keras.initializers",
                                              "class_name": "GlorotUniform",
                                              "config": {"seed": None, "input_axes": None,
                                                         "output_axes": None},
                                              "registered_name": None},
                       "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                            "config": {}, "registered_name": None},
                       "kernel_regularizer": None, "bias_regularizer": None,
                       "kernel_constraint": None, "bias_constraint": None,
                       "quantization_config": None},
            "registered_name": None, "build_config": {"input_shape": [None, in_dim]},
            "name": name,
            "inbound_nodes": [{"args": [keras_tensor(source, [None, in_dim])], "kwargs": {}}]}


def keras3_archive(path, weights):
    config = {"module": "keras.src.models.functional", "class_name": "Functional",
              "config": {"name": "functional", "trainable": True,
                         "layers": [{"module": "keras.layers", "class_name": "InputLayer",
                                     "config": {"batch_shape": [None, 4], "dtype": "float32",
                                                "sparse": False, "ragged": False,
                                                "name": "input_layer", "optional": False},
                                     "registered_name": None, "name": "input_layer",
                                     "inbound_nodes": []},
                                    dense("hidden", 5, "tanh", "input_layer", 4),
                                    dense("out", 2, "softmax", "hidden", 5)],
                         "input_layers": ["input_layer", 0, 0],
                         "output_layers": ["out", 0, 0]},
              "registered_name": "Functional", "build_config": {"input_shape": None},
              "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "SGD",
                                               "config": {"name": "SGD", "learning_rate": 0.05,
                                                          "weight_decay": None, "clipnorm": None,
                                                          "global_clipnorm": None,
                                                          "clipvalue": None, "use_ema": False,
                                                          "ema_momentum": 0.99,
                                                          "ema_overwrite_frequency": None,
                                                          "loss_scale_factor": None,
                                                          "gradient_accumulation_steps": None,
                                                          "momentum": 0.0, "nesterov": False},
                                               "registered_name": None},
                                 "loss": "categorical_crossentropy", "loss_weights": None,
                                 "metrics": ["accuracy"], "weighted_metrics": None,
                                 "run_eagerly": False, "steps_per_execution": 1,
                                 "jit_compile": False}}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_group("vars").attrs["name"] = "functional"
        f.create_group("layers/input_layer/vars").attrs["name"] = "input_layer"
        for group, arrays in (("dense", weights[:2]), ("dense_1", weights[2:])):
            vars_group = f.create_group(f"layers/{group}/vars")
            for i, array in enumerate(arrays):
                vars_group.create_dataset(str(i), data=array)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", buffer.getvalue())


def test_reads_a_keras3_functional_archive(tmp_path):
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=s).astype("float32") for s in ((4, 5), (5,), (5, 2), (2,))]
    keras3_archive(tmp_path / "k3.keras", weights)
    model = keras.models.load_model(tmp_path / "k3.keras")
    assert [layer.name for layer in model.layers] == ["input_layer", "hidden", "out"]
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate.data) == pytest.approx(0.05)
    x = rng.normal(size=(3, 4)).astype("float32")
    logits = np.tanh(x @ weights[0] + weights[1]) @ weights[2] + weights[3]
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_keras3_only_features_in_use_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=s).astype("float32") for s in ((4, 5), (5,), (5, 2), (2,))]
    keras3_archive(tmp_path / "k3.keras", weights)
    with zipfile.ZipFile(tmp_path / "k3.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["quantization_config"] = {"mode": "int8"}
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "q.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(NotImplementedError, match="quantization_config"):
        keras.models.load_model(tmp_path / "q.keras")


def test_nested_model_config_counts_calls_from_one_as_tf_keras():
    inner = keras.Sequential([keras.layers.Dense(3, input_shape=(2,))], name="inner")
    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, keras.layers.Dense(1, name="top")(inner(inputs)))
    layers = {entry["name"]: entry for entry in model.get_config()["layers"]}
    assert layers["top"]["inbound_nodes"] == [[["inner", 1, 0, {}]]]
    rebuilt = keras.models.model_from_json(model.to_json())
    rebuilt.set_weights(model.get_weights())
    x = np.ones((2, 2), "float32")
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))


class _TwoDense(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(4, activation="tanh")
        self.out = keras.layers.Dense(1)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


def test_a_subclassed_model_built_by_calling_it_round_trips(tmp_path):
    """The first call's input shape becomes the file's build_config, so the loaded model is
    built (with fresh automatic layer names) before its weights are read."""
    x = np.random.default_rng(0).random((2, 3)).astype("float32")
    model = _TwoDense()
    expected = model(x).data
    model.save(tmp_path / "sub.keras")
    with zipfile.ZipFile(tmp_path / "sub.keras") as archive:
        config = json.loads(archive.read("config.json"))
    assert config["build_config"] == {"input_shape": [2, 3]}
    restored = keras.models.load_model(tmp_path / "sub.keras",
                                       custom_objects={"_TwoDense": _TwoDense})
    np.testing.assert_allclose(restored.predict(x, verbose=0), expected, atol=1e-6)


def test_functional_models_are_written_where_keras3_finds_its_functional_class(tmp_path):
    """Keras 3.x resolves `Functional` only by importing a module of `keras.src` (a plain
    `keras` module makes it refuse the file) and records no build shape for it; tf_keras 2.21
    imports the same path under `tf_keras.`: both have it in `keras.src.models`."""
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.save(tmp_path / "f.keras")
    with zipfile.ZipFile(tmp_path / "f.keras") as archive:
        config = json.loads(archive.read("config.json"))
    assert (config["module"], config["class_name"], config["registered_name"]) == \
        ("keras.src.models", "Functional", "Functional")
    assert config["build_config"] == {"input_shape": None}
    restored = keras.models.load_model(tmp_path / "f.keras")
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0))
