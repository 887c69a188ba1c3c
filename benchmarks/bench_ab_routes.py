"""Two routes of a whole model's training (or predict) timed interleaved in one process.

The host runs in speed phases and is shared, so two separate runs cannot be compared: this
script alternates epochs of route A and route B (ABBA order, many pairs) and reports the min
and the median of the per-pair ratios, with the process CPU time and the load beside them.
A route is a list of module attribute assignments made before each of its epochs, e.g.

    python -m benchmarks.bench_ab_routes --model mlp --pairs 16 \\
        --a minikeras.optimizers.base._GATHER_UPDATES=False \\
        --b minikeras.optimizers.base._GATHER_UPDATES=True

Values are Python literals (`'auto'`, `8192`). The models are those of the side-by-side
benchmark's `bench.py` (`--bench-dir`, by default `../shared/bench` beside the checkout), else
a built-in copy of its mlp.
"""
import argparse
import ast
import importlib
import os
import statistics
import sys
import time

import numpy as np

import minikeras as keras


def parse_assignment(text):
    """`package.module.attr=value` -> (module, attr, value)."""
    target, _, literal = text.partition("=")
    module_name, _, attr = target.rpartition(".")
    if not module_name or not literal:
        raise SystemExit(f"not an assignment MODULE.ATTR=VALUE: {text!r}")
    return importlib.import_module(module_name), attr, ast.literal_eval(literal)


def apply(route):
    for module, attr, value in route:
        if not hasattr(module, attr):
            raise SystemExit(f"{module.__name__} has no attribute {attr!r}")
        setattr(module, attr, value)


def builtin_mlp():
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(512, activation="relu"), layers.Dropout(0.2),
        layers.Dense(512, activation="relu"), layers.Dropout(0.2),
        layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    return model, dict(input_shape=(784,), classes=10, samples=20000, batch=128)


def build(model_name, bench_dir):
    if bench_dir and os.path.isfile(os.path.join(bench_dir, "bench.py")):
        sys.path.insert(0, bench_dir)
        import bench
        return bench.build_keras_model(keras, model_name), bench.MODEL_CFG[model_name]
    if model_name != "mlp":
        raise SystemExit(f"--model {model_name} needs bench.py (--bench-dir)")
    return builtin_mlp()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--mode", default="train", choices=("train", "predict"))
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--samples", type=int, default=None, help="fewer samples per epoch")
    parser.add_argument("--a", nargs="*", default=[], help="route A: MODULE.ATTR=VALUE ...")
    parser.add_argument("--b", nargs="*", default=[], help="route B: MODULE.ATTR=VALUE ...")
    parser.add_argument("--bench-dir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))
    args = parser.parse_args()
    routes = {"A": [parse_assignment(t) for t in args.a],
              "B": [parse_assignment(t) for t in args.b]}
    model, cfg = build(args.model, args.bench_dir)
    samples = args.samples or cfg["samples"]
    rng = np.random.default_rng(0)
    if "vocab" in cfg:
        x = rng.integers(0, cfg["vocab"], size=(samples,) + cfg["input_shape"]).astype("int32")
    else:
        x = rng.random((samples,) + cfg["input_shape"], dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, cfg["classes"], samples), cfg["classes"])

    def run():
        if args.mode == "train":
            model.fit(x, y, batch_size=cfg["batch"], epochs=1, verbose=0, shuffle=False)
        else:
            model.predict(x, batch_size=cfg["batch"], verbose=0)

    wall = {"A": [], "B": []}
    cpu = {"A": [], "B": []}
    for name in "AB":                   # warm-up of each route
        apply(routes[name])
        run()
    for pair in range(args.pairs):
        for name in ("AB" if pair % 2 == 0 else "BA"):
            apply(routes[name])
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    ratios = [b / a for a, b in zip(wall["A"], wall["B"])]
    cpu_ratios = [b / a for a, b in zip(cpu["A"], cpu["B"])]
    print(f"{args.model} {args.mode}: {args.pairs} pairs of {samples} samples, "
          f"load {os.getloadavg()[0]:.1f}")
    for name in "AB":
        print(f"  {name}: wall min {min(wall[name]):.4f} s ({samples / min(wall[name]):.0f} "
              f"samples/s), median {statistics.median(wall[name]):.4f} s; "
              f"CPU median {statistics.median(cpu[name]):.4f} s")
    print(f"  B/A: wall min-ratio {min(wall['B']) / min(wall['A']):.3f}, median pair ratio "
          f"{statistics.median(ratios):.3f}; CPU median pair ratio "
          f"{statistics.median(cpu_ratios):.3f}")


if __name__ == "__main__":
    main()
