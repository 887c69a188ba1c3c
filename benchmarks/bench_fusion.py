"""Inference fusion (models/fusion.py): whole-model predict throughput with fused chains
against the same model run layer by layer, interleaved in one process (A/B, best of several
rounds), on the benchmark's CNNs and on two nets it does not name: a VGG-style 3x3 stack and a
MobileNet-style depthwise-separable net with BatchNormalization and ReLU6.

    python benchmarks/bench_fusion.py [--models vgg mobilenet seed_cnn resnet_small lenet_bn]
                                      [--rounds 5]

Prints samples/s per route and the ratio fused / layer-by-layer, with the 1-minute load.
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


def vgg_style():
    """Two 3x3 conv blocks per stage, max pooling, 64x64 RGB, batch 32."""
    layers = [keras.Input((64, 64, 3))]
    for filters in (32, 64, 128):
        layers += [L.Conv2D(filters, 3, padding="same", activation="relu"),
                   L.Conv2D(filters, 3, padding="same"), L.BatchNormalization(),
                   L.Activation("relu"), L.MaxPooling2D(2)]
    layers += [L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")]
    return keras.Sequential(layers), (64, 64, 3), 32, 256


def mobilenet_style():
    """MobileNet v1 blocks (depthwise 3x3 + BN + ReLU6, pointwise 1x1 + BN + ReLU6), 96x96."""
    inputs = keras.Input((96, 96, 3))
    x = L.Conv2D(32, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = L.ReLU(6.0)(L.BatchNormalization()(x))
    for filters, stride in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1)):
        x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = L.ReLU(6.0)(L.BatchNormalization()(x))
        x = L.Conv2D(filters, 1, use_bias=False)(x)
        x = L.ReLU(6.0)(L.BatchNormalization()(x))
    outputs = L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs), (96, 96, 3), 32, 256


def bench_model(name):
    sys.path.insert(0, BENCH)
    import bench                                    # ../shared/bench/bench.py
    cfg = bench.MODEL_CFG[name]
    return bench.build_keras_model(keras, name), cfg["input_shape"], cfg["batch"], \
        min(cfg["samples"], 8 * cfg["batch"])


BUILDERS = {"vgg": vgg_style, "mobilenet": mobilenet_style,
            "seed_cnn": lambda: bench_model("seed_cnn"),
            "resnet_small": lambda: bench_model("resnet_small"),
            "lenet_bn": lambda: bench_model("lenet_bn")}


def timed_predict(model, x, batch, fused):
    fusion.ENABLED = fused
    start = time.perf_counter()
    out = model.predict(x, batch_size=batch, verbose=0)
    return time.perf_counter() - start, out


def run(name, rounds):
    model, shape, batch, samples = BUILDERS[name]()
    x = np.random.default_rng(0).random((samples,) + tuple(shape), dtype=np.float32)
    _, reference = timed_predict(model, x, batch, False)
    _, result = timed_predict(model, x, batch, True)
    difference = float(np.abs(result - reference).max())
    best = {False: float("inf"), True: float("inf")}
    for _ in range(rounds):
        for fused in (False, True):
            best[fused] = min(best[fused], timed_predict(model, x, batch, fused)[0])
    fusion.ENABLED = True
    print(f"{name:13s} layer-by-layer {samples / best[False]:9.1f}/s   fused "
          f"{samples / best[True]:9.1f}/s   x{best[False] / best[True]:.2f}   "
          f"max|diff| {difference:.1e}   load {os.getloadavg()[0]:.1f}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for name in args.models:
        run(name, args.rounds)


if __name__ == "__main__":
    main()
