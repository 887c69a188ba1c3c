"""Cross-reader matrix (fid-kfmt): WRITER minikeras x FORMAT x READER {minikeras, tf_keras 2.21,
Keras 3.15} over the zoo of tests/fixtures/cross_reader/zoo.py, and tf_keras' own `.keras`
configs for the layout tests.

    /work/peers/bin/python benchmarks/fixture_recipes/cross_reader.py --peer [--configs-only | CASE ...]

1. Each writer (minikeras in a subprocess: $MINIKERAS_PYTHON, default /work/devenv/bin/python;
   tf_keras 2.21 here) builds each model with seeded weights, trains STEPS_BEFORE steps
   (optimizer state) and writes the six formats.
2. Each reader (minikeras, tf_keras 2.21, Keras 3.15) reads every file it has a reader for:
   model files through `load_model` (custom_objects; safe_mode=False for the Lambda), weights
   files into the same model built and compiled by the reader; it predicts and trains
   STEPS_AFTER more steps. tf_keras reading its own files is the baseline a hole is judged by.
3. Writes tests/fixtures/cross_reader/verdicts.json (writer > reader > format: loads, the
   error, max |prediction - the writer's in-memory prediction|, the losses) and
   tf_keras_configs.json (tf_keras 2.21's `.keras` config.json of each zoo model).
"""
import json
import os
import subprocess
import sys
import tempfile
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

import peer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = peer.fixture_dir("cross_reader")
sys.path.insert(0, OUT)
import zoo  # noqa: E402

FORMATS = ("legacy_h5", "weights_h5", "weights_v3", "keras_v3", "savedmodel", "tf_checkpoint")
MODEL_FORMATS = ("legacy_h5", "keras_v3", "savedmodel")
# What each reader has: Keras 3 reads no SavedModel as a model and no TF checkpoint.
READER_FORMATS = {"tf_keras": FORMATS,
                  "keras3": ("legacy_h5", "weights_h5", "weights_v3", "keras_v3")}
FILE_NAMES = {"legacy_h5": "model.h5", "weights_h5": "weights.h5",
              "weights_v3": "model.weights.h5", "keras_v3": "model.keras",
              "savedmodel": "savedmodel", "tf_checkpoint": "ckpt/weights"}

MINIKERAS_SIDE = r'''
import json, os, sys
sys.path.insert(0, {here!r})
import minikeras as keras
from cross_reader import write_cells, run_reader, FORMATS, CASES_TO_RUN
root, task = {root!r}, {task!r}
results = {{}}
for name in CASES_TO_RUN:
    if task == "write":
        written = write_cells(keras, name, os.path.join(root, name, "mk"))
        results[name] = {{"written": written, "read": run_reader(
            keras, "minikeras", name, os.path.join(root, name, "mk"), FORMATS, written)}}
    else:
        with open(os.path.join(root, "tk_written.json")) as handle:
            written = json.load(handle)[name]
        results[name] = run_reader(keras, "minikeras", name, os.path.join(root, name, "tk"),
                                   FORMATS, written)
with open(os.path.join(root, f"minikeras_{{task}}.json"), "w") as handle:
    json.dump(results, handle)
'''
CASES_TO_RUN = [name for name in sys.argv[1:] if name in zoo.CASES] or list(zoo.CASES)


def write_cells(keras, name, directory):
    """The writer's side of a row: the model with seeded weights trained STEPS_BEFORE steps,
    its predictions (live.npz) and the six files; {format: None or the error writing it}."""
    os.makedirs(os.path.join(directory, "ckpt"), exist_ok=True)
    keras.backend.clear_session()
    model, custom = zoo.build(keras, name)
    zoo.set_seeded_weights(model)
    x, y = zoo.inputs(name), zoo.targets(keras, model)
    for _ in range(zoo.STEPS_BEFORE):
        model.train_on_batch(x, y)
    live = model.predict(x, verbose=0)
    np.savez(os.path.join(directory, "live.npz"), *(live if isinstance(live, list) else [live]))
    writers = {"legacy_h5": model.save, "weights_h5": model.save_weights,
               "weights_v3": model.save_weights, "keras_v3": model.save,
               "savedmodel": model.save, "tf_checkpoint": model.save_weights}
    written = {}
    for fmt in FORMATS:
        try:
            writers[fmt](os.path.join(directory, FILE_NAMES[fmt]))
            written[fmt] = None
        except Exception as error:
            written[fmt] = f"{type(error).__name__}: {error}"[:300]
    return written


def _as_list(value):
    return [np.asarray(v) for v in value] if isinstance(value, list) else [np.asarray(value)]


