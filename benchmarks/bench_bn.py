"""BatchNormalization forward+backward throughput on a (64, 32, 32, 64) float32 batch, in GB/s,
against NumPy's own elementwise bandwidth measured in the same run.

Bytes counted for one training step of the layer (forward + backward): the tensors it must touch
at least once, i.e. forward reads x and writes y, backward reads dy and x and writes dx:
5 x 16.8 MB. (A two-pass implementation necessarily reads x once more in the forward pass and
x and dy once more in the backward pass; those extra reads are not counted.)
NumPy's bandwidth: `np.add(a, b, out=c)` on arrays of the same size, 3 tensors per call.

    python benchmarks/bench_bn.py [--repeats 5] [--rounds 6] [--shape 64 32 32 64] [--axis -1]
"""
import argparse
import time

import numpy as np

import minikeras as keras
from minikeras import layers
from minikeras.backend.tensor import Tensor
from minikeras.ops import batch_norm as bn_ops


def best_time(fn, repeats, clock=time.perf_counter):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--shape", type=int, nargs="+", default=[64, 32, 32, 64])
    parser.add_argument("--axis", type=int, default=-1)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    shape = tuple(args.shape)
    x = Tensor((rng.standard_normal(shape) * 2 + 1).astype(np.float32))
    dy = (rng.standard_normal(shape)).astype(np.float32)
    layer = layers.BatchNormalization(axis=args.axis)
    layer(x, training=False)
    weights = layer.trainable_weights
    tensor_bytes = x.data.nbytes

    def forward():
        return layer(x, training=True)

    def forward_backward():
        with keras.GradientTape() as tape:
            tape.watch(x)
            out = layer(x, training=True)
        return tape.gradient(out, [x] + weights, output_gradients=Tensor(dy))

    def inference():
        return layer(x, training=False)

    a = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape).astype(np.float32)
    c = np.empty_like(a)

    def numpy_add():
        np.add(a, b, out=c)

    # Interleave the measurements so that all of them see the same machine load; keep the best.
    # Wall-clock times use the default threading; CPU times (time.process_time, robust to other
    # processes taking the cores) run the batch-norm tiles on one thread.
    timings = {}

    def measure(key, fn, clock=time.perf_counter):
        timings[key] = min(timings.get(key, float("inf")), best_time(fn, args.repeats, clock))
    threads = bn_ops._THREADS
    for _ in range(args.rounds):
        measure("add", numpy_add)
        measure("fb", forward_backward)
        measure("f", forward)
        measure("i", inference)
        measure("add_cpu", numpy_add, time.process_time)
        bn_ops._THREADS = 1
        measure("fb_cpu", forward_backward, time.process_time)
        bn_ops._THREADS = threads

    numpy_bw = 3 * tensor_bytes / timings["add"] / 1e9
    numpy_cpu_bw = 3 * tensor_bytes / timings["add_cpu"] / 1e9
    bn_bw = 5 * tensor_bytes / timings["fb"] / 1e9
    bn_cpu_bw = 5 * tensor_bytes / timings["fb_cpu"] / 1e9
    print(f"batch {shape}, axis {args.axis}, fused path: {layer.fused}, "
          f"tensor {tensor_bytes / 1e6:.1f} MB, BN threads: {threads}")
    print(f"numpy add (3 tensors):            {timings['add'] * 1e3:7.2f} ms  {numpy_bw:6.2f} GB/s")
    print(f"BN forward+backward (5 tensors):  {timings['fb'] * 1e3:7.2f} ms  {bn_bw:6.2f} GB/s  "
          f"= {100 * bn_bw / numpy_bw:.0f}% of numpy (target >= 30%)")
    print(f"BN training forward (2 tensors):  {timings['f'] * 1e3:7.2f} ms  "
          f"{2 * tensor_bytes / timings['f'] / 1e9:6.2f} GB/s")
    print(f"BN inference (2 tensors):         {timings['i'] * 1e3:7.2f} ms  "
          f"{2 * tensor_bytes / timings['i'] / 1e9:6.2f} GB/s")
    print(f"CPU time, one thread: numpy add {timings['add_cpu'] * 1e3:.2f} ms "
          f"({numpy_cpu_bw:.2f} GB/s), BN forward+backward {timings['fb_cpu'] * 1e3:.2f} ms "
          f"({bn_cpu_bw:.2f} GB/s) = {100 * bn_cpu_bw / numpy_cpu_bw:.0f}% of numpy")


if __name__ == "__main__":
    main()
