"""Files between minikeras and tf_keras 2.21, round 4 (fixtures written by tf_keras with
benchmarks/fixture_recipes/files4.py from tests/fixtures/files4/files4_models.py):

- TF checkpoints (`save_weights` without `.h5`) of models compiled with
  `keras.optimizers.legacy.*`: tf's object graph for OptimizerV2 (`iter`, hyperparameter
  variables, slot variables referenced from the optimizer and keyed
  `<variable>/.OPTIMIZER_SLOT/optimizer/<slot>`), read and written; training resumes with tf's
  numbers;
- SavedModels of adapted lookup layers in tf_idf mode: the IDF weights are the variable
  `idf_weights` in the checkpoint (read), and go into the config with the vocabulary plus the
  variable (written, so tf_keras' strict restore matches);
- optimizer state loaded before `compile` (kept for it, as tf), `.h5` / `.keras` optimizer
  state that does not match the optimizer (restored and warned about as tf_keras / Keras 3);
- a model around every layer class both libraries export, in each file format both ways
  (layer_zoo.zip)."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path, minikeras_warnings_logged
from fixtures.files4 import files4_models as fm
from fixtures.files4 import zoo_cases
from minikeras.saving import tf_checkpoint

EXPECTED = np.load(fixture_path("files4", "expected.npz"))
with open(fixture_path("files4", "expected.json")) as _handle:
    EXPECTED_JSON = json.load(_handle)
with open(fixture_path("files4", "peer_reads_ours.json")) as _handle:
    PEER_READS_OURS = json.load(_handle)
with open(fixture_path("files4", "layer_zoo_peer_reads_ours.json")) as _handle:
    ZOO_PEER_READS_OURS = json.load(_handle)


def theirs_checkpoint(case):
    return fixture_path("files4", "legacy", case, "ckpt")


def graph_entries(prefix):
    """(full name, key) of every attribute and (original key, slot name, slot key) of every
    slot reference, in node order."""
    raw = tf_checkpoint.read_checkpoint(str(prefix))[tf_checkpoint.OBJECT_GRAPH_KEY]
    fields = [tf_checkpoint.parse_message(node) for node in
              tf_checkpoint.parse_message(raw).get(1, [])]
    attributes, key_of = [], {}
    for node_id, node in enumerate(fields):
        for attribute in node.get(2, []):
            parts = tf_checkpoint.parse_message(attribute)
            key = tf_checkpoint.first(parts, 3, b"").decode()
            attributes.append((tf_checkpoint.first(parts, 2, b"").decode(), key))
            key_of[node_id] = key
    slots = [(key_of[original], name, key_of[slot]) for node in tf_checkpoint.parse_object_graph(
        raw) for original, name, slot in node.slots]
    return attributes, slots


@pytest.mark.parametrize("case", sorted(fm.LEGACY_CASES))
def test_reads_legacy_optimizer_checkpoints_and_resumes_with_tf_numbers(case):
    keras.backend.clear_session()
    model = fm.legacy_model(keras, case)
    model.load_weights(theirs_checkpoint(case)).assert_consumed()
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_array_equal(weight, EXPECTED[f"{case}/w{i}"])
    assert [v.name for v in model.optimizer.weights] == \
        EXPECTED_JSON[case]["optimizer_weights"]
    for i, weight in enumerate(model.optimizer.get_weights()):
        np.testing.assert_array_equal(weight, EXPECTED[f"{case}/o{i}"])
    losses = fm.train(model, fm.STEPS_AFTER)
    np.testing.assert_allclose(losses, EXPECTED[f"{case}/losses_after"], rtol=1e-5, atol=1e-6)
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_allclose(weight, EXPECTED[f"{case}/after{i}"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", sorted(fm.LEGACY_CASES))
def test_writes_tf_keras_legacy_optimizer_checkpoints(case, tmp_path):
    keras.backend.clear_session()
    model = fm.legacy_model(keras, case)
    fm.train(model, fm.STEPS_BEFORE)
    model.save_weights(str(tmp_path / "ckpt"))
    assert graph_entries(tmp_path / "ckpt") == graph_entries(theirs_checkpoint(case))
    keras.backend.clear_session()
    reloaded = fm.legacy_model(keras, case)
    reloaded.load_weights(str(tmp_path / "ckpt")).assert_consumed()
    for ours, back in zip(model.optimizer.get_weights(), reloaded.optimizer.get_weights()):
        np.testing.assert_array_equal(ours, back)
    assert fm.train(reloaded, 1) == fm.train(model, 1)
    # tf_keras 2.21 loaded these files (written by the recipe's minikeras subprocess) into its
    # own compiled model and took 2 more steps with the numbers of its own continuation
    report = PEER_READS_OURS[case]
    assert report["loaded"] == "ok" and report["graph_entries_equal_tf"]
    assert report["weights_max_difference"] < 1e-6
    assert report["losses_max_difference"] < 1e-6 and report["after_max_difference"] < 1e-6


def test_legacy_hyperparameters_come_back_from_the_checkpoint_except_decay():
    """As tf: restored hyperparameter variables are used (learning rate, momentum); `decay`'s
    variable is not (tf decays from `_initial_decay`)."""
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.legacy.RMSprop(learning_rate=0.5, decay=0.9), "mse")
    model.load_weights(theirs_checkpoint("rmsprop"))
    optimizer = model.optimizer
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    assert optimizer.get_config()["decay"] == 0.9
    assert int(optimizer.iterations.numpy()) == fm.STEPS_BEFORE


def test_uncompiled_model_leaves_the_legacy_optimizer_state_unresolved():
    keras.backend.clear_session()
    model = fm.legacy_model(keras, "adam_amsgrad")
    bare = keras.Sequential.from_config(model.get_config())
    status = bare.load_weights(theirs_checkpoint("adam_amsgrad"))
    with pytest.raises(AssertionError, match="OPTIMIZER_SLOT|optimizer"):
        status.assert_consumed()
    status.expect_partial()
    for i, weight in enumerate(bare.get_weights()):
        np.testing.assert_array_equal(weight, EXPECTED[f"adam_amsgrad/w{i}"])


@pytest.mark.parametrize("case", fm.TEXT_CASES)
def test_reads_adapted_tf_idf_lookups_from_tf_keras_savedmodels(case):
    keras.backend.clear_session()
    model = keras.models.load_model(fixture_path("files4", "text", case))
    np.testing.assert_allclose(model.predict(fm.text_inputs(case), verbose=0),
                               EXPECTED[f"text/{case}/pred"], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", fm.TEXT_CASES)
def test_writes_adapted_tf_idf_lookups_that_tf_keras_reads(case, tmp_path):
    keras.backend.clear_session()
    model = fm.text_model(keras, case)
    predictions = model.predict(fm.text_inputs(case), verbose=0)
    np.testing.assert_allclose(predictions, EXPECTED[f"text/{case}/pred"], rtol=1e-6, atol=1e-6)
    model.save(str(tmp_path / "model"))
    keras.backend.clear_session()
    reloaded = keras.models.load_model(str(tmp_path / "model"))
    np.testing.assert_array_equal(reloaded.predict(fm.text_inputs(case), verbose=0),
                                  predictions)
    report = PEER_READS_OURS[f"text/{case}"]
    assert report["loaded"] == "ok" and report["max_prediction_difference"] < 1e-6


@pytest.mark.parametrize("case", sorted(fm.LEGACY_CASES) + sorted(fm.CURRENT_CASES))
def test_optimizer_state_loaded_before_compile_is_restored_by_compile(case):
    """tf keeps the optimizer values of a checkpoint loaded into an uncompiled model and
    restores them into the optimizer `compile` sets (the resume-training idiom
    `model.load_weights(ckpt); model.compile(...); model.fit(...)`)."""
    want = EXPECTED_JSON[case]["load_before_compile"]
    keras.backend.clear_session()
    model = fm.legacy_model(keras, case, compiled=False)
    status = model.load_weights(theirs_checkpoint(case))
    with pytest.raises(AssertionError) as info:
        status.assert_consumed()
    assert str(info.value).startswith(want["assert_consumed_before_compile"])
    fm.compile_model(keras, model, case)
    assert int(model.optimizer.iterations.numpy()) == want["iterations_after_compile"]
    np.testing.assert_allclose(fm.train(model, fm.STEPS_AFTER), want["losses"], rtol=1e-5,
                               atol=1e-6)
    for got, wanted in zip(model.get_weights(), want["weights"]):
        np.testing.assert_allclose(got, np.asarray(wanted, np.float32), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("order", fm.LOAD_ORDERS)
@pytest.mark.parametrize("case", fm.SUBCLASSED_CASES)
def test_subclassed_model_given_a_checkpoint_before_its_first_call(case, order):
    """tf restores the step count as soon as the optimizer and the checkpoint are both there
    (before the model's variables exist), the weights at the first call, the slots at the
    first step."""
    want = EXPECTED_JSON[f"subclassed_{case}_{order}"]
    prefix = fixture_path("files4", "legacy", f"subclassed_{case}", "ckpt")
    keras.backend.clear_session()
    model = fm.subclassed_model(keras)
    if order == "load_then_compile":
        model.load_weights(prefix)
        fm.compile_model(keras, model, case)
    else:
        fm.compile_model(keras, model, case)
        model.load_weights(prefix)
    assert int(model.optimizer.iterations.numpy()) == want["iterations_before_first_call"]
    np.testing.assert_allclose(fm.train(model, fm.STEPS_AFTER), want["losses"], rtol=1e-5,
                               atol=1e-6)
    for got, wanted in zip(model.get_weights(), want["weights"]):
        np.testing.assert_allclose(got, np.asarray(wanted, np.float32), rtol=1e-5, atol=1e-6)


def test_optimizer_state_never_compiled_is_warned_about_when_the_model_goes():
    """As tf: nothing is said when the status is dropped (compile may still come); the values
    the model never restored are listed when it goes."""
    import gc
    with minikeras_warnings_logged() as messages:
        keras.backend.clear_session()
        model = fm.legacy_model(keras, "current_adam", compiled=False)
        model.load_weights(theirs_checkpoint("current_adam"))
        gc.collect()
        assert not messages
        del model
        gc.collect()
        assert any("deleted with unrestored values" in m for m in messages)
        assert "Value in checkpoint could not be found in the restored object: " \
               "(root).optimizer._iterations" in messages


@pytest.mark.parametrize("legacy", [False, True], ids=["current", "legacy"])
@pytest.mark.parametrize("edit", fm.H5_EDITS)
def test_h5_optimizer_state_that_does_not_match_is_restored_as_tf_keras_does(
        legacy, edit, tmp_path):
    """A current optimizer zips the saved list with its variables (extra or missing entries at
    the end are ignored; a shape mismatch stops there and warns); a legacy one takes all or
    nothing. The warning's text is tf.keras' loader's."""
    import warnings
    want = EXPECTED_JSON[f"h5_{'legacy' if legacy else 'current'}_{edit}"]
    keras.backend.clear_session()
    path = str(tmp_path / "model.h5")
    fm.h5_optimizer_model(keras, legacy).save(path)
    fm.edit_optimizer_weights(path, edit)
    keras.backend.clear_session()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimizer = keras.models.load_model(path).optimizer
    assert [str(w.message) for w in caught if "optimizer" in str(w.message)] == want["warnings"]
    values = [np.asarray(v.numpy()) for v in optimizer.variables]
    assert len(values) == len(want["values"])
    for got, wanted in zip(values, want["values"]):
        np.testing.assert_allclose(got, np.asarray(wanted, got.dtype), rtol=1e-5, atol=1e-7)


def test_keras_file_optimizer_count_mismatch_warns_with_keras_text(tmp_path):
    """Keras 3's (and tf_keras') `load_own_variables` warning when `optimizer/vars` holds
    another number of variables than the optimizer has; the optimizer stays fresh."""
    import warnings
    import zipfile

    import h5py
    keras.backend.clear_session()
    model = fm.h5_optimizer_model(keras, legacy=False)
    model.save(str(tmp_path / "m.keras"))
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    (tmp_path / "w.h5").write_bytes(members["model.weights.h5"])
    with h5py.File(tmp_path / "w.h5", "r+") as handle:
        stored = handle["optimizer/vars"]
        count = len(stored)
        for index in (count - 1, count - 2):
            del stored[str(index)]
    members["model.weights.h5"] = (tmp_path / "w.h5").read_bytes()
    with zipfile.ZipFile(tmp_path / "edited.keras", "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = keras.models.load_model(str(tmp_path / "edited.keras"))
    assert [str(w.message) for w in caught if "optimizer" in str(w.message)] == [
        f"Skipping variable loading for optimizer 'Adam', because it has {count} variables "
        f"whereas the saved optimizer has {count - 2} variables. "]
    assert int(loaded.optimizer.iterations.numpy()) == 0


# --- every shared layer class in the files of each library ------------------------------------
def _zoo_members():
    import zipfile
    with zipfile.ZipFile(fixture_path("files4", "layer_zoo.zip")) as archive:
        return set(archive.namelist())


ZOO_CASES = {case["id"]: case for case in zoo_cases.CASES}
# Keras 3.15's RandomCrop returns its input uncropped at inference (its output shape says
# cropped): minikeras crops as tf.keras does, whoever wrote the file.
ZOO_KERAS3_DIFFERS = {"RandomCrop"}
ZOO_FILES = [(cid, suffix) for cid in sorted(ZOO_CASES)
             for suffix in ("tk.h5", "tk.keras", "k3.keras")
             if f"{cid}.{suffix}" in _zoo_members()
             and not (suffix == "k3.keras" and cid in ZOO_KERAS3_DIFFERS)]


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory):
    import zipfile
    directory = tmp_path_factory.mktemp("layer_zoo")
    with zipfile.ZipFile(fixture_path("files4", "layer_zoo.zip")) as archive:
        archive.extractall(directory)
    return directory


def _first_output(prediction):
    return np.asarray(prediction[0] if isinstance(prediction, list) else prediction)


def _zoo_input(data, case):
    xs = [data[f"x{i}"] for i in range(len(case["shapes"]))]
    return xs if len(xs) > 1 else xs[0]


@pytest.mark.parametrize("cid, suffix", ZOO_FILES, ids=[f"{c}.{s}" for c, s in ZOO_FILES])
def test_reads_each_layer_from_each_peer_file(cid, suffix, zoo_dir):
    """tf_keras' .h5 and .keras and Keras 3's .keras of a model around each shared layer class
    load and predict what their writer predicted (Keras 2's hard_sigmoid in tf_keras files,
    Keras 3's in Keras 3's)."""
    import warnings
    case = ZOO_CASES[cid]
    data = np.load(zoo_dir / f"{cid}.npz")
    keras.backend.clear_session()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.models.load_model(str(zoo_dir / f"{cid}.{suffix}"))
    want = data["k3" if suffix.startswith("k3") else "tk"]
    np.testing.assert_allclose(_first_output(model.predict(_zoo_input(data, case), verbose=0)),
                               want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cid", sorted(ZOO_CASES))
def test_writes_each_layer_in_files_tf_keras_reads(cid, zoo_dir):
    """Our model equals tf_keras' (same seeded weights: same predictions), and tf_keras 2.21
    read the .h5 and SavedModel minikeras writes for it with the same predictions (recorded by
    the recipe); our own .h5 reads back."""
    import warnings
    case = ZOO_CASES[cid]
    data = np.load(zoo_dir / f"{cid}.npz")
    keras.backend.clear_session()
    model = zoo_cases.build(keras, case)
    prediction = _first_output(model.predict(_zoo_input(data, case), verbose=0))
    np.testing.assert_allclose(prediction, data["tk"], rtol=1e-5, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(zoo_dir / f"{cid}.ours.h5"))
        back = keras.models.load_model(str(zoo_dir / f"{cid}.ours.h5"))
    np.testing.assert_array_equal(
        _first_output(back.predict(_zoo_input(data, case), verbose=0)), prediction)
    for kind, difference in ZOO_PEER_READS_OURS[cid].items():
        assert isinstance(difference, float) and difference <= 1e-5, (kind, difference)
