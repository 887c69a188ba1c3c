"""tf.keras 2's TensorFlow SavedModel directory (`model.save('my_model')`,
`load_model('my_model')`).

Fixtures (tests/fixtures/savedmodel/, recipe benchmarks/fixture_recipes/savedmodel.py): the
directories tf_keras 2.21 wrote for the models of tests/fixtures/ckpt/ckpt_models.py (their
saved_model.pb without graph functions, except `seq`), `func_tf24` (the TF 2.0-2.4 layout:
Keras metadata inside saved_model.pb), what tf_keras' `load_model` gives back for each
(`expected.npz` / `expected.json`), and `peer_reads_ours.json`: tf_keras loading the
directories minikeras writes."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from fixtures.ckpt import ckpt_models as cm
from minikeras.saving import file_io, savedmodel, tf_bundle, tf_checkpoint

EXPECTED = np.load(fixture_path("savedmodel", "expected.npz"))
EXPECTED_JSON = json.load(open(fixture_path("savedmodel", "expected.json")))
PEER_READS_OURS = json.load(open(fixture_path("savedmodel", "peer_reads_ours.json")))
SUBCLASSED = ("sub", "tracker", "sub_sgd")


def custom_objects():
    return {"TwoDense": cm.subclassed_class(keras), "Tracked": cm.tracker_class(keras)}


def expected(case, kind):
    values, index = [], 0
    while f"{case}/{kind}{index}" in EXPECTED:
        values.append(EXPECTED[f"{case}/{kind}{index}"])
        index += 1
    return values


def theirs(case):
    return fixture_path("savedmodel", case)


@pytest.mark.parametrize("case", cm.CASES)
def test_reads_the_savedmodels_tf_keras_writes(case):
    keras.backend.clear_session()
    model = keras.models.load_model(theirs(case), custom_objects=custom_objects())
    want = EXPECTED_JSON[case]
    assert type(model).__name__ == want["class"]
    weights = model.get_weights()
    assert len(weights) == len(expected(case, "w"))
    for got, wanted in zip(weights, expected(case, "w")):
        np.testing.assert_array_equal(got, wanted)
    np.testing.assert_allclose(model.predict(EXPECTED[f"{case}/x"], verbose=0),
                               EXPECTED[f"{case}/pred"], rtol=1e-5, atol=1e-6)
    if "optimizer" not in want:
        assert not model._is_compiled       # saved uncompiled: tf.keras warns, compiles nothing
        return
    # compiled from the training config; the optimizer starts afresh, as in tf_keras 2.21
    assert type(model.optimizer).__name__ == want["optimizer"]
    assert int(model.optimizer.iterations.numpy()) == want["iterations"] == 0
    assert list(model.metrics_names) == want["metrics_names_loaded"]   # built at load time
    x, y = EXPECTED[f"{case}/x"], cm.data()[1]
    history = model.fit(x[:4], y[:4], epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert sorted(history.history) == want["history_keys"]
    assert list(model.metrics_names) == want["metrics_names"]
    # The Dense bias in front of BatchNormalization gets only round-off gradients (BN cancels
    # it), which Adam scales to a full step of lr 1e-3: 5e-5 is 5% of that step.
    atol = 5e-5 if case == "seq_adam_bn" else 1e-6
    for got, wanted in zip(model.get_weights(), expected(case, "n")):
        np.testing.assert_allclose(got, wanted, rtol=1e-5, atol=atol)


def test_nested_model_variables_are_restored_through_the_layers():
    """A SavedModel's checkpoint stores an inner model's variables under `variables/<i>` (its
    first path in the larger SavedModel graph): they are matched through the layers."""
    keys = tf_checkpoint.read_checkpoint(os.path.join(theirs("nested_momentum"), "variables",
                                                      "variables"))
    assert "variables/0/.ATTRIBUTES/VARIABLE_VALUE" in keys
    model, _, _ = cm.build(keras, "nested_momentum")
    status = model.load_weights(os.path.join(theirs("nested_momentum"), "variables",
                                             "variables"))
    status.expect_partial()
    for got, wanted in zip(model.get_weights(), expected("nested_momentum", "w")):
        np.testing.assert_array_equal(got, wanted)


def test_reads_the_tf_2_4_layout_without_keras_metadata_pb():
    assert not os.path.exists(os.path.join(theirs("func_tf24"), "keras_metadata.pb"))
    assert EXPECTED_JSON["func_tf24"]["predictions_equal"]      # tf_keras reads it too
    model = keras.models.load_model(theirs("func_tf24"))
    assert type(model).__name__ == "Functional"
    np.testing.assert_allclose(model.predict(EXPECTED["func/x"], verbose=0),
                               EXPECTED["func/pred"], rtol=1e-5, atol=1e-6)


def test_lambda_bytecode_runs_with_the_default_safe_mode():
    """tf_keras' SavedModel reader, like its `.h5` reader, runs a Lambda's bytecode."""
    model = keras.models.load_model(theirs("lambda"))
    assert model.get_layer("affine") is not None
    np.testing.assert_allclose(model.predict(EXPECTED["lambda/x"], verbose=0),
                               EXPECTED["lambda/pred"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["sub", "tracker"])
def test_subclassed_model_without_its_class_is_not_implemented(case):
    class_name = EXPECTED_JSON[case]["class"]
    with pytest.raises(NotImplementedError, match=f"subclassed model of class '{class_name}'"):
        keras.models.load_model(theirs(case))


class SavedModelScale(keras.layers.Layer):     # a name no other test registers
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_custom_layer_needs_its_class(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(SavedModelScale(0.5)(inputs)))
    model.layers[1].w.assign(np.array([1.0, 2.0, 3.0], "float32"))
    model.save(str(tmp_path / "m"))
    with pytest.raises(NotImplementedError,
                       match="Unknown layer: 'SavedModelScale'.*custom_objects"):
        keras.models.load_model(str(tmp_path / "m"))
    loaded = keras.models.load_model(str(tmp_path / "m"),
                                     custom_objects={"SavedModelScale": SavedModelScale})
    assert loaded.layers[1].factor == 0.5
    np.testing.assert_array_equal(loaded.layers[1].w.numpy(), [1.0, 2.0, 3.0])


def test_load_without_compiling():
    model = keras.models.load_model(theirs("seq_adam_bn"), compile=False)
    assert not model._is_compiled
    for got, wanted in zip(model.get_weights(), expected("seq_adam_bn", "w")):
        np.testing.assert_array_equal(got, wanted)


# --- writing --------------------------------------------------------------------------------
def saved_and_trained(case):
    model, x, y = cm.build(keras, case)
    if cm.TRAINED[case]:
        cm.train(model, x, y)
    return model, x, y


def metadata_paths(directory):
    """{node_path: identifier} of the Keras objects, the compiled loss' metric left out."""
    return {path: identifier for path, (identifier, _) in
            savedmodel.read_keras_metadata(directory).items() if "keras_api" not in path}


