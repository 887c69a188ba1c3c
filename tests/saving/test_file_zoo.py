"""The file zoo (tests/fixtures/file_zoo): 30 small models written by real tf_keras 2.21
(legacy `.h5` whole model and weights, and its own `.keras` / `.weights.h5`) and Keras 3.15
(`.keras`, `.weights.h5`) with fixed random weights. Every file loads in minikeras
(load_model, or load_weights into the same architecture built by minikeras) and predicts what
the writing library predicted; compiled models come back compiled with their optimizer state,
and one more train step gives the weights the writer gets from its own file."""
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from fixtures.file_zoo import zoo_models
from fixtures.cross_reader.spelling import as_keras3_spelling

EXPECTED = np.load(fixture_path("file_zoo", "expected.npz"))
# The writer of each kind of file: tf_keras ("tk": legacy .h5 files and its own native .keras /
# .weights.h5) or Keras 3 ("k3").
TAGS = {"tk.h5": "tk", "tk_weights.h5": "tk", "tk.keras": "tk", "tk.weights.h5": "tk",
        "k3.keras": "k3", "k3.weights.h5": "k3"}
# Whose reloaded model a whole-model file's predictions and next train step are compared with.
READER = {"tk.h5": "tk", "tk.keras": "tkk", "k3.keras": "k3"}


def zoo_file(name, kind):
    return fixture_path("file_zoo", f"{name}.{kind}")


def arrays(prefix):
    count = 0
    while f"{prefix}/{count}" in EXPECTED or f"{prefix}/{count:03d}" in EXPECTED:
        count += 1
    return [EXPECTED[f"{prefix}/{i}"] if f"{prefix}/{i}" in EXPECTED else
            EXPECTED[f"{prefix}/{i:03d}"] for i in range(count)]


def saved_weights(name, tag):
    """The weights each writer saved (the compiled models trained a little first)."""
    return arrays(f"{name}/saved/{tag}") if name in zoo_models.COMPILED else \
        arrays(f"{name}/w")


def targets(name):
    y = arrays(f"{name}/y_train")
    return y[0] if len(y) == 1 else y


def load_model(path, **kwargs):
    # Lambda layers hold Python code: loading them takes safe_mode=False (Keras 3 too).
    return keras.models.load_model(path, safe_mode="lambda_layer" not in path, **kwargs)


def assert_close(got, want, what):
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        assert g.dtype == np.float32, what
        scale = max(1.0, float(np.abs(w).max()))
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=2e-6 * scale, err_msg=what)


def assert_predicts(model, name, tag):
    prediction = model.predict(arrays(f"{name}/x"), verbose=0)
    assert_close(prediction, arrays(f"{name}/pred/{tag}"), f"{name} predictions ({tag})")
    return prediction


@pytest.mark.parametrize("kind", ["tk.h5", "tk.keras", "k3.keras"])
@pytest.mark.parametrize("name", list(zoo_models.MODELS))
def test_load_model(name, kind):
    model = load_model(zoo_file(name, kind))
    for got, want in zip(model.get_weights(), saved_weights(name, TAGS[kind])):
        np.testing.assert_array_equal(got, want)
    assert_predicts(model, name, READER[kind])


# (tf_keras' weights-only files are kept for a subset of the zoo, to keep the fixtures small.)
WEIGHT_FILES = [(name, kind) for name in zoo_models.MODELS
                for kind in ("tk_weights.h5", "tk.h5", "tk.weights.h5", "tk.keras",
                             "k3.weights.h5", "k3.keras")
                if os.path.exists(zoo_file(name, kind))]


@pytest.mark.parametrize("name, kind", WEIGHT_FILES)
def test_load_weights_into_same_architecture(name, kind):
    model = zoo_models.build(name, keras)
    model.load_weights(zoo_file(name, kind))
    for got, want in zip(model.get_weights(), saved_weights(name, TAGS[kind])):
        np.testing.assert_array_equal(got, want)
    # Built with Keras 2 defaults, the model predicts what tf_keras predicts with the same
    # weights (Keras 3 changed a few defaults, e.g. ConvLSTM2D's recurrent activation); the
    # compiled models trained before saving, so each writer saved other weights.
    assert_predicts(model, name, TAGS[kind] if name in zoo_models.COMPILED else "tk")


