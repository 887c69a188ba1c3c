"""tf.keras 2's default weights format, the TensorFlow checkpoint (`save_weights('ckpt/cp')`).

Fixtures (tests/fixtures/ckpt/, recipe benchmarks/fixture_recipes/ckpt.py): checkpoints that
tf_keras 2.21 wrote for the models of ckpt_models.py, their weights, optimizer variables and the
weights after one more batch; `peer_reads_ours.json` records tf_keras reading the checkpoints
minikeras writes (`assert_consumed()` passing, byte-identical when tf_keras writes them back).
Here: minikeras reads theirs, and what it writes parses to the same keys, values and object
graph as theirs (read with minikeras' own reader)."""
import json
import os
import struct

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path, minikeras_warnings_logged
from fixtures.ckpt import ckpt_models as cm
from minikeras.core import wire_format
from minikeras.saving import file_io, tf_bundle, tf_checkpoint

EXPECTED = np.load(fixture_path("ckpt", "expected.npz"))
PEER_READS_OURS = json.load(open(fixture_path("ckpt", "peer_reads_ours.json")))
TRAINED = [case for case in cm.CASES if cm.TRAINED[case]]


def expected(case, kind):
    values, index = [], 0
    while f"{case}/{kind}{index}" in EXPECTED:
        values.append(EXPECTED[f"{case}/{kind}{index}"])
        index += 1
    return values


def theirs(case):
    return fixture_path("ckpt", case, "ckpt")


def assert_all_equal(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def optimizer_values(model):
    return [np.asarray(v.data) for v in model.optimizer.variables]


# --- a reader of our own: what a checkpoint holds, independent of node numbering -------------
def parsed(prefix):
    """{key: (dtype, shape, bytes)} and the set of (path, key) of every value-holding node
    reached from the root (the graph as tf's matcher sees it), and the variables' data order."""
    with open(prefix + ".index", "rb") as handle:
        entries, shards = tf_bundle.read_bundle_index(handle.read())
    assert shards == 1
    with open(prefix + tf_checkpoint.DATA_SUFFIX, "rb") as handle:
        data = handle.read()
    tensors = {key: (e["dtype"], e["shape"], data[e["offset"]:e["offset"] + e["size"]])
               for key, e in entries.items() if key != tf_checkpoint.OBJECT_GRAPH_KEY}
    nodes = tf_checkpoint.parse_object_graph(
        tf_checkpoint.read_checkpoint(prefix)[tf_checkpoint.OBJECT_GRAPH_KEY])
    paths, queue, seen = set(), [(0, ())], set()
    while queue:
        node_id, path = queue.pop(0)
        for _, key in nodes[node_id].keys:
            paths.add((path, key))
        if node_id in seen:
            continue
        seen.add(node_id)
        queue.extend((child, path + (name,)) for name, child in nodes[node_id].children)
    order = sorted(tensors, key=lambda key: entries[key]["offset"])
    return tensors, paths, order


def model_like_theirs(case):
    """A minikeras model holding tf_keras' saved values (read from the expected arrays, not
    from their checkpoint), its optimizer built the way a fit builds it."""
    model, x, y = cm.build(keras, case)
    model.set_weights(expected(case, "w"))
    if cm.TRAINED[case]:
        model.optimizer.build(model.trainable_weights)
        model.optimizer._built = True
        for variable, value in zip(model.optimizer.variables, expected(case, "o")):
            variable.assign(value)
        if f"{case}/u_product" in EXPECTED:
            model.optimizer._u_product = np.float32(EXPECTED[f"{case}/u_product"])
        schedule = model.optimizer._learning_rate
        if callable(schedule) and not isinstance(schedule, keras.Variable):
            # tf holds the rate its last step used: the schedule at iterations - 1
            last_step = int(model.optimizer.iterations.data) - 1
            model.optimizer._current_learning_rate.assign(np.float32(schedule(last_step)))
    return model


# --- reading tf_keras' checkpoints ---------------------------------------------------------------
@pytest.mark.parametrize("case", cm.CASES)
def test_reads_tf_keras_checkpoint(case):
    model, _, _ = cm.build(keras, case)
    status = model.load_weights(theirs(case))
    assert status.assert_consumed() is status
    assert_all_equal(model.get_weights(), expected(case, "w"))


@pytest.mark.parametrize("case", TRAINED)
def test_restored_optimizer_takes_tf_keras_next_step(case):
    """The optimizer state comes back (slots made at load, tf makes them on the first step):
    one more batch gives tf_keras' weights."""
    model, x, y = cm.build(keras, case)
    model.load_weights(theirs(case)).assert_consumed()
    assert_all_equal(optimizer_values(model), expected(case, "o"))
    cm.next_step(model, x, y)
    # The Dense bias in front of BatchNormalization gets only round-off gradients (BN cancels
    # it), which Adam scales to a full step of lr 1e-3: 5e-5 is 5% of that step.
    atol = 5e-5 if case == "seq_adam_bn" else 1e-6
    for got, want in zip(model.get_weights(), expected(case, "n")):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=atol)


