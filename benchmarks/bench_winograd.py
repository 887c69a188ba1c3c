"""Winograd F(2x2, 3x3) kernels against their GEMM floor, one thread, one half batch.

For 3x3 'same' convolutions of the shapes resnet- and VGG-style nets use, times (best of
several repeats, thread CPU time, BLAS on one thread as inside `parallel.run_split`):
- `convolve_chunk` (padding copy, input transform, the 16 products, output transform) and
  `kernel_grad_chunk` (both transforms and the 16 products) on 32 samples;
- their products alone (16 GEMMs `(tiles, c) @ (c, f)` and `(c, tiles) @ (tiles, f)` on
  contiguous operands of one cache-sized slice of samples, once per slice as the kernels
  run them): the floor the transforms add to.
The routes are timed alternately so that a busy machine slows both alike.

    PYTHONPATH=. python benchmarks/bench_winograd.py [--repeats 7] [--samples 32]
"""
import argparse
import os
import time

import numpy as np

from minikeras.ops import parallel
from minikeras.ops import winograd

SHAPES = [(32, 32, 32), (16, 64, 64), (8, 128, 128), (15, 24, 40), (56, 64, 64)]


def thread_seconds(fn):
    start = time.thread_time()
    fn()
    return time.thread_time() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--samples", type=int, default=32)
    args = parser.parse_args()
    if parallel._BLAS is not None:
        parallel._BLAS[0](1)
    rng = np.random.default_rng(0)
    print(f"load {os.getloadavg()[0]:.2f}; ms per {args.samples} samples, one thread")
    for size, cin, filters in SHAPES:
        x = rng.standard_normal((args.samples, size, size, cin), dtype=np.float32)
        g = rng.standard_normal((args.samples, size, size, filters), dtype=np.float32)
        tiling = winograd.Tiling((size, size), ((1, 1), (1, 1)))
        u = winograd.transform_kernel(rng.standard_normal((3, 3, cin, filters),
                                                          dtype=np.float32))
        out = np.empty(g.shape, np.float32)
        slices = winograd._sample_slices(args.samples, tiling, max(cin, filters))
        tiles = (slices[0][1] - slices[0][0]) * tiling.tiles_per_sample
        v = rng.standard_normal((16, tiles, cin), dtype=np.float32)
        d = rng.standard_normal((16, tiles, filters), dtype=np.float32)
        m = np.empty((16, tiles, filters), np.float32)
        runs = {"conv": lambda: winograd.convolve_chunk(x, u, tiling, out),
                "conv floor": lambda: [np.matmul(v, u, out=m) for _ in slices],
                "kernel grad": lambda: winograd.kernel_grad_chunk(x, g, tiling),
                "kernel grad floor": lambda: [np.matmul(v.transpose(0, 2, 1), d)
                                              for _ in slices]}
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(args.repeats):
            for name, run in runs.items():
                best[name] = min(best[name], thread_seconds(run))
        print(f"{size}x{size}x{cin} -> {filters}: conv {best['conv'] * 1e3:.2f} "
              f"(floor {best['conv floor'] * 1e3:.2f}), kernel grad "
              f"{best['kernel grad'] * 1e3:.2f} (floor {best['kernel grad floor'] * 1e3:.2f})")


if __name__ == "__main__":
    main()
