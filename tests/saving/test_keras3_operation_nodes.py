"""`keras.ops` calls on symbolic tensors (KerasOpLambda) and `x[...]` (SlicingOpLambda) are
written to `.keras` files as the operation nodes Keras 3.15 writes (module, class, the
constructor's arguments in the config, the others as node args), so Keras 3 reads our files
(checked with peer_recipes/fid2/check_keras3_loads_ours.py: same predictions), and ours
still reads Keras 3's. Fixture: tests/fixtures/keras3_ops_small (Keras 3.15's file)."""
import json
import os
import zipfile

import numpy as np
import pytest

import minikeras as keras
from minikeras import ops

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_ops_small")
KERAS3_FILE = os.path.join(FIXTURES, "keras3_ops_small.keras")
DATA = np.load(os.path.join(FIXTURES, "keras3_ops_small.npz"))


def ops_model():
    """The model of peer_recipes/fid2/keras3_ops_files.py, weights from the same generator."""
    a = keras.Input((3, 4), name="a")
    b = keras.Input((3, 4), name="b")
    m = ops.multiply(ops.add(a, b), 2.0)
    mean = ops.mean(m, axis=1)
    r = ops.reshape(m, (-1, 12))
    g = ops.reshape(m[:, 1:, :2], (-1, 4))
    c = ops.concatenate([mean, r, g], axis=-1)
    t = ops.sum(ops.transpose(ops.expand_dims(c, 1), (0, 2, 1)), axis=-1)
    cl = ops.clip(ops.softmax(t, axis=-1), 0.01, 0.5)
    st = ops.stack([cl, t], axis=1)
    w = ops.where(ops.greater(st, 0.02), st, ops.zeros_like(st))
    w = ops.squeeze(ops.max(w, axis=1, keepdims=True), axis=1)
    model = keras.Model([a, b], keras.layers.Dense(2, name="head")(w), name="ops_model")
    rng = np.random.default_rng(3)
    model.set_weights([rng.standard_normal(v.shape).astype("float32") for v in model.weights])
    return model


def operation_entries(path):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return {entry["name"]: entry for entry in config["config"]["layers"]
            if entry["module"].startswith("keras.src.ops")}


def test_operation_nodes_are_written_as_keras3_writes_them(tmp_path):
    model = ops_model()
    np.testing.assert_allclose(model.predict([DATA["a"], DATA["b"]], verbose=0), DATA["y"],
                               rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "ours.keras")
    ours = operation_entries(tmp_path / "ours.keras")
    theirs = operation_entries(KERAS3_FILE)
    # the slicing node keeps tf.keras' name; Keras 3 calls it get_item
    renamed = json.loads(json.dumps(ours).replace("tf.__operators__.getitem", "get_item"))
    assert sorted(renamed) == sorted(theirs)
    for name, entry in theirs.items():
        assert renamed[name] == entry, name


def test_our_file_and_keras3_file_load_and_predict_the_same(tmp_path):
    ops_model().save(tmp_path / "ours.keras")
    for path in (tmp_path / "ours.keras", KERAS3_FILE):
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(loaded.predict([DATA["a"], DATA["b"]], verbose=0), DATA["y"],
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make, class_name, config, args", [
    (lambda x: ops.einsum("abc,abc->ab", x, x), "Einsum", {"subscripts": "abc,abc->ab"}, 2),
    (lambda x: ops.top_k(x, 2)[0], "TopK", {"k": 2, "sorted": True}, 1),
    (lambda x: x[..., 0], "GetItem", {}, 2),
    (lambda x: ops.allclose(x, x), "AllClose", {"rtol": 1e-05, "atol": 1e-08,
                                                "equal_nan": False}, 2),
])
def test_other_operations_take_keras3_classes_and_config_arguments(tmp_path, make, class_name,
                                                                   config, args):
    x = keras.Input((3, 4))
    keras.Model(x, make(x)).save(tmp_path / "m.keras")
    (entry,) = operation_entries(tmp_path / "m.keras").values()
    assert entry["class_name"] == class_name
    assert {k: v for k, v in entry["config"].items() if k != "name"} == config
    assert len(entry["inbound_nodes"][0]["args"]) == args
