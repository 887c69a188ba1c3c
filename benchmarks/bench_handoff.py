"""What one hand-off to the worker thread costs (`parallel.run_split` of empty work), after the
main thread has worked alone for a while (the gap): the worker then sleeps on a futex, and on
a virtual machine whose idle vCPU halts at once (`cpuidle_haltpoll` with
`guest_halt_poll_ns=0`, as on the benchmark VM) waking it may cost far more than on a busy
machine, where it preempts another process. Every split kernel pays this per call; OpenBLAS'
threads spin instead. Printed per gap: min / median / 90th percentile of the hand-off's wall
time in microseconds, and the 1-minute load (run it on an idle machine, then a busy one).

    python benchmarks/bench_handoff.py [repeats]
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from minikeras.ops import parallel  # noqa: E402

GAPS_US = (0, 100, 1000, 10000)      # the main thread's own work between two hand-offs


def busy_for(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    if not parallel.can_split(uses_blas=False):
        print("one usable core (or MINIKERAS_NUM_THREADS=1): nothing to hand off")
        return
    print(f"load {os.getloadavg()[0]:.1f}; {repeats} hand-offs per gap")
    for gap in GAPS_US:
        times = []
        for _ in range(repeats):
            busy_for(gap * 1e-6)
            start = time.perf_counter()
            parallel.run_split(lambda lo, hi: None, 2, uses_blas=False)
            times.append(time.perf_counter() - start)
        times = np.array(times) * 1e6
        print(f"gap {gap:6d} us: hand-off min {times.min():7.1f}  median "
              f"{np.median(times):7.1f}  p90 {np.percentile(times, 90):7.1f} us")
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
