"""Training resumed from a file gives the writer's numbers: compiled models saved by tf_keras
2.21 (legacy `.h5` with the legacy optimizers' `optimizer_weights`, its own `.keras`) and
Keras 3.15 (`.keras` with its optimizer variables) load in minikeras with the writer's
predictions, optimizer class/config/iterations, and 3 more training steps give the losses and
weights of the writer's own reloaded model (fixtures: tests/fixtures/files_resume, written by
benchmarks/fixture_recipes/files_resume.py). Files minikeras writes keep the layout those readers need."""
import io
import json
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import minikeras as keras
from minikeras.optimizers.legacy import LegacyOptimizer
from conftest import fixture_path

FACTS = {**json.load(open(fixture_path("files_resume", "expected_tk.json"))),
         **json.load(open(fixture_path("files_resume", "expected_k3.json")))}
ARRAYS = {**np.load(fixture_path("files_resume", "expected_tk.npz")),
          **np.load(fixture_path("files_resume", "expected_k3.npz"))}


class Scale(keras.layers.Layer):
    """The custom layer of files_resume.py (`custom_layer_class`)."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.alpha = self.add_weight(name="alpha", shape=(int(input_shape[-1]),),
                                     initializer="ones")
        super().build(input_shape)

    def call(self, inputs):
        return inputs * self.alpha * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def arrays(prefix):
    found = sorted(key for key in ARRAYS if key.startswith(prefix + "/"))
    return [ARRAYS[key] for key in found]


def load(case):
    keras.backend.clear_session()
    # The custom model holds a Lambda: its bytecode loads only with safe_mode=False.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras.models.load_model(fixture_path("files_resume", case),
                                       custom_objects={"Scale": Scale}, safe_mode=False)


def targets(case):
    y = arrays(f"{case}/y")
    return y[0] if len(y) == 1 else y


@pytest.mark.parametrize("case", sorted(FACTS))
def test_peer_file_loads_with_the_writers_optimizer_and_resumes_like_it(case):
    facts = FACTS[case]
    model = load(case)
    prediction = model.predict(ARRAYS[f"{case}/x"], verbose=0)
    for got, want in zip(prediction if isinstance(prediction, list) else [prediction],
                         arrays(f"{case}/pred")):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    optimizer = model.optimizer
    assert type(optimizer).__name__ == facts["optimizer_class"]
    assert isinstance(optimizer, LegacyOptimizer) == ("legacy" in facts["optimizer_module"])
    # tf_keras' `.keras` keeps no state of a legacy optimizer: it comes back fresh.
    assert int(optimizer.iterations.numpy()) == facts["iterations"]
    if case.endswith(".tk.h5") or case.endswith(".tk.keras"):
        assert optimizer.get_config() == pytest.approx(facts["optimizer_config"])
    history = model.fit(ARRAYS[f"{case}/x"], targets(case), batch_size=6, epochs=3,
                        shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], facts["loss_after_reload"], rtol=1e-5)
    for got, want in zip(model.get_weights(), arrays(f"{case}/weights_after")):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def weight_names(group):
    return [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]


LEGACY_H5 = sorted(case for case in FACTS if "-legacy_" in case and case.endswith(".tk.h5"))


@pytest.mark.parametrize("case", LEGACY_H5)
def test_written_h5_keeps_the_legacy_optimizer_weights_as_tf_keras_writes_them(case, tmp_path):
    """`optimizer_weights`: `<Name>/iter:0`, then each slot kind for every variable
    (`Adam/dense/kernel/m:0` ...) in tf_keras' order, with the values read from its file."""
    model = load(case)
    path = str(tmp_path / "m.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
    with h5py.File(path) as ours, h5py.File(fixture_path("files_resume", case)) as theirs:
        assert json.loads(ours.attrs["training_config"])["optimizer_config"] == \
            json.loads(theirs.attrs["training_config"])["optimizer_config"]
        names = weight_names(theirs["optimizer_weights"])
        assert weight_names(ours["optimizer_weights"]) == names
        for name in names:
            np.testing.assert_array_equal(ours["optimizer_weights"][name],
                                          theirs["optimizer_weights"][name])


def archive_groups(path):
    with zipfile.ZipFile(path) as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        config = json.loads(archive.read("config.json"))
    with weights:
        return sorted(weights), config["compile_config"]["optimizer"]


def test_keras_file_keeps_no_legacy_optimizer_state_as_tf_keras(tmp_path):
    """tf_keras saves no state for a legacy optimizer in `.keras` (it reloads it fresh), and
    Keras 3 could not read it (slots in another order, no learning-rate variable): minikeras
    wrote the slots, so a model resumed differently from tf_keras' and Keras 3 failed."""
    case = "dense-legacy_adam.tk.keras"
    model = load(case)
    model.fit(ARRAYS[f"{case}/x"], targets(case), batch_size=6, epochs=2, shuffle=False,
              verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 2
    path = str(tmp_path / "m.keras")
    model.save(path)
    ours, optimizer_entry = archive_groups(path)
    theirs, _ = archive_groups(fixture_path("files_resume", case))
    assert "optimizer" not in ours and "optimizer" not in theirs
    assert optimizer_entry["config"]["decay"] == 0.0     # read back as the legacy class
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded.optimizer, LegacyOptimizer)
    assert int(reloaded.optimizer.iterations.numpy()) == 0


def test_numpy_array_of_a_variable_is_a_snapshot():
    """np.array(tf.Variable) copies; NumPy 2 passes copy=True to __array__ and trusts it, so a
    snapshot taken with np.array (of weights, of optimizer.iterations) must not follow
    later updates."""
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    before = np.array(layer.kernel)
    layer.kernel.assign_add(np.ones((3, 2), np.float32))
    np.testing.assert_array_equal(before + 1.0, layer.kernel.numpy())
    optimizer = keras.optimizers.Adam()
    iterations = np.array(optimizer.iterations)
    optimizer.iterations.assign_add(3)
    assert int(iterations) == 0
    as_float = np.array(layer.kernel, dtype=np.float64)
    layer.kernel.assign_add(np.ones((3, 2), np.float32))
    np.testing.assert_allclose(as_float + 1.0, layer.kernel.numpy(), rtol=1e-6)


def attention_model():
    """files_resume.py's "mha" model."""
    inputs = keras.Input((4, 6))
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)(inputs, inputs)
    hidden = keras.layers.LayerNormalization()(keras.layers.Add()([inputs, attended]))
    return keras.Model(inputs, keras.layers.Dense(6)(hidden))


