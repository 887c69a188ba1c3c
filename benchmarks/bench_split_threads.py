"""How well the fused conv + max pooling op (ops/conv_pool.py) uses the two threads, per layer
of seed_cnn: for the forward and the backward of a batch of 32, the wall time of the split,
each thread's wall and CPU time inside it (the difference is time off the CPU: waiting for the
GIL or preempted), and the process' voluntary context switches (a thread sleeping on the GIL
or on the other thread) and CPU time. Medians of `repeats` calls.

    python benchmarks/bench_split_threads.py [repeats]

Kernels whose threads make many short NumPy calls show many context switches and a wall time
well above CPU / 2 (see DESIGN.md, "Performance habits").
"""
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from minikeras.ops import conv_pool, parallel  # noqa: E402

LAYERS = [((32, 224, 224, 3), 16), ((32, 111, 111, 16), 32), ((32, 55, 55, 32), 64)]
_splits = []
_on_both_threads = parallel._on_both_threads


def _timed_on_both_threads(here, on_worker, uses_blas):
    """`parallel._on_both_threads`, recording each side's wall and thread CPU time."""
    record = {}

    def timed(name, run):
        def call():
            wall, cpu = time.perf_counter(), time.thread_time()
            run()
            record[name] = (time.perf_counter() - wall, time.thread_time() - cpu)
        return call
    start = time.perf_counter()
    _on_both_threads(timed("here", here), timed("worker", on_worker), uses_blas)
    record["split"] = time.perf_counter() - start
    _splits.append(record)


def measure(call):
    """`(split wall, here wall, here CPU, worker wall, worker CPU, process CPU, switches)` of
    one call (ms; the split figures summed over its splits)."""
    _splits.clear()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    call()
    after = resource.getrusage(resource.RUSAGE_SELF)
    sums = np.zeros(5)
    for record in _splits:
        sums += [record["split"], *record["here"], *record["worker"]]
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return tuple(sums * 1e3) + (cpu * 1e3, after.ru_nvcsw - usage.ru_nvcsw)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    parallel._on_both_threads = _timed_on_both_threads
    if parallel._BLAS is not None:
        parallel._BLAS[0](1)                 # as inside a training step of a conv net
    rng = np.random.default_rng(0)
    pads = [(0, 0), (0, 0)]
    # the last layer first: on a loaded machine the scheduler may start both threads on one core
    for shape, filters in LAYERS[::-1] + LAYERS:
        x = rng.random(shape, dtype=np.float32)
        kernel = (rng.standard_normal((2, 2, shape[-1], filters)) * 0.3).astype(np.float32)
        bias = np.zeros(filters, np.float32)
        out, ctx = conv_pool.forward(x, kernel, bias, pads, (1, 1), (2, 2), "relu", True)
        g = rng.standard_normal(out.shape).astype(np.float32)
        need_input = shape[-1] > 3
        conv_pool.gradients(ctx, g, need_input, True, True)
        calls = {"forward": lambda: conv_pool.forward(x, kernel, bias, pads, (1, 1), (2, 2),
                                                      "relu", True),
                 "backward": lambda: conv_pool.gradients(ctx, g, need_input, True, True)}
        for name, call in calls.items():
            split, here, here_cpu, worker, worker_cpu, cpu, switches = np.median(
                [measure(call) for _ in range(repeats)], axis=0)
            print(f"{shape[1:]} -> {filters} {name:8s}: split {split:5.1f} ms | here wall "
                  f"{here:5.1f} CPU {here_cpu:5.1f} | worker wall {worker:5.1f} CPU "
                  f"{worker_cpu:5.1f} | process CPU {cpu:5.1f}, {switches:.0f} switches "
                  f"(load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