def test_uncompiled_model_reads_trained_checkpoint_partially(tmp_path):
    """tf keeps optimizer values for later; without an optimizer they stay unconsumed."""
    model, _, _ = cm.build(keras, "seq")
    trained = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dropout(0.1),
                                keras.layers.Dense(2)])
    trained.compile("adam", "mse")
    trained.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), verbose=0)
    prefix = str(tmp_path / "trained" / "ckpt")
    trained.save_weights(prefix)
    status = model.load_weights(prefix)
    assert_all_equal(model.get_weights(), trained.get_weights())
    status.assert_existing_objects_matched()
    with pytest.raises(AssertionError, match="Unresolved object in checkpoint "
                                             r"\(root\)\.optimizer"):
        status.assert_consumed()
    assert status.expect_partial() is status


# --- writing what tf_keras writes ---------------------------------------------------------------
@pytest.mark.parametrize("case", cm.CASES)
def test_writes_what_tf_keras_writes(case, tmp_path):
    model = model_like_theirs(case)
    prefix = str(tmp_path / "ckpt")
    model.save_weights(prefix)
    ours_tensors, ours_paths, ours_order = parsed(prefix)
    their_tensors, their_paths, their_order = parsed(theirs(case))
    assert ours_tensors == their_tensors          # keys, dtypes, shapes, bytes
    assert ours_paths == their_paths              # the object graph's value-holding paths
    assert ours_order == their_order              # the data file's order
    with open(tmp_path / "checkpoint") as handle, open(fixture_path("ckpt", case,
                                                                    "checkpoint")) as peer:
        assert handle.read() == peer.read()


@pytest.mark.parametrize("case", ["seq", "func", "sub", "tracker"])
def test_untrained_checkpoints_are_byte_identical_to_tf_keras(case, tmp_path):
    """(Trained ones differ only by tf's empty `train_function` nodes: see peer_reads_ours.)"""
    model = model_like_theirs(case)
    model.save_weights(str(tmp_path / "ckpt"))
    for suffix in (".index", tf_checkpoint.DATA_SUFFIX):
        with open(str(tmp_path / "ckpt") + suffix, "rb") as ours, \
                open(theirs(case) + suffix, "rb") as peer:
            assert ours.read() == peer.read()


@pytest.mark.parametrize("case", cm.CASES)
def test_peer_read_our_checkpoints(case):
    """Recorded by the recipe: tf_keras 2.21 loading what minikeras wrote for each case."""
    report = PEER_READS_OURS[case]
    assert report["assert_consumed"] == "passed"
    assert report["weights_equal"] and report.get("optimizer_equal", True)
    assert report["rewrite_identical.index"] and report["rewrite_identical.data-00000-of-00001"]