@pytest.mark.parametrize("case", cm.CASES)
def test_writes_what_it_reads_back_and_what_tf_keras_reads(case, tmp_path):
    model, x, _ = saved_and_trained(case)
    directory = str(tmp_path / "my_model")
    model.save(directory)
    for relative in ("saved_model.pb", "keras_metadata.pb", "assets",
                     "variables/variables.index", "variables/variables.data-00000-of-00001"):
        assert os.path.exists(os.path.join(directory, relative)), relative
    # the Keras objects under tf_keras' node paths and identifiers
    assert metadata_paths(directory) == metadata_paths(theirs(case))
    loaded = keras.models.load_model(directory, custom_objects=custom_objects())
    assert type(loaded).__name__ == type(model).__name__
    for got, wanted in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, wanted)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded._is_compiled == model._is_compiled
    # tf_keras 2.21 read minikeras' directory for this case: same weights and predictions
    peer = PEER_READS_OURS[case]
    assert peer["loaded"] == "ok" and peer["weights_equal"] and peer["class"] == \
        EXPECTED_JSON[case]["class"]
    assert peer["max_prediction_difference"] < 1e-6


def test_saved_model_pb_lists_the_checkpoint_objects(tmp_path):
    """saved_model.pb's SavedObjectGraph has the checkpoint's nodes (same ids and children),
    variables as SavedVariable kinds with their names."""
    model, _, _ = saved_and_trained("seq_adam_bn")
    model.save(str(tmp_path / "m"))
    with open(tmp_path / "m" / "saved_model.pb", "rb") as handle:
        proto = tf_bundle.parse_message(handle.read())
    meta_graph = tf_bundle.parse_message(proto[2][0])
    assert tf_bundle.parse_message(meta_graph[1][0])[4] == [b"serve"]
    objects = [tf_bundle.parse_message(node)
               for node in tf_bundle.parse_message(meta_graph[7][0])[1]]
    values = tf_checkpoint.read_checkpoint(str(tmp_path / "m" / "variables" / "variables"))
    saved = tf_checkpoint.parse_object_graph(values[tf_checkpoint.OBJECT_GRAPH_KEY])
    assert len(objects) == len(saved)
    names = []
    for fields, node in zip(objects, saved):
        children = [tf_bundle.parse_message(ref) for ref in fields.get(1, [])]
        assert [(c[2][0].decode(), c[1][0]) for c in children] == node.children
        if 7 in fields:
            names.append(tf_bundle.parse_message(fields[7][0])[6][0].decode())
    assert "dense/kernel" in names and "Adam/m/dense/kernel" in names


