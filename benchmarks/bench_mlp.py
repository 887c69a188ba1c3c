"""MLP 784-512-512-10 with Dropout 0.2 (Adam, batch 128, synthetic data): training and predict
throughput against the GEMM floor measured in the same run.

GEMM floor of a training step = the matrix products one step must do: each Dense layer's forward
product and weight-gradient product, and the input-gradient product of every Dense layer but the
first. The predict floor is the three forward products.

    python benchmarks/bench_mlp.py [--steps 200] [--blas-policy auto|single|threads]
                                   [--split-updates auto|always]

`--blas-policy` fixes the per-step BLAS choice (as MINIKERAS_BLAS_POLICY does); with `auto` the
line `blas:` says what the contested-step trial chose and the step medians it compared.
"""
import argparse
import time

import numpy as np

import minikeras as keras
from minikeras import layers
from minikeras.ops import parallel

SIZES = [784, 512, 512, 10]
BATCH = 128


def best_time(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_floor(rng, repeats=30):
    """Seconds for the training-step GEMMs and for the predict GEMMs, best of `repeats`."""
    acts = [rng.standard_normal((BATCH, n)).astype(np.float32) for n in SIZES]
    weights = [rng.standard_normal((a, b)).astype(np.float32) for a, b in zip(SIZES, SIZES[1:])]
    grads = [rng.standard_normal((BATCH, n)).astype(np.float32) for n in SIZES[1:]]

    def forward():
        for x, w in zip(acts, weights):
            x @ w

    def train():
        forward()
        for x, g in zip(acts, grads):
            x.T @ g                      # weight gradients
        for g, w in list(zip(grads, weights))[1:]:
            g @ w.T                      # input gradients, all layers but the first
    return best_time(train, repeats), best_time(forward, repeats)


def build_model():
    model = keras.Sequential([
        layers.Dense(512, activation="relu", input_shape=(784,)),
        layers.Dropout(0.2),
        layers.Dense(512, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--blas-policy", choices=["auto", "single", "threads"], default=None)
    parser.add_argument("--split-updates", choices=["auto", "always"], default=None,
                        help="split optimizer updates over two threads in steps with BLAS' "
                             "threads too (as MINIKERAS_SPLIT_UPDATES does); A/B it against "
                             "auto in alternating runs on an idle machine")
    args = parser.parse_args()
    if args.blas_policy:
        parallel._POLICY = args.blas_policy
    if args.split_updates:
        parallel._SPLIT_UPDATES = args.split_updates
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    n = args.steps * BATCH
    x = rng.random((n, 784), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 10, n), 10)
    model = build_model()
    model.fit(x[:BATCH * 20], y[:BATCH * 20], batch_size=BATCH, epochs=1, verbose=0)  # warm up

    floor_train, floor_predict = gemm_floor(rng)
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    step = (time.perf_counter() - start) / args.steps
    floor_train_again, _ = gemm_floor(rng)
    floor_train = min(floor_train, floor_train_again)

    model.predict(x[:BATCH * 10], batch_size=BATCH, verbose=0)
    start = time.perf_counter()
    model.predict(x, batch_size=BATCH, verbose=0)
    predict_step = (time.perf_counter() - start) / args.steps

    print(f"train: {BATCH / step:,.0f} samples/s, {step * 1e3:.2f} ms/step; GEMM floor "
          f"{floor_train * 1e3:.2f} ms/step; ratio {step / floor_train:.2f}x (target <= 2.5x)")
    print(f"predict: {BATCH / predict_step:,.0f} samples/s, {predict_step * 1e3:.2f} ms/batch; GEMM "
          f"floor {floor_predict * 1e3:.2f} ms/batch; ratio {predict_step / floor_predict:.2f}x "
          f"(target <= 1.5x)")
    trial = (getattr(parallel._state, "contested", None) or {}).get("train")
    if parallel._POLICY != "auto" or trial is None or trial.single is None:
        print(f"blas: policy {parallel._POLICY}; no contested-step trial decided")
    else:
        medians = {single: 1e3 * sorted(times)[len(times) // 2]
                   for single, times in trial.times.items()}
        print(f"blas: trial chose {'one BLAS thread' if trial.single else 'BLAS threads'} "
              f"(median step {medians[True]:.2f} ms on one thread, {medians[False]:.2f} ms with "
              "BLAS threads)")


if __name__ == "__main__":
    main()
