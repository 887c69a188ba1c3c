"""LocallyConnected2D forward and forward+backward time per batch for the three weight layouts
(`implementation` 1, 2, 3), with the floating-point work of the per-position matmuls as GFLOP/s.

    python -m benchmarks.bench_locally_connected [--repeats 5] [--batch 32] [--size 16]
        [--channels 8] [--filters 16] [--kernel 3]

`--peer`: the same layers in tf.keras 2.21 instead, run with the peer venv
(`/work/peers/bin/python -m benchmarks.bench_locally_connected --peer`).

On the 2-core dev machine (batch 32, 16x16x8 input, 3x3 kernel, 16 filters), forward /
forward+backward: minikeras mode 1 2.6 / 3.6 ms, mode 2 1.5 / 95 ms (the dense kernel's
gradient is 25 MB), mode 3 1.1 / 4.7 ms; tf.keras 2.21 mode 1 54 / 139 ms, mode 2 23 / 84 ms,
mode 3 511 / 1236 ms.
"""
import argparse
import time

import numpy as np


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
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--peer", action="store_true")
    args = parser.parse_args()
    if args.peer:
        import tensorflow as tf
        import tf_keras as keras

        def grad(layer, x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(layer(x))
            return tape.gradient(loss, [x] + layer.trainable_weights)
        to_input = tf.constant
    else:
        import minikeras as keras
        from minikeras.core.tensor import Tensor

        def grad(layer, x):
            with keras.GradientTape() as tape:
                tape.watch(x)
                loss = keras.ops.sum(layer(x))
            return tape.gradient(loss, [x] + layer.trainable_weights)
        to_input = Tensor

    rng = np.random.default_rng(0)
    x = to_input(rng.standard_normal((args.batch, args.size, args.size, args.channels))
                 .astype("float32"))
    out = args.size - args.kernel + 1
    flops = 2 * args.batch * out * out * args.kernel ** 2 * args.channels * args.filters
    print(f"input {tuple(x.shape)}, kernel {args.kernel}, filters {args.filters} "
          f"({'tf.keras' if args.peer else 'minikeras'})")
    for implementation in (1, 2, 3):
        layer = keras.layers.LocallyConnected2D(args.filters, args.kernel,
                                                implementation=implementation)
        layer(x)
        forward = best_time(lambda: layer(x), args.repeats)
        both = best_time(lambda: grad(layer, x), args.repeats)
        print(f"implementation {implementation}: forward {forward * 1e3:8.2f} ms "
              f"({flops / forward / 1e9:6.2f} GFLOP/s), forward+backward {both * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
