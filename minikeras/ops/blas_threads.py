"""OpenBLAS' threads seen from Python: fewer of them for loops of small products on a loaded
machine, and its idle worker lent to elementwise work between products.

A recurrent layer makes one small GEMM per timestep (e.g. 32x128 by 128x512). OpenBLAS splits
each over its worker threads, which spin-wait between calls; when more processes are runnable
than there are cores, those threads are descheduled and every small GEMM waits for them:
measured 5-10x slower than one thread on a loaded 2-core machine. On a quiet machine the
threads help, so the limit applies only while the 1-minute load exceeds 1.5x the core count.

OpenBLAS is found among the libraries loaded in the process (NumPy's wheel ships it); with
any other BLAS, or no /proc, this is a no-op.
"""
import ctypes
import gc
import os
import threading
import time

from . import parallel

_APIS = parallel.find_openblas_thread_apis()


def _oversubscribed():
    return parallel.oversubscribed()


class one_blas_thread:
    """Context: one BLAS thread inside, whatever the load; as before after. For LAPACK calls
    on small matrices (the Orthogonal initializer's QR), whose many small blocked products
    gain nothing from a second thread and wait on descheduled spinning workers on a loaded
    machine (QR of 2048 x 512: 0.42 s on one thread, 11.6 s on two at load 9; same bits)."""

    def _wanted(self):
        return True

    def __enter__(self):
        self._previous = []
        if _APIS and self._wanted():
            for setter, getter in _APIS:
                threads = getter()
                if threads > 1:
                    setter(1)
                    self._previous.append((setter, threads))
        return self

    def __exit__(self, *exc):
        for setter, threads in self._previous:
            setter(threads)
        return False


class small_gemm_threads(one_blas_thread):
    """Context: one BLAS thread inside when the machine is oversubscribed, as before after."""

    def _wanted(self):
        return _oversubscribed()


# ---------------------------------------------------------------------------------------
# Elementwise halves on OpenBLAS' worker thread
# ---------------------------------------------------------------------------------------
class BlasWorkerHalves:
    """Runs `work(lo, hi)` on two parts of a range, the second on OpenBLAS' own worker thread,
    through `gotoblas_pthread` (OpenBLAS' pthread-compatible entry: each job is a C function
    called with a pointer, job 0 on the calling thread, the others queued to its workers).

    Right after a product that used BLAS' threads, that worker spins waiting for the next job,
    so it takes ours at once: no futex wake-up, and no second Python thread queued behind the
    spinning worker on the other core (which made splitting the mlp's Adam over two Python
    threads slower than one thread while BLAS' threads were on).

    The jobs are Python (ctypes callbacks: the worker takes the GIL for the Python between
    NumPy calls, which release it inside their loops; its Python thread state is kept from
    call to call, see `_keep_thread_state`). `work` must not call BLAS: a threaded
    product queued from the worker's own job would wait forever for a free worker. The
    garbage collector is off meanwhile, so no finalizer runs arbitrary code there.
    """

    def __init__(self, library):
        self._run = library.gotoblas_pthread
        self._run.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self._run.restype = ctypes.c_int
        self._pool_threads = ctypes.c_int.in_dll(library, "blas_num_threads")
        self._threads = ctypes.c_int.in_dll(library, "blas_cpu_number")
        self._indices = (ctypes.c_long * 2)(0, 1)
        self._callback = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(self._job)
        self._kept_states = set()       # worker threads whose Python thread state is kept
        self._share = 0.5               # of the items run here (the worker starts later)
        self._marks = [[0.0, 0.0], [0.0, 0.0]]      # each job's start and end (perf_counter)
        self._busy = threading.Lock()   # one run at a time (another Python thread runs inline)
        self._bounds = None
        self._work = None
        self._errors = []

    def ready(self):
        """Whether BLAS runs on two or more threads with a worker started to take a job."""
        return self._pool_threads.value >= 2 and self._threads.value >= 2

    def run(self, work, size):
        """`work(0, k)` here and `work(k, size)` on the worker (k balances the two, see
        `_balance`); exceptions propagate. Returns False, having run nothing, while another
        Python thread's run holds the worker."""
        if not self._busy.acquire(blocking=False):
            return False
        try:
            self._run_halves(work, size)
        finally:
            self._busy.release()
        return True

    def _keep_thread_state(self):
        """Keep the worker's Python thread state between calls. A ctypes callback on a thread
        Python did not start gets a thread state made for the call and dropped after it
        (its part started ~114 instead of ~75 us after the call); one more `PyGILState_Ensure`,
        never released, keeps it (and the thread's `threading.local` data, such as its
        `local_buffer`s) for the next calls, as the C API documents for foreign threads that
        call into Python repeatedly. It does not hold the GIL between calls."""
        thread = threading.get_native_id()
        if thread not in self._kept_states:
            ensure = getattr(getattr(ctypes, "pythonapi", None), "PyGILState_Ensure", None)
            if ensure is not None:          # CPython
                ensure()
            self._kept_states.add(thread)

    def _run_halves(self, work, size):
        share = self._share if _ADAPTIVE_SHARE else 0.5
        here = min(max(round(size * share), 1), size - 1) if size > 1 else size
        self._bounds, self._work = ((0, here), (here, size)), work
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._run(2, self._callback, ctypes.addressof(self._indices),
                      ctypes.sizeof(ctypes.c_long))
        finally:
            if collecting:
                gc.enable()
            self._bounds = self._work = None
        if self._errors:
            error, self._errors[:] = self._errors[0], []
            raise error
        if _ADAPTIVE_SHARE and 0 < here < size:
            self._balance(here, size)

    def _balance(self, here, size):
        """Move the share run here towards the one that would have ended both jobs at once,
        from this run's starts and per-item times: the worker starts ~0.1 ms after this thread
        (it takes the GIL from it). Elementwise work gives the same numbers for any split."""
        (here_start, here_end), (there_start, there_end) = self._marks
        here_rate = (here_end - here_start) / here
        there_rate = (there_end - there_start) / (size - here)
        if here_rate <= 0 or there_rate <= 0:
            return
        balanced = (there_start - here_start + there_rate * size) / \
            ((here_rate + there_rate) * size)
        self._share = min(max(0.75 * self._share + 0.25 * balanced, 0.3), 0.7)

    def _job(self, address):
        index = ctypes.c_long.from_address(address).value
        if index:
            self._keep_thread_state()
        state = parallel._state
        state.inside = True             # no nested splits from either half
        marks = self._marks[index]
        marks[0] = time.perf_counter()
        try:
            self._work(*self._bounds[index])
        except BaseException as error:  # noqa: B036 - handed to the calling thread
            self._errors.append(error)
        finally:
            marks[1] = time.perf_counter()
            state.inside = False


