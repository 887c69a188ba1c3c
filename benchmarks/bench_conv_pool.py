"""A/B of the fused training op conv + bias + relu + max pooling (ops/conv_pool.py) against the
same layers as separate ops (conv_kernels.conv_forward / conv_gradients, pool_kernels
max_pool_forward / max_pool_backward), on seed_cnn's three layers, interleaved in one process.

    python benchmarks/bench_conv_pool.py [repeats]
    python benchmarks/bench_conv_pool.py --model [pairs]

Prints per layer the median forward and backward time (ms per batch of 32) of each route: wall
time, or this thread's CPU time with MINIKERAS_NUM_THREADS=1 (then all the work is on it);
with --model, whole seedcnn-style training steps (bench.py's seed_cnn, 128 samples a fit) with
the training fusion on and off (`models.fusion.ENABLED`), interleaved, ms per step.
"""
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from minikeras.ops import conv_kernels, pool_kernels  # noqa: E402
import importlib  # noqa: E402

conv_pool = importlib.import_module("minikeras.ops.conv_pool")

LAYERS = [((32, 224, 224, 3), 16), ((32, 111, 111, 16), 32), ((32, 55, 55, 32), 64)]


clock = time.thread_time if os.environ.get("MINIKERAS_NUM_THREADS") == "1" else time.perf_counter


def unfused(x, kernel, bias, need_input):
    pads = [(0, 0), (0, 0)]
    t0 = clock()
    y, cctx = conv_kernels.conv_forward(x, kernel, (1, 1), pads, (1, 1), 1, bias=bias,
                                        activation="relu", cached_output=True)
    out, pctx = pool_kernels.max_pool_forward(y, (2, 2), (2, 2), pads, cached_output=True)
    t1 = clock()
    g = np.ones_like(out)
    gy = pool_kernels.max_pool_backward(pctx, g)
    conv_kernels.conv_gradients(cctx, gy, need_input, True, True)
    return t1 - t0, clock() - t1


def fused(x, kernel, bias, need_input):
    pads = [(0, 0), (0, 0)]
    t0 = clock()
    out, ctx = conv_pool.forward(x, kernel, bias, pads, (1, 1), (2, 2), "relu", True)
    t1 = clock()
    g = np.ones_like(out)
    conv_pool.gradients(ctx, g, need_input, True, True)
    return t1 - t0, clock() - t1


def whole_model(pairs):
    import minikeras as keras
    fusion = importlib.import_module("minikeras.models.fusion")
    L = keras.layers
    keras.utils.set_random_seed(0)
    net = keras.Sequential([
        keras.Input((224, 224, 3)),
        L.Conv2D(16, 2, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(32, 2, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 2, activation="relu"), L.MaxPooling2D(2),
        L.GlobalAveragePooling2D(), L.Dense(133, activation="softmax")])
    net.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((128, 224, 224, 3), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 133, 128), 133)
    times = {True: [], False: []}
    for i in range(pairs + 1):
        for enabled in ((True, False) if i % 2 == 0 else (False, True)):
            fusion.ENABLED = enabled
            start = time.perf_counter()
            net.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
            if i:
                times[enabled].append((time.perf_counter() - start) / 4)
    ratios = [b / a for a, b in zip(times[True], times[False])]
    print(f"fused: min {min(times[True]) * 1e3:.1f} median "
          f"{statistics.median(times[True]) * 1e3:.1f} ms/step; layer by layer: min "
          f"{min(times[False]) * 1e3:.1f} median {statistics.median(times[False]) * 1e3:.1f}; "
          f"median pair ratio {statistics.median(ratios):.2f} ({pairs} pairs, load "
          f"{os.getloadavg()[0]:.1f})")


def main():
    if "--model" in sys.argv:
        args = [a for a in sys.argv[1:] if a != "--model"]
        whole_model(int(args[0]) if args else 5)
        return
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    rng = np.random.default_rng(0)
    for shape, filters in LAYERS:
        x = rng.random(shape, dtype=np.float32)
        kernel = (rng.standard_normal((2, 2, shape[-1], filters)) * 0.3).astype(np.float32)
        bias = np.zeros(filters, np.float32)
        need_input = shape[-1] > 3
        times = {"unfused": ([], []), "fused": ([], [])}
        for r in range(repeats + 1):
            for name, route in (("unfused", unfused), ("fused", fused)):
                f, b = route(x, kernel, bias, need_input)
                if r:
                    times[name][0].append(f)
                    times[name][1].append(b)
        line = " ".join(f"{name}: fwd {statistics.median(f) * 1e3:6.1f} bwd "
                        f"{statistics.median(b) * 1e3:6.1f}" for name, (f, b) in times.items())
        print(f"{shape} -> {filters}: {line}  (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
