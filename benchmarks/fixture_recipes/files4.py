"""Writes tests/fixtures/files4/ with the peer (tf_keras 2.21; never run by the tests), from the
builders of tests/fixtures/files4/files4_models.py:

- `legacy/<case>/ckpt.*`: `save_weights` (TF checkpoint) of a model compiled with a
  `keras.optimizers.legacy` optimizer after 2 train_on_batch steps (slot variables under
  `.OPTIMIZER_SLOT`, hyperparameter variables, `iter`);
- `text/<case>/`: `model.save` SavedModels of adapted TextVectorization / StringLookup in
  tf_idf (and count) mode, saved_model.pb stripped of graph functions except the Const ops
  and bound inputs holding the vocabularies ;
- `legacy/current_*/ckpt.*`: the same with current optimizers (for the next item);
  `legacy/subclassed_*/ckpt.*`: a subclassed model's; `expected.json` `subclassed_*`: a
  subclassed model not called yet given it before / after `compile` (iterations before the
  first call, 2 steps' losses and weights);
- `expected.json`: per case, what tf does when the checkpoint is loaded into the model before
  it is compiled (`load_before_compile`: iterations right after `compile`, the losses and
  weights of the 2 steps that follow);
- `expected.json` `h5_<current|legacy>_<edit>`: a compiled `.h5` (Adam / legacy Adam) whose
  optimizer_weights were edited (files4_models.H5_EDITS): the optimizer values tf_keras loads
  and the warnings it logs;
- `expected.npz`: per legacy case the weights (`<case>/w<i>`) and optimizer weights
  (`<case>/o<i>`) saved, the losses and weights of 2 more steps of the live model
  (`<case>/losses_after`, `<case>/after<i>`); per text case tf_keras' predictions of the
  model it reloads (`text/<case>/pred`); `expected.json`: optimizer weight names;
- `peer_reads_ours.json`: tf_keras loading what minikeras (a subprocess) writes for the same
  cases: the legacy checkpoints (restored values, whether the graph's keys, full names and
  slot references equal tf's own,
  2 more steps' losses and weights compared with tf's own continuation) and the text
  SavedModels (predictions compared with minikeras').

- `layer_zoo.zip` (cases in zoo_cases.py: a small model around every layer class both
  minikeras.layers and tf_keras.layers export, with argument variants): tf_keras' `.h5` and
  `.keras`, Keras 3's `.keras` (layers Keras 3 still has; no string inputs), inputs and
  predictions; `layer_zoo_peer_reads_ours.json`: tf_keras loading minikeras' `.h5` and
  SavedModel of each case (largest prediction difference from minikeras').

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python files4.py --peer [files|zoo]
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
HERE = peer.fixture_dir("files4")
REPO = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, os.pardir))
sys.path.insert(0, HERE)
import files4_models as fm  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2, trackable_object_graph_pb2  # noqa: E402


def strip_functions(directory):
    """Keep saved_model.pb small: drop the graph functions, signatures and GraphDef ops except
    the Const ops and the concrete functions' bound inputs (where the vocabularies are)."""
    path = os.path.join(directory, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as handle:
        proto.ParseFromString(handle.read())
    meta_graph = proto.meta_graphs[0]
    constants = [node for node in meta_graph.graph_def.node if node.op == "Const"]
    for field in ("node", "library"):
        meta_graph.graph_def.ClearField(field)
    meta_graph.graph_def.node.extend(constants)
    meta_graph.meta_info_def.ClearField("stripped_op_list")
    meta_graph.ClearField("signature_def")
    for function in meta_graph.object_graph_def.concrete_functions.values():
        function.ClearField("canonicalized_input_signature")
        function.ClearField("output_signature")
    with open(path, "wb") as handle:
        handle.write(proto.SerializeToString())


def graph_entries(prefix):
    """The checkpoint's (full name, key) attributes and its slot references (original key,
    slot name, slot key), in node order: what two checkpoints of one model share whatever
    empty nodes tf adds (a trained model's `train_function`)."""
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(tf.train.load_checkpoint(prefix).get_tensor(
        "_CHECKPOINTABLE_OBJECT_GRAPH"))
    key_of = {i: node.attributes[0].checkpoint_key for i, node in enumerate(graph.nodes)
              if node.attributes}
    attributes = [(a.full_name, a.checkpoint_key) for node in graph.nodes
                  for a in node.attributes]
    slots = [(key_of[s.original_variable_node_id], s.slot_name, key_of[s.slot_variable_node_id])
             for node in graph.nodes for s in node.slot_variables]
    return attributes, slots


def write_legacy(expected, report):
    for case in list(fm.LEGACY_CASES) + list(fm.CURRENT_CASES):
        keras.backend.clear_session()
        model = fm.legacy_model(keras, case)
        fm.train(model, fm.STEPS_BEFORE)
        directory = os.path.join(HERE, "legacy", case)
        shutil.rmtree(directory, ignore_errors=True)
        model.save_weights(os.path.join(directory, "ckpt"))
        for i, w in enumerate(model.get_weights()):
            expected[f"{case}/w{i}"] = w
        optimizer = model.optimizer
        variables = optimizer.weights if case in fm.LEGACY_CASES else optimizer.variables
        for i, variable in enumerate(variables):
            expected[f"{case}/o{i}"] = variable.numpy()
        report[case] = {"optimizer_weights": [v.name for v in variables]}
        expected[f"{case}/losses_after"] = np.array(fm.train(model, fm.STEPS_AFTER))
        for i, w in enumerate(model.get_weights()):
            expected[f"{case}/after{i}"] = w
        report[case]["load_before_compile"] = load_before_compile(case, directory)


def write_subclassed(report):
    """A subclassed model not called yet given a checkpoint, compiled before or after
    `load_weights`: tf restores `iterations` as soon as both exist, the rest at the first call
    (its variables made) and the first step (the slots)."""
    for case in fm.SUBCLASSED_CASES:
        keras.backend.clear_session()
        directory = os.path.join(HERE, "legacy", f"subclassed_{case}")
        shutil.rmtree(directory, ignore_errors=True)
        fm.trained_subclassed(keras, case).save_weights(os.path.join(directory, "ckpt"))
        for order in fm.LOAD_ORDERS:
            keras.backend.clear_session()
            model = fm.subclassed_model(keras)
            if order == "load_then_compile":
                model.load_weights(os.path.join(directory, "ckpt"))
                fm.compile_model(keras, model, case)
            else:
                fm.compile_model(keras, model, case)
                model.load_weights(os.path.join(directory, "ckpt"))
            iterations = int(model.optimizer.iterations.numpy())
            report[f"subclassed_{case}_{order}"] = {
                "iterations_before_first_call": iterations,
                "losses": fm.train(model, fm.STEPS_AFTER),
                "weights": [w.tolist() for w in model.get_weights()]}


def load_before_compile(case, directory):
    """tf keeps the optimizer state of a checkpoint loaded into an uncompiled model and
    restores it into the optimizer `compile` sets: iterations at once, slots at the step."""
    keras.backend.clear_session()
    model = fm.legacy_model(keras, case, compiled=False)
    status = model.load_weights(os.path.join(directory, "ckpt"))
    try:
        status.assert_consumed()
        consumed = "ok"
    except AssertionError as error:
        consumed = str(error).splitlines()[0]
    fm.compile_model(keras, model, case)
    iterations = int(model.optimizer.iterations.numpy())
    losses = fm.train(model, fm.STEPS_AFTER)
    return {"assert_consumed_before_compile": consumed,
            "iterations_after_compile": iterations, "losses": losses,
            "weights": [w.tolist() for w in model.get_weights()]}


def write_h5_optimizer_edits(report):
    """What tf_keras restores from a compiled .h5 whose optimizer_weights do not match its
    optimizer (and what it logs)."""
    import logging
    tmp = tempfile.mkdtemp()
    for legacy in (False, True):
        for edit in fm.H5_EDITS:
            keras.backend.clear_session()
            path = os.path.join(tmp, f"{legacy}_{edit}.h5")
            fm.h5_optimizer_model(keras, legacy).save(path)
            fm.edit_optimizer_weights(path, edit)
            records = []
            handler = logging.Handler()
            handler.emit = lambda record: records.append(record.getMessage())
            logging.getLogger("tensorflow").addHandler(handler)
            try:
                optimizer = keras.models.load_model(path).optimizer
            finally:
                logging.getLogger("tensorflow").removeHandler(handler)
            variables = optimizer.weights if legacy else optimizer.variables
            report[f"h5_{'legacy' if legacy else 'current'}_{edit}"] = {
                "warnings": [r for r in records if "optimizer" in r],
                "values": [np.asarray(v).tolist() for v in variables]}
    shutil.rmtree(tmp, ignore_errors=True)


def write_text(expected):
    for case in fm.TEXT_CASES:
        keras.backend.clear_session()
        model = fm.text_model(keras, case)
        directory = os.path.join(HERE, "text", case)
        shutil.rmtree(directory, ignore_errors=True)
        model.save(directory)
        loaded = keras.models.load_model(directory)
        expected[f"text/{case}/pred"] = loaded.predict(fm.text_inputs(case), verbose=0)
        strip_functions(directory)


OURS_WRITER = """
import sys, numpy as np
sys.path.insert(0, {here!r})
import minikeras as keras, files4_models as fm
out = {{}}
for case in fm.LEGACY_CASES:
    keras.backend.clear_session()
    model = fm.legacy_model(keras, case)
    fm.train(model, fm.STEPS_BEFORE)
    model.save_weights({tmp!r} + "/legacy/" + case + "/ckpt")
for case in fm.TEXT_CASES:
    keras.backend.clear_session()
    model = fm.text_model(keras, case)
    model.save({tmp!r} + "/text/" + case)
    out["text/" + case + "/pred"] = model.predict(fm.text_inputs(case), verbose=0)
np.savez({tmp!r} + "/ours.npz", **out)
"""


def read_ours(expected):
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, PYTHONPATH=REPO)
    python = os.environ.get("MINIKERAS_PYTHON", "/work/devenv/bin/python")
    subprocess.run([python, "-c", OURS_WRITER.format(here=HERE, tmp=tmp)], check=True, env=env)
    ours = np.load(os.path.join(tmp, "ours.npz"))
    report = {}
    for case in fm.LEGACY_CASES:
        keras.backend.clear_session()
        model = fm.legacy_model(keras, case)
        prefix = os.path.join(tmp, "legacy", case, "ckpt")
        entry = {}
        try:
            model.load_weights(prefix).assert_existing_objects_matched()
        except Exception as error:  # noqa: BLE001 (recorded, the fixture says what failed)
            report[case] = {"loaded": f"{type(error).__name__}: {error}"}
            continue
        entry["loaded"] = "ok"
        entry["weights_max_difference"] = max(
            float(np.max(np.abs(w - expected[f"{case}/w{i}"])))
            for i, w in enumerate(model.get_weights()))
        entry["graph_entries_equal_tf"] = graph_entries(prefix) == graph_entries(
            os.path.join(HERE, "legacy", case, "ckpt"))
        losses = fm.train(model, fm.STEPS_AFTER)
        entry["losses_max_difference"] = float(np.max(np.abs(
            np.array(losses) - expected[f"{case}/losses_after"])))
        entry["after_max_difference"] = max(
            float(np.max(np.abs(w - expected[f"{case}/after{i}"])))
            for i, w in enumerate(model.get_weights()))
        entry["optimizer_weights_after_load"] = len(model.optimizer.get_weights())
        report[case] = entry
    for case in fm.TEXT_CASES:
        keras.backend.clear_session()
        try:
            model = keras.models.load_model(os.path.join(tmp, "text", case))
            prediction = model.predict(fm.text_inputs(case), verbose=0)
        except Exception as error:  # noqa: BLE001
            report[f"text/{case}"] = {"loaded": f"{type(error).__name__}: {error}"[:300]}
            continue
        report[f"text/{case}"] = {"loaded": "ok", "max_prediction_difference": float(
            np.max(np.abs(prediction - ours[f"text/{case}/pred"])))}
    shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(HERE, "peer_reads_ours.json"), "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)