# --- round trips, ModelCheckpoint -----------------------------------------------------------------
@pytest.mark.parametrize("case", TRAINED)
def test_round_trip_resumes_training(case, tmp_path):
    model, x, y = cm.build(keras, case)
    cm.train(model, x, y)
    model.save_weights(str(tmp_path / "cp"))
    restored, _, _ = cm.build(keras, case)
    restored.load_weights(str(tmp_path / "cp")).assert_consumed()
    assert_all_equal(restored.get_weights(), model.get_weights())
    assert_all_equal(optimizer_values(restored), optimizer_values(model))
    cm.next_step(model, x, y)
    cm.next_step(restored, x, y)
    if case == "nadam":
        # Nadam's u_product comes back but its cache counter restarts after a load (as in
        # tf.keras): the next step agrees with the uninterrupted one to round-off (3.5e-8 seen).
        for got, want in zip(restored.get_weights(), model.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
        return
    assert_all_equal(restored.get_weights(), model.get_weights())


def test_save_format_tf_and_checkpoint_state_file(tmp_path, monkeypatch):
    model, _, _ = cm.build(keras, "func")
    monkeypatch.chdir(tmp_path)
    model.save_weights("weights_tf", save_format="tf")
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "weights_tf.data-00000-of-00001",
                                            "weights_tf.index"]
    with open("checkpoint") as handle:
        assert handle.read() == ('model_checkpoint_path: "weights_tf"\n'
                                 'all_model_checkpoint_paths: "weights_tf"\n')
    with pytest.raises(ValueError, match="looks like an HDF5 file"):
        model.save_weights("w.h5", save_format="tf")


def test_model_checkpoint_callback_writes_tf_checkpoints(tmp_path):
    """The TF 'Save and load models' tutorial: cp-{epoch:04d}.ckpt, weights only."""
    model, x, y = cm.build(keras, "seq_adam_bn")
    path = str(tmp_path / "training_2" / "cp-{epoch:04d}.ckpt")
    callback = keras.callbacks.ModelCheckpoint(path, save_weights_only=True, save_freq=2)
    model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[callback])
    names = sorted(os.listdir(tmp_path / "training_2"))
    assert names == ["checkpoint"] + [f"cp-{e:04d}.ckpt{s}" for e in (1, 2, 3)
                                      for s in (".data-00000-of-00001", ".index")]
    with open(tmp_path / "training_2" / "checkpoint") as handle:
        assert handle.read().splitlines()[0] == 'model_checkpoint_path: "cp-0003.ckpt"'
    fresh, _, _ = cm.build(keras, "seq_adam_bn")
    fresh.load_weights(str(tmp_path / "training_2" / "cp-0003.ckpt")).assert_consumed()
    assert_all_equal(fresh.get_weights(), model.get_weights())


def test_overwrite_false_asks(tmp_path, monkeypatch):
    model, _, _ = cm.build(keras, "seq")
    prefix = str(tmp_path / "cp")
    model.save_weights(prefix)
    before = open(prefix + ".index", "rb").read()
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "n")
    model.layers[0].kernel.assign(np.zeros((4, 3), "float32"))
    model.save_weights(prefix, overwrite=False)
    assert asked and asked[0].startswith(f"[WARNING] {prefix}.index already exists")
    assert open(prefix + ".index", "rb").read() == before


def test_failed_save_leaves_previous_checkpoint(tmp_path, monkeypatch):
    model, _, _ = cm.build(keras, "seq")
    prefix = str(tmp_path / "cp")
    model.save_weights(prefix)
    saved = model.get_weights()
    model.layers[0].kernel.assign(np.zeros((4, 3), "float32"))
    real_write = tf_checkpoint._write_bytes

    def failing_write(path, payload):
        if ".index" in os.path.basename(path):
            raise OSError("disk full")
        real_write(path, payload)
    monkeypatch.setattr(tf_checkpoint, "_write_bytes", failing_write)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(prefix)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "cp.data-00000-of-00001", "cp.index"]
    model.load_weights(prefix).assert_consumed()
    assert_all_equal(model.get_weights(), saved)


# --- errors ---------------------------------------------------------------------------------------
def test_missing_prefix_is_tf_not_found(tmp_path):
    model, _, _ = cm.build(keras, "seq")
    prefix = str(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError) as info:
        model.load_weights(prefix)
    assert str(info.value) == ("Unsuccessful TensorSliceReader constructor: Failed to find any "
                               f"matching files for {prefix}")
    assert isinstance(info.value, tf_checkpoint.NotFoundError)


