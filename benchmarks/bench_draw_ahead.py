"""Dropout words drawn ahead on OpenBLAS' worker (`ops/draw_ahead.py`) on and off, in one
process, turns alternating: the benchmark's mlp (784-512-Dropout-512-Dropout-10, Adam, batch
128) trained with `fit` for `--steps` batches a turn under the threads policy (the idle
machine's: the words are drawn ahead only in steps that keep BLAS' threads).

Prints per-turn samples/s, the median ratio on / off of the turns, and the min / first
quartile / median of the single steps' wall times, with the 1-minute load.

    python benchmarks/bench_draw_ahead.py [--rounds 20] [--steps 40]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minikeras as keras                       # noqa: E402
from minikeras.ops import draw_ahead, parallel  # noqa: E402


def build():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.layers.Input((784,)),
        keras.layers.Dense(512, activation="relu"), keras.layers.Dropout(0.2),
        keras.layers.Dense(512, activation="relu"), keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    parallel._POLICY = "threads"
    parallel.oversubscribed = lambda: False
    rng = np.random.default_rng(0)
    samples = args.steps * 128
    x = rng.random((samples, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, samples)]
    model = build()
    names = ("off", "on")
    steps = {name: [] for name in names}
    current = ["off"]
    run_train_step = model._run_train_step

    def timed_step(data):
        start = time.perf_counter()
        try:
            return run_train_step(data)
        finally:
            steps[current[0]].append(time.perf_counter() - start)
    model._run_train_step = timed_step

    def turn(name):
        current[0] = name
        draw_ahead.ENABLED = name == "on"
        start = time.perf_counter()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)
        return samples / (time.perf_counter() - start)

    for name in names:
        turn(name)
        steps[name].clear()
    load = os.getloadavg()[0]
    ratios = []
    for round_ in range(args.rounds):
        order = names if round_ % 2 == 0 else names[::-1]
        speeds = {name: turn(name) for name in order}
        ratios.append(speeds["on"] / speeds["off"])
        print(f"round {round_:2d}: off {speeds['off']:7.0f} on {speeds['on']:7.0f} samples/s",
              flush=True)
    print(f"load {load:.1f} -> {os.getloadavg()[0]:.1f}; samples/s on / off: median "
          f"{np.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
    for name in names:
        times = np.array(steps[name]) * 1e3
        print(f"{name:4s} step ms: min {times.min():.3f} first quartile "
              f"{np.percentile(times, 25):.3f} median {np.median(times):.3f}")


if __name__ == "__main__":
    main()
