"""The cross-reader matrix (fid-kfmt): files minikeras writes, read by tf_keras 2.21 and
Keras 3.15, over the zoo of tests/fixtures/cross_reader/zoo.py.

The peers' verdicts come from benchmarks/fixture_recipes/cross_reader.py (peer reads happen
only there): tests/fixtures/cross_reader/verdicts.json holds, per writer (minikeras, tf_keras),
reader (minikeras, tf_keras, Keras 3) and format, whether the file loaded, how far its
predictions were from the writer's and the losses of STEPS_AFTER train steps after loading it.
Here:
- our `.keras` config.json uses the spellings tf_keras 2.21 reads (tf_keras_configs.json: its
  own config.json of each zoo model): InputLayer's `batch_input_shape`, dtypes by name,
  tf.keras' call nodes, a `Functional` module tf_keras imports; where the two readers need
  different files (KNOWN_CONFLICTS), Keras 3's nodes and configs (`.keras` is its format);
- every file minikeras writes, read back by minikeras, predicts what the writer predicted and
  trains on to the losses tf_keras reached from the same file (Keras 3, and tf_keras from a
  `.keras` file whose optimizer group is in Keras 3's layout: the first loss); a peer fails
  to load our file only where it fails on tf_keras' own file of that cell, or where the two
  readers need different files (KNOWN_CONFLICTS: then tf_keras);
- we read tf_keras' own `.keras` configs of the zoo.
"""
import json
import zipfile

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from fixtures.cross_reader import zoo
from minikeras.saving import keras3_config

with open(fixture_path("cross_reader", "verdicts.json")) as _handle:
    VERDICTS = json.load(_handle)
with open(fixture_path("cross_reader", "tf_keras_configs.json")) as _handle:
    TF_KERAS_CONFIGS = json.load(_handle)

FILE_NAMES = {"legacy_h5": "model.h5", "weights_h5": "weights.h5",
              "weights_v3": "model.weights.h5", "keras_v3": "model.keras",
              "savedmodel": "savedmodel", "tf_checkpoint": "ckpt/weights"}
MODEL_FORMATS = ("legacy_h5", "keras_v3", "savedmodel")
# Cells where tf_keras cannot read what we write although it reads its own file there: what
# tf_keras needs, Keras 3 refuses, and `.keras` files follow Keras 3 (DESIGN.md, "One .keras
# file for tf_keras and Keras 3"); such a model keeps Keras 3's nodes and configs.
KNOWN_CONFLICTS = {
    ("nested_sequential", "keras_v3", "tf_keras"): "a nested model's calls counted from 0",
    ("mha", "keras_v3", "tf_keras"): "no query_shape / value_shape / key_shape in the config",
    ("lambda_layer", "keras_v3", "tf_keras"): "Keras 3's Lambda config",
}
KERAS3_NODES = {name for name, _, _ in KNOWN_CONFLICTS}
# Keras 3 computes otherwise from the same weights (not a file question): Keras 2's
# hard_sigmoid recurrent activation; string inputs (NumPy object arrays) it cannot take.
KERAS3_OTHER_NUMBERS = {"conv_lstm", "string_lookup"}
# Left (report of fid-kfmt): Nadam resumed from a `.keras` file / TF checkpoint of a Sequential
# holding a functional model takes a second step other than tf_keras' (2e-3 / 8e-5 relative),
# in both directions (tf_keras' files read by minikeras too): its `u_product` trace count.
# Only the first loss (the weights) is compared there.
NADAM_RESUME_DIFFERS = {("nested_functional", "keras_v3"), ("nested_functional", "tf_checkpoint")}


def built(name):
    keras.backend.clear_session()
    model, custom = zoo.build(keras, name)
    zoo.set_seeded_weights(model)
    x, y = zoo.inputs(name), zoo.targets(keras, model)
    for _ in range(zoo.STEPS_BEFORE):
        model.train_on_batch(x, y)
    return model, custom