def first_output(prediction):
    return np.asarray(prediction[0] if isinstance(prediction, (list, tuple)) else prediction)


def write_layer_zoo():
    """layer_zoo.zip: per case of zoo_cases.py, tf_keras' `.h5` and `.keras` and Keras 3's
    `.keras` of the model, with its input and each writer's predictions (`<id>.npz`)."""
    import zipfile
    import keras as keras3
    import zoo_cases as zc
    tmp = tempfile.mkdtemp()
    for case in zc.CASES:
        cid = case["id"]
        keras.backend.clear_session()
        model = zc.build(keras, case)
        x = zc.inputs(case)
        arrays = {f"x{i}": v for i, v in enumerate(x if isinstance(x, list) else [x])}
        arrays["tk"] = first_output(model.predict(x, verbose=0))
        model.save(os.path.join(tmp, f"{cid}.tk.h5"))
        model.save(os.path.join(tmp, f"{cid}.tk.keras"))
        if case["dtype"] != "string" and hasattr(keras3.layers, cid.split("-")[0]) \
                or cid in ("MultiHeadAttention", "Masking", "StackedRNNCells"):
            keras3.backend.clear_session()
            model = zc.build(keras3, case)
            arrays["k3"] = first_output(model.predict(x, verbose=0))
            model.save(os.path.join(tmp, f"{cid}.k3.keras"))
        np.savez(os.path.join(tmp, f"{cid}.npz"), **arrays)
    with zipfile.ZipFile(os.path.join(HERE, "layer_zoo.zip"), "w", zipfile.ZIP_DEFLATED,
                         compresslevel=9) as archive:
        for name in sorted(os.listdir(tmp)):
            archive.write(os.path.join(tmp, name), name)
    shutil.rmtree(tmp, ignore_errors=True)


