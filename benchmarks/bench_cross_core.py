"""How far apart the host has placed this VM's two vCPUs right now: per second, the time of a
two-thread GEMM (128x784 @ 784x512, OpenBLAS' threads) and of a 65k-float multiply into a fresh
array right after it (malloc hands back the GEMM's freed output block, half of it last written
by OpenBLAS' worker on the other core) against the same multiply into a buffer only this core
writes.

The mlp's "slow mode" (whole processes 25-35 % slower on an idle machine, tf.keras too) showed
here as GEMM 700 us / fresh 45 us against 547 / 16 us four minutes later (local 9 us both
times, one-thread GEMM 99 GFLOP/s per core throughout): cross-core cache transfers cost ~3x
more in some placements (vCPUs on different L3 domains of the host's EPYC), which slows every
two-thread product and every pass over data the other core wrote. Run it before a benchmark
sitting to know which placement the numbers were taken in.

    OPENBLAS_NUM_THREADS=2 python benchmarks/bench_cross_core.py [--seconds 10]
"""
import argparse
import ctypes
import time

import numpy as np


def keep_freed_blocks_in_heap():
    """As minikeras' allocator does in a step: freed blocks are reused, not unmapped."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(-3, 32 << 20)           # M_MMAP_THRESHOLD
    mallopt(-1, 1 << 30)            # M_TRIM_THRESHOLD


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    keep_freed_blocks_in_heap()
    rng = np.random.default_rng(0)
    a = rng.random((128, 784), dtype=np.float32)
    b = rng.random((784, 512), dtype=np.float32)
    x = rng.random((128, 512), dtype=np.float32)
    local = np.empty_like(x)
    scale = np.float32(1.25)
    end = time.time() + args.seconds
    while time.time() < end:
        gemm, fresh, own = [], [], []
        start = time.perf_counter()
        while time.perf_counter() - start < 1.0:
            t0 = time.perf_counter()
            a @ b
            t1 = time.perf_counter()
            x * scale                   # a fresh array, freed at once
            t2 = time.perf_counter()
            a @ b
            t3 = time.perf_counter()
            np.multiply(x, scale, out=local)
            t4 = time.perf_counter()
            gemm.append(t1 - t0)
            fresh.append(t2 - t1)
            own.append(t4 - t3)
        print(f"{time.strftime('%H:%M:%S')} gemm {np.median(gemm) * 1e6:6.1f} us, multiply into a "
              f"fresh array {np.median(fresh) * 1e6:5.1f} us, into this core's buffer "
              f"{np.median(own) * 1e6:5.1f} us", flush=True)


if __name__ == "__main__":
    main()
