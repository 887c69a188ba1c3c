"""Writes the SavedModel fixtures with the peer (tf_keras 2.21; never run by the tests), for the
models of tests/fixtures/ckpt/ckpt_models.py:

- `<case>/`: tf_keras' `model.save('<case>')` (trained cases: after 2 epochs). To keep the
  fixtures small, saved_model.pb keeps its SavedObjectGraph's nodes but loses its GraphDef's
  ops and function library, its signatures and concrete functions (minikeras reads
  keras_metadata.pb and variables/ only), except for `seq`, kept exactly as written;
- `lambda/`: a functional model with a Lambda layer (its bytecode in the config), loaded by
  tf_keras with the default safe_mode;
- `text/`: adapted TextVectorization + IntegerLookup (text_model.py; its saved_model.pb keeps
  the GraphDef's Const ops and the concrete functions' bound inputs: the vocabularies);
- `func_tf24/`: `func` as TF 2.0-2.4 laid it out: no keras_metadata.pb, each object's Keras
  metadata in saved_model.pb's SavedUserObject.metadata (tf_keras still reads that layout:
  checked here, `tf24_reads.json`);
- `expected.npz`: per case the input (`<case>/x`), what tf_keras' `load_model` gives back:
  weights (`<case>/w<i>`), predictions (`<case>/pred`), and after one more batch of training
  the loaded compiled model's weights (`<case>/n<i>`); `expected.json`: the loaded model's
  class, optimizer, iterations, metrics names (as loaded and after the batch) and
  History keys;
- `peer_reads_ours.json`: tf_keras loading the SavedModel minikeras writes for each case
  (weights and predictions equal to minikeras' own, compiled as saved).

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python savedmodel.py --peer
(minikeras runs in a subprocess: $MINIKERAS_PYTHON, default /work/devenv/bin/python)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import peer

peer.require_peer()
HERE = peer.fixture_dir("savedmodel")
CKPT = peer.fixture_dir("ckpt")
REPO = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, os.pardir))
sys.path.insert(0, CKPT)
import ckpt_models as cm  # noqa: E402
sys.path.insert(0, HERE)
import text_model  # noqa: E402
import tf_keras as keras  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402
from tf_keras.protobuf import saved_metadata_pb2  # noqa: E402

FULL_CASES = ("seq",)        # saved_model.pb kept whole


def custom_objects(module):
    return {"TwoDense": cm.subclassed_class(module), "Tracked": cm.tracker_class(module)}


def case_input(case):
    x, y = cm.data()
    if case == "lstm_rmsprop":
        x = (np.abs(x) * 4).astype("int32")
    return x, y


def strip_functions(directory, keep_constants=False):
    """Drop the graph functions; `keep_constants`: keep the GraphDef's Const ops and the
    concrete functions' bound inputs (where tf keeps the lookup tables' vocabularies)."""
    path = os.path.join(directory, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as handle:
        proto.ParseFromString(handle.read())
    meta_graph = proto.meta_graphs[0]
    constants = [node for node in meta_graph.graph_def.node if node.op == "Const"]
    meta_graph.graph_def.ClearField("node")
    meta_graph.graph_def.ClearField("library")
    meta_graph.meta_info_def.ClearField("stripped_op_list")
    meta_graph.ClearField("signature_def")
    if keep_constants:
        meta_graph.graph_def.node.extend(constants)
        for function in meta_graph.object_graph_def.concrete_functions.values():
            function.ClearField("canonicalized_input_signature")
            function.ClearField("output_signature")
    else:
        meta_graph.object_graph_def.ClearField("concrete_functions")
    with open(path, "wb") as handle:
        handle.write(proto.SerializeToString())


def write_tf24_layout(source, target):
    """Move keras_metadata.pb's JSON into saved_model.pb's user objects (TF 2.0-2.4)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    metadata = saved_metadata_pb2.SavedMetadata()
    with open(os.path.join(target, "keras_metadata.pb"), "rb") as handle:
        metadata.ParseFromString(handle.read())
    os.remove(os.path.join(target, "keras_metadata.pb"))
    path = os.path.join(target, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as handle:
        proto.ParseFromString(handle.read())
    nodes = proto.meta_graphs[0].object_graph_def.nodes
    for node in metadata.nodes:
        nodes[node.node_id].user_object.metadata = node.metadata
    with open(path, "wb") as handle:
        handle.write(proto.SerializeToString())


def describe(model, case, expected, prefix):
    x, y = case_input(case)
    entry = {"class": type(model).__name__}
    for i, w in enumerate(model.get_weights()):
        expected[f"{prefix}/w{i}"] = w
    expected[f"{prefix}/x"] = x
    expected[f"{prefix}/pred"] = model.predict(x, verbose=0)
    if getattr(model, "optimizer", None) is not None:
        entry["optimizer"] = type(model.optimizer).__name__
        entry["iterations"] = int(model.optimizer.iterations.numpy())
        entry["metrics_names_loaded"] = list(model.metrics_names)
        history = model.fit(x[:4], y[:4], epochs=1, batch_size=4, shuffle=False, verbose=0)
        entry["history_keys"] = sorted(history.history)
        entry["metrics_names"] = list(model.metrics_names)
        for i, w in enumerate(model.get_weights()):
            expected[f"{prefix}/n{i}"] = w
    return entry


def write_lambda_case(expected, report):
    """A Lambda layer (Python bytecode in its config): tf_keras' SavedModel reader runs it with
    the default safe_mode, as its `.h5` reader does."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    hidden = keras.layers.Lambda(lambda t: t * 2.0 + 1.0, name="affine")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    directory = os.path.join(HERE, "lambda")
    shutil.rmtree(directory, ignore_errors=True)
    model.save(directory)
    loaded = keras.models.load_model(directory)
    x, _ = cm.data()
    expected["lambda/x"] = x
    expected["lambda/pred"] = loaded.predict(x, verbose=0)
    report["lambda"] = {"class": type(loaded).__name__}


def write_text_case(expected, report):
    """Adapted TextVectorization and IntegerLookup: tf keeps their vocabularies only in the
    graph (constants bound to the lookup tables' initializers)."""
    model, inputs = text_model.build(keras)
    directory = os.path.join(HERE, "text")
    shutil.rmtree(directory, ignore_errors=True)
    model.save(directory)
    loaded = keras.models.load_model(directory)
    expected["text/pred"] = loaded.predict(inputs, verbose=0)
    report["text"] = {"class": type(loaded).__name__,
                      "vocabularies": [[str(token) for token in layer.get_vocabulary()]
                                       for layer in loaded.layers
                                       if hasattr(layer, "get_vocabulary")]}


def write_theirs():
    expected, report = {}, {}
    for case in cm.CASES:
        model, x, y = cm.build(keras, case)
        if cm.TRAINED[case]:
            cm.train(model, x, y)
        directory = os.path.join(HERE, case)
        shutil.rmtree(directory, ignore_errors=True)
        model.save(directory)
        loaded = keras.models.load_model(directory, custom_objects=custom_objects(keras))
        report[case] = describe(loaded, case, expected, case)
        if case == "func":
            write_tf24_layout(directory, os.path.join(HERE, "func_tf24"))
            write_lambda_case(expected, report)
            write_text_case(expected, report)
            old = keras.models.load_model(os.path.join(HERE, "func_tf24"))
            report["func_tf24"] = {"class": type(old).__name__, "predictions_equal": bool(
                np.array_equal(old.predict(x, verbose=0), expected["func/pred"]))}
    for case in cm.CASES + ["func_tf24", "lambda"]:
        if case not in FULL_CASES:
            strip_functions(os.path.join(HERE, case))
    strip_functions(os.path.join(HERE, "text"), keep_constants=True)
    np.savez(os.path.join(HERE, "expected.npz"), **expected)
    with open(os.path.join(HERE, "expected.json"), "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)


OURS_WRITER = """
import sys, numpy as np
sys.path.insert(0, {ckpt!r})
import minikeras as keras, ckpt_models as cm
out = {{}}
for case in cm.CASES:
    model, x, y = cm.build(keras, case)
    if cm.TRAINED[case]:
        cm.train(model, x, y)
    model.save({tmp!r} + "/" + case)
    for i, w in enumerate(model.get_weights()):
        out[case + "/w" + str(i)] = w
    out[case + "/pred"] = model.predict(x, verbose=0)
sys.path.insert(0, {here!r})
import text_model
model, inputs = text_model.build(keras)
model.save({tmp!r} + "/text")
out["text/pred"] = model.predict(inputs, verbose=0)
np.savez({tmp!r} + "/ours.npz", **out)
"""


def read_ours():
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, PYTHONPATH=REPO)
    python = os.environ.get("MINIKERAS_PYTHON", "/work/devenv/bin/python")
    subprocess.run([python, "-c", OURS_WRITER.format(ckpt=CKPT, here=HERE, tmp=tmp)],
                   check=True, env=env)
    ours = np.load(os.path.join(tmp, "ours.npz"))
    report = {}
    for case in cm.CASES:
        x, _ = case_input(case)
        try:
            model = keras.models.load_model(os.path.join(tmp, case),
                                            custom_objects=custom_objects(keras))
        except Exception as error:  # noqa: BLE001 (recorded, the fixture says what failed)
            report[case] = {"loaded": f"{type(error).__name__}: {error}"}
            continue
        weights = model.get_weights()
        entry = {"loaded": "ok", "class": type(model).__name__,
                 "weights_equal": len(weights) == sum(1 for k in ours if
                                                      k.startswith(case + "/w"))
                 and all(np.array_equal(w, ours[f"{case}/w{i}"])
                         for i, w in enumerate(weights)),
                 "max_prediction_difference": float(np.max(np.abs(
                     model.predict(x, verbose=0) - ours[f"{case}/pred"])))}
        if getattr(model, "optimizer", None) is not None:
            entry["optimizer"] = type(model.optimizer).__name__
        report[case] = entry
    model = keras.models.load_model(os.path.join(tmp, "text"))
    _, inputs = text_model.build(keras)
    report["text"] = {"loaded": "ok", "vocabularies": [
        [str(token) for token in layer.get_vocabulary()] for layer in model.layers
        if hasattr(layer, "get_vocabulary")], "max_prediction_difference": float(np.max(np.abs(
            model.predict(inputs, verbose=0) - ours["text/pred"])))}
    with open(os.path.join(HERE, "peer_reads_ours.json"), "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)


if __name__ == "__main__":
    write_theirs()
    read_ours()
