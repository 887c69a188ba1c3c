"""Products on one BLAS thread that give the bits of OpenBLAS' own threads.

OpenBLAS cuts a product's inner dimension K into blocks and adds each block's partial product
into the output in turn; its one-thread and threaded drivers cut K differently when K lies
between its block depth Q and 2 Q (OpenBLAS 0.3.31, sgemm, this machine's kernels: Q = 448;
K = 784 is cut 400 + 384 on one thread, 392 + 392 on two). The BLAS policy
(`parallel.blas_single_threaded`) runs a step's large products on one BLAS thread per Python
thread when the machine is busy and on BLAS' threads when it is quiet, so without care a seeded
fit's numbers (the mlp's first Dense, 784 inputs: 5e-5 on values ~28) would depend on the load.

`matmul_into` computes a one-thread product block by block where the threaded driver's cuts
differ from the one-thread driver's: both cut K into blocks of Q while at least 2 Q are left
and agree on those, so the product up to that point is one plain product, and a rest between Q
and 2 Q is cut in two halves (the threaded driver's rule), each a product of depth <= Q which
both drivers compute alike, added into the output in order (what the threaded driver does).
At most two more products and two add passes over the output, whatever K (a transposed
convolution's kernel gradient has K = batch x pixels). Q is found once per dtype by a probe
(`block_depth`): the candidate depths are tried against threaded products of random numbers;
with none reproducing them (another BLAS, another OpenBLAS) products stay plain. The threaded
route itself is left alone: cutting it too would cost an add pass and two smaller products
(128x784 @ 784x512, two threads: min 542 -> 586 us)."""
import threading

import numpy as np

# OpenBLAS' GEMM_Q for its x86-64 kernels (sgemm and dgemm), the most likely first.
_CANDIDATE_BLOCK_DEPTHS = (448, 384, 512, 256, 320, 640, 768)
# Probe depths: a rest cut in two (600, 784), after one block (1000, 1500), none cut (300).
_PROBE_DEPTHS = (300, 600, 784, 1000, 1500)
# Probe shape: large enough that OpenBLAS threads it (it runs products of fewer than about a
# million multiply-adds on one thread).
_PROBE_ROWS, _PROBE_COLUMNS = 128, 64

_block_depths = {}              # dtype -> (Q, unroll), Q = 0 where no candidate reproduces them
# OpenBLAS' GEMM_UNROLL_M candidates (the one-thread driver's rounding of a halved rest).
_CANDIDATE_UNROLLS = (16, 8, 4, 32, 2, 1)
_lock = threading.Lock()


def threaded_cuts_for(depth, block_depth, unroll=None):
    """Where a one-thread product of inner dimension `depth` is cut so that it adds up as the
    threaded driver with blocks of `block_depth` does: () when the two drivers agree, else the
    end of the leading whole blocks (if any) and the middle of the rest. The one-thread driver
    cuts that rest at its half rounded up to a multiple of `unroll` (None: not known, always
    cut)."""
    if not block_depth:
        return ()
    lead, rest = 0, depth
    while rest >= 2 * block_depth:
        lead += block_depth
        rest -= block_depth
    half = (rest + 1) // 2
    if rest <= block_depth or (unroll and -(-(rest // 2) // unroll) * unroll == half):
        return ()
    return ((lead,) if lead else ()) + (lead + half,)


def matmul_into(a, b, out, cuts):
    """`out[...] = a @ b`, summing the products of the pieces of the inner dimension between
    `cuts` in order (the plain product without cuts)."""
    if not cuts:
        return np.matmul(a, b, out=out)
    edges = (0,) + tuple(cuts) + (a.shape[1],)
    np.matmul(a[:, :edges[1]], b[:edges[1]], out=out)
    for lo, hi in zip(edges[1:-1], edges[2:]):
        out += a[:, lo:hi] @ b[lo:hi]
    return out


def known_cuts(depth, dtype):
    """`threaded_cuts` without probing: () while this dtype has not been probed."""
    return threaded_cuts_for(depth, *_block_depths.get(np.dtype(dtype), (0, None)))


def threaded_cuts(depth, dtype, set_threads, get_threads):
    """The cuts that make a one-thread product of inner dimension `depth` give the threaded
    product's bits (() where none are needed or known). The first call for a dtype probes, with
    BLAS' thread count set to two meanwhile: call it from the thread that owns BLAS' count,
    with no other thread inside BLAS."""
    dtype = np.dtype(dtype)
    if depth <= min(_CANDIDATE_BLOCK_DEPTHS):
        return ()
    if dtype not in _block_depths:
        with _lock:
            if dtype not in _block_depths:
                _block_depths[dtype] = _probe(dtype, set_threads, get_threads) \
                    if dtype in (np.float32, np.float64) else (0, None)
    return threaded_cuts_for(depth, *_block_depths[dtype])


def _probe(dtype, set_threads, get_threads):
    """`(Q, unroll)`: the candidate block depth whose cuts give the threaded bits at every probe
    depth (0 if none does), and the unroll that gives the one-thread driver's own bits (None
    if none does: then every rest between Q and 2 Q is cut)."""
    rng = np.random.default_rng(0)            # its own generator: the user's seeds stay put
    cases = []
    previous = get_threads()
    try:
        set_threads(2)
        for depth in _PROBE_DEPTHS:
            a = rng.standard_normal((_PROBE_ROWS, depth)).astype(dtype)
            b = rng.standard_normal((depth, _PROBE_COLUMNS)).astype(dtype)
            cases.append((a, b, a @ b))
        set_threads(1)
        block_depth = next((q for q in _CANDIDATE_BLOCK_DEPTHS
                            if _reproduces(cases, lambda depth: threaded_cuts_for(depth, q))), 0)
        if not block_depth:
            return 0, None
        alone = [(a, b, a @ b) for a, b, _ in cases]
        unroll = next((u for u in _CANDIDATE_UNROLLS
                       if _reproduces(alone, lambda depth: _one_thread_cuts(depth, block_depth, u))),
                      None)
        return block_depth, unroll
    finally:
        set_threads(previous)


def _one_thread_cuts(depth, block_depth, unroll):
    """The one-thread driver's cuts of the rest after whole blocks (as `threaded_cuts_for`)."""
    lead, rest = 0, depth
    while rest >= 2 * block_depth:
        lead += block_depth
        rest -= block_depth
    if rest <= block_depth:
        return ()
    return ((lead,) if lead else ()) + (lead + -(-(rest // 2) // unroll) * unroll,)


def _reproduces(cases, cuts_of):
    """Whether products cut by `cuts_of(depth)` give each case's expected bits."""
    return all(np.array_equal(matmul_into(a, b, np.empty_like(expected), cuts_of(a.shape[1])),
                              expected) for a, b, expected in cases)
