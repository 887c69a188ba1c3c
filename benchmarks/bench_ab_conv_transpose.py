"""Conv2DTranspose layers' forward + backward (one train step's work for the layer), two
commits interleaved in one process, thread CPU time: the decoders of the Keras 2 autoencoder
examples (7x7x64 -> 14x14x64 -> 28x28x32, relu; -> 28x28x1) and mnist_acgan's generator.

    PYTHONPATH=.:benchmarks MINIKERAS_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        python benchmarks/bench_ab_conv_transpose.py \
        main HEAD [--pairs 15]

With both variables at 1 everything runs on the calling thread, so its CPU time is the
layer's whole work (no hand-off waits, no other thread's time): medians and minima per layer."""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

# name: (input shape, Conv2DTranspose arguments)
LAYERS = {
    "ae_7to14_relu": ((128, 7, 7, 64), dict(filters=64, kernel_size=3, strides=2,
                                             padding="same", activation="relu")),
    "ae_14to28_relu": ((128, 14, 14, 64), dict(filters=32, kernel_size=3, strides=2,
                                                padding="same", activation="relu")),
    "ae_28_to_1_sigmoid": ((128, 28, 28, 32), dict(filters=1, kernel_size=3, padding="same",
                                                   activation="sigmoid")),
    "acgan_7to14_relu": ((100, 7, 7, 192), dict(filters=96, kernel_size=5, strides=2,
                                                 padding="same", activation="relu")),
}


def step(keras, layer, x):
    """One forward + backward of `layer` on `x` (gradients of its input and weights)."""
    from importlib import import_module
    blas = import_module(keras.__name__ + ".ops.parallel").blas_single_threaded
    with blas("train"):
        with keras.GradientTape() as tape:
            y = layer(x)
            loss = keras.ops.sum(y * y)
        tape.gradient(loss, [x] + layer.trainable_weights)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    from commit_packages import extract
    names = args.only.split(",") if args.only else list(LAYERS)
    with tempfile.TemporaryDirectory() as root:
        sys.path.insert(0, root)
        modules = {"A": extract(args.a, "minikeras_a", root),
                   "B": extract(args.b, "minikeras_b", root)}
        print(f"A = {args.a}, B = {args.b}, load average {os.getloadavg()[0]:.1f}")
        for name in names:
            shape, kwargs = LAYERS[name]
            rng = np.random.default_rng(0)
            x_values = rng.standard_normal(shape).astype(np.float32)
            cases = {}
            for key, keras in modules.items():
                layer = keras.layers.Conv2DTranspose(**kwargs)
                x = keras.Variable(x_values) if hasattr(keras, "Variable") else \
                    keras.backend.variable(x_values)
                step(keras, layer, x)           # builds, plans the routes
                step(keras, layer, x)
                cases[key] = (keras, layer, x)
            times = {"A": [], "B": []}
            for index in range(args.pairs):
                for key in ("AB" if index % 2 == 0 else "BA"):
                    start = time.thread_time()
                    step(*cases[key])
                    times[key].append(time.thread_time() - start)
            a, b = np.array(times["A"]), np.array(times["B"])
            print(f"{name:20s} ms A median {np.median(a) * 1e3:7.2f} min {a.min() * 1e3:7.2f} | "
                  f"B median {np.median(b) * 1e3:7.2f} min {b.min() * 1e3:7.2f} | "
                  f"median B/A {np.median(b / a):.3f}", flush=True)


if __name__ == "__main__":
    main()
