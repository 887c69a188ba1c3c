"""Two-way data parallelism for the NumPy kernels (NumPy releases the GIL inside its loops).

`run_split(work, n)` calls `work(lo, hi)` on the two halves of `range(n)`, the second half on a
worker thread. Work that calls BLAS (`uses_blas=True`) runs with BLAS single-threaded for the
duration, so two Python threads never start two BLAS thread teams on two cores (measured on a
(65536, 288) @ (288, 32) product: two single-threaded halves 10.8 ms, one call with OpenBLAS'
two threads 21 ms idle and 35-60 ms on a loaded machine). When the BLAS library's thread count
cannot be set (a BLAS other than OpenBLAS), BLAS work runs serially and BLAS threads itself.

`MINIKERAS_NUM_THREADS=1` turns the splitting off; a process bound to one core (`taskset`,
`mpirun --bind-to core`) does not split either.
"""
import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np   # loads BLAS before it is looked up below

def usable_cores():
    """Cores this process may run on: its CPU affinity (`taskset`, `mpirun --bind-to core`)
    where the platform reports one, else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_THREADS = max(1, min(2, int(os.environ.get("MINIKERAS_NUM_THREADS", 0) or usable_cores())))
_pool = None
_state = threading.local()


def _forget_pool_after_fork():
    """A forked child has no worker thread: it must start its own pool, not wait on the copy."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


# ---------------------------------------------------------------------------------------
# BLAS thread count (OpenBLAS as NumPy's wheels ship it; found in the loaded libraries)
# ---------------------------------------------------------------------------------------
def find_openblas_thread_apis():
    """`(set_num_threads, get_num_threads)` of every OpenBLAS loaded in the process: NumPy's and,
    once imported, SciPy's may be separate copies. Empty with any other BLAS, or without /proc."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return []
    apis = []
    for path in paths:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in [(p, s) for p in ("scipy_openblas", "openblas")
                               for s in ("64_", "_64_", "")]:
            setter = getattr(library, f"{prefix}_set_num_threads{suffix}", None)
            getter = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
            if setter is not None and getter is not None:
                setter.restype, getter.restype = None, ctypes.c_int
                setter.argtypes = [ctypes.c_int]
                apis.append((setter, getter))
                break
    return apis


_BLAS = (find_openblas_thread_apis() or [None])[0]   # NumPy's, loaded first


def can_split(uses_blas=True):
    """Whether `run_split` would use two threads for such work (here, now)."""
    if _THREADS < 2 or getattr(_state, "inside", False):
        return False
    return not uses_blas or _BLAS is not None


def run_split(work, n, uses_blas=True, min_items=2):
    """`work(lo, hi)` over `range(n)`: both halves concurrently when that is possible, else one
    call `work(0, n)`. Exceptions of either half propagate."""
    global _pool
    if n < min_items or not can_split(uses_blas):
        work(0, n)
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minikeras-ops")
    half = (n + 1) // 2
    previous = None
    if uses_blas:
        previous = _BLAS[1]()
        if previous == 1:
            previous = None                 # already single-threaded (blas_single_threaded)
        else:
            _BLAS[0](1)
    _state.inside = True
    try:
        future = _pool.submit(_inside, work, half, n)
        try:
            work(0, half)
        finally:
            future.result()
    finally:
        _state.inside = False
        if previous is not None:
            _BLAS[0](previous)


def _inside(work, lo, hi):
    _state.inside = True
    try:
        work(lo, hi)
    finally:
        _state.inside = False


def local_buffer(key, shape, dtype):
    """A per-thread scratch array of `shape` (reused across calls with the same key)."""
    buffers = getattr(_state, "buffers", None)
    if buffers is None:
        buffers = _state.buffers = {}
    size = 1
    for n in shape:
        size *= int(n)
    dtype = np.dtype(dtype)
    buffer = buffers.get(key)
    if buffer is None or buffer.size < size or buffer.dtype != dtype:
        buffer = buffers[key] = np.empty(max(size, 1), dtype)
    return buffer[:size].reshape(shape)


# Memory-bound elementwise passes are split only above this many elements (below, the thread
# hand-off costs more than the second core gains).
_SPLIT_ELEMENTS = 1 << 18


def split_rows(work, array):
    """`work(rows)` over row blocks of `array` (slices of its first axis; `...` for a 0-d
    array), on two threads when the array is large enough. For elementwise passes that do not
    call BLAS."""
    if array.ndim == 0 or array.size < _SPLIT_ELEMENTS:
        work(slice(None) if array.ndim else Ellipsis)
    else:
        run_split(lambda lo, hi: work(slice(lo, hi)), array.shape[0], uses_blas=False)


# The machine counts as oversubscribed above this 1-minute load per core.
_OVERSUBSCRIBED_LOAD_PER_CORE = 1.5
_CORES = os.cpu_count() or 1


def oversubscribed():
    """Whether more work is runnable than there are cores (the 1-minute load per core)."""
    try:
        return os.getloadavg()[0] > _OVERSUBSCRIBED_LOAD_PER_CORE * _CORES
    except OSError:
        return False


class blas_single_threaded:
    """BLAS on one thread inside this block (re-entrant) while the machine is oversubscribed;
    what a training or predict step runs in. OpenBLAS' threads spin-wait between calls and,
    descheduled on shared cores, make every small product (dense layers, batch-norm sums) wait:
    lenet_bn predict at a load of ~4 on 2 cores ran 2.0-2.5k samples/s with them and 8.5-15k
    without, and the large products are then split here instead (`matmul`). On a quiet
    machine they help (MLP training 25.5k samples/s with them, 18.6k split here), so they stay.
    The convolution kernels set BLAS single-threaded around their own splits in any case."""

    def __enter__(self):
        depth = getattr(_state, "single_blas", 0)
        if depth == 0:
            self._previous = None
            if _BLAS is not None and _THREADS >= 2 and oversubscribed():
                self._previous = _BLAS[1]()
                _BLAS[0](1)
            _state.single_blas_active = self._previous is not None
        _state.single_blas = depth + 1
        return self

    def __exit__(self, *exc):
        _state.single_blas -= 1
        if _state.single_blas == 0:
            if self._previous is not None:
                _BLAS[0](self._previous)
            _state.single_blas_active = False
        return False


# Products of at least this many multiply-adds are split over two threads by `matmul`.
_SPLIT_MACS = 1 << 22


def matmul(a, b):
    """`a @ b` for 2-D arrays, split over two threads (by rows of `a`, or by columns of `b`
    when those are more) when large inside an active `blas_single_threaded` block; plain
    `a @ b` (BLAS' own threads) otherwise."""
    rows, depth = a.shape
    columns = b.shape[1]
    if rows * depth * columns < _SPLIT_MACS or not can_split() or \
            not getattr(_state, "single_blas_active", False):
        return a @ b
    out = np.empty((rows, columns), np.result_type(a, b))
    if rows >= columns:
        run_split(lambda lo, hi: np.matmul(a[lo:hi], b, out=out[lo:hi]), rows)
    else:
        def columns_of(lo, hi):
            out[:, lo:hi] = a @ b[:, lo:hi]
        run_split(columns_of, columns)
    return out
