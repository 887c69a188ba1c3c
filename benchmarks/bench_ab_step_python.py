"""The library's Python per training step, two commits side by side in one process.

The benchmark's mlp (Dense relu, Dropout 0.2, Dense relu, Dropout 0.2, Dense softmax, Adam,
categorical crossentropy, batch 128, 784 inputs) with `--units` hidden units (8 by default,
so the step's NumPy work is small and what is timed is mostly minikeras' own Python:
Layer calls, the tape's walk, the compiled loss and metrics, the optimizer's bookkeeping,
the fit loop). Each commit's package is extracted with `git archive` (as
`bench_ab_commits.py` does); epochs of `--steps` steps run alternately (A B, B A, ...) and
the thread CPU time of every step is taken by a callback (the same callback in both).
Prints, per commit, the min and median of the per-step times over all epochs and the median
of the per-pair ratios B / A of each epoch's median step (below 1: B is faster). With
`--whole-epochs` no callback is given (as bench.py's epochs, whose timer reads no batch):
each epoch's thread CPU time divided by its steps is the figure instead.

    PYTHONPATH=.:benchmarks python benchmarks/bench_ab_step_python.py main HEAD \
        [--units 8] [--pairs 20] [--steps 50] [--whole-epochs]
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

from commit_packages import extract

BATCH = 128


def build(keras, units):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=(784,)), layers.Dense(units, activation="relu"), layers.Dropout(0.2),
        layers.Dense(units, activation="relu"), layers.Dropout(0.2),
        layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="categorical_crossentropy")
    return model


def step_timer(keras, times):
    """A callback appending each training step's thread CPU time (ns) to `times`."""
    class StepTimer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.thread_time_ns()

        def on_train_batch_end(self, batch, logs=None):
            times.append(time.thread_time_ns() - self.start)
    return StepTimer()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--whole-epochs", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    samples = BATCH * args.steps
    x = rng.random((samples, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, samples)]
    with tempfile.TemporaryDirectory() as root:
        sys.path.insert(0, root)
        modules = {"A": extract(args.a, "minikeras_a", root),
                   "B": extract(args.b, "minikeras_b", root)}
        models = {key: build(module, args.units) for key, module in modules.items()}
        models["B"].set_weights(models["A"].get_weights())
        steps = {"A": [], "B": []}
        medians = {"A": [], "B": []}

        def run(key):
            if args.whole_epochs:
                start = time.thread_time_ns()
                models[key].fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
                return [(time.thread_time_ns() - start) / args.steps] * 2
            times = []
            models[key].fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False,
                            callbacks=[step_timer(modules[key], times)])
            return times

        for key in models:                                  # warm-up
            run(key)
        for pair in range(args.pairs):
            for key in ("A", "B") if pair % 2 == 0 else ("B", "A"):
                times = run(key)[1:]
                steps[key] += times
                medians[key].append(np.median(times))
        for key, ref in (("A", args.a), ("B", args.b)):
            print(f"{key} {ref:>10s}: step min {min(steps[key]) / 1e3:7.1f} us, "
                  f"median {np.median(steps[key]) / 1e3:7.1f} us")
        ratios = np.array(medians["B"]) / np.array(medians["A"])
        print(f"B / A of epoch medians: median {np.median(ratios):.3f} "
              f"(quartiles {np.percentile(ratios, 25):.3f}-{np.percentile(ratios, 75):.3f}, "
              f"{args.pairs} pairs, {args.units} units), load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