def read_one(keras, library, name, directory, fmt):
    """Load one file as `library` does, predict, train STEPS_AFTER steps."""
    path = os.path.join(directory, FILE_NAMES[fmt])
    keras.backend.clear_session()
    model, custom = zoo.build(keras, name, compiled=fmt not in MODEL_FORMATS)
    if fmt in MODEL_FORMATS:
        kwargs = {"custom_objects": custom}
        if fmt == "keras_v3":
            kwargs["safe_mode"] = False
        model = keras.models.load_model(path, **kwargs)
    else:
        model.load_weights(path)
    x = zoo.inputs(name)
    y = zoo.targets(keras, model)
    predictions = model.predict(x, verbose=0)
    losses = [float(np.sum(model.train_on_batch(x, y))) for _ in range(zoo.STEPS_AFTER)]
    iterations = int(np.asarray(model.optimizer.iterations)) if model.optimizer else None
    return predictions, losses, iterations


def run_reader(keras, library, name, directory, formats, written):
    with np.load(os.path.join(directory, "live.npz")) as stored:
        live = [stored[f"arr_{i}"].astype("float32") for i in range(len(stored.files))]
    cells = {}
    for fmt in formats:
        if written.get(fmt) is not None:
            cells[fmt] = {"loads": False, "error": "not written: " + written[fmt]}
            continue
        try:
            predictions, losses, iterations = read_one(keras, library, name, directory, fmt)
            got = _as_list(predictions)
            diff = max(float(np.max(np.abs(np.asarray(g, "float32") - w)))
                       for g, w in zip(got, live)) if len(got) == len(live) else None
            cells[fmt] = {"loads": True, "prediction_diff": diff, "losses": losses,
                          "outputs": len(got)}
        except Exception as error:
            cells[fmt] = {"loads": False,
                          "error": f"{type(error).__name__}: {error}"[:400],
                          "where": traceback.format_exc().splitlines()[-3][:200]}
    return cells


def tf_keras_configs(root):
    """tf_keras 2.21's config.json of each zoo model (its `.keras` layout)."""
    import tf_keras
    import zipfile
    configs = {}
    for name in zoo.CASES:
        tf_keras.backend.clear_session()      # layer names as a fresh script's
        model, _ = zoo.build(tf_keras, name)
        path = os.path.join(root, f"tk_{name}.keras")
        model.save(path)
        with zipfile.ZipFile(path) as archive:
            configs[name] = json.loads(archive.read("config.json"))
    return configs


def write_tf_keras_configs(root):
    with open(os.path.join(OUT, "tf_keras_configs.json"), "w") as handle:
        json.dump(tf_keras_configs(root), handle, sort_keys=True)


def run_minikeras(root, task):
    python = os.environ.get("MINIKERAS_PYTHON", "/work/devenv/bin/python")
    env = dict(os.environ, PYTHONPATH=os.path.normpath(os.path.join(HERE, "..", "..")))
    source = MINIKERAS_SIDE.format(here=HERE, root=root, task=task)
    subprocess.run([python, "-c", source] + CASES_TO_RUN, check=True, env=env)
    with open(os.path.join(root, f"minikeras_{task}.json")) as handle:
        return json.load(handle)


def main():
    peer.require_peer()
    root = tempfile.mkdtemp(prefix="cross_reader_")
    if "--configs-only" in sys.argv:
        write_tf_keras_configs(root)
        return
    import tf_keras
    import keras as keras3
    ours = run_minikeras(root, "write")
    tk_written = {name: write_cells(tf_keras, name, os.path.join(root, name, "tk"))
                  for name in CASES_TO_RUN}
    with open(os.path.join(root, "tk_written.json"), "w") as handle:
        json.dump(tk_written, handle)
    reverse = run_minikeras(root, "read")
    verdicts = {}
    for name in CASES_TO_RUN:
        # by writer ("minikeras" / "tf_keras"), then reader, then format
        row = {"minikeras": {"written": ours[name]["written"],
                             "minikeras": ours[name]["read"]},
               "tf_keras": {"written": tk_written[name], "minikeras": reverse[name]}}
        for writer, short in (("minikeras", "mk"), ("tf_keras", "tk")):
            directory = os.path.join(root, name, short)
            for library, module in (("tf_keras", tf_keras), ("keras3", keras3)):
                row[writer][library] = run_reader(module, library, name, directory,
                                                  READER_FORMATS[library],
                                                  row[writer]["written"])
        verdicts[name] = row
        print(name, {writer: {lib: {f: c.get("loads") for f, c in row[writer][lib].items()}
                              for lib in ("tf_keras", "keras3")} for writer in row},
              flush=True)
    with open(os.path.join(OUT, "verdicts.json"), "w") as handle:
        json.dump(verdicts, handle, indent=1, sort_keys=True)
    write_tf_keras_configs(root)
    print("files in", root)


if __name__ == "__main__":
    main()
