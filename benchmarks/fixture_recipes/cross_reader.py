"""Cross-reader matrix (fid-kfmt): WRITER minikeras x FORMAT x READER {minikeras, tf_keras 2.21,
Keras 3.15} over the zoo of tests/fixtures/cross_reader/zoo.py, and tf_keras' own `.keras`
configs for the layout tests.

    /work/peers/bin/python benchmarks/fixture_recipes/cross_reader.py --peer

1. A minikeras subprocess ($MINIKERAS_PYTHON, default /work/devenv/bin/python) builds each
   model with seeded weights, trains STEPS_BEFORE steps (optimizer state), writes the six
   formats, then reads each file back itself: predictions and the losses of STEPS_AFTER more
   steps (`ours.json`).
2. tf_keras 2.21 and Keras 3.15 (this process) read every file they have a reader for: model
   files through `load_model` (custom_objects, safe_mode=False for the Lambda), weights files
   into the same model built and compiled by the reader; predictions and STEPS_AFTER losses.
3. Writes tests/fixtures/cross_reader/verdicts.json (per case, format and reader: loads, the
   error, max |prediction - minikeras' in-memory prediction|, the losses) and
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

WRITE_AND_READ_OURS = r'''
import json, os, sys, traceback
import numpy as np
sys.path.insert(0, {zoo_dir!r})
import minikeras as keras
import zoo
sys.path.insert(0, {here!r})
from cross_reader import FILE_NAMES, MODEL_FORMATS, FORMATS, run_reader
root = {root!r}
results = {{}}
for name in zoo.CASES:
    directory = os.path.join(root, name)
    os.makedirs(os.path.join(directory, "ckpt"), exist_ok=True)
    model, custom = zoo.build(keras, name)
    zoo.set_seeded_weights(model)
    x = zoo.inputs(name)
    y = zoo.targets(keras, model)
    for _ in range(zoo.STEPS_BEFORE):
        model.train_on_batch(x, y)
    live = model.predict(x, verbose=0)
    live = live if isinstance(live, list) else [live]
    np.savez(os.path.join(directory, "live.npz"), *live)
    writers = {{"legacy_h5": lambda p: model.save(p), "weights_h5": model.save_weights,
               "weights_v3": model.save_weights, "keras_v3": model.save,
               "savedmodel": lambda p: model.save(p), "tf_checkpoint": model.save_weights}}
    written = {{}}
    for fmt in FORMATS:
        try:
            writers[fmt](os.path.join(directory, FILE_NAMES[fmt]))
            written[fmt] = None
        except Exception as error:
            written[fmt] = f"{{type(error).__name__}}: {{error}}"[:300]
    results[name] = {{"written": written,
                     "read": run_reader(keras, "minikeras", name, directory, FORMATS, written)}}
with open(os.path.join(root, "ours.json"), "w") as handle:
    json.dump(results, handle)
'''


def _as_list(value):
    return [np.asarray(v) for v in value] if isinstance(value, list) else [np.asarray(value)]


def read_one(keras, library, name, directory, fmt):
    """Load one file as `library` does, predict, train STEPS_AFTER steps."""
    path = os.path.join(directory, FILE_NAMES[fmt])
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
        model, _ = zoo.build(tf_keras, name)
        path = os.path.join(root, f"tk_{name}.keras")
        model.save(path)
        with zipfile.ZipFile(path) as archive:
            configs[name] = json.loads(archive.read("config.json"))
    return configs


def main():
    peer.require_peer()
    root = tempfile.mkdtemp(prefix="cross_reader_")
    python = os.environ.get("MINIKERAS_PYTHON", "/work/devenv/bin/python")
    env = dict(os.environ, PYTHONPATH=os.path.normpath(os.path.join(HERE, "..", "..")))
    subprocess.run([python, "-c", WRITE_AND_READ_OURS.format(zoo_dir=OUT, here=HERE, root=root)],
                   check=True, env=env)
    with open(os.path.join(root, "ours.json")) as handle:
        ours = json.load(handle)
    only = sys.argv[1:] or list(zoo.CASES)
    verdicts = {}
    import tf_keras
    import keras as keras3
    for name in only:
        directory = os.path.join(root, name)
        written = ours[name]["written"]
        verdicts[name] = {"written": written, "minikeras": ours[name]["read"]}
        for library, module in (("tf_keras", tf_keras), ("keras3", keras3)):
            verdicts[name][library] = run_reader(module, library, name, directory,
                                                 READER_FORMATS[library], written)
        print(name, {lib: {f: (c.get("loads"), c.get("prediction_diff")) for f, c in
                           verdicts[name][lib].items()} for lib in ("tf_keras", "keras3")},
              flush=True)
    with open(os.path.join(OUT, "verdicts.json"), "w") as handle:
        json.dump(verdicts, handle, indent=1, sort_keys=True)
    with open(os.path.join(OUT, "tf_keras_configs.json"), "w") as handle:
        json.dump(tf_keras_configs(root), handle, sort_keys=True)
    print("files in", root)


if __name__ == "__main__":
    main()
