"""Max pooling and the grid gradient route on seed_cnn's shapes, old route against new.

1. Max-pool 2x2 / 2 backward (first-maximum routing) on ReLU outputs (many ties at zero):
   the per-tap route (`_first_max_routing`: one pass per window tap with `channels`-long inner
   loops) against the route on whole rows of tiling windows (`max_pool_backward`).
2. Max-pool forward with and without combining the last axis over cell-shifted rows.
3. Gradients of the 2x2 stride-1 convolutions (grid route): products over whole chunks against
   products in blocks of rows sized for OpenBLAS' small-matrix kernels.

Figures are this thread's CPU milliseconds for 16 samples (one thread's half of a batch of 32),
best of several repeats, the two routes alternated so that a busy machine slows both alike.
Everything runs on one thread with BLAS on one thread, as each half of a split batch does.

    PYTHONPATH=. python benchmarks/bench_pool_grid.py [--repeats 7]
"""
import argparse
import os
import time

os.environ["MINIKERAS_NUM_THREADS"] = "1"      # before NumPy and minikeras are loaded
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402

from minikeras.ops import conv_kernels as K  # noqa: E402
from minikeras.ops import pool_kernels as P  # noqa: E402

SAMPLES = 16
POOL_SHAPES = [(223, 223, 16), (110, 110, 32), (54, 54, 64)]
CONV_SHAPES = [(111, 16, 32), (55, 32, 64)]


def best_of(repeats, routes):
    """{name: best thread CPU ms} of the `routes` (name -> function), run alternately."""
    best = dict.fromkeys(routes, float("inf"))
    for _ in range(repeats):
        for name, run in routes.items():
            start = time.thread_time()
            run()
            best[name] = min(best[name], 1e3 * (time.thread_time() - start))
    return best


def per_tap_backward(ctx, g):
    """The per-tap route over the same sample chunks."""
    pool = ctx.pool_size
    taps = K.tap_slices(pool, pool, (1,) * len(pool), ctx.out_sizes)
    dxp = K.scratch(ctx.xp.shape, g.dtype)
    for b0, b1 in K._sample_chunks(0, len(g), ctx.xp[:1].nbytes + ctx.out[:1].nbytes):
        P._first_max_routing(ctx.xp[b0:b1], ctx.out[b0:b1], g[b0:b1], dxp[b0:b1], taps, True,
                             pool, pool, ctx.out_sizes)
    return dxp


def pooling(repeats, rng):
    pads = [(0, 0), (0, 0)]
    for shape in POOL_SHAPES:
        x = np.maximum(rng.standard_normal((SAMPLES,) + shape, dtype=np.float32), 0)
        out, ctx = P.max_pool_forward(x, (2, 2), (2, 2), pads, cached_output=True)
        g = rng.standard_normal(out.shape, dtype=np.float32)
        backward = best_of(repeats, {"per tap": lambda: per_tap_backward(ctx, g),
                                     "rows": lambda: P.max_pool_backward(ctx, g)})
        combine = P._combine_along_rows
        forward = best_of(repeats, {
            "strided": lambda: _without_row_combining(x, pads),
            "rows": lambda: P.max_pool_forward(x, (2, 2), (2, 2), pads, cached_output=True)})
        assert P._combine_along_rows is combine
        print(f"max-pool {shape}: backward per tap {backward['per tap']:6.2f} ms, "
              f"rows {backward['rows']:6.2f} ms; forward strided {forward['strided']:5.2f} ms, "
              f"rows {forward['rows']:5.2f} ms")


def _without_row_combining(x, pads):
    combine = P._combine_along_rows
    P._combine_along_rows = lambda *args: False
    try:
        P.max_pool_forward(x, (2, 2), (2, 2), pads, cached_output=True)
    finally:
        P._combine_along_rows = combine


def grid_gradients(repeats, rng):
    for size, channels, filters in CONV_SHAPES:
        x = rng.standard_normal((SAMPLES, size, size, channels), dtype=np.float32)
        kernel = (0.1 * rng.standard_normal((2, 2, channels, filters))).astype(np.float32)
        out, ctx = K.conv_forward(x, kernel, (1, 1), [(0, 0), (0, 0)], (1, 1), 1,
                                  np.zeros(filters, np.float32), "relu", cached_output=True)
        g = rng.standard_normal(out.shape, dtype=np.float32)
        K.conv_gradients(ctx, g, True, True, True)            # plans the row blocks
        small = K._SMALL_GEMM_MACS

        def whole_chunks():
            K._SMALL_GEMM_MACS = 1 << 62
            try:
                K.conv_gradients(ctx, g, True, True, True)
            finally:
                K._SMALL_GEMM_MACS = small
        times = best_of(repeats, {"whole": whole_chunks,
                                  "planned": lambda: K.conv_gradients(ctx, g, True, True, True)})
        print(f"grid gradients {size}x{size}x{channels} -> {filters}: whole chunks "
              f"{times['whole']:6.2f} ms, planned blocks {times['planned']:6.2f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.1f}")
    pooling(args.repeats, rng)
    grid_gradients(args.repeats, rng)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
