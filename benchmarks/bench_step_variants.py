"""Training-step variants of the benchmark's mlp, timed round-robin in one process.

The mlp of `../shared/bench/bench.py` (784-512(relu)-Dropout(0.2)-512(relu)-Dropout(0.2)-
10(softmax), Adam, batch 128) is trained with `fit` for `--steps` batches per turn, the
variants taking turns (their order rotated every round) so that the host's speed phases and
the other processes slow all of them alike. Variants:

    threads   the serial step with BLAS' own threads (the policy's choice on an idle machine),
              flat updates halved with OpenBLAS' worker (`blas_threads.split_on_blas_worker`)
    inline    `threads` with the flat updates on the main thread alone
    pysplit   `threads` with the flat updates split over the two Python threads
              (`MINIKERAS_SPLIT_UPDATES=always`)
    single    the serial step with BLAS single-threaded, products and updates split over two
              Python threads (the policy's choice on a busy machine)
    auto      the step under the policy (`parallel.blas_single_threaded`)

A data-parallel step (each half of the batch forward and backward whole on its own thread,
weight gradients summed, Adam split) was a variant `dp` here; it did not win and was dropped
(DESIGN.md "Performance habits"; the prototype is commit 539cc2f).

Printed: samples/s of each turn, the per-round ratio of each variant to the first, their min /
median / max, the min / tenth percentile / first quartile / median of the single steps' wall
times, the medians
of the turns' process and main-thread CPU time per step, and the
1-minute load at the start and the end. The load rule (`parallel.oversubscribed`) is lifted for
`threads` and `inline`, as on an idle machine.

    python benchmarks/bench_step_variants.py [--variants threads,single] [--rounds 20] [--steps 40]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minikeras as keras                      # noqa: E402
from minikeras.ops import blas_threads, parallel             # noqa: E402

VARIANTS = ("threads", "inline", "pysplit", "single", "auto")
POLICIES = {"inline": "threads", "pysplit": "threads"}        # the BLAS policy each runs under


def build(units, inputs=784, classes=10, rate=0.2):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.layers.Input((inputs,)),
        keras.layers.Dense(units, activation="relu"), keras.layers.Dropout(rate),
        keras.layers.Dense(units, activation="relu"), keras.layers.Dropout(rate),
        keras.layers.Dense(classes, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", default="threads,single")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    names = args.variants.split(",")
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; choose among {list(VARIANTS)}")
    rng = np.random.default_rng(0)
    samples = args.steps * args.batch
    x = rng.random((samples, 784), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 10, samples), 10)
    model = build(args.units)
    step_times = {name: [] for name in names}
    cpu_times = {name: [] for name in names}      # process CPU per step, each turn
    main_times = {name: [] for name in names}     # main thread's CPU per step, each turn
    current = [names[0]]
    run_train_step = model._run_train_step

    def timed_step(data):
        start = time.perf_counter()
        try:
            return run_train_step(data)
        finally:
            step_times[current[0]].append(time.perf_counter() - start)
    model._run_train_step = timed_step
    oversubscribed = parallel.oversubscribed

    def turn(name):
        current[0] = name
        policy = POLICIES.get(name, name)
        parallel._POLICY = policy
        blas_threads._USE_WORKER = name not in ("inline", "pysplit")
        parallel._SPLIT_UPDATES = "always" if name == "pysplit" else "auto"
        parallel.oversubscribed = (lambda: False) if policy == "threads" else oversubscribed
        start, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
        model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0, shuffle=False)
        cpu_times[name].append((time.process_time() - cpu) / args.steps)
        main_times[name].append((time.thread_time() - main) / args.steps)
        return samples / (time.perf_counter() - start)

    for name in names:                         # warm up every path
        turn(name)
        step_times[name].clear()
        cpu_times[name].clear()
        main_times[name].clear()
    load_start = os.getloadavg()[0]
    ratios = {name: [] for name in names[1:]}
    for round_ in range(args.rounds):
        shift = round_ % len(names)
        order = names[shift:] + names[:shift]
        speeds = {name: turn(name) for name in order}
        for name in names[1:]:
            ratios[name].append(speeds[name] / speeds[names[0]])
        print(f"round {round_:2d}: " + "  ".join(f"{name} {speeds[name]:7.0f}" for name in names)
              + " samples/s", flush=True)
    print(f"load {load_start:.1f} -> {os.getloadavg()[0]:.1f}; {args.rounds} rounds of "
          f"{args.steps} steps")
    for name in names[1:]:
        values = sorted(ratios[name])
        print(f"ratio {name} / {names[0]}: min {values[0]:.3f} median "
              f"{values[len(values) // 2]:.3f} max {values[-1]:.3f}")
    for name in names:
        times = np.array(step_times[name]) * 1e3
        print(f"{name:8s} step ms: min {times.min():.3f} tenth percentile "
              f"{np.percentile(times, 10):.3f} first quartile "
              f"{np.percentile(times, 25):.3f} median {np.median(times):.3f}; CPU per step "
              f"median: process {np.median(cpu_times[name]) * 1e3:.3f}, main thread "
              f"{np.median(main_times[name]) * 1e3:.3f}")


if __name__ == "__main__":
    main()
