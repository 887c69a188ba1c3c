"""Two commits of minikeras side by side in one process: a whole model's predict or fit, timed
alternately (A B, B A, A B, ...), so that the host's speed phases and other processes slow both
alike (on a shared machine two separate runs are not comparable).

Each commit's `minikeras` package is extracted with `git archive` into a temporary directory
under its own name (the package imports itself relatively), the model of `bench_models.build`
is built in both with the same weights, and for every call the process CPU time (all threads)
and the wall time are taken. Prints min / median ms per sample for each commit and the median
of the per-pair ratios B / A (below 1: B is faster), with the load average.

    PYTHONPATH=. python benchmarks/bench_ab_commits.py main HEAD \
        [--model resnet_small] [--mode predict] [--pairs 12] [--samples 512]
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

import bench_models
from commit_packages import extract


def build_with(module, name):
    """`bench_models.build(name)` with `module` as keras."""
    bench_models.keras, bench_models.L = module, module.layers
    return bench_models.build(name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--model", default="resnet_small", choices=sorted(bench_models.MODELS))
    parser.add_argument("--mode", default="predict", choices=("predict", "train"))
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--samples", type=int, default=512)
    args = parser.parse_args()
    shape, classes, _, batch = bench_models.MODELS[args.model]
    with tempfile.TemporaryDirectory() as root:
        sys.path.insert(0, root)
        modules = {"A": extract(args.a, "minikeras_a", root),
                   "B": extract(args.b, "minikeras_b", root)}
        models = {key: build_with(module, args.model) for key, module in modules.items()}
        models["B"].set_weights(models["A"].get_weights())
        rng = np.random.default_rng(0)
        x = rng.random((args.samples,) + shape, dtype=np.float32)
        y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, args.samples)]

        def run(key):
            if args.mode == "predict":
                return models[key].predict(x, batch_size=batch, verbose=0)
            models[key].fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
            return None

        first = {key: run(key) for key in models}          # warm-up (plans, buffers)
        if args.mode == "predict":
            difference = np.abs(first["A"] - first["B"]).max() / np.abs(first["A"]).max()
            print(f"predictions: largest difference {difference:.1e} of the largest value")
        times = alternate(run, args.pairs)
    report(f"{args.model} {args.mode}", times, args)


def alternate(run, pairs):
    """{"A": [(CPU s, wall s), ...], "B": [...]}: `run(key)` timed in pairs, A B, B A, ..."""
    times = {"A": [], "B": []}
    for pair in range(pairs):
        for key in ("A", "B") if pair % 2 == 0 else ("B", "A"):
            cpu, wall = time.process_time(), time.perf_counter()
            run(key)
            times[key].append((time.process_time() - cpu, time.perf_counter() - wall))
    return times


def report(title, times, args):
    """Min / median ms per sample of each commit and the median pair ratios B / A."""
    a, b = np.array(times["A"]), np.array(times["B"])
    per_sample = 1e3 / args.samples
    print(f"{title}, {args.pairs} pairs, load {os.getloadavg()[0]:.1f}; "
          f"ms per sample, min / median")
    for key, ref, t in (("A", args.a, a), ("B", args.b, b)):
        print(f"  {key} ({ref}): CPU {t[:, 0].min() * per_sample:.3f} / "
              f"{np.median(t[:, 0]) * per_sample:.3f}, wall {t[:, 1].min() * per_sample:.3f} / "
              f"{np.median(t[:, 1]) * per_sample:.3f}")
    print(f"  B / A, median of pairs: CPU {np.median(b[:, 0] / a[:, 0]):.3f}, "
          f"wall {np.median(b[:, 1] / a[:, 1]):.3f}")


if __name__ == "__main__":
    main()
