"""Depthwise convolution routes against their fallbacks, interleaved in one process (the
machine's speed drifts, so A and B alternate and the minimum / per-pair ratio is reported).

Kernels (one thread's CPU time, min of `--repeats`): the stride-1 kernel gradient read from the
unpadded input (`USE_DIRECT_KERNEL_GRAD`) against the padded width-phase route, and the strided
input gradient gathered from a zero width grid (`USE_WIDTH_GATHER`) against the tap scatter
(with the width phases' channel runs copied as void elements, `USE_CHANNEL_RUNS`, or not):

    python benchmarks/bench_depthwise_routes.py kernels [--repeats 15]

Whole models of bench_general_convnets.py (fit epochs, both routes on against both off,
alternating; wall and process CPU per pair). Set MINIKERAS_NUM_THREADS=1 to compare CPU time
on a loaded machine:

    python benchmarks/bench_depthwise_routes.py models [--models mobilenet mobilenet_v2]
        [--pairs 6]
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import numpy as np                                   # noqa: E402

import bench_general_convnets as general             # noqa: E402
import minikeras as keras                            # noqa: E402
from minikeras.ops import conv_kernels               # noqa: E402

# (input shape, stride): MobileNet-style layers, 3x3 'same'
SHAPES = [((32, 32, 32, 16), 1), ((32, 16, 16, 64), 1), ((32, 8, 8, 128), 1),
          ((32, 32, 32, 32), 2), ((32, 16, 16, 64), 2), ((32, 48, 48, 16), 2),
          ((3, 7, 9, 5), 1), ((7, 11, 13, 5), 2), ((4, 8, 8, 32), 1), ((4, 16, 16, 32), 2),
          ((8, 8, 8, 64), 1), ((8, 16, 16, 64), 2)]


def _set_routes(on):
    conv_kernels.USE_DIRECT_KERNEL_GRAD = on
    conv_kernels.USE_WIDTH_GATHER = on
    conv_kernels.USE_CHANNEL_RUNS = on


def _min_cpu(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best


def kernels(args):
    rng = np.random.default_rng(0)
    print("shape              stride  part  fallback ms  route ms  ratio")
    for shape, stride in SHAPES:
        x = rng.standard_normal(shape, dtype=np.float32)
        kernel = rng.standard_normal((3, 3, shape[-1], 1), dtype=np.float32)
        pads = [conv_kernels.same_padding(n, 3, stride, 1) for n in shape[1:3]]
        out, ctx = conv_kernels.depthwise_conv_forward(x, kernel, (stride,) * 2, pads, (1, 1))
        g = rng.standard_normal(out.shape, dtype=np.float32)
        # stride 1: the kernel gradient differs; stride 2: the input gradient
        need_input, need_kernel = (False, True) if stride == 1 else (True, False)
        times = {False: [], True: []}
        for _ in range(args.repeats):
            for on in (False, True):
                _set_routes(on)
                times[on].append(_min_cpu(lambda: conv_kernels.depthwise_conv_backward(
                    ctx, g, need_input, need_kernel), 1))
        _set_routes(True)
        old, new = min(times[False]), min(times[True])
        print(f"{str(shape):<20} {stride}    {'dk' if need_kernel else 'dx'}   "
              f"{old * 1e3:10.2f}  {new * 1e3:8.2f}  {new / old:5.2f}")
    print(f"load {os.getloadavg()[0]:.1f}")


def models(args):
    for name in args.models:
        net = general.build(keras, name)
        x, y = general.data(name, np)
        batch = general.MODELS[name]["batch"]

        def epoch():
            net.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        for on in (False, True):
            _set_routes(on)
            epoch()
        runs = {False: [], True: []}
        for pair in range(args.pairs):
            for on in ((False, True) if pair % 2 == 0 else (True, False)):
                _set_routes(on)
                wall, cpu = time.perf_counter(), time.process_time()
                epoch()
                runs[on].append((time.perf_counter() - wall, time.process_time() - cpu))
        _set_routes(True)
        wall_ratio = statistics.median(b[0] / a[0] for a, b in zip(runs[False], runs[True]))
        cpu_ratio = statistics.median(b[1] / a[1] for a, b in zip(runs[False], runs[True]))
        print(f"{name:<13} train  routes/fallback per-pair median: wall {wall_ratio:.3f}  "
              f"cpu {cpu_ratio:.3f}  ({args.pairs} pairs, load {os.getloadavg()[0]:.1f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("kernels", "models"))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--models", nargs="+", default=["mobilenet", "mobilenet_v2"],
                        choices=sorted(general.MODELS))
    args = parser.parse_args()
    (kernels if args.what == "kernels" else models)(args)


if __name__ == "__main__":
    main()
