"""Convolution throughput against the GEMM floor measured in the same run.

1. `Conv2D(64, 3, padding='same')` on a (32, 56, 56, 64) float32 batch: forward + backward
   (input, kernel and bias gradients, through the tape) against its GEMM floor: the three
   products of a convolution in the im2col shape, with the same FLOPs
   (positions x 576) @ (576 x 64) forward, (576 x positions) @ (positions x 64) for the kernel
   gradient and (positions x 64) @ (64 x 576) for the input gradient.
2. Training steps per second (`train_on_batch`, Adam, categorical crossentropy) of the seed
   CNN (224x224x3 inputs, batch 32) and of LeNet-5 (28x28x1 inputs, batch 256).

Timings are the best of several repeats; floor and layer are measured alternately so that a
busy machine slows both alike.

    PYTHONPATH=. python benchmarks/bench_conv.py [--repeats 5] [--steps 5]
"""
import argparse
import time

import numpy as np

import minikeras as keras
from minikeras import layers

BATCH, SIZE, CHANNELS, FILTERS, KERNEL = 32, 56, 64, 64, 3


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def conv_layer_vs_floor(repeats):
    """(best layer forward+backward seconds, best GEMM floor seconds)."""
    rng = np.random.default_rng(0)
    x = keras.Variable(rng.standard_normal((BATCH, SIZE, SIZE, CHANNELS), dtype=np.float32))
    layer = layers.Conv2D(FILTERS, KERNEL, padding="same")
    layer(x)
    upstream = rng.standard_normal((BATCH, SIZE, SIZE, FILTERS), dtype=np.float32)

    def layer_step():
        with keras.GradientTape() as tape:
            y = layer(x)
        tape.gradient(y, [x] + layer.trainable_weights, output_gradients=upstream)

    positions, depth = BATCH * SIZE * SIZE, KERNEL * KERNEL * CHANNELS
    cols = rng.standard_normal((positions, depth), dtype=np.float32)
    kernel = rng.standard_normal((depth, FILTERS), dtype=np.float32)
    grad = rng.standard_normal((positions, FILTERS), dtype=np.float32)

    outputs = [np.empty((positions, FILTERS), np.float32), np.empty((depth, FILTERS), np.float32),
               np.empty((positions, depth), np.float32)]

    def floor_step():
        np.matmul(cols, kernel, out=outputs[0])          # forward
        np.matmul(cols.T, grad, out=outputs[1])          # kernel gradient
        np.matmul(grad, kernel.T, out=outputs[2])        # input gradient (im2col shape)

    layer_step(), floor_step()
    best_layer = best_floor = float("inf")
    for _ in range(repeats):
        best_layer = min(best_layer, timed(layer_step))
        best_floor = min(best_floor, timed(floor_step))
    return best_layer, best_floor


def seed_cnn():
    return keras.Sequential([
        layers.Conv2D(16, 2, activation="relu", input_shape=(224, 224, 3)),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 2, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 2, activation="relu"),
        layers.MaxPooling2D(2),
        layers.GlobalAveragePooling2D(),
        layers.Dense(133, activation="softmax"),
    ])


def lenet():
    return keras.Sequential([
        layers.Conv2D(6, 5, padding="same", activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 5, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(120, activation="relu"),
        layers.Dense(84, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def training_samples_per_second(build, batch, classes, steps):
    rng = np.random.default_rng(1)
    model = build()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    shape = (batch,) + tuple(model.input_shape[1:])
    x = rng.random(shape, dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, classes, batch), classes)
    model.train_on_batch(x, y)                           # warm up
    best = min(timed(lambda: model.train_on_batch(x, y)) for _ in range(steps))
    return batch / best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)

    layer_time, floor_time = conv_layer_vs_floor(args.repeats)
    print(f"Conv2D({FILTERS}, {KERNEL}, padding='same') on ({BATCH}, {SIZE}, {SIZE}, {CHANNELS}) "
          f"float32, forward+backward: {layer_time * 1e3:.0f} ms; GEMM floor "
          f"{floor_time * 1e3:.0f} ms; ratio {layer_time / floor_time:.2f}x (target <= 2x)")
    seed = training_samples_per_second(seed_cnn, 32, 133, args.steps)
    print(f"seed CNN (224x224x3, batch 32) training: {seed:.1f} samples/s")
    net = training_samples_per_second(lenet, 256, 10, args.steps)
    print(f"LeNet (28x28x1, batch 256) training: {net:.0f} samples/s")


if __name__ == "__main__":
    main()
