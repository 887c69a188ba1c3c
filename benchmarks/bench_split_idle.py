"""Where the wall time of a model's two-thread splits goes: for every `parallel.run_split`
that runs on both threads, the split's wall time, how long each thread waited inside it (the
main thread for the worker's last piece, the worker before it started and after it finished)
and the worker's start latency (from the hand-off to its first instruction), summed by the
function that called `run_split`; plus the wall time outside the splits (the main thread's own
work, the worker idle). Per sample of a predict of `bench_models.build(name)`.

    PYTHONPATH=.:benchmarks python benchmarks/bench_split_idle.py [--model resnet_small]
        [--calls 8]

On a loaded machine the latencies are mostly the other processes' (run it with the process'
autogroup at a low nice value to see less of them).
"""
import argparse
import collections
import sys
import time

import numpy as np

import bench_models
from minikeras.ops import parallel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="resnet_small", choices=sorted(bench_models.MODELS))
    parser.add_argument("--calls", type=int, default=8)
    args = parser.parse_args()
    shape, _, samples, batch = bench_models.MODELS[args.model]
    model = bench_models.build(args.model)
    x = np.random.default_rng(0).random((samples,) + shape, dtype=np.float32)
    # caller -> [wall, main thread waiting, worker waiting, worker start latency, count]
    stats = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0])
    on_both = parallel._on_both_threads

    def timed(here, on_worker, uses_blas):
        marks = {}

        def main_side():
            start = time.perf_counter()
            here()
            marks["main"] = time.perf_counter() - start

        def worker_side():
            marks["start"] = time.perf_counter()
            on_worker()
            marks["worker"] = time.perf_counter() - marks["start"]
        begin = time.perf_counter()
        on_both(main_side, worker_side, uses_blas)
        wall = time.perf_counter() - begin
        caller = sys._getframe(3).f_code.co_name        # _split(_pieces) <- run_split <- caller
        entry = stats[caller]
        entry[0] += wall
        entry[1] += wall - marks["main"]
        entry[2] += wall - marks["worker"]
        entry[3] += marks["start"] - begin
        entry[4] += 1
    parallel._on_both_threads = timed
    for _ in range(2):
        model.predict(x, batch_size=batch, verbose=0)
    stats.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.calls):
        model.predict(x, batch_size=batch, verbose=0)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    per = 1e6 / (args.calls * samples)
    inside = sum(entry[0] for entry in stats.values())
    print(f"{args.model} predict, us a sample: wall {wall * per:.0f}, process CPU {cpu * per:.0f}, "
          f"in splits {inside * per:.0f}, outside {(wall - inside) * per:.0f}")
    for caller, (split_wall, main_wait, worker_wait, latency, count) in sorted(
            stats.items(), key=lambda item: -item[1][0]):
        print(f"  {caller:22s} wall {split_wall * per:7.1f}  main waits {main_wait * per:6.1f}  "
              f"worker waits {worker_wait * per:6.1f} (start latency {latency * per:6.1f}; "
              f"{latency / count * 1e6:.0f} us a split)  splits {count}")


if __name__ == "__main__":
    main()
