"""One training batch normalization op (forward + backward, optionally with a fused activation)
on two threads, with variants of how its tiles are split interleaved in one process: runs of
`_BLOCK_TILES` tiles per NumPy call, and `_THREADED_TILES` (the fewest tiles split over the
threads). Prints per variant the median wall and process CPU ms and voluntary context switches.

With `--written-by-threads`, x and the output gradient are rewritten by the two threads (halves of
the batch, as a convolution leaves them) before each op, and only the op is timed.

    PYTHONPATH=. python benchmarks/bench_bn_runs.py --activation relu \
        --shapes 64x32x32x32 64x8x8x128 --variants 1/4 2/4 2/2 [--rounds 10]
    (variant "B/T": _BLOCK_TILES B, _THREADED_TILES T)

Timings mean little on a loaded machine unless the process runs at a real-time priority
(`chrt -f 12 ...`, short runs) so that the two threads run as on an idle one.
"""
import argparse
import resource
import time

import numpy as np

import minikeras as keras
from minikeras.core import tensor as tape
from minikeras.ops import batch_norm as bn_ops
from minikeras.ops import parallel


def make_step(shape, activation, written_by_threads):
    rng = np.random.default_rng(0)
    source = rng.standard_normal(shape, dtype=np.float32)
    gradient_source = rng.standard_normal(shape, dtype=np.float32)
    x = keras.Variable(source.copy())
    g = gradient_source.copy()
    gamma = keras.Variable(np.ones(shape[-1], np.float32))
    beta = keras.Variable(np.zeros(shape[-1], np.float32))
    axes = tuple(range(len(shape) - 1))

    def rewrite(destination, values):
        def work(lo, hi):
            np.multiply(values[lo:hi], 1.0, out=destination[lo:hi])
        parallel.run_split(work, shape[0], uses_blas=False)

    def step():
        """The op's wall and CPU seconds and voluntary context switches."""
        totals = np.zeros(3)
        with parallel.blas_single_threaded():
            if written_by_threads:
                rewrite(x.data, source)
            totals -= _clocks()
            with tape.GradientTape():
                out, _ = bn_ops.batch_norm_train(x, gamma, beta, axes, 1e-3,
                                                 activation=activation)
            totals += _clocks()
            if written_by_threads:
                rewrite(g, gradient_source)
            totals -= _clocks()
            out._backward(g, (True, True, True))
            totals += _clocks()
        return totals
    return step


def _clocks():
    return np.array([time.perf_counter(), time.process_time(),
                     resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", nargs="+", default=["64x32x32x32", "64x16x16x64",
                                                         "64x8x8x128"])
    parser.add_argument("--activation", default="relu",
                        choices=("none", "relu", "relu6", "sigmoid", "tanh"))
    parser.add_argument("--variants", nargs="+", default=["1/4", "2/4", "2/2"])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--written-by-threads", action="store_true")
    args = parser.parse_args()
    activation = None if args.activation == "none" else args.activation
    variants = [tuple(int(v) for v in text.split("/")) for text in args.variants]
    defaults = bn_ops._BLOCK_TILES, bn_ops._THREADED_TILES
    for text in args.shapes:
        shape = tuple(int(v) for v in text.split("x"))
        step = make_step(shape, activation, args.written_by_threads)
        step()
        times = {variant: [] for variant in variants}
        for round_ in range(args.rounds):
            for variant in (variants if round_ % 2 == 0 else variants[::-1]):
                bn_ops._BLOCK_TILES, bn_ops._THREADED_TILES = variant
                times[variant] += [step() for _ in range(args.repeats)]
        bn_ops._BLOCK_TILES, bn_ops._THREADED_TILES = defaults
        cells = []
        for variant in variants:
            wall, cpu, switches = np.median(np.array(times[variant]), axis=0)
            cells.append(f"{variant[0]}/{variant[1]}: {wall * 1e3:.3f} / {cpu * 1e3:.3f} / "
                         f"{switches:.0f}")
        print(f"{text} {args.activation} (wall ms / CPU ms / switches): " + ",  ".join(cells),
              flush=True)


if __name__ == "__main__":
    main()