def test_a_failed_save_leaves_the_old_directory(tmp_path, monkeypatch):
    directory = tmp_path / "my_model"
    old, _, _ = saved_and_trained("seq")
    old.save(str(directory))
    before = {name: (directory / name).read_bytes() for name in ("saved_model.pb",
                                                                 "keras_metadata.pb")}
    files = savedmodel._savedmodel_files

    def broken(*args):
        written = files(*args)
        written["variables/variables.index"] = None      # fails part way through writing
        return written
    monkeypatch.setattr(savedmodel, "_savedmodel_files", broken)
    new, _, _ = saved_and_trained("nadam")
    with pytest.raises(TypeError):
        new.save(str(directory))
    assert {name: (directory / name).read_bytes() for name in before} == before
    assert sorted(os.listdir(tmp_path)) == ["my_model"]      # no temporary directory left
    monkeypatch.undo()
    new.save(str(directory))
    assert keras.models.load_model(str(directory))._is_compiled
    assert sorted(os.listdir(tmp_path)) == ["my_model"]


def test_overwrite_false_asks(tmp_path, monkeypatch):
    directory = tmp_path / "my_model"
    first, _, _ = saved_and_trained("seq")
    first.save(str(directory))
    before = (directory / "keras_metadata.pb").read_bytes()
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt="": prompts.append(prompt) or "n")
    other, _, _ = saved_and_trained("nadam")
    other.save(str(directory), overwrite=False)
    assert prompts and str(directory) in prompts[0]
    assert (directory / "keras_metadata.pb").read_bytes() == before


def test_save_format_tf_and_model_checkpoint_write_savedmodels(tmp_path):
    model, x, y = saved_and_trained("seq_adam_bn")
    model.save(str(tmp_path / "m.keras_like"), save_format="tf")
    assert savedmodel.is_savedmodel_dir(str(tmp_path / "m.keras_like"))
    callback = keras.callbacks.ModelCheckpoint(str(tmp_path / "model_{epoch}"),
                                               save_weights_only=False)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[callback])
    for epoch in (1, 2):
        assert savedmodel.is_savedmodel_dir(str(tmp_path / f"model_{epoch}"))
    reloaded = keras.models.load_model(str(tmp_path / "model_2"))
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_unsupported_save_arguments_are_named(tmp_path):
    model, _, _ = saved_and_trained("seq")
    with pytest.raises(NotImplementedError, match="signatures"):
        model.save(str(tmp_path / "m"), signatures={"serving_default": None})
    assert not os.path.exists(tmp_path / "m")


def test_include_optimizer_false_writes_no_training_config(tmp_path):
    model, _, _ = saved_and_trained("seq_adam_bn")
    model.save(str(tmp_path / "m"), include_optimizer=False)
    root = savedmodel.read_keras_metadata(str(tmp_path / "m"))["root"][1]
    assert "training_config" not in root
    keys = tf_checkpoint.read_checkpoint(str(tmp_path / "m" / "variables" / "variables"))
    assert not any(key.startswith("optimizer/") for key in keys)


def test_corrupt_saved_model_pb_names_the_file(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"\x12\xff")
    with pytest.raises(file_io.CorruptFileError, match="saved_model.pb"):
        keras.models.load_model(str(tmp_path))


# --- TF checkpoints loaded before the model is built (tf's deferred restore) -----------------
CKPT_EXPECTED = np.load(fixture_path("ckpt", "expected.npz"))


def ckpt_expected(case, kind):
    values, index = [], 0
    while f"{case}/{kind}{index}" in CKPT_EXPECTED:
        values.append(CKPT_EXPECTED[f"{case}/{kind}{index}"])
        index += 1
    return values


