"""What predict's two batches in flight (`models/predict_pipeline.py`) cost each thread: per
predict call the wall time, process CPU and system time, and per thread its user and system
CPU, voluntary context switches (mostly waits for the GIL) and minor page faults, read from
/proc/self/task; with `--batches`, each batch's wall / thread CPU ms by the thread that ran it.
Compare with one thread alone (`taskset -c 1`, in-flight slices forced by
`parallel.enter_batch_thread`) by `--one-thread`.

    PYTHONPATH=.:benchmarks python benchmarks/bench_in_flight_threads.py [--model resnet_small]
        [--calls 4] [--samples 1024] [--batches] [--one-thread]

Run it at `chrt -f 10` on a loaded machine to see the threads' own costs (the kernel's RT
throttling then stalls one batch of each call by ~50 ms: read the batch times, not only the
call's wall).
"""
import argparse
import collections
import os
import resource
import threading
import time

import numpy as np

import bench_models
from minikeras.models import predict_pipeline
from minikeras.ops import parallel

_TICK = os.sysconf("SC_CLK_TCK")


def thread_counters():
    """{thread id: (user s, system s, voluntary switches, minor faults)} of this process."""
    counters = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat_file:
                stat = stat_file.read().rsplit(")", 1)[1].split()
            with open(f"/proc/self/task/{tid}/status") as status_file:
                status = status_file.read()
        except OSError:                      # the thread ended meanwhile
            continue
        voluntary = int(status.split("\nvoluntary_ctxt_switches:")[1].split()[0])
        counters[int(tid)] = (int(stat[11]) / _TICK, int(stat[12]) / _TICK, voluntary,
                              int(stat[7]))
    return counters


def record_batches(log):
    """Wrap `_Flight.run` so that every batch's (thread, index, wall s, thread CPU s) goes to
    `log`."""
    run = predict_pipeline._Flight.run

    def timed(self, index, batch):
        wall, cpu = time.perf_counter(), time.thread_time()
        run(self, index, batch)
        log.append(("main" if threading.current_thread() is threading.main_thread()
                    else "worker", index, time.perf_counter() - wall, time.thread_time() - cpu))
    predict_pipeline._Flight.run = timed


def one_thread(model, x, batch, calls):
    parallel.enter_batch_thread()
    try:
        for _ in range(3):
            model.predict_on_batch(x[:batch])
        times = []
        for _ in range(calls * max(1, len(x) // batch)):
            cpu = time.thread_time()
            model.predict_on_batch(x[:batch])
            times.append(time.thread_time() - cpu)
    finally:
        parallel.leave_batch_thread()
    print(f"one thread, CPU ms a batch of {batch}: min {min(times) * 1e3:.1f}, "
          f"median {np.median(times) * 1e3:.1f} ({np.median(times) / batch * 1e3:.3f} a sample)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="resnet_small", choices=sorted(bench_models.MODELS))
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--batches", action="store_true")
    parser.add_argument("--one-thread", action="store_true")
    args = parser.parse_args()
    shape, _, _, batch = bench_models.MODELS[args.model]
    model = bench_models.build(args.model)
    x = np.random.default_rng(0).random((args.samples,) + shape, dtype=np.float32)
    if args.one_thread:
        one_thread(model, x, batch, args.calls)
        return
    log = []
    record_batches(log)
    model.predict(x, batch_size=batch, verbose=0)
    for call in range(args.calls):
        del log[:]
        before, usage = thread_counters(), resource.getrusage(resource.RUSAGE_SELF)
        wall, cpu = time.perf_counter(), time.process_time()
        model.predict(x, batch_size=batch, verbose=0)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after, end = thread_counters(), resource.getrusage(resource.RUSAGE_SELF)
        print(f"call {call}: {args.samples / wall:.0f} samples/s, wall {wall * 1e3:.0f} ms, "
              f"CPU {cpu * 1e3:.0f} ms ({cpu / args.samples * 1e3:.3f} a sample), system "
              f"{(end.ru_stime - usage.ru_stime) * 1e3:.0f} ms, load {os.getloadavg()[0]:.1f}")
        for tid, counts in after.items():
            if tid not in before:
                continue
            user, system, voluntary, faults = (b - a for a, b in zip(before[tid], counts))
            if user + system > 0.02:
                print(f"  thread {tid}: user {user * 1e3:.0f} ms, system {system * 1e3:.0f} ms,"
                      f" voluntary switches {voluntary}, minor faults {faults}")
        if args.batches:
            by_thread = collections.defaultdict(list)
            for thread, index, batch_wall, batch_cpu in log:
                by_thread[thread].append(f"{index}:{batch_wall * 1e3:.0f}/{batch_cpu * 1e3:.0f}")
            for thread, items in by_thread.items():
                print(f"  {thread:6s} batch:wall/CPU ms  " + " ".join(items))


if __name__ == "__main__":
    main()