# Keras 3's Nadam multiplies its u_product once per step; tf.keras' traced train step (which
# minikeras reproduces) once per variable: the step after loading cannot be Keras 3's.
KERAS3_UPDATE_RULE_DIFFERS = {("compiled_multi", "k3.keras")}


@pytest.mark.parametrize("kind", ["tk.h5", "tk.keras", "k3.keras"])
@pytest.mark.parametrize("name", zoo_models.COMPILED)
def test_compiled_model_resumes_training(name, kind):
    if (name, kind) in KERAS3_UPDATE_RULE_DIFFERS:
        pytest.skip("Keras 3's Nadam update differs from tf.keras'")
    tag, reader = TAGS[kind], READER[kind]
    model = load_model(zoo_file(name, kind))
    assert model.optimizer is not None
    reference = zoo_models.build(name, keras).optimizer
    assert type(model.optimizer) is type(reference)
    assert int(model.optimizer.iterations.numpy()) == int(EXPECTED[f"{name}/iterations/{tag}"]) - 1
    model.train_on_batch(arrays(f"{name}/x_train"), targets(name))
    # The writer's own step after loading its file (`reload_next`): tf_keras does not save
    # everything (Nadam's u_product), so its reloaded model may step unlike the live one.
    for weight, want in zip(model.weights, arrays(f"{name}/reload_next/{reader}")):
        if tag == "k3" and "moving_variance" in weight.name:
            continue    # Keras 3 moves it towards the biased batch variance, tf.keras unbiased
        np.testing.assert_allclose(weight.numpy(), want, rtol=1e-5, atol=1e-6,
                                   err_msg=weight.name)


# --- the reverse direction: what minikeras writes has the structure real Keras wrote ---------
# (A peer check, /work/peer_recipes/check_minikeras_zoo.py, loaded minikeras' files of the zoo
# with tf_keras 2.21 and Keras 3.15 and compared predictions and the next train step; these
# tests keep the structure those readers need.)
def built_like_the_writer(name):
    """The zoo model in minikeras with the weights the writers saved."""
    model = zoo_models.build(name, keras)
    model.load_weights(zoo_file(name, "tk.h5"))
    if name in zoo_models.COMPILED:     # optimizer state, as the writer had it when saving
        model.fit(arrays(f"{name}/x_train"), targets(name), batch_size=4,
                  epochs=1, shuffle=False, verbose=0)
    return model


def h5_tree(group):
    """{path: shape} of every dataset and {path: attribute names} of every group."""
    import h5py
    tree = {}

    def visit(path, obj):
        tree[path] = tuple(obj.shape) if isinstance(obj, h5py.Dataset) else sorted(obj.attrs)
    group.visititems(visit)
    return tree


def keras_zip(path):
    import io
    import json
    import zipfile

    import h5py
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    return config, weights


def layer_entries(config):
    return config["config"]["layers"]


def tensor_refs(node, names):
    """(where, layer position, node index, tensor index) of every tensor a Keras 3 node uses."""
    found = []

    def walk(value, where):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            name, node_index, tensor_index = value["config"]["keras_history"]
            found.append((where, names.index(name), node_index, tensor_index))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, where if where != "kwargs" else key)
        elif isinstance(value, list):
            for item in value:
                walk(item, where)
    walk(node.get("args", []), "args")
    walk(node.get("kwargs", {}), "kwargs")
    return found


def config_keys(entry):
    return set(entry["config"]) - {"name"}


