"""Two-way data parallelism for the NumPy kernels (NumPy releases the GIL inside its loops).

`run_split(work, n)` calls `work(lo, hi)` on the two halves of `range(n)`, the second half on a
worker thread (or, with `piece=`, on pieces that both threads take in turn as they become free). Work that calls BLAS (`uses_blas=True`) runs with BLAS single-threaded for the
duration, so two Python threads never start two BLAS thread teams on two cores (measured on a
(65536, 288) @ (288, 32) product: two single-threaded halves 10.8 ms, one call with OpenBLAS'
two threads 21 ms idle and 35-60 ms on a loaded machine). When the BLAS library's thread count
cannot be set (a BLAS other than OpenBLAS), BLAS work runs serially and BLAS threads itself.

`MINIKERAS_NUM_THREADS=1` turns the splitting off; a process bound to one core (`taskset`,
`mpirun --bind-to core`) does not split either.
"""
import ctypes
import itertools
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np   # loads BLAS before it is looked up below

from . import blas_blocking
from .blas_blocking import matmul_into
from .allocator import tune_once
from .contention import other_processes_busy


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
def openblas_paths():
    """Paths of the OpenBLAS libraries loaded in the process (NumPy's and, once imported,
    SciPy's may be separate copies), sorted. Empty with any other BLAS, or without /proc."""
    try:
        with open("/proc/self/maps") as maps:
            return sorted({line.split()[-1] for line in maps
                           if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return []


def find_openblas_thread_apis():
    """`(set_num_threads, get_num_threads)` of every OpenBLAS loaded in the process: NumPy's and,
    once imported, SciPy's may be separate copies. Empty with any other BLAS, or without /proc."""
    apis = []
    for path in openblas_paths():
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


def run_split(work, n, uses_blas=True, min_items=2, piece=None):
    """`work(lo, hi)` over `range(n)`: both halves concurrently when that is possible, else one
    call `work(0, n)`. Exceptions of either half propagate.

    With `piece` (items per call), the range is cut into an even number of near-equal pieces of
    at most `piece` items which the two threads take in order as they become free: a thread
    slowed down (by other processes on shared cores, or by a slower half) takes fewer pieces
    instead of keeping the other waiting. `work` is then called several times per thread and
    must key what it accumulates by `lo` (summing those partials in `lo` order keeps the result
    independent of which thread took which piece)."""
    if n < min_items or not can_split(uses_blas):
        work(0, n)
        return
    start = time.perf_counter()
    try:
        if piece is None or piece * 2 >= n:
            _split(work, n, uses_blas)
        else:
            _split_pieces(work, pieces(n, piece), uses_blas)
    finally:
        _state.split_seconds = getattr(_state, "split_seconds", 0.0) + \
            time.perf_counter() - start


def pieces(n, piece):
    """`range(n)` as an even number of near-equal `(lo, hi)` pieces of at most `piece` items
    (an even count, larger pieces first, so that two equally fast threads taking them in turn
    get equal shares)."""
    count = -(-n // max(int(piece), 1))
    return near_equal_bounds(n, min(n, count + count % 2))


def near_equal_bounds(n, count):
    """`range(n)` as `count` consecutive `(lo, hi)` bounds whose sizes differ by at most one,
    the larger ones first."""
    size, extra = divmod(n, max(count, 1))
    bounds, lo = [], 0
    for i in range(count):
        hi = lo + size + (i < extra)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def _blas_single(uses_blas):
    """Set BLAS to one thread for a split; returns the count to restore (None: nothing)."""
    if not uses_blas:
        return None
    previous = _BLAS[1]()
    if previous == 1:
        return None                         # already single-threaded (blas_single_threaded)
    _BLAS[0](1)
    return previous


def _split(work, n, uses_blas):
    """`work` on the first half of `range(n)` here and on the second half on the worker."""
    half = (n + 1) // 2
    _on_both_threads(lambda: work(0, half), lambda: _inside(work, half, n), uses_blas)


def _split_pieces(work, bounds, uses_blas):
    """Both threads call `work` on the next untaken piece of `bounds` until none is left."""
    taken = itertools.count()               # next() on it is atomic under the GIL

    def take_pieces():
        for index in iter(lambda: next(taken), None):
            if index >= len(bounds):
                return
            work(*bounds[index])
    _on_both_threads(take_pieces, lambda: _inside(lambda lo, hi: take_pieces(), 0, 0),
                     uses_blas)


def _on_both_threads(here, on_worker, uses_blas):
    """Run `here()` on this thread and `on_worker()` on the pool's thread at once (BLAS on one
    thread meanwhile when the work calls it), and wait for both."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minikeras-ops")
    previous = _blas_single(uses_blas)
    _state.inside = True
    try:
        future = _pool.submit(on_worker)
        try:
            here()
        finally:
            future.result()
    finally:
        _state.inside = False
        if previous is not None:
            _BLAS[0](previous)


def inside_split():
    """Whether this thread runs one part of a two-thread split (or whole batches beside
    another thread, `enter_batch_thread`): the other core is busy with the same kind of work."""
    return getattr(_state, "inside", False)


def _inside(work, lo, hi):
    _state.inside = True
    try:
        work(lo, hi)
    finally:
        _state.inside = False


def enter_batch_thread():
    """This thread now runs whole batches beside another thread doing the same (predict's two
    batches in flight, `models/predict_pipeline.py`): its kernels run unsplit, as inside a
    split half."""
    _state.inside = True
    _state.batch_thread = True


def leave_batch_thread():
    _state.inside = False
    _state.batch_thread = False


def in_batch_thread():
    """Whether this thread runs whole batches beside another (`enter_batch_thread`)."""
    return getattr(_state, "batch_thread", False)


class batches_in_flight:
    """What two threads running whole batches at once run in (entered on the main thread):
    BLAS on one thread for the duration, and this thread's step-policy measurements (the
    split share of its last step) kept for the steps after it, whose kernels split again."""

    def __enter__(self):
        self._previous = _blas_single(True)
        self._shares = (getattr(_state, "split_share", 0.0),
                        getattr(_state, "splittable_share", 0.0))
        return self

    def __exit__(self, *exc):
        _state.split_share, _state.splittable_share = self._shares
        if self._previous is not None:
            _BLAS[0](self._previous)
        return False


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
_SPLIT_ELEMENTS = SPLIT_ELEMENTS = 1 << 18


# ... and `split_rows`' passes (a residual add, a relu and their gradients) only from this
# many: a residual add + relu, two threads / one, FIFO, load 11, wall ms (CPU): 1 MB 0.202 /
# 0.138 (0.330 / 0.138), 2 MB 0.311 / 0.282, 3 MB 0.373 / 0.431, 4 MB 0.445 / 0.578 (0.788 /
# 0.577): below ~3 MB the hand-off and the worker's wake-up cost more than the second core
# gains (as for batch normalizations of two tiles, `batch_norm._THREADED_TILES`).
_SPLIT_ROWS_ELEMENTS = 3 << 18


def split_rows(work, array):
    """`work(rows)` over row blocks of `array` (slices of its first axis; `...` for a 0-d
    array), on two threads when the array is large enough (`_SPLIT_ROWS_ELEMENTS`). For
    elementwise passes that do not call BLAS."""
    if array.ndim == 0 or array.size < _SPLIT_ROWS_ELEMENTS:
        work(slice(None) if array.ndim else Ellipsis)
    else:
        run_split(lambda lo, hi: work(slice(lo, hi)), array.shape[0], uses_blas=False)


# The machine counts as oversubscribed above this 1-minute load per core.
_OVERSUBSCRIBED_LOAD_PER_CORE = 1.5
_CORES = os.cpu_count() or 1


def oversubscribed():
    """Whether more work is runnable than there are cores (the 1-minute load per core), or
    other processes keep half a core busy now (`contention.py`: enough to stall BLAS' threads,
    and seen within a quarter of a second)."""
    try:
        if os.getloadavg()[0] > _OVERSUBSCRIBED_LOAD_PER_CORE * _CORES:
            return True
    except OSError:
        pass
    return other_processes_busy()


# A step runs BLAS single-threaded when the previous step spent at least _SPLIT_SHARE of its
# time in the two-thread kernels, or at least _SPLITTABLE_SHARE in work that two Python threads
# share only then (large products, `split_flat` updates, the kernels), or when the machine is
# oversubscribed.
_SPLIT_SHARE = 0.25
_SPLITTABLE_SHARE = 0.6
_POLICY = os.environ.get("MINIKERAS_BLAS_POLICY", "auto")   # auto | single | threads
if _POLICY not in ("auto", "single", "threads"):
    warnings.warn(f"MINIKERAS_BLAS_POLICY={_POLICY!r} is not one of 'auto', 'single', "
                  "'threads'; using 'auto'.", stacklevel=2)
    _POLICY = "auto"


class blas_single_threaded:
    """What a training, test or predict step runs in (re-entrant): BLAS on one thread when the
    step's work is mostly the kernels that split the batch over two Python threads themselves,
    or when the machine is oversubscribed; BLAS' own threads otherwise.

    OpenBLAS' threads spin-wait after every call they share; spinning, they take the core the
    kernels' second thread needs, and descheduled on shared cores they make every small product
    wait. Measured (2 cores): lenet_bn predict 14-20k -> 21-30k samples/s and training 6.4k ->
    7.8-8.4k with BLAS single-threaded for the whole step; lenet_bn predict at a load of ~4
    2.0-2.5k with BLAS threads and 8.5-15k without. Models made of large products or recurrent
    loops (MLP, LSTM) lose 5-20% on one BLAS thread on a quiet machine, so the choice is made
    per step, from the share of the previous step's wall time that went to the splitting
    kernels (`run_split`, not the products `matmul` splits): at least `_SPLIT_SHARE`, one BLAS
    thread and `matmul` splits the large products itself. A step spent mostly in large products
    and `split_flat` updates (at least `_SPLITTABLE_SHARE`, the MLP) is contested: it times
    both choices (`_ContestedChoice`). `MINIKERAS_BLAS_POLICY=single` or `threads` fixes the
    choice."""

    def __init__(self, kind="step"):
        self._kind = kind               # steps of one kind (train, test, predict) share a trial

    def __enter__(self):
        depth = getattr(_state, "single_blas", 0)
        if depth == 0:
            tune_once()                     # steps reuse freed heap memory (allocator.py)
            self._previous = None
            self._contested = False
            if _BLAS is not None and _THREADS >= 2 and self._wants_single_blas():
                self._previous = _BLAS[1]()
                _BLAS[0](1)
            _state.single_blas_active = self._previous is not None
            _state.split_seconds = 0.0
            _state.splittable_seconds = 0.0
            self._start = time.perf_counter()
        _state.single_blas = depth + 1
        return self

    def __exit__(self, *exc):
        _state.single_blas -= 1
        if _state.single_blas == 0:
            if self._previous is not None:
                _BLAS[0](self._previous)
            _state.single_blas_active = False
            elapsed = time.perf_counter() - self._start
            _state.split_share = _state.split_seconds / elapsed if elapsed > 0 else 0.0
            shared = _state.split_seconds + _state.splittable_seconds
            _state.splittable_share = shared / elapsed if elapsed > 0 else 0.0
            if self._contested:
                _contested_choice(self._kind).record(self._previous is not None, self._start,
                                                     elapsed)
            if self._previous is None and _BLAS is not None and _THREADS >= 2:
                _state.threads_step_end = time.perf_counter()
        return False

    def _wants_single_blas(self):
        if _POLICY in ("single", "threads"):
            return _POLICY == "single"
        if _step_wants_single_blas():
            return True
        if _CONTESTED_TRIAL and getattr(_state, "splittable_share", 0.0) >= _SPLITTABLE_SHARE:
            self._contested = True
            return _contested_choice(self._kind).wants_single()
        return False


def _step_wants_single_blas():
    if _POLICY in ("single", "threads"):
        return _POLICY == "single"
    return getattr(_state, "split_share", 0.0) >= _SPLIT_SHARE or oversubscribed()


# Steps made mostly of large products and flat updates (and few splitting kernels) may be
# faster either way: on one BLAS thread the two Python threads split the updates too, with
# BLAS' threads the products start sooner. Such steps time both choices, _TRIAL_STEPS steps
# each, one BLAS thread first, _TRIAL_ROUNDS times; the lower median wins for the next
# _TRIAL_EVERY such steps, then both are timed again. A one-thread step is not counted within
# _SPIN_SECONDS of a step with BLAS threads (their threads still spin on the other core, ~0.1 s
# measured), nor the first step of a BLAS-threads turn (it wakes them).
_TRIAL_STEPS = 6
# Off: on an idle machine the trial left mlp training at 23.5-24.0k samples/s against 27.4-27.5k
# with BLAS' threads kept (bench.py, alternating runs, 03:38 UTC 2026-12-05), so contested
# steps keep BLAS' threads, as before the trial existed. Tests switch it on.
_CONTESTED_TRIAL = False
_TRIAL_ROUNDS = 2
_TRIAL_EVERY = 2000
_SPIN_SECONDS = 0.2


class _ContestedChoice:
    """The running trial, or the choice it made, for the contested steps of one thread."""

    def __init__(self):
        self.turn = 0                   # even: one BLAS thread; odd: BLAS threads
        self.steps_in_turn = 0
        self.times = {True: [], False: []}
        self.single = None
        self.steps_since_choice = 0

    def wants_single(self):
        if self.single is not None:
            if self.steps_since_choice < _TRIAL_EVERY:
                return self.single
            self.__init__()             # time both choices again
        return self.turn % 2 == 0

    def record(self, single, start, seconds):
        """Count a step that began at `start` (perf_counter) and took `seconds`."""
        if self.single is not None:
            self.steps_since_choice += 1
            return
        self.steps_in_turn += 1
        quiet = start - getattr(_state, "threads_step_end", -1e9) >= _SPIN_SECONDS if single \
            else self.steps_in_turn > 1
        if quiet:
            self.times[single].append(seconds)
        if len(self.times[single]) == _TRIAL_STEPS * (self.turn // 2 + 1):
            self.turn += 1
            self.steps_in_turn = 0
            if self.turn == 2 * _TRIAL_ROUNDS:
                medians = {key: sorted(times)[len(times) // 2]
                           for key, times in self.times.items()}
                self.single = medians[True] <= medians[False]


def _contested_choice(kind):
    choices = getattr(_state, "contested", None)
    if choices is None:
        choices = _state.contested = {}
    choice = choices.get(kind)
    if choice is None:
        choice = choices[kind] = _ContestedChoice()
    return choice


def _note_splittable(start):
    """Count the time since `start` as work a one-BLAS-thread step splits (not when inside a
    split half: that time is already counted as split time)."""
    if not getattr(_state, "inside", False):
        _state.splittable_seconds = getattr(_state, "splittable_seconds", 0.0) + \
            time.perf_counter() - start


# `MINIKERAS_SPLIT_UPDATES=always` splits flat updates in steps with BLAS' threads too: an
# experiment for an idle machine (the mlp's Adam, ~1 ms a step, runs on one core while BLAS'
# spinning thread holds the other), not measurable on a loaded one; `auto` is the default.
_SPLIT_UPDATES = os.environ.get("MINIKERAS_SPLIT_UPDATES", "auto")


def second_thread_free():
    """Whether elementwise work (no BLAS) between products may be split over the two threads:
    inside a step that runs BLAS single-threaded (or with `_SPLIT_UPDATES` "always"). Outside
    such a step OpenBLAS' threads may be spinning on the other core after a product, and a
    second Python thread would fight them (mlp training, BLAS threads, loaded machine: Adam
    split 6 % slower)."""
    return can_split(uses_blas=False) and \
        (_SPLIT_UPDATES == "always" or getattr(_state, "single_blas_active", False))


def split_flat(work, size, min_items=_SPLIT_ELEMENTS):
    """`work(lo, hi)` over `range(size)` for elementwise work that calls no BLAS (an
    optimizer update over a flattened variable): both halves concurrently when
    `second_thread_free()`, one call otherwise (see `blas_threads.split_flat` for steps that
    keep BLAS' threads)."""
    start = time.perf_counter()
    try:
        if size >= min_items and second_thread_free():
            _split(work, size, False)
        else:
            work(0, size)
    finally:
        _note_splittable(start)


# Products of at least this many multiply-adds are split over two threads by `matmul`.
_SPLIT_MACS = 1 << 22

# ... unless the halves are thin. A split by columns gives each thread `a` whole and every
# other run of `b`'s rows; with runs under 64 floats it lost to one thread, and so did a split
# by rows of a product with a narrow `b` (long inner dimensions, one-BLAS-thread step, FIFO,
# load 8, median ms split / one thread): (9, 100352) @ (100352, 32) 2.58 / 1.73, 16 rows 4.16 /
# 2.54, 24 rows 5.28 / 3.65, (9, 100352) @ (100352, 64) 6.23 / 4.24, (9, 25088) @ (25088, 32)
# 0.45 / 0.31, (32, 100352) @ (100352, 9) 2.84 / 2.42, (100, 25088) @ (25088, 10) 1.96 / 1.67;
# wider halves gained: 128 columns 4.45 / 8.21, (9, 4096) @ (4096, 1024) 1.48 / 2.37,
# (32, 100352) @ (100352, 32) by rows 2.70 / 3.69, (64, 784) @ (784, 512) 0.49 / 0.59.
_MIN_HALF_COLUMNS = 64
_MIN_ROW_SPLIT_COLUMNS = 16


def _split_pays(rows, columns):
    """Whether `matmul` splits a product of this output shape (by rows when it has at least
    as many rows as columns, else by columns) rather than run it on one thread."""
    if rows >= columns:
        return columns >= _MIN_ROW_SPLIT_COLUMNS
    return columns // 2 >= _MIN_HALF_COLUMNS


# Products with an inner dimension of at most _THIN_DEPTH and an output of no more rows than
# columns and at most _THIN_OUTPUT elements run on one BLAS thread (`_one_blas_thread`).
_THIN_DEPTH = 16
_FLOAT16 = np.dtype(np.float16)
_THIN_OUTPUT = 1 << 17


def matmul(a, b):
    """`a @ b` for 2-D arrays, split over two threads (by rows of `a`, or by columns of `b`
    when those are more) when large and not thin (`_split_pays`) inside an active
    `blas_single_threaded` block (else on this one BLAS thread); plain
    `a @ b` (BLAS' own threads) otherwise; thin products on one BLAS thread
    (`_one_blas_thread`). The time of large products counts towards the step's splittable
    share (see `blas_single_threaded`)."""
    if a.dtype == _FLOAT16 and b.dtype == _FLOAT16:
        # as TensorFlow's CPU kernel: float32 accumulation, one rounding (NumPy has no
        # float16 BLAS); see half_precision.py
        return matmul(a.astype(np.float32), b.astype(np.float32)).astype(_FLOAT16)
    rows, depth = a.shape
    columns = b.shape[1]
    if depth <= _THIN_DEPTH and rows <= columns and rows * columns <= _THIN_OUTPUT:
        return _one_blas_thread(a, b)
    if rows * depth * columns < _SPLIT_MACS:
        return a @ b
    start = time.perf_counter()
    try:
        if not getattr(_state, "single_blas_active", False):
            return a @ b
        # one BLAS thread here: the threaded product's bits (blas_blocking.py)
        out = np.empty((rows, columns), np.result_type(a, b))
        cuts = _threaded_cuts(depth, out.dtype)
        if not can_split() or not _split_pays(rows, columns):
            return matmul_into(a, b, out, cuts)
        if rows >= columns:
            _split(lambda lo, hi: matmul_into(a[lo:hi], b, out[lo:hi], cuts), rows, True)
        else:
            _split(lambda lo, hi: matmul_into(a, b[:, lo:hi], out[:, lo:hi], cuts), columns,
                   True)
        return out
    finally:
        _note_splittable(start)


def _threaded_cuts(depth, dtype):
    """Cuts of the inner dimension that make a one-BLAS-thread product give BLAS' threaded
    bits (`blas_blocking.threaded_cuts`; probed on first use, never inside a split, where the
    other thread may be inside BLAS)."""
    if _BLAS is None:
        return ()
    if inside_split():
        return blas_blocking.known_cuts(depth, dtype)
    return blas_blocking.threaded_cuts(depth, dtype, *_BLAS)


def _one_blas_thread(a, b):
    """`a @ b` on one BLAS thread. With a thin inner dimension (a classifier's input gradient,
    128x10 @ 10x512) OpenBLAS' second thread only writes half the output on the other core,
    which the next elementwise pass then reads back: where the host places the vCPUs far
    apart (`benchmarks/bench_cross_core.py`) that product took 112-118 us on two threads and
    67-70 us on one, and the mlp's step 0.980-0.991 of its time (per-step medians, 150-200
    alternating turns of 10 steps); near, 0.998-0.999. Product and one pass over its output,
    two threads / one (us), near and far: 128x512 with K = 10: 47 / 41, 159 / 74; K = 16:
    51 / 50, 165 / 83; K = 24: 57 / 60 (one thread loses near from there); 256x512, K = 10:
    82 / 70, 239 / 71; but 512x256 (more rows than columns), K = 10: 34 / 51, 59 / 55. Inner
    dimensions up to 512 give the same bits on one and two threads (OpenBLAS 0.3.31 blocks K
    alike)."""
    previous = _BLAS[1]() if _BLAS is not None else 1
    if previous <= 1:
        return a @ b
    _BLAS[0](1)
    try:
        return a @ b
    finally:
        _BLAS[0](previous)


def matmul_pair(first, second):
    """`(a @ b, c @ d)` for `first = (a, b)` and `second = (c, d)` (either may be None, giving
    None). Inside a one-BLAS-thread step, two large products of similar size run at once, each
    whole on one thread: one hand-off instead of two split products (a dense layer's input and
    kernel gradients are such a pair: both take rows x inputs x units multiply-adds)."""
    if first is None or second is None or first[0].dtype == _FLOAT16:
        return (None if first is None else matmul(*first),
                None if second is None else matmul(*second))
    sizes = [a.shape[0] * a.shape[1] * b.shape[1] for a, b in (first, second)]
    if min(sizes) < _SPLIT_MACS or max(sizes) > 2 * min(sizes) or not can_split() or \
            not getattr(_state, "single_blas_active", False):
        return matmul(*first), matmul(*second)
    start = time.perf_counter()
    results = [None, None]
    pairs = (first, second)
    cuts = [_threaded_cuts(a.shape[1], np.result_type(a, b)) for a, b in pairs]

    def work(lo, hi):
        for index in range(lo, hi):
            a, b = pairs[index]
            results[index] = matmul_into(a, b, np.empty((a.shape[0], b.shape[1]),
                                                        np.result_type(a, b)), cuts[index])
    try:
        _split(work, 2, True)
    finally:
        _note_splittable(start)
    return tuple(results)
