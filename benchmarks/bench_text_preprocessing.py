"""TextVectorization adapt / call, StringLookup and Hashing on a synthetic corpus (IMDB-like:
documents of 230 words over a 20,000-word vocabulary), best of `--repeats` runs.

    python -m benchmarks.bench_text_preprocessing [--docs 5000] [--repeats 3]

`--peer`: the same layers in tf.keras 2.21 instead, run with the peer venv
(`/work/peers/bin/python -m benchmarks.bench_text_preprocessing --peer`).

On the 2-core dev machine (shared with other jobs, 5,000 documents), minikeras / tf.keras 2.21:
TextVectorization adapt 1.06 / 0.48 s, int call (length 200) 0.51 / 0.27 s, tf_idf call
1.57 / 0.36 s (a 5,000 x 20,000 float32 output); StringLookup on 100,000 strings 0.056 /
0.001 s; Hashing of 100,000 strings (500 distinct) 0.16 / 0.001 s. The per-token work here is
Python dict lookups and pure-Python string hashing (each distinct value hashed once).
"""
import argparse
import time

import numpy as np


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer", action="store_true")
    args = parser.parse_args()
    if args.peer:
        import tensorflow as tf
        import tf_keras as keras
        to_input = tf.constant
    else:
        import minikeras as keras

        def to_input(array):
            return array
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(20000)])
    texts = np.array([" ".join(rng.choice(words, 230)) + "!" for _ in range(args.docs)])
    column = rng.choice(words[:500], (100000, 1))
    print(f"{args.docs} documents ({'tf.keras' if args.peer else 'minikeras'})")
    layer = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=200)
    print(f"TextVectorization adapt      {best_time(lambda: layer.adapt(texts), args.repeats):7.3f} s")
    batch = to_input(texts)
    print(f"TextVectorization int call   {best_time(lambda: layer(batch), args.repeats):7.3f} s")
    tf_idf = keras.layers.TextVectorization(max_tokens=20000, output_mode="tf_idf")
    tf_idf.adapt(texts)
    print(f"TextVectorization tf_idf     {best_time(lambda: tf_idf(batch), args.repeats):7.3f} s")
    lookup = keras.layers.StringLookup()
    lookup.adapt(column)
    strings = to_input(column)
    print(f"StringLookup 100k strings    {best_time(lambda: lookup(strings), args.repeats):7.3f} s")
    hashing = keras.layers.Hashing(num_bins=64)
    print(f"Hashing 100k strings         {best_time(lambda: hashing(strings), args.repeats):7.3f} s")


if __name__ == "__main__":
    main()
