"""Building, saving and loading very deep Sequential models: seconds per operation for n layers
of `Dense(4)`, for a few n, so that the growth with n shows (it should be linear: doubling n
doubles the time). Issue 17's target: 2,000 layers built and loaded in under 2 s each.

    python benchmarks/bench_deep_models.py [--layers 500 1000 2000]
"""
import argparse
import os
import tempfile
import time
import warnings

import minikeras as keras


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def deep_model(n):
    return keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(4) for _ in range(n)])


def run(n, directory):
    row = {}
    row["build"], model = timed(lambda: deep_model(n))
    row["json"], _ = timed(lambda: keras.models.model_from_json(model.to_json()))
    for name in ("m.keras", "m.h5", "w.weights.h5", "w.h5"):
        path = os.path.join(directory, name)
        if name.startswith("m."):
            row[f"save {name}"], _ = timed(lambda: model.save(path))
            row[f"load {name}"], _ = timed(lambda: keras.models.load_model(path))
        else:
            row[f"save {name}"], _ = timed(lambda: model.save_weights(path))
            row[f"load {name}"], _ = timed(lambda: model.load_weights(path))
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[500, 1000, 2000])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as directory:
        rows = {n: run(n, directory) for n in args.layers}
    columns = list(next(iter(rows.values())))
    print("layers  " + "  ".join(f"{c:>16}" for c in columns))
    for n, row in rows.items():
        print(f"{n:6d}  " + "  ".join(f"{row[c]:15.2f}s" for c in columns))


if __name__ == "__main__":
    main()
