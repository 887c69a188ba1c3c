"""BatchNormalization forward+backward throughput on a (64, 32, 32, 64) float32 batch, in GB/s,
against NumPy's own elementwise bandwidth measured in the same run.

Bytes counted for one training step of the layer (forward + backward): the tensors it must touch
at least once, i.e. forward reads x and writes y, backward reads dy and x and writes dx:
5 x 16.8 MB. (A two-pass implementation necessarily reads x once more in the forward pass and
x and dy once more in the backward pass; those extra reads are not counted.)
NumPy's bandwidth: `np.add(a, b, out=c)` on arrays of the same size, 3 tensors per call.

    python benchmarks/bench_bn.py [--repeats 20] [--shape 64 32 32 64] [--axis -1]
"""
import argparse
import time

import numpy as np

import minikeras as keras
from minikeras import layers
from minikeras.backend.tensor import Tensor


def best_time(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
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

    # Interleave the measurements so that both see the same machine load.
    t_add, t_fb, t_f, t_i = (float("inf"),) * 4
    for _ in range(3):
        t_add = min(t_add, best_time(numpy_add, args.repeats))
        t_fb = min(t_fb, best_time(forward_backward, args.repeats))
        t_f = min(t_f, best_time(forward, args.repeats))
        t_i = min(t_i, best_time(inference, args.repeats))

    numpy_bw = 3 * tensor_bytes / t_add / 1e9
    bn_bw = 5 * tensor_bytes / t_fb / 1e9
    print(f"batch {shape}, axis {args.axis}, fused path: {layer.fused}, "
          f"tensor {tensor_bytes / 1e6:.1f} MB")
    print(f"numpy add (3 tensors):            {t_add * 1e3:7.2f} ms  {numpy_bw:6.2f} GB/s")
    print(f"BN forward+backward (5 tensors):  {t_fb * 1e3:7.2f} ms  {bn_bw:6.2f} GB/s  "
          f"= {100 * bn_bw / numpy_bw:.0f}% of numpy (target >= 30%)")
    print(f"BN training forward (2 tensors):  {t_f * 1e3:7.2f} ms  "
          f"{2 * tensor_bytes / t_f / 1e9:6.2f} GB/s")
    print(f"BN inference (2 tensors):         {t_i * 1e3:7.2f} ms  "
          f"{2 * tensor_bytes / t_i / 1e9:6.2f} GB/s")


if __name__ == "__main__":
    main()