def _find_worker_halves():
    """A `BlasWorkerHalves` for NumPy's OpenBLAS (the first loaded), None without one."""
    path = parallel.openblas_paths()[:1]
    try:
        library = ctypes.CDLL(path[0]) if path else None
        return BlasWorkerHalves(library) if library is not None else None
    except (OSError, AttributeError, ValueError):
        return None


# MINIKERAS_BLAS_WORKER=0 keeps such work off OpenBLAS' worker (a way out should a BLAS build
# behave otherwise); benchmarks flip `_USE_WORKER` for A/B runs.
_USE_WORKER = os.environ.get("MINIKERAS_BLAS_WORKER", "1") != "0"
_WORKER_HALVES = _find_worker_halves() if _USE_WORKER else None
_ADAPTIVE_SHARE = True      # A/B switch (benchmarks): False splits in halves


def split_flat(work, size, min_items=parallel.SPLIT_ELEMENTS):
    """`parallel.split_flat` (elementwise work that calls no BLAS, e.g. an optimizer update
    over flattened variables), with a part on OpenBLAS' worker in a step that keeps
    BLAS' threads (`split_on_blas_worker`)."""
    if size >= min_items and not parallel.second_thread_free():
        start = time.perf_counter()
        try:
            if split_on_blas_worker(work, size):
                return
        finally:
            parallel._note_splittable(start)
    parallel.split_flat(work, size, min_items)


def split_on_blas_worker(work, size):
    """Run `work(lo, hi)` over `range(size)` in two parts, the second on OpenBLAS' worker,
    when this is a step that keeps BLAS' threads on (`parallel.blas_single_threaded` chose
    them: not on a loaded machine, where that worker is descheduled) and the BLAS in use is
    NumPy's OpenBLAS with two or more threads. Returns whether it did; `work` must not call
    BLAS."""
    state = parallel._state
    if not _USE_WORKER or _WORKER_HALVES is None or parallel._THREADS < 2 or \
            getattr(state, "inside", False) or not getattr(state, "single_blas", 0) or \
            getattr(state, "single_blas_active", False) or not _WORKER_HALVES.ready():
        return False
    return _WORKER_HALVES.run(work, size)