def keras_config(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def _single(refs):
    """tf_keras writes one input/output as a list of one reference; we write it bare (Keras 3
    would return a list of one array otherwise; tf_keras reads both)."""
    return refs[0] if isinstance(refs, list) and len(refs) == 1 and \
        isinstance(refs[0], list) else refs


def _layers(config):
    return config["config"]["layers"]


def _assert_same_spellings(ours, theirs, where):
    assert ours["class_name"] == theirs["class_name"], where
    our_config, their_config = ours["config"], theirs["config"]
    if ours["class_name"] == "InputLayer":
        assert set(our_config) == set(their_config), where
        assert our_config["batch_input_shape"] == their_config["batch_input_shape"], where
    if isinstance(their_config.get("dtype"), str):
        assert our_config["dtype"] == their_config["dtype"], where
    if "inbound_nodes" in theirs:
        assert ours["inbound_nodes"] == theirs["inbound_nodes"], where
    if isinstance(their_config.get("layers"), list):
        assert [e["class_name"] for e in _layers(ours)] == \
            [e["class_name"] for e in _layers(theirs)], where
        for our_layer, their_layer in zip(_layers(ours), _layers(theirs)):
            _assert_same_spellings(our_layer, their_layer,
                                   f"{where} > {their_layer['config'].get('name')}")
        for key in ("input_layers", "output_layers"):
            if key in their_config:
                assert _single(our_config[key]) == _single(their_config[key]), (where, key)


@pytest.mark.parametrize("name", sorted(set(TF_KERAS_CONFIGS) - KERAS3_NODES))
def test_keras_file_uses_the_spellings_tf_keras_reads(name, tmp_path):
    """tf_keras 2.21 could read none of our `.keras` files: Keras 3's InputLayer `batch_shape`,
    `DTypePolicy` dtypes, `{"args", "kwargs"}` nodes and `keras.src.models.functional`
    module are unknown to it. Each has a spelling both libraries read, the one tf_keras
    writes (its own config.json of the same model is the reference)."""
    model, _ = built(name)
    model.save(tmp_path / "m.keras")
    ours, theirs = keras_config(tmp_path / "m.keras"), TF_KERAS_CONFIGS[name]
    _assert_same_spellings(ours, theirs, name)
    if ours["class_name"] == "Functional":
        # tf_keras imports `tf_` + module, Keras 3 the module: both have `Functional` there.
        assert ours["module"] == "keras.src.models"
    assert "DTypePolicy" not in json.dumps(ours)


def _node_forms(entry):
    forms = set()
    for layer in entry["config"]["layers"]:
        forms.update(type(node).__name__ for node in layer.get("inbound_nodes") or ())
        if isinstance(layer.get("config"), dict) and "layers" in layer["config"]:
            forms |= _node_forms(layer)
    return forms


@pytest.mark.parametrize("name", sorted(KERAS3_NODES))
def test_models_no_file_serves_both_keep_keras3_nodes(name, tmp_path):
    """A nested model called in a graph, a Lambda, a MultiHeadAttention: Keras 3 cannot read
    tf.keras' form of them, so the whole file keeps Keras 3's `{"args", "kwargs"}` nodes."""
    model, _ = built(name)
    model.save(tmp_path / "m.keras")
    ours = keras_config(tmp_path / "m.keras")
    assert _node_forms(ours) <= {"dict"}
    configs = [layer["config"] for layer in ours["config"]["layers"]]
    assert not any("function_type" in config or "query_shape" in config for config in configs)


def _read_as_the_peers_did(name, directory, fmt):
    path = str(directory / FILE_NAMES[fmt])
    keras.backend.clear_session()
    model, custom = zoo.build(keras, name, compiled=fmt not in MODEL_FORMATS)
    if fmt in MODEL_FORMATS:
        kwargs = {"safe_mode": False} if fmt == "keras_v3" else {}
        model = keras.models.load_model(path, custom_objects=custom, **kwargs)
    else:
        model.load_weights(path)
    x, y = zoo.inputs(name), zoo.targets(keras, model)
    predictions = model.predict(x, verbose=0)
    losses = [float(np.sum(model.train_on_batch(x, y))) for _ in range(zoo.STEPS_AFTER)]
    return predictions, losses


def _write_all(model, directory):
    (directory / "ckpt").mkdir()
    model.save(str(directory / FILE_NAMES["legacy_h5"]))
    model.save_weights(str(directory / FILE_NAMES["weights_h5"]))
    model.save_weights(str(directory / FILE_NAMES["weights_v3"]))
    model.save(str(directory / FILE_NAMES["keras_v3"]))
    model.save(str(directory / FILE_NAMES["savedmodel"]))
    model.save_weights(str(directory / FILE_NAMES["tf_checkpoint"]))


def _peer_verdicts(name, fmt):
    """{reader: (verdict on our file, verdict on tf_keras' own file)} of one cell."""
    ours, theirs = VERDICTS[name]["minikeras"], VERDICTS[name]["tf_keras"]
    return {reader: (ours[reader][fmt], theirs[reader][fmt])
            for reader in ("tf_keras", "keras3") if fmt in ours[reader]}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_peers_read_our_files_and_train_on_to_our_losses(name, tmp_path):
    """Every cell of the matrix: the peers loaded our file wherever they load tf_keras' own
    (but for KNOWN_CONFLICTS), predicted what the writer predicted (to float32 round-off), and
    tf_keras' losses in the steps it trained after loading are the ones minikeras reaches from
    its own file (Keras 3: the first one)."""
    model, _ = built(name)
    x = zoo.inputs(name)
    live = model.predict(x, verbose=0)
    _write_all(model, tmp_path)
    tolerance = 2e-3 if name == "mixed_float16" else 2e-5
    for fmt in FILE_NAMES:
        predictions, losses = _read_as_the_peers_did(name, tmp_path, fmt)
        for got, want in zip(predictions if isinstance(predictions, list) else [predictions],
                             live if isinstance(live, list) else [live]):
            np.testing.assert_allclose(got, want, atol=tolerance, err_msg=fmt)
        for reader, (verdict, baseline) in _peer_verdicts(name, fmt).items():
            where = (name, fmt, reader, verdict.get("error"))
            if reader == "keras3" and name in KERAS3_OTHER_NUMBERS:
                continue
            if not verdict["loads"]:
                # (Keras 3 reads no `.keras` file of tf_keras: ours it must read)
                peer_fails_too = not baseline["loads"] and (fmt, reader) != ("keras_v3", "keras3")
                assert peer_fails_too or (name, fmt, reader) in KNOWN_CONFLICTS, where
                continue
            assert (name, fmt, reader) not in KNOWN_CONFLICTS, where
            assert verdict["prediction_diff"] < tolerance, where
            steps = len(losses) if reader == "tf_keras" and fmt != "keras_v3" and \
                (name, fmt) not in NADAM_RESUME_DIFFERS else 1
            np.testing.assert_allclose(losses[:steps], verdict["losses"][:steps],
                                       rtol=tolerance, atol=1e-6, err_msg=str(where))


@pytest.mark.parametrize("name", sorted(TF_KERAS_CONFIGS))
def test_reads_tf_keras_keras_configs_of_the_zoo(name):
    """The reverse direction for `.keras` configs: tf_keras 2.21's config.json of each zoo model
    makes the same model here (layer classes, weight shapes)."""
    theirs = keras3_config.deserialize_model(
        TF_KERAS_CONFIGS[name], custom_objects=zoo.build(keras, name, compiled=False)[1],
        safe_mode=False)
    ours, _ = zoo.build(keras, name, compiled=False)
    assert [type(layer).__name__ for layer in theirs.layers] == \
        [type(layer).__name__ for layer in ours.layers]
    assert [tuple(w.shape) for w in theirs.weights] == [tuple(w.shape) for w in ours.weights]


def test_optimizer_state_is_written_in_keras3_order(tmp_path):
    """No optimizer group serves both readers (each skips, with a warning, a group whose
    length is not its own): `.keras` follows Keras 3, iterations, the learning rate, then each
    variable's slots, and we restore it."""
    import io
    import h5py
    model, _ = built("seq_mlp")      # Adam: iterations, learning rate, m and v of 4 variables
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        weights = archive.read("model.weights.h5")
    with h5py.File(io.BytesIO(weights), "r") as h5file:
        stored = h5file["optimizer/vars"]
        values = [np.asarray(stored[str(i)]) for i in range(len(stored))]
    slots = [np.asarray(v) for v in model.optimizer.variables]   # iterations, then the slots
    assert len(values) == len(slots) + 1 == 2 + 2 * len(model.trainable_weights)
    np.testing.assert_array_equal(values[0], slots[0])
    np.testing.assert_allclose(values[1], 0.01)                  # the learning rate
    for value, want in zip(values[2:], slots[1:]):
        np.testing.assert_array_equal(value, want)
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    assert int(reloaded.optimizer.iterations) == zoo.STEPS_BEFORE
    for got, want in zip(reloaded.optimizer.variables, slots):
        np.testing.assert_array_equal(np.asarray(got), want)
