"""bench.py's `lstm` model (Embedding(20000, 128) > LSTM(128) > Dense(2, softmax), Adam, 80
tokens, batch 32) trained with two commits of minikeras side by side in one process, epochs
alternating (A B, B A, ...), as `bench_ab_commits.py` does for `bench_models`' models (which
has no lstm). Prints min / median ms per sample (process CPU, wall) and the median pair
ratios B / A with the load average.

    PYTHONPATH=.:benchmarks python benchmarks/bench_ab_lstm.py main HEAD [--pairs 8]
"""
import argparse
import sys
import tempfile

import numpy as np

from bench_ab_commits import alternate, report
from commit_packages import extract

TOKENS, VOCAB, BATCH = 80, 20000, 32


def build(keras):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(TOKENS,), dtype="int32"), keras.layers.Embedding(VOCAB, 128),
        keras.layers.LSTM(128), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--samples", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        sys.path.insert(0, root)
        modules = {"A": extract(args.a, "minikeras_a", root),
                   "B": extract(args.b, "minikeras_b", root)}
        models = {key: build(module) for key, module in modules.items()}
        models["B"].set_weights(models["A"].get_weights())
        rng = np.random.default_rng(0)
        x = rng.integers(0, VOCAB, (args.samples, TOKENS)).astype(np.int32)
        y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, args.samples)]

        def run(key):
            models[key].fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
        for key in models:
            run(key)                                        # warm-up
        times = alternate(run, args.pairs)
    report("lstm train", times, args)


if __name__ == "__main__":
    main()
