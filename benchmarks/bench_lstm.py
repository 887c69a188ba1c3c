"""The bench.py `lstm` model (Embedding(20000, 128) > LSTM(128) > Dense(2), 80 tokens, batch
32): predict and train throughput beside the GEMM floor of the fused LSTM op, with BLAS
threads as the op chooses them (one thread while the machine is oversubscribed) and with one
BLAS thread forced, interleaved.

GEMM floor of the LSTM forward = the input projection (one (80*32, 128) x (128, 512) product)
plus 80 recurrent (32, 128) x (128, 512) products; training adds the same again for the
input-gradient recurrence and three large products for the weight and input gradients.

    PYTHONPATH=. python benchmarks/bench_lstm.py [--rounds 3]

The machine is shared: compare figures of one run with each other, not across runs.
"""
import argparse
import time

import numpy as np

import minikeras as keras
from minikeras import layers
from minikeras.ops import blas_threads

BATCH, STEPS, UNITS, VOCAB = 32, 80, 128, 20000


def best_time(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_floor(rng, repeats=5):
    x = rng.standard_normal((STEPS * BATCH, UNITS)).astype(np.float32)
    w = rng.standard_normal((UNITS, 4 * UNITS)).astype(np.float32)
    h = rng.standard_normal((BATCH, UNITS)).astype(np.float32)
    dz = rng.standard_normal((STEPS * BATCH, 4 * UNITS)).astype(np.float32)
    out = np.empty((BATCH, 4 * UNITS), np.float32)

    def forward():
        x @ w
        for _ in range(STEPS):
            np.matmul(h, w, out=out)

    def backward():
        for t in range(STEPS):
            dz[t * BATCH:(t + 1) * BATCH] @ w.T
        x.T @ dz
        x.T @ dz
        dz @ w.T
    forward_s = best_time(forward, repeats)
    return forward_s, forward_s + best_time(backward, repeats)


def model():
    net = keras.Sequential([keras.Input(shape=(STEPS,), dtype="int32"),
                            layers.Embedding(VOCAB, UNITS), layers.LSTM(UNITS),
                            layers.Dense(2, activation="softmax")])
    net.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    return net


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=512)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, size=(args.samples, STEPS)).astype("int32")
    y = keras.utils.to_categorical(rng.integers(0, 2, args.samples), 2)
    net = model()
    net.fit(x[:64], y[:64], batch_size=BATCH, verbose=0)
    floor_predict, floor_train = gemm_floor(rng)
    print(f"GEMM floor per batch: predict {floor_predict * 1e3:.1f} ms, "
          f"train (LSTM only) {floor_train * 1e3:.1f} ms")
    chooses = blas_threads._oversubscribed
    for round_index in range(args.rounds):
        for label, oversubscribed in (("op's choice", chooses), ("one thread", lambda: True)):
            blas_threads._oversubscribed = oversubscribed
            start = time.perf_counter()
            net.predict(x, batch_size=BATCH, verbose=0)
            predict_rate = args.samples / (time.perf_counter() - start)
            start = time.perf_counter()
            net.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
            train_rate = args.samples / (time.perf_counter() - start)
            print(f"round {round_index} {label:>12}: predict {predict_rate:7.1f} samples/s, "
                  f"train {train_rate:6.1f} samples/s")
    blas_threads._oversubscribed = chooses


if __name__ == "__main__":
    main()
