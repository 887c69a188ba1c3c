"""Where a training step of a `bench_models` model goes, op by op.

Every recorded op is timed by wrapping `core.tensor.record` (forward: the time since the
previous op was recorded; backward: its backward call), keyed by the op's function, output and
operand shapes. `--clock thread` (with `--one-thread`, which binds the process to one core
before minikeras is imported, so nothing is split) gives each op's CPU time;
`--clock serial` gives the main thread's wall time outside the two-thread splits (the
serial part of a step, where the second core idles). Also prints, per caller of
`parallel.run_split`, the splits' wall time against the time each thread spent working.

    PYTHONPATH=. python benchmarks/bench_step_ops.py --model resnet_small --one-thread
    PYTHONPATH=. python benchmarks/bench_step_ops.py --model resnet_small --clock serial
"""
import argparse
import collections
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="resnet_small")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--clock", choices=("thread", "serial"), default="thread")
    parser.add_argument("--one-thread", action="store_true")
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args()
    if args.one_thread:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import numpy as np
    import bench_models
    from minikeras.core import tensor
    from minikeras.ops import parallel

    shape, classes, _, batch = bench_models.MODELS[args.model]
    model = bench_models.build(args.model)
    rng = np.random.default_rng(0)
    x = rng.random((args.samples,) + shape, dtype=np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, args.samples)]
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)   # plans, buffers

    split_wall = [0.0]
    splits = collections.defaultdict(lambda: [0, 0.0, 0.0, 0.0])   # calls, wall, main, worker
    on_both_threads = parallel._on_both_threads

    def timed_split(here, on_worker, uses_blas):
        frame = sys._getframe(2)
        while frame.f_code.co_filename.endswith("parallel.py"):
            frame = frame.f_back
        key = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_code.co_name}"
        busy = {}

        def worker():
            start = time.perf_counter()
            on_worker()
            busy["worker"] = time.perf_counter() - start
        start = time.perf_counter()

        def main_half():
            here()
            busy["main"] = time.perf_counter() - start
        try:
            return on_both_threads(main_half, worker, uses_blas)
        finally:
            wall = time.perf_counter() - start
            split_wall[0] += wall
            entry = splits[key]
            entry[0] += 1
            entry[1] += wall
            entry[2] += busy.get("main", 0.0)
            entry[3] += busy.get("worker", 0.0)
    parallel._on_both_threads = timed_split

    def clock():
        if args.clock == "thread":
            return time.thread_time()
        return time.perf_counter() - split_wall[0]

    forward, backward, counts = (collections.defaultdict(float), collections.defaultdict(float),
                                 collections.Counter())
    record = tensor.record
    state = {"last": clock(), "after_backward": False}
    gap = "(between steps: loss, tape, optimizer)"

    def timed_record(out_data, inputs, backward_fn):
        frame = sys._getframe(1)
        shapes = [getattr(getattr(t, "data", t), "shape", None) for t in inputs[:2]]
        key = (f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_code.co_name} "
               f"{getattr(out_data, 'shape', None)} <- {shapes}")
        now = clock()
        forward[gap if state["after_backward"] else key] += now - state["last"]
        state["after_backward"] = False
        counts[key] += 1

        def timed_backward(g, needs):
            start = clock()
            result = backward_fn(g, needs)
            backward[key] += clock() - start
            state["after_backward"], state["last"] = True, clock()
            return result
        out = record(out_data, inputs, timed_backward)
        state["last"] = clock()
        return out
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("minikeras") and \
                getattr(module, "record", None) is record:
            module.record = timed_record

    cpu, wall = time.process_time(), time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=args.epochs, verbose=0, shuffle=False)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    steps = args.epochs * -(-args.samples // batch)
    ms = 1e3 / steps
    print(f"{args.model}, {steps} steps, load {os.getloadavg()[0]:.1f}: wall {wall * ms:.1f} ms "
          f"a step, process CPU {cpu * ms:.1f}, in splits {split_wall[0] * ms:.1f}")
    print(f"ops ({args.clock} clock, ms a step): total forward {sum(forward.values()) * ms:.1f}"
          f", backward {sum(backward.values()) * ms:.1f}")
    keys = sorted(set(forward) | set(backward), key=lambda k: -(forward[k] + backward[k]))
    for key in keys[:args.rows]:
        print(f"  {(forward[key] + backward[key]) * ms:7.2f}  forward {forward[key] * ms:6.2f}"
              f"  backward {backward[key] * ms:6.2f}  x{counts[key] / steps:4.1f}  {key}")
    if splits:
        print("splits (ms a step): wall, main thread working, worker working")
        for key, (calls, total, main_busy, worker_busy) in sorted(splits.items(),
                                                                  key=lambda kv: -kv[1][1]):
            print(f"  {key:40s} x{calls / steps:5.1f}  {total * ms:7.2f}  {main_busy * ms:7.2f}"
                  f"  {worker_busy * ms:7.2f}")


if __name__ == "__main__":
    main()
