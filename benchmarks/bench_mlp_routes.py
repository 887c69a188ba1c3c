"""The benchmark's mlp training step written in raw NumPy along three routes, timed in turns in
one process with the host's vCPU placement read before every turn (as
`bench_cross_core.py` does: a fresh-array multiply right after a two-thread product, "far"
above 28 us), so that each route's cost can be read per placement without minikeras' Python.

Routes (784-512 relu-dropout-512 relu-dropout-10 softmax, crossentropy, Adam, batch 128;
dropout masks fixed):

    threads  BLAS' own threads for the products, one Python thread; Adam after the backward
             pass, each large variable split at the same fraction between this thread and
             OpenBLAS' worker (`blas_threads.BlasWorkerHalves`), as minikeras' step does
    early    `threads` with each variable's Adam run as soon as its gradient is final
             (during the backward pass, while the gradient is in cache)
    dp       data-parallel by rows, BLAS on one thread, two hand-offs a step: (1) each thread
             takes half the batch's rows forward, through the loss and back to every layer's
             pre-activation gradient; (2) each thread computes its half of every kernel
             gradient's output rows (over the whole batch: the same sums as the serial
             product), its half of the bias gradients' columns, and runs Adam on those rows
             (the rows it updated the step before)

Also printed: whether the products' one-thread and two-thread results are the same bits for
the step's shapes (OpenBLAS 0.3.31 differs for inner dimensions in (512, 1024) that are not
multiples of 128, such as the 784 of the first layer: different K blocking), and the largest
difference between the routes' weights after a few steps.

    OPENBLAS_NUM_THREADS=2 python benchmarks/bench_mlp_routes.py [--rounds 20] [--steps 40]
        [--routes threads,dp]
"""
import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from minikeras.ops import allocator, blas_threads, parallel   # noqa: E402

BATCH = 128
SIZES = [(784, 512), (512, 512), (512, 10)]
KEEP_1, KEEP_2 = np.float32(1 - 0.9), np.float32(1 - 0.999)
EPSILON, ALPHA = np.float32(1e-7), np.float32(1e-3)
FAR_MICROSECONDS = 28


def set_blas_threads(count):
    parallel._BLAS[0](count)


def adam(gradient, weights, m, v, scratch, step):
    """minikeras' Adam passes (`optimizers/adam.py`), constant alpha."""
    np.subtract(gradient, m, out=scratch)
    scratch *= KEEP_1
    m += scratch
    np.square(gradient, out=scratch)
    scratch -= v
    scratch *= KEEP_2
    v += scratch
    np.sqrt(v, out=scratch)
    scratch += EPSILON
    np.multiply(m, ALPHA, out=step)
    step /= scratch
    weights -= step


