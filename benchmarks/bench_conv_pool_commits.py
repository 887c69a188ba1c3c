"""The fused training op conv + bias + relu + max pooling (ops/conv_pool.py) of two commits side
by side in one process, per seed_cnn layer: this thread's CPU time of the forward and of the
backward (batch of 32, the work on this thread only), the commits alternating (A B, B A, ...).

Both commits' route plans (blocked or whole products, `conv_kernels.plan`) are set to blocked
products after the first call: on a loaded machine their timing may choose differently in the
two packages and a layer's figures then differ by 10-20 % for the same code. Prints the medians
and the median of the per-pair ratios B / A (below 1: B is faster), with the load average.

    PYTHONPATH=. python benchmarks/bench_conv_pool_commits.py main HEAD [--pairs 15]
"""
import argparse
import importlib
import os
import sys
import tempfile
import time

os.environ["MINIKERAS_NUM_THREADS"] = "1"        # all the work on this thread

import numpy as np  # noqa: E402

from commit_packages import extract  # noqa: E402

LAYERS = [((32, 224, 224, 3), 16), ((32, 111, 111, 16), 32), ((32, 55, 55, 32), 64)]
PADS = [(0, 0), (0, 0)]


def load(ref, name, root):
    """Commit `ref`'s conv_pool and conv_kernels modules, BLAS on one thread."""
    extract(ref, name, root)
    parallel = importlib.import_module(name + ".ops.parallel")
    if parallel._BLAS is not None:
        parallel._BLAS[0](1)
    return (importlib.import_module(name + ".ops.conv_pool"),
            importlib.import_module(name + ".ops.conv_kernels"))


def blocked_plans(conv_kernels):
    for key in conv_kernels._PLANS:
        if "conv_pool" in str(key[0]):
            conv_kernels._PLANS[key] = "small"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as root:
        sys.path.insert(0, root)
        packages = {"A": load(args.a, "minikeras_a", root), "B": load(args.b, "minikeras_b", root)}
        for shape, filters in LAYERS:
            x = rng.random(shape, dtype=np.float32)
            kernel = (rng.standard_normal((2, 2, shape[-1], filters)) * 0.3).astype(np.float32)
            bias = (rng.standard_normal(filters) * 0.1).astype(np.float32)
            g = None
            times = {"A": [], "B": []}
            for pair in range(args.pairs + 1):
                for key in ("A", "B") if pair % 2 else ("B", "A"):
                    conv_pool, conv_kernels = packages[key]
                    start = time.thread_time()
                    out, ctx = conv_pool.forward(x, kernel, bias, PADS, (1, 1), (2, 2), "relu",
                                                 True)
                    if g is None:
                        g = rng.standard_normal(out.shape).astype(np.float32)
                    middle = time.thread_time()
                    conv_pool.gradients(ctx, g, shape[-1] > 3, True, True)
                    end = time.thread_time()
                    if pair:
                        times[key].append((middle - start, end - middle))
                    else:
                        blocked_plans(conv_kernels)
            a, b = np.array(times["A"]) * 1e3, np.array(times["B"]) * 1e3
            ratios = np.median(b / a, axis=0)
            print(f"{shape[1:]} -> {filters}: forward {np.median(a[:, 0]):.1f} -> "
                  f"{np.median(b[:, 0]):.1f} ms (pairs {ratios[0]:.3f}), backward "
                  f"{np.median(a[:, 1]):.1f} -> {np.median(b[:, 1]):.1f} ms (pairs "
                  f"{ratios[1]:.3f}); {args.pairs} pairs, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