def test_by_name_and_skip_mismatch_refused():
    model, _, _ = cm.build(keras, "seq")
    with pytest.raises(NotImplementedError, match="based on topology"):
        model.load_weights(theirs("seq"), by_name=True)
    with pytest.raises(ValueError, match="skip_mismatch can only be set to True when by_name"):
        model.load_weights(theirs("seq"), skip_mismatch=True)


def test_shape_mismatch_names_the_variable_and_changes_nothing():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dropout(0.1),
                              keras.layers.Dense(5)])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"Received incompatible tensor with shape \(3, 2\) when "
                                         r"attempting to restore variable with shape \(3, 5\) "
                                         "and name dense_1/kernel:0"):
        model.load_weights(theirs("seq"))
    assert_all_equal(model.get_weights(), before)


def test_other_model_matches_nothing():
    model, _, _ = cm.build(keras, "sub")             # d1/d2 where the file has layer-<i>
    with pytest.raises(AssertionError, match="Nothing except the root object matched"):
        model.load_weights(theirs("seq"))


def test_extra_layer_in_model_fails_existing_objects_matched():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dropout(0.1),
                              keras.layers.Dense(2), keras.layers.Dense(2)])
    status = model.load_weights(theirs("seq"))
    with pytest.raises(AssertionError, match="Found 2 Python objects that were not bound"):
        status.assert_existing_objects_matched()
    assert status.expect_partial() is status


def test_missing_layer_in_model_fails_consumed_only():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,))])
    status = model.load_weights(theirs("seq"))
    status.assert_existing_objects_matched()
    with pytest.raises(AssertionError, match=r"Unresolved object in checkpoint "
                                             r"\(root\)\.layer_with_weights-1\.kernel"):
        status.assert_consumed()


def _copy_checkpoint(tmp_path, case="seq"):
    prefix = str(tmp_path / "cp")
    for suffix in (".index", tf_checkpoint.DATA_SUFFIX):
        with open(theirs(case) + suffix, "rb") as source, open(prefix + suffix, "wb") as target:
            target.write(source.read())
    return prefix


def test_corrupt_files_are_reported(tmp_path):
    model, _, _ = cm.build(keras, "seq")
    prefix = _copy_checkpoint(tmp_path)
    with open(prefix + tf_checkpoint.DATA_SUFFIX, "r+b") as handle:
        handle.seek(5)
        handle.write(b"\xff")
    with pytest.raises(file_io.CorruptFileError, match="checksum mismatch"):
        model.load_weights(prefix)
    with open(prefix + ".index", "wb") as handle:
        handle.write(b"xx")
    with pytest.raises(file_io.CorruptFileError, match="too short to be an sstable"):
        model.load_weights(prefix)
    prefix = _copy_checkpoint(tmp_path)
    os.truncate(prefix + tf_checkpoint.DATA_SUFFIX, 40)
    with pytest.raises(file_io.CorruptFileError, match="truncated"):
        model.load_weights(prefix)


# --- the formats themselves -------------------------------------------------------------------
def test_crc32c_known_values():
    assert wire_format.crc32c(b"123456789") == 0xE3069283
    assert wire_format.crc32c(b"") == 0
    payload = np.random.default_rng(0).integers(0, 256, 200_003, dtype=np.uint8).tobytes()
    assert wire_format.crc32c(payload) == wire_format.advance(0xFFFFFFFF, payload) ^ 0xFFFFFFFF
    assert wire_format.unmask_crc(wire_format.masked_crc32c(b"abc")) == wire_format.crc32c(b"abc")


def test_table_with_many_entries_and_blocks(monkeypatch):
    """Restart points every 16 keys and several data blocks read back."""
    monkeypatch.setattr(tf_bundle, "BLOCK_SIZE", 200)
    items = [(f"key/{i:04d}".encode(), struct.pack("<I", i) * (i % 5)) for i in range(100)]
    table = tf_bundle.build_table(items)
    assert tf_bundle.read_table(table) == dict(items)


