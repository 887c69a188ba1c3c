"""Training with BatchNormalization -> Activation pairs fused (models/fusion.py
`run_training_stack`, ops/batch_norm.py `batch_norm_train(activation=...)`) against the same
model with each layer on its own, interleaved in one process (A/B: rounds alternate which route
goes first; the host has speed phases, so separate runs are not comparable).

    python benchmarks/bench_training_fusion.py [--models lenet_bn vgg_bn tanh_mlp resnet_small]
                                               [--rounds 8] [--steps 10] [--switch pool]

`--switch pool` compares only the max pooling after a fused pair (fusion.POOL_AFTER_ACTIVATION:
its activation gradient on the pooled values) on and off, the pairs fused in both.

Prints per model the median wall and process-CPU milliseconds per training step of each
route, the median per-round ratio fused / unfused, and the 1-minute load.
"""
import argparse
import os
import sys
import time

import numpy as np

import minikeras as keras
from minikeras.models import fusion

L = keras.layers
BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "bench")


def _bench_model(name):
    sys.path.insert(0, os.path.abspath(BENCH))
    import bench
    config = bench.MODEL_CFG[name]
    return (bench.build_keras_model(keras, name), config["input_shape"], config["classes"],
            config["batch"])


def lenet_bn():
    """The benchmark's lenet_bn: BatchNormalization -> sigmoid after every hidden layer."""
    return _bench_model("lenet_bn")


def resnet_small():
    """The benchmark's resnet_small (Functional): seven BatchNormalization -> relu pairs."""
    return _bench_model("resnet_small")


def vgg_bn():
    """A VGG-style 3x3 stack with BatchNormalization -> relu, 32x32 RGB, batch 64."""
    layers = [keras.Input((32, 32, 3))]
    for filters in (16, 32):
        layers += [L.Conv2D(filters, 3, padding="same"), L.BatchNormalization(),
                   L.Activation("relu"), L.Conv2D(filters, 3, padding="same"),
                   L.BatchNormalization(), L.Activation("relu"), L.MaxPooling2D(2)]
    layers += [L.Flatten(), L.Dense(10, activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "categorical_crossentropy")
    return model, (32, 32, 3), 10, 64


def tanh_mlp():
    """Dense -> BatchNormalization -> tanh, twice, batch 128."""
    model = keras.Sequential([keras.Input((784,)), L.Dense(256), L.BatchNormalization(),
                              L.Activation("tanh"), L.Dense(256), L.BatchNormalization(),
                              L.Activation("tanh"), L.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(), "categorical_crossentropy")
    return model, (784,), 10, 128


MODELS = {"lenet_bn": lenet_bn, "vgg_bn": vgg_bn, "tanh_mlp": tanh_mlp,
          "resnet_small": resnet_small}


def _set_route(switch, fused):
    if switch == "pool":
        fusion.POOL_AFTER_ACTIVATION = fused
    else:
        fusion.TRAINING_ENABLED = fused


def measure(name, rounds, steps, switch="pairs"):
    model, shape, classes, batch = MODELS[name]()
    rng = np.random.default_rng(0)
    x = rng.random((batch * steps,) + shape, dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, classes, batch * steps), classes)

    def epoch(fused):
        _set_route(switch, fused)
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        return ((time.perf_counter() - wall) / steps * 1e3,
                (time.process_time() - cpu) / steps * 1e3)

    epoch(True), epoch(False)                               # plans, buffers, allocator
    times = {True: [], False: []}
    for index in range(rounds):
        for fused in ((True, False) if index % 2 == 0 else (False, True)):
            times[fused].append(epoch(fused))
    _set_route(switch, True)
    fused, unfused = np.array(times[True]), np.array(times[False])
    print(f"{name:9s} ms/step wall fused {np.median(fused[:, 0]):7.2f} unfused "
          f"{np.median(unfused[:, 0]):7.2f} ratio {np.median(fused[:, 0] / unfused[:, 0]):.3f} | "
          f"cpu fused {np.median(fused[:, 1]):7.2f} unfused {np.median(unfused[:, 1]):7.2f} "
          f"ratio {np.median(fused[:, 1] / unfused[:, 1]):.3f} | {rounds} pairs, "
          f"load {os.getloadavg()[0]:.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["lenet_bn", "vgg_bn", "tanh_mlp"],
                        choices=list(MODELS))
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--switch", choices=("pairs", "pool"), default="pairs")
    args = parser.parse_args()
    for name in args.models:
        measure(name, args.rounds, args.steps, args.switch)


if __name__ == "__main__":
    main()