@pytest.mark.parametrize("name", list(zoo_models.MODELS))
def test_keras_file_has_the_structure_keras3_writes(name, tmp_path):
    model = built_like_the_writer(name)
    path = str(tmp_path / "model.keras")
    model.save(path)
    ours, our_weights = keras_zip(path)
    ours = as_keras3_spelling(ours)    # (we write spellings tf_keras reads too)
    theirs, their_weights = keras_zip(zoo_file(name, "k3.keras"))
    with our_weights, their_weights:
        assert h5_tree(our_weights) == h5_tree(their_weights)
    assert ours["class_name"] == theirs["class_name"]
    assert bool(ours.get("compile_config")) == bool(theirs.get("compile_config"))
    for key in ("input_layers", "output_layers"):     # a bare reference when there is one
        if key in theirs["config"]:
            assert len(ours["config"][key]) == len(theirs["config"][key])
    if ours.get("compile_config"):
        optimizer, reference = (c["compile_config"]["optimizer"] for c in (ours, theirs))
        assert set(optimizer["config"]) <= set(reference["config"]) | {"name"}
    if "layers" not in theirs["config"]:
        return
    # Keras 3 records some masks (Embedding(mask_zero=True), Masking) as operation nodes, and
    # arithmetic on symbolic tensors as operations where tf.keras records TFOpLambda layers.
    their_layers = [e for e in layer_entries(theirs)
                    if not str(e.get("module")).startswith("keras.src.ops")]
    same_graph = len(their_layers) == len(layer_entries(theirs))
    if not same_graph:
        return
    our_layers = layer_entries(ours)
    assert [e["class_name"] for e in our_layers] == [e["class_name"] for e in their_layers]
    our_names = [e.get("name", e["config"]["name"]) for e in our_layers]
    their_names = [e.get("name", e["config"]["name"]) for e in their_layers]
    for our, their in zip(our_layers, their_layers):
        # Keras 3 refuses keys it does not know; it adds some of its own (defaults).
        # (Keras 3 accepts `activity_regularizer` and LSTM/GRU's `implementation` although
        # it does not always write them.)
        unknown = config_keys(our) - config_keys(their) - {"activity_regularizer",
                                                          "implementation"}
        assert not unknown, f"{our['class_name']}: keys Keras 3 does not write: {unknown}"
        for key in ("axis", "negative_slope"):
            if isinstance(their["config"].get(key), (int, float)):
                assert isinstance(our["config"][key], (int, float)), (our["class_name"], key)
        if "inbound_nodes" in their:
            assert [tensor_refs(n, our_names) for n in our["inbound_nodes"]] == \
                [tensor_refs(n, their_names) for n in their["inbound_nodes"]], our["class_name"]
        if "build_config" in our and "input_shape" in their.get("build_config", {}):
            assert our["build_config"] == their["build_config"], our["class_name"]


@pytest.mark.parametrize("name", list(zoo_models.MODELS))
def test_legacy_h5_has_the_structure_tf_keras_writes(name, tmp_path):
    import h5py
    import json
    model = built_like_the_writer(name)
    path = str(tmp_path / "model.h5")
    with pytest.warns(UserWarning, match="legacy"):
        model.save(path)
    weights_path = str(tmp_path / "weights.h5")
    model.save_weights(weights_path)
    reference_weights = zoo_file(name, "tk_weights.h5")
    with h5py.File(path, "r") as ours, h5py.File(zoo_file(name, "tk.h5"), "r") as theirs:
        assert h5_tree(ours["model_weights"]) == h5_tree(theirs["model_weights"])
        assert ("optimizer_weights" in ours) == ("optimizer_weights" in theirs)
        if "optimizer_weights" in theirs:
            assert h5_tree(ours["optimizer_weights"]) == h5_tree(theirs["optimizer_weights"])
            assert list(ours["optimizer_weights"].attrs["weight_names"]) == \
                list(theirs["optimizer_weights"].attrs["weight_names"])
        for group in ("model_weights",):
            assert list(ours[group].attrs["layer_names"]) == \
                list(theirs[group].attrs["layer_names"])
        our_config, their_config = (json.loads(f.attrs["model_config"]) for f in (ours, theirs))
        assert our_config["class_name"] == their_config["class_name"]
        for our, their in zip(our_config["config"]["layers"], their_config["config"]["layers"]):
            assert our["class_name"] == their["class_name"]
            unknown = config_keys(our) - config_keys(their)
            assert not unknown, f"{our['class_name']}: keys tf_keras does not write: {unknown}"
            assert our.get("inbound_nodes") == their.get("inbound_nodes"), our["class_name"]
    if not os.path.exists(reference_weights):
        return
    with h5py.File(weights_path, "r") as ours, h5py.File(reference_weights, "r") as theirs:
        assert h5_tree(ours) == h5_tree(theirs)
        for layer in theirs.attrs["layer_names"]:
            assert list(ours[layer].attrs["weight_names"]) == \
                list(theirs[layer].attrs["weight_names"])
