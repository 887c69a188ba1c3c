"""Run in a subprocess by test_corruption_fuzz.py: load every file listed in a JSON job file and
write one result line per file (`ok`, or the error's type, whether minikeras raised it on
purpose, and its message). Before each load the file name goes to a progress file, so that a
hang can be pinned on the file that caused it."""
import json
import sys
import traceback
import warnings

import minikeras as keras

L = keras.layers


def fresh_model():
    return keras.Sequential([L.Dense(4, input_shape=(3,)), L.BatchNormalization(), L.Dense(2)])


def load(path, kind):
    if kind == "model":
        return keras.models.load_model(path)
    model = fresh_model()
    model.load_weights(path)
    return model


def deliberate(error):
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and "/minikeras/" in frames[-1].filename.replace("\\", "/") and \
        (frames[-1].line or "").lstrip().startswith("raise")


def main(job_path, progress_path, results_path):
    warnings.simplefilter("ignore")
    with open(job_path) as f:
        cases = json.load(f)
    with open(results_path, "w") as results:
        for case in cases:
            with open(progress_path, "w") as progress:
                progress.write(case["path"])
            try:
                load(case["path"], case["kind"])
                outcome = {"outcome": "ok"}
            except Exception as error:     # noqa: BLE001 - classified by the test
                outcome = {"outcome": "error", "type": type(error).__name__,
                           "value_error": isinstance(error, ValueError),
                           "deliberate": deliberate(error), "message": str(error)[:300]}
            results.write(json.dumps({**case, **outcome}) + "\n")
            results.flush()


if __name__ == "__main__":
    main(*sys.argv[1:4])
