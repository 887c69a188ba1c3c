"""Products on one BLAS thread that give the bits of OpenBLAS' own threads.

OpenBLAS cuts a product's inner dimension K into blocks and adds each block's partial product
into the output in turn; its one-thread and threaded drivers cut K differently when K lies
between its block depth Q and 2 Q (OpenBLAS 0.3.31, sgemm, this machine's kernels: Q = 448;
K = 784 is cut 400 + 384 on one thread, 392 + 392 on two). The BLAS policy
(`parallel.blas_single_threaded`) runs a step's large products on one BLAS thread per Python
thread when the machine is busy and on BLAS' threads when it is quiet, so without care a seeded
fit's numbers (the mlp's first Dense, 784 inputs: 5e-5 on values ~28) would depend on the load.

`matmul_into` computes a one-thread product block by block at the threaded driver's cuts (each
block a product of depth <= Q, which both drivers compute alike, added into the output in
order: what the threaded driver does), so both policies give the same bits. The cuts are found
once per depth and dtype by a probe (`threaded_cuts`): the candidate block depths are tried
against a threaded product of random numbers, and a depth no candidate reproduces (another BLAS
or another OpenBLAS) keeps the plain product. The threaded route itself is left alone: cutting
it too would cost an add pass and two smaller products (128x784 @ 784x512, two threads: min 542
-> 586 us)."""
import threading

import numpy as np

# OpenBLAS' GEMM_Q for its x86-64 kernels (sgemm and dgemm), the most likely first.
_CANDIDATE_BLOCK_DEPTHS = (448, 384, 512, 256, 320, 640, 768)

# Probe shape: large enough that OpenBLAS threads it (it runs products of fewer than about a
# million multiply-adds on one thread).
_PROBE_ROWS, _PROBE_COLUMNS = 128, 64

_cuts = {}                      # (depth, dtype) -> tuple of cut points, () for a plain product
_lock = threading.Lock()


def threaded_blocks(depth, block_depth):
    """Cut points of the threaded driver's blocks of `range(depth)`: blocks of `block_depth`
    while at least two are left, then the rest in two halves if it exceeds one block."""
    cuts, start = [], 0
    while depth - start > block_depth:
        rest = depth - start
        start += block_depth if rest >= 2 * block_depth else (rest + 1) // 2
        cuts.append(start)
    return tuple(cuts)


def matmul_into(a, b, out, cuts):
    """`out[...] = a @ b`, summing the products of the blocks of the inner dimension between
    `cuts` in order (the plain product without cuts)."""
    if not cuts:
        return np.matmul(a, b, out=out)
    edges = (0,) + tuple(cuts) + (a.shape[1],)
    np.matmul(a[:, :edges[1]], b[:edges[1]], out=out)
    for lo, hi in zip(edges[1:-1], edges[2:]):
        out += a[:, lo:hi] @ b[lo:hi]
    return out


def known_cuts(depth, dtype):
    """The cuts `threaded_cuts` found for this depth and dtype, () before any probe."""
    return _cuts.get((depth, np.dtype(dtype)), ())


def threaded_cuts(depth, dtype, set_threads, get_threads):
    """The cuts that make a one-thread product of inner dimension `depth` give the threaded
    product's bits: () when no cuts are needed or none were found. Probes once per depth and
    dtype, with BLAS' thread count set to two meanwhile (call it from the thread that owns
    BLAS' count, with no other thread inside BLAS)."""
    dtype = np.dtype(dtype)
    key = (depth, dtype)
    found = _cuts.get(key)
    if found is not None:
        return found
    if dtype not in (np.float32, np.float64) or depth <= min(_CANDIDATE_BLOCK_DEPTHS):
        found = ()
    else:
        with _lock:
            found = _probe(depth, dtype, set_threads, get_threads)
    _cuts[key] = found
    return found


def _probe(depth, dtype, set_threads, get_threads):
    rng = np.random.default_rng(depth)        # its own generator: the user's seeds stay put
    a = rng.standard_normal((_PROBE_ROWS, depth)).astype(dtype)
    b = rng.standard_normal((depth, _PROBE_COLUMNS)).astype(dtype)
    previous = get_threads()
    try:
        set_threads(2)
        threaded = a @ b
        set_threads(1)
        if np.array_equal(a @ b, threaded):
            return ()
        candidates = dict.fromkeys(threaded_blocks(depth, q) for q in _CANDIDATE_BLOCK_DEPTHS)
        for cuts in filter(None, candidates):
            if np.array_equal(matmul_into(a, b, np.empty_like(threaded), cuts), threaded):
                return cuts
        return ()
    finally:
        set_threads(previous)