def test_bundle_round_trip_of_dtypes():
    tensors = [("a", np.arange(6, dtype=np.int64).reshape(2, 3)), ("b", np.float32(2.5)),
               ("c", np.array([True, False])), ("d", np.arange(3, dtype=np.float64)),
               ("s", b"graph bytes")]
    index, data = tf_bundle.build_bundle(tensors)
    entries, _ = tf_bundle.read_bundle_index(index)
    for key, value in tensors:
        entry = entries[key]
        decoded = tf_bundle.decode_tensor(entry, data[entry["offset"]:entry["offset"]
                                                      + entry["size"]], key)
        if isinstance(value, bytes):
            assert decoded == value
        else:
            assert decoded.dtype == np.asarray(value).dtype
            np.testing.assert_array_equal(decoded, value)


def test_local_names_are_escaped_as_tf_does(tmp_path):
    """`add_weight` names with '.' and '/': tf_keras 2.21 writes `a..b` and `c.Sd` for this
    layer (checked by hand with the peer: byte-identical index)."""
    class Odd(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="a.b", shape=(2,), initializer="ones")
            self.add_weight(name="c/d", shape=(1,), initializer="zeros")

        def call(self, inputs):
            return inputs * self.w
    model = keras.Sequential([Odd(input_shape=(2,))])
    model.save_weights(str(tmp_path / "cp"))
    tensors, _, _ = parsed(str(tmp_path / "cp"))
    assert sorted(tensors) == ["layer_with_weights-0/a..b/.ATTRIBUTES/VARIABLE_VALUE",
                               "layer_with_weights-0/c.Sd/.ATTRIBUTES/VARIABLE_VALUE"]
    fresh = keras.Sequential([Odd(input_shape=(2,))])
    fresh.load_weights(str(tmp_path / "cp")).assert_consumed()


def test_unbuilt_model_restores_when_built():   # more in tests/saving/test_savedmodel.py
    model = cm.subclassed_class(keras)()          # not called yet: no variables
    with pytest.raises(AssertionError, match="Unresolved object in checkpoint"):
        model.load_weights(theirs("sub")).assert_consumed()
    model(cm.data()[0][:1])
    model.load_weights(theirs("sub")).assert_consumed()
    assert_all_equal(model.get_weights(), expected("sub", "w"))


def test_dropped_partial_status_warns_unless_expect_partial():
    with minikeras_warnings_logged() as messages:
        model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,))])
        model.load_weights(theirs("seq"))          # status dropped at once
        assert "Value in checkpoint could not be found in the restored object: " \
               "(root).layer_with_weights-1.kernel" in messages
        messages.clear()
        model.load_weights(theirs("seq")).expect_partial()
        assert not messages


def test_model_checkpoint_restart_finds_latest_tf_checkpoint(tmp_path):
    model, x, y = cm.build(keras, "seq_adam_bn")
    path = str(tmp_path / "cp-{epoch:04d}.ckpt")
    cm.train(model, x, y)
    model.save_weights(str(tmp_path / "cp-0007.ckpt"))
    callback = keras.callbacks.ModelCheckpoint(path, save_weights_only=True)
    assert callback._get_most_recently_modified_file_matching_pattern(path) == \
        str(tmp_path / "cp-0007.ckpt")
    fresh, _, _ = cm.build(keras, "seq_adam_bn")
    restart = keras.callbacks.ModelCheckpoint(path, save_weights_only=True,
                                              load_weights_on_restart=True)
    restart.set_model(fresh)
    restart.on_train_begin()
    assert_all_equal(fresh.get_weights(), model.get_weights())


def test_model_methods_pass_checkpoint_options_on(tmp_path):
    # CheckpointOptions only concern the TF checkpoint format: HDF5 ignores them, as tf.keras
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save_weights(str(tmp_path / "w.h5"), options=object())
    model.load_weights(str(tmp_path / "w.h5"), options=object())
    with pytest.raises(NotImplementedError, match="options"):
        model.save_weights(str(tmp_path / "cp"), options=object())
    model.save_weights(str(tmp_path / "cp"))
    with pytest.raises(NotImplementedError, match="options"):
        model.load_weights(str(tmp_path / "cp"), options=object())
