"""Whole conv nets, training and predict, against the GEMM floor measured in the same run.

Models: the three conv nets of the side-by-side benchmark (`lenet_bn`, `seed_cnn`,
`resnet_small`), its `mlp`, and two it does not name, so routes stay general: `vgg_small` (VGG-style stacks of
3x3 'same' convolutions with ReLU and 2x2 max pooling) and `mobilenet_small` (depthwise-separable
blocks with BatchNormalization and ReLU6).

GEMM floor of a model: the matrix products its Conv2D / Dense layers must do, in the im2col
shape with the same FLOPs, timed alone: forward `(positions x taps*cin) @ (taps*cin x filters)`;
for training also the kernel gradient and, for every layer but the first, the input gradient
(`(positions x filters) @ (filters x taps*cin)`). Depthwise convolutions have no GEMM and count
nothing. The printed `x floor` is model time / floor time (1.0 would be pure GEMM speed); the
model and the floor are timed alternately, so a busy machine slows both alike.

    python benchmarks/bench_models.py [--models lenet_bn,resnet_small] [--repeats 3]
"""
import argparse
import time

import numpy as np

import minikeras as keras
from minikeras import layers as L

MODELS = {
    # name: (input shape, classes, samples, batch)
    "lenet_bn": ((28, 28, 1), 10, 2048, 256),
    "seed_cnn": ((224, 224, 3), 133, 128, 32),
    "resnet_small": ((32, 32, 3), 10, 512, 64),
    "vgg_small": ((32, 32, 3), 10, 512, 64),
    "mobilenet_small": ((64, 64, 3), 10, 256, 32),
    "mlp": ((784,), 10, 2048, 128),
}


def build(name):
    shape, classes = MODELS[name][:2]
    if name == "mlp":               # the side-by-side benchmark's, with its Adam
        model = keras.Sequential([
            keras.Input(shape=shape), L.Dense(512, activation="relu"), L.Dropout(0.2),
            L.Dense(512, activation="relu"), L.Dropout(0.2),
            L.Dense(classes, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                      loss="categorical_crossentropy")
        return model
    inputs = keras.Input(shape=shape)
    if name == "lenet_bn":
        x = inputs
        for filters in (6, 16):
            x = L.Conv2D(filters, 5)(x)
            x = L.Activation("sigmoid")(L.BatchNormalization()(x))
            x = L.MaxPooling2D(2)(x)
        x = L.Flatten()(x)
        for units in (120, 84):
            x = L.Activation("sigmoid")(L.BatchNormalization()(L.Dense(units)(x)))
    elif name == "seed_cnn":
        x = inputs
        for filters in (16, 32, 64):
            x = L.MaxPooling2D(2)(L.Conv2D(filters, 2, activation="relu")(x))
        x = L.GlobalAveragePooling2D()(x)
    elif name == "resnet_small":
        x = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(32, 3, padding="same")(inputs)))
        channels = 32
        for stage, filters in enumerate((32, 64, 128)):
            for block in range(2):
                stride = 2 if (stage > 0 and block == 0) else 1
                y = L.Conv2D(filters, 3, strides=stride, padding="same")(x)
                y = L.Activation("relu")(L.BatchNormalization()(y))
                y = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same")(y))
                shortcut = x if (stride == 1 and channels == filters) else \
                    L.Conv2D(filters, 1, strides=stride)(x)
                x = L.Activation("relu")(L.Add()([y, shortcut]))
                channels = filters
        x = L.GlobalAveragePooling2D()(x)
    elif name == "vgg_small":
        x = inputs
        for filters in (32, 64, 128):
            for _ in range(2):
                x = L.Conv2D(filters, 3, padding="same", activation="relu")(x)
            x = L.MaxPooling2D(2)(x)
        x = L.Dense(128, activation="relu")(L.Flatten()(x))
    elif name == "mobilenet_small":
        x = L.Conv2D(32, 3, strides=2, padding="same", use_bias=False)(inputs)
        x = L.ReLU(6.0)(L.BatchNormalization()(x))
        for filters, stride in ((64, 1), (128, 2), (128, 1), (256, 2)):
            x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
            x = L.ReLU(6.0)(L.BatchNormalization()(x))
            x = L.Conv2D(filters, 1, use_bias=False)(x)
            x = L.ReLU(6.0)(L.BatchNormalization()(x))
        x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss="categorical_crossentropy")
    return model


def gemm_shapes(model, batch, training):
    """`(m, k, n)` of every GEMM the floor times, in the im2col shapes."""
    shapes, first = [], True
    for layer in model.layers:
        if isinstance(layer, L.DepthwiseConv2D):
            first = False
            continue
        if isinstance(layer, L.Conv2D):
            taps = int(np.prod(layer.kernel_size))
            cin = layer.input.shape[-1]
            positions = batch * int(np.prod(layer.output.shape[1:-1]))
            m, k, n = positions, taps * cin, layer.filters
        elif isinstance(layer, L.Dense):
            m, k, n = batch, layer.input.shape[-1], layer.units
        else:
            continue
        shapes.append((m, k, n))                  # forward
        if training:
            shapes.append((k, m, n))              # kernel gradient
            if not first:
                shapes.append((m, n, k))          # input gradient
        first = False
    return shapes


def gemm_floor_step(shapes, rng):
    operands = [(rng.standard_normal((m, k), dtype=np.float32),
                 rng.standard_normal((k, n), dtype=np.float32),
                 np.empty((m, n), np.float32)) for m, k, n in shapes]

    def step():
        for a, b, out in operands:
            np.matmul(a, b, out=out)
    return step


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(name, repeats, rng):
    shape, classes, samples, batch = MODELS[name]
    x = rng.random((samples,) + shape, dtype=np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, samples)]
    model = build(name)
    steps = -(-samples // batch)
    runs = {
        "train": lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False),
        "predict": lambda: model.predict(x, batch_size=batch, verbose=0),
    }
    for mode, run in runs.items():
        shapes = gemm_shapes(model, batch, mode == "train")
        floor = gemm_floor_step(shapes, rng)
        flops = 2 * sum(m * k * n for m, k, n in shapes) * steps
        run(), floor()                                # warm-up (plans, buffers)
        best_model = best_floor = float("inf")
        for _ in range(repeats):
            best_model = min(best_model, timed(run))
            best_floor = min(best_floor, timed(floor) * steps)
        print(f"{name:16s} {mode:7s} {samples / best_model:9.1f} samples/s  "
              f"{best_model / steps * 1e3:8.1f} ms/step  floor {best_floor / steps * 1e3:7.1f} ms"
              f"  x floor {best_model / best_floor:5.2f}  {flops / best_model / 1e9:6.1f} GFLOP/s",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for name in args.models.split(","):
        bench(name, args.repeats, rng)


if __name__ == "__main__":
    main()