def test_load_weights_before_build_restores_at_the_first_call():
    """As tf: the status asserts nothing consumed yet; the first predict already uses the
    restored values (checked against tf_keras' own weights for that checkpoint)."""
    model = cm.subclassed_class(keras)()
    status = model.load_weights(fixture_path("ckpt", "sub", "ckpt"))
    with pytest.raises(AssertionError, match=r"Unresolved object in checkpoint \(root\)\.d1\."
                                             "kernel"):
        status.assert_consumed()
    status.assert_existing_objects_matched()
    status.assert_nontrivial_match()
    x, _ = cm.data()
    first = model.predict(x, verbose=0)
    weights = model.get_weights()
    for got, wanted in zip(weights, ckpt_expected("sub", "w")):
        np.testing.assert_array_equal(got, wanted)
    np.testing.assert_allclose(first, x @ weights[0] @ weights[2] + weights[1] @ weights[2]
                               + weights[3], rtol=1e-5, atol=1e-6)
    status.assert_consumed()


def test_load_weights_before_build_then_fit_resumes_the_saved_state():
    """Compiled, loaded unbuilt, then one batch: the step starts from the restored weights and
    optimizer iterations (tf_keras 2.21: the same weights after the batch, iterations 5)."""
    model = cm.subclassed_class(keras)()
    model.compile("sgd", "mse", metrics=["mae"])
    model.load_weights(fixture_path("ckpt", "sub_sgd", "ckpt"))
    x, y = cm.data()
    cm.next_step(model, x, y)
    assert int(model.optimizer.iterations.numpy()) == 5
    for got, wanted in zip(model.get_weights(), ckpt_expected("sub_sgd", "n")):
        np.testing.assert_allclose(got, wanted, rtol=1e-5, atol=1e-6)


def test_load_weights_before_build_restores_metrics_and_own_weights():
    model = cm.tracker_class(keras)()
    model.load_weights(fixture_path("ckpt", "tracker", "ckpt")).expect_partial()
    model.build((None, 4))
    for got, wanted in zip(model.get_weights(), ckpt_expected("tracker", "w")):
        np.testing.assert_array_equal(got, wanted)
    assert float(model.loss_tracker.result()) == 3.0       # tf_keras gives 3.0 too


# --- adapted lookup layers (vocabularies) --------------------------------------------------------
def vocabularies(model):
    return [[str(token) for token in layer.get_vocabulary()] for layer in model.layers
            if hasattr(layer, "get_vocabulary")]


def test_reads_the_adapted_vocabularies_tf_keras_keeps_in_its_graph():
    """tf keeps an adapted TextVectorization's / IntegerLookup's vocabulary only as constants
    bound to its lookup table's initializer (saved_model.pb); the Embedding after it is
    `layer_with_weights-1` there (tf counts the TextVectorization as a layer with weights),
    `layer_with_weights-0` here: the restore matches through `layer-<i>`."""
    from fixtures.savedmodel import text_model
    model = keras.models.load_model(theirs("text"))
    assert vocabularies(model) == EXPECTED_JSON["text"]["vocabularies"]
    _, inputs = text_model.build(keras)
    np.testing.assert_allclose(model.predict(inputs, verbose=0), EXPECTED["text/pred"],
                               rtol=1e-5, atol=1e-6)


def test_writes_adapted_vocabularies_into_the_configs(tmp_path):
    """No graph functions here: the vocabulary goes into the layer's config, which minikeras and
    tf_keras (peer_reads_ours.json) both read back."""
    from fixtures.savedmodel import text_model
    model, inputs = text_model.build(keras)
    model.save(str(tmp_path / "text"))
    loaded = keras.models.load_model(str(tmp_path / "text"))
    assert vocabularies(loaded) == vocabularies(model) == PEER_READS_OURS["text"]["vocabularies"]
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0),
                                  model.predict(inputs, verbose=0))
    assert PEER_READS_OURS["text"]["max_prediction_difference"] < 1e-6


def test_load_model_takes_options_none_and_refuses_load_options(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = str(tmp_path / "my_model")
    model.save(path)
    loaded = keras.models.load_model(path, options=None)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(NotImplementedError, match="options"):
        keras.models.load_model(path, options=object())
    with pytest.raises(TypeError, match="unexpected keyword"):
        keras.models.load_model(path, bogus=1)