def softmax_gradient(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    exp /= exp.sum(axis=1, keepdims=True)
    exp -= labels
    exp /= np.float32(BATCH)
    return exp


class Net:
    def __init__(self, masks):
        rng = np.random.default_rng(1)
        self.params = []
        for rows, columns in SIZES:
            self.params.append(rng.standard_normal((rows, columns)).astype(np.float32) *
                               np.float32(0.05))
            self.params.append(np.zeros(columns, np.float32))
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.masks = masks
        self.scratch = {}

    def buffers(self, key, size):
        """Two work arrays of `size` kept per key (per thread in `dp`)."""
        pair = self.scratch.get(key)
        if pair is None or pair[0].size < size:
            pair = self.scratch[key] = [np.empty(size, np.float32) for _ in range(2)]
        return pair[0][:size], pair[1][:size]

    def update(self, index, gradient, lo=0, hi=None, key="main"):
        """Adam on flat elements [lo, hi) of parameter `index`."""
        flat = [a.reshape(-1) for a in (gradient, self.params[index], self.m[index],
                                        self.v[index])]
        hi = flat[0].size if hi is None else hi
        adam(*[a[lo:hi] for a in flat], *self.buffers(key, hi - lo))

    def update_split(self, index, gradient):
        """Adam on parameter `index`, large ones split with OpenBLAS' worker."""
        size = gradient.size
        halves = blas_threads._WORKER_HALVES
        if size < 1 << 17 or halves is None or not halves.ready():
            self.update(index, gradient)
            return

        def work(lo, hi):
            self.update(index, gradient, lo, hi, key=("worker", lo == 0))
        halves.run(work, size)

    # --- threads / early ------------------------------------------------------------------
    def serial_step(self, x, labels, early=False):
        w1, b1, w2, b2, w3, b3 = self.params
        mask1, mask2 = self.masks
        z1 = x @ w1
        z1 += b1
        np.maximum(z1, 0, out=z1)
        d1 = z1 * mask1
        z2 = d1 @ w2
        z2 += b2
        np.maximum(z2, 0, out=z2)
        d2 = z2 * mask2
        logits = d2 @ w3
        logits += b3
        g3 = softmax_gradient(logits, labels)
        grads = [None] * 6
        grads[4], grads[5] = d2.T @ g3, g3.sum(axis=0)
        g = g3 @ w3.T
        g *= mask2
        g *= z2 > 0
        if early:
            self.update_split(4, grads[4])
            self.update_split(5, grads[5])
        grads[2], grads[3] = d1.T @ g, g.sum(axis=0)
        g = g @ w2.T
        g *= mask1
        g *= z1 > 0
        if early:
            self.update_split(2, grads[2])
            self.update_split(3, grads[3])
        grads[0], grads[1] = x.T @ g, g.sum(axis=0)
        for index in range(6) if not early else (0, 1):
            self.update_split(index, grads[index])

    # --- dp ---------------------------------------------------------------------------------
    def dp_step(self, x, labels, pool):
        w1, b1, w2, b2, w3, b3 = self.params
        mask1, mask2 = self.masks
        half = BATCH // 2
        d1 = np.empty((BATCH, 512), np.float32)
        d2 = np.empty((BATCH, 512), np.float32)
        g3 = np.empty((BATCH, 10), np.float32)
        g2 = np.empty((BATCH, 512), np.float32)
        g1 = np.empty((BATCH, 512), np.float32)

        def rows(part):
            rows_ = slice(0, half) if part == 0 else slice(half, BATCH)
            z1 = x[rows_] @ w1
            z1 += b1
            np.maximum(z1, 0, out=z1)
            np.multiply(z1, mask1[rows_], out=d1[rows_])
            z2 = d1[rows_] @ w2
            z2 += b2
            np.maximum(z2, 0, out=z2)
            np.multiply(z2, mask2[rows_], out=d2[rows_])
            logits = d2[rows_] @ w3
            logits += b3
            g3[rows_] = softmax_gradient(logits, labels[rows_])
            g = np.matmul(g3[rows_], w3.T, out=g2[rows_])
            g *= mask2[rows_]
            g *= z2 > 0
            g = np.matmul(g, w2.T, out=g1[rows_])
            g *= mask1[rows_]
            g *= z1 > 0

        kernel_grads = [np.empty(shape, np.float32) for shape in SIZES]
        bias_grads = [np.empty(shape[1], np.float32) for shape in SIZES]

        def weights(part):
            key = ("dp", part)
            for layer, (inputs, gradient) in enumerate(((x, g1), (d1, g2), (d2, g3))):
                fan_in, units = SIZES[layer]
                lo, hi = (0, fan_in // 2) if part == 0 else (fan_in // 2, fan_in)
                np.matmul(inputs[:, lo:hi].T, gradient, out=kernel_grads[layer][lo:hi])
                self.update(2 * layer, kernel_grads[layer], lo * units, hi * units, key)
                clo, chi = (0, units // 2) if part == 0 else (units // 2, units)
                np.add.reduce(gradient[:, clo:chi], axis=0, out=bias_grads[layer][clo:chi])
                self.update(2 * layer + 1, bias_grads[layer], clo, chi, key)

        for work in (rows, weights):
            future = pool.submit(work, 1)
            work(0)
            future.result()


def placement():
    rng = np.random.default_rng(3)
    a = rng.random((128, 784), dtype=np.float32)
    b = rng.random((784, 512), dtype=np.float32)
    x = rng.random((128, 512), dtype=np.float32)
    times = []
    for _ in range(30):
        a @ b
        start = time.perf_counter()
        x * np.float32(1.25)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e6


def product_bits_table():
    rng = np.random.default_rng(4)
    shapes = [(128, 784, 512), (128, 512, 512), (128, 512, 10), (784, 128, 512),
              (512, 128, 512), (128, 512, 784), (128, 10, 512)]
    cells = []
    for m, k, n in shapes:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        set_blas_threads(1)
        one = a @ b
        set_blas_threads(2)
        two = a @ b
        cells.append(f"{m}x{k}@{k}x{n} {'same' if np.array_equal(one, two) else 'DIFFERENT'}")
    print("one- vs two-thread product bits: " + ", ".join(cells))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--routes", default="threads,early,dp")
    args = parser.parse_args()
    routes = args.routes.split(",")
    allocator.tune_once()
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 784), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, BATCH)]
    scale = np.float32(1 / 0.8)
    masks = [(rng.random((BATCH, 512), dtype=np.float32) >= 0.2) * scale for _ in range(2)]
    masks = [mask.astype(np.float32) for mask in masks]
    pool = ThreadPoolExecutor(max_workers=1)
    nets = {route: Net(masks) for route in routes}

    def step(route):
        if route == "dp":
            set_blas_threads(1)
            try:
                nets[route].dp_step(x, labels, pool)
            finally:
                set_blas_threads(2)
        else:
            nets[route].serial_step(x, labels, early=route == "early")

    product_bits_table()
    for route in routes:
        for _ in range(3):
            step(route)
    first = nets[routes[0]]
    for route in routes[1:]:
        difference = max(float(np.abs(a - b).max()) for a, b in zip(first.params,
                                                                     nets[route].params))
        print(f"weights after 3 steps, {route} vs {routes[0]}: largest difference "
              f"{difference:.1e}")
    medians = {route: {"near": [], "far": []} for route in routes}
    for round_ in range(args.rounds):
        reading = placement()
        where = "far" if reading > FAR_MICROSECONDS else "near"
        shift = round_ % len(routes)
        line = []
        for route in routes[shift:] + routes[:shift]:
            times = []
            for _ in range(args.steps):
                start = time.perf_counter()
                step(route)
                times.append(time.perf_counter() - start)
            medians[route][where].append(float(np.median(times)) * 1e3)
            line.append(f"{route} {medians[route][where][-1]:.3f}")
        print(f"round {round_:2d} {where:4s} ({reading:4.1f} us): step ms median " +
              "  ".join(sorted(line)), flush=True)
    print(f"load {os.getloadavg()[0]:.1f}")
    for where in ("near", "far"):
        if not medians[routes[0]][where]:
            continue
        base = np.array(medians[routes[0]][where])
        summary = [f"{routes[0]} {np.median(base):.3f} ms"]
        for route in routes[1:]:
            ratios = np.array(medians[route][where]) / base
            summary.append(f"{route} {np.median(medians[route][where]):.3f} ms "
                           f"(ratio median {np.median(ratios):.3f}, "
                           f"{ratios.min():.3f}-{ratios.max():.3f})")
        print(f"{where} ({len(base)} rounds): " + ", ".join(summary))


if __name__ == "__main__":
    main()