def datasets(h5file):
    """{path: value} of every dataset (a hard-linked group is visited under one name)."""
    found = {}

    def visit(path, obj):
        if isinstance(obj, h5py.Dataset):
            found[path] = obj[()]
    h5file.visititems(visit)
    return found


def test_weights_file_has_the_attention_groups_tf_keras_reads(tmp_path):
    """tf_keras reads MultiHeadAttention's projections from `_query_dense` ... (its private
    attributes), Keras 3 from `query_dense`: the file minikeras writes has both (hard links),
    so tf_keras loaded no projection weights ("Layer 'value' expected 2 variables")."""
    keras.backend.clear_session()
    model = attention_model()
    theirs_path = fixture_path("files_resume", "mha.tk.weights.h5")
    model.load_weights(theirs_path)
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "r") as ours, h5py.File(theirs_path, "r") as theirs:
        assert "layers/multi_head_attention/query_dense/vars/0" in ours     # Keras 3's
        their_datasets = datasets(theirs)
        assert any("_query_dense" in name for name in their_datasets)
        for name, value in their_datasets.items():
            assert name in ours, name
            np.testing.assert_array_equal(ours[name][()], value)


def dense_model():
    """files_resume.py's "dense" model with its seed-0 weights."""
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh"),
                              keras.layers.BatchNormalization(),
                              keras.layers.Dense(3, activation="sigmoid")])
    rng = np.random.RandomState(0)
    model.set_weights([(rng.randn(*w.shape) * 0.4).astype("float32")
                       for w in model.get_weights()])
    batch_norm = model.layers[1]
    gamma, beta, mean, variance = batch_norm.get_weights()
    batch_norm.set_weights([gamma, beta, mean, np.abs(variance) + 0.5])
    return model


def test_nadam_resumes_from_our_keras_file_as_tf_keras_from_its_own(tmp_path):
    """tf_keras keeps Nadam's u_product outside its variables (a reloaded model starts it at
    1) and traces the first train step after loading a `.keras` file twice (the compiled
    metrics are built in it). minikeras restored the u_product it writes for Keras 3 and
    traced once: the resumed losses differed from tf_keras' from the second step on."""
    case = "dense-nadam.tk.keras"
    keras.backend.clear_session()
    model = dense_model()
    model.compile(keras.optimizers.Nadam(learning_rate=0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    x, y = ARRAYS[f"{case}/x"], targets(case)
    model.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    keras.backend.clear_session()
    reloaded = keras.models.load_model(path)
    history = reloaded.fit(x, y, batch_size=6, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], FACTS[case]["loss_after_reload"], rtol=1e-5)
    for got, want in zip(reloaded.get_weights(), arrays(f"{case}/weights_after")):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def layer_entry(config, name):
    return next(entry for entry in config["config"]["layers"] if entry["name"] == name)


def test_custom_layer_entry_names_its_module_and_registered_name_as_keras3(tmp_path):
    """Keras 3 (and tf_keras) find a custom class by its registered name in `custom_objects`
    (the class name when unregistered) and write its Python module; minikeras wrote
    module 'keras.layers' and no registered name, so Keras 3 failed ("Could not deserialize
    'keras.layers.Scale'")."""
    case = fixture_path("files_resume", "custom-adam_amsgrad.k3.keras")
    with zipfile.ZipFile(case) as archive:
        theirs = json.loads(archive.read("config.json"))
    # The peer's class was defined in a script (`__main__`): no module to import.
    script_class = type("Scale", (Scale,), {"__module__": "__main__"})
    for cls, module in ((script_class, None), (Scale, Scale.__module__)):
        path = str(tmp_path / "m.keras")
        keras.backend.clear_session()
        inputs = keras.Input((4,))
        hidden = cls(2.0, name="scale")(keras.layers.Dense(3)(inputs))
        outputs = keras.layers.Lambda(lambda t: t * 0.5 + 1.0, name="lam")(hidden)
        keras.Model(inputs, outputs).save(path)
        with zipfile.ZipFile(path) as archive:
            ours = json.loads(archive.read("config.json"))
        assert layer_entry(ours, "scale")["registered_name"] == "Scale"
        assert layer_entry(ours, "scale")["module"] == module
        if cls is script_class:
            for name in ("scale", "lam", "dense"):
                for key in ("module", "class_name", "registered_name"):
                    assert layer_entry(ours, name)[key] == layer_entry(theirs, name)[key]
        reloaded = keras.models.load_model(path, custom_objects={"Scale": cls}, safe_mode=False)
        assert type(reloaded.get_layer("scale")) is cls