ZOO_WRITER = """
import os, sys, numpy as np
sys.path.insert(0, {here!r})
import minikeras as keras, zoo_cases as zc
for case in zc.CASES:
    keras.backend.clear_session()
    model = zc.build(keras, case)
    x = zc.inputs(case)
    prediction = model.predict(x, verbose=0)
    np.save({tmp!r} + "/" + case["id"] + ".npy",
            np.asarray(prediction[0] if isinstance(prediction, list) else prediction))
    model.save({tmp!r} + "/" + case["id"] + ".h5")
    model.save({tmp!r} + "/" + case["id"] + "_sm")
"""


def read_zoo_ours():
    """layer_zoo_peer_reads_ours.json: tf_keras loading the `.h5` and SavedModel minikeras
    writes for each case: the largest prediction difference from minikeras' own."""
    import zoo_cases as zc
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, PYTHONPATH=REPO)
    python = os.environ.get("MINIKERAS_PYTHON", "/work/devenv/bin/python")
    subprocess.run([python, "-c", ZOO_WRITER.format(here=HERE, tmp=tmp)], check=True, env=env)
    report = {}
    for case in zc.CASES:
        cid = case["id"]
        ours = np.load(os.path.join(tmp, f"{cid}.npy"))
        entry = {}
        for kind, path in (("h5", f"{cid}.h5"), ("savedmodel", f"{cid}_sm")):
            keras.backend.clear_session()
            try:
                model = keras.models.load_model(os.path.join(tmp, path))
                entry[kind] = float(np.max(np.abs(first_output(
                    model.predict(zc.inputs(case), verbose=0)) - ours))) if ours.size else 0.0
            except Exception as error:  # noqa: BLE001 (recorded)
                entry[kind] = f"{type(error).__name__}: {error}"[:300]
        report[cid] = entry
    shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(HERE, "layer_zoo_peer_reads_ours.json"), "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)


def main():
    part = sys.argv[1] if len(sys.argv) > 1 else "all"
    if part in ("all", "files"):
        expected, report = {}, {}
        write_legacy(expected, report)
        write_text(expected)
        write_h5_optimizer_edits(report)
        write_subclassed(report)
        np.savez(os.path.join(HERE, "expected.npz"), **expected)
        with open(os.path.join(HERE, "expected.json"), "w") as handle:
            json.dump(report, handle, indent=1, sort_keys=True)
        read_ours(expected)
    if part in ("all", "zoo"):
        write_layer_zoo()
        read_zoo_ours()


if __name__ == "__main__":
    main()
