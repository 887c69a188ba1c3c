"""Data-parallel scaling over MPI: training throughput on 1 and 2 ranks, each rank on one core,
the allreduce's share of a step, and a ring-allreduce estimate for larger jobs.

    python benchmarks/bench_distribute.py [--epochs 3]

Each configuration runs as `mpirun -n R -bind-to core` with OPENBLAS_NUM_THREADS=1, so a rank
is one core; the per-rank batch is fixed (weak scaling), so the ideal 2-rank speed-up is 2x.
The estimate uses the ring-allreduce cost model T(p, n) = 2 (p - 1) a + 2 (p - 1) / p * n / B,
with the latency a and bandwidth B fitted to allreduces measured here on 2 ranks (shared
memory: a real network between machines is slower, so read the estimate as a lower bound).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {"mlp": 128, "lenet_bn": 64}     # model -> per-rank batch size


def build(keras, name):
    layers = keras.layers
    if name == "mlp":
        model = keras.Sequential([
            keras.Input(shape=(784,)), layers.Dense(512, activation="relu"), layers.Dropout(0.2),
            layers.Dense(512, activation="relu"), layers.Dropout(0.2),
            layers.Dense(10, activation="softmax")])
    else:
        model = keras.Sequential([
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(6, 5), layers.BatchNormalization(), layers.Activation("sigmoid"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 5), layers.BatchNormalization(), layers.Activation("sigmoid"),
            layers.MaxPooling2D(2), layers.Flatten(),
            layers.Dense(120, activation="sigmoid"), layers.Dense(84, activation="sigmoid"),
            layers.Dense(10, activation="softmax")])
    return model


def worker_train(name, epochs, steps):
    import minikeras as keras
    import minikeras.distribute as dist
    from minikeras.core import distribution
    dist.init()
    context = distribution.get_context()
    allreduce_seconds = [0.0]
    # the gradients' allreduce and division (only the allreduce in older trees)
    hooked = "average_packed" if hasattr(context, "average_packed") else \
        "allreduce_sum_in_place"
    plain_average = getattr(context, hooked)

    def timed_average(buffer):
        start = time.perf_counter()
        result = plain_average(buffer)
        allreduce_seconds[0] += time.perf_counter() - start
        return result
    setattr(context, hooked, timed_average)
    batch = MODELS[name]
    model = build(keras, name)
    model.compile(optimizer=dist.DistributedOptimizer(keras.optimizers.Adam(1e-3)),
                  loss="categorical_crossentropy")
    shape = model.input_shape[1:]
    samples = batch * steps * dist.size()
    rng = np.random.default_rng(0)
    x = rng.random((samples,) + shape, dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 10, samples), 10)
    callbacks = [dist.BroadcastGlobalVariablesCallback(0)]
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=callbacks)   # warm-up
    times = []
    for _ in range(epochs):
        allreduce_seconds[0] = 0.0
        start, cpu_start = time.perf_counter(), time.process_time()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        times.append((time.perf_counter() - start, allreduce_seconds[0],
                      time.process_time() - cpu_start))
    if dist.is_chief():
        wall, reduce, cpu = sorted(times)[len(times) // 2]
        print(json.dumps({"model": name, "ranks": dist.size(), "samples_per_s": samples / wall,
                          "step_ms": 1e3 * wall / steps, "allreduce_ms": 1e3 * reduce / steps,
                          "cpu_ms": 1e3 * cpu / steps, "parameters": model.count_params(),
                          "package": os.path.dirname(keras.__file__)}))


def worker_allreduce():
    import minikeras.distribute as dist
    from minikeras.core import distribution
    dist.init()
    context = distribution.get_context()
    results = []
    for count in (1, 1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22):
        buffer = np.ones(count, np.float32)
        repeats = 200 if count < (1 << 18) else 20
        context.allreduce_sum_in_place(buffer)
        start = time.perf_counter()
        for _ in range(repeats):
            context.allreduce_sum_in_place(buffer)
        results.append((count * 4, (time.perf_counter() - start) / repeats))
    averaging = gradient_averaging_routes(context, np.ones(MLP_PARAMETERS, np.float32))
    if dist.is_chief():
        print(json.dumps({"allreduce": results, "averaging": averaging}))


MLP_PARAMETERS = 669_706


def gradient_averaging_routes(context, gradient, repeats=200):
    """Median seconds of one gradient averaging (pack, sum over the ranks, divide), by
    MPI_Allreduce and by the shared-memory window, each started right after a barrier so that
    waiting for a late rank is not counted."""
    from minikeras.distribute import _context
    routes = {}
    for route in ("allreduce", "shared_memory"):
        def average():
            if route == "allreduce":
                buffer = np.empty(gradient.size + 1, np.float32)
            else:
                buffer = context.packing_buffer(gradient.size + 1)
            np.multiply(gradient, np.float32(1), out=buffer[:-1])
            buffer[-1] = 1
            if route == "allreduce":
                context.allreduce_sum_in_place(buffer)
                _context.divide_by_total_weight(buffer)
            else:
                context.average_packed(buffer)
        times = []
        for _ in range(repeats):
            context.comm.Barrier()
            start = time.perf_counter()
            average()
            times.append(time.perf_counter() - start)
        routes[route] = sorted(times)[repeats // 2]
    return routes


def run(ranks, *args, tree=os.path.dirname(HERE)):
    mpirun = shutil.which("mpirun", path=os.path.dirname(sys.executable)) or shutil.which("mpirun")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.path.abspath(tree))
    command = [mpirun, "-n", str(ranks), "-bind-to", "core", sys.executable,
               os.path.abspath(__file__), "--worker", *args]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def ring_estimate(latency, bandwidth, ranks, nbytes):
    return 2 * (ranks - 1) * latency + 2 * (ranks - 1) / ranks * nbytes / bandwidth


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated subset of: " + ", ".join(MODELS))
    parser.add_argument("--no-estimate", action="store_true",
                        help="skip the allreduce sizes and the ring estimate")
    parser.add_argument("--minikeras-path", default=os.path.dirname(HERE),
                        help="the tree whose minikeras the ranks import (default: this one)")
    parser.add_argument("--worker", nargs="*")
    args = parser.parse_args()
    if args.worker is not None:
        if args.worker[0] == "allreduce":
            worker_allreduce()
        else:
            worker_train(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    print(f"1-minute load before: {os.getloadavg()[0]:.2f} (figures are only meaningful on a "
          "quiet machine: each rank wants a core of its own)")
    print("model     ranks  samples/s  step ms  allreduce ms  CPU ms/step  speed-up")
    for name in args.models.split(","):
        one = run(1, name, str(args.epochs), str(args.steps), tree=args.minikeras_path)
        two = run(2, name, str(args.epochs), str(args.steps), tree=args.minikeras_path)
        print(f"          (1-minute load now: {os.getloadavg()[0]:.2f})")
        for result in (one, two):
            print(f"{name:9} {result['ranks']:5} {result['samples_per_s']:10.0f} "
                  f"{result['step_ms']:8.2f} {result['allreduce_ms']:13.3f} "
                  f"{result['cpu_ms']:12.2f} "
                  f"{result['samples_per_s'] / one['samples_per_s']:9.2f}x")
    if args.no_estimate:
        return
    measured = run(2, "allreduce", tree=args.minikeras_path)
    sizes = measured["allreduce"]
    print(f"\naveraging {MLP_PARAMETERS:,} gradients on 2 ranks (pack, sum, divide; median): "
          + ", ".join(f"{route.replace('_', ' ')} {seconds * 1e3:.3f} ms"
                      for route, seconds in measured["averaging"].items()))
    latency = sizes[0][1] / 2                       # a 2-rank ring: 2 (p - 1) = 2 latencies
    nbytes, seconds = sizes[-1]
    bandwidth = nbytes / max(seconds - 2 * latency, 1e-9)   # 2 (p-1)/p = 1 for p = 2
    print(f"\nallreduce on 2 ranks: latency ~{latency * 1e6:.1f} us, bandwidth "
          f"~{bandwidth / 1e9:.2f} GB/s (from {nbytes >> 20} MiB)")
    for count, seconds in sizes:
        print(f"  {count:>10} bytes: {seconds * 1e3:8.3f} ms")
    print("\nring-allreduce estimate per step (gradients in float32):")
    print("parameters      8 ranks     64 ranks    256 ranks")
    for parameters in (1_000_000, 25_000_000):
        row = [ring_estimate(latency, bandwidth, p, 4 * parameters) * 1e3 for p in (8, 64, 256)]
        print(f"{parameters:>10}  " + "  ".join(f"{ms:8.2f} ms" for ms in row))


if __name__ == "__main__":
    main()
