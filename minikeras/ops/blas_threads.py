"""Run a loop of small matrix products on one BLAS thread when the machine is oversubscribed.

A recurrent layer makes one small GEMM per timestep (e.g. 32x128 by 128x512). OpenBLAS splits
each over its worker threads, which spin-wait between calls; when more processes are runnable
than there are cores, those threads are descheduled and every small GEMM waits for them:
measured 5-10x slower than one thread on a loaded 2-core machine. On a quiet machine the
threads help, so the limit applies only while the 1-minute load exceeds 1.5x the core count.

OpenBLAS is found among the libraries loaded in the process (NumPy's wheel ships it); with
any other BLAS, or no /proc, this is a no-op.
"""
import ctypes
import os

_OVERSUBSCRIBED_LOAD_PER_CORE = 1.5


def _find_openblas_thread_apis():
    """(set_num_threads, get_num_threads) of every OpenBLAS loaded in the process (NumPy's and,
    once imported, SciPy's may be separate copies)."""
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
        for name in _symbol_names():
            setter = getattr(library, f"{name[0]}_set_num_threads{name[1]}", None)
            getter = getattr(library, f"{name[0]}_get_num_threads{name[1]}", None)
            if setter is not None and getter is not None:
                getter.restype = ctypes.c_int
                apis.append((setter, getter))
                break
    return apis


def _symbol_names():
    return [(prefix, suffix) for prefix in ("scipy_openblas", "openblas")
            for suffix in ("64_", "_64_", "")]


_APIS = _find_openblas_thread_apis()
_CORES = os.cpu_count() or 1     # read once: os.cpu_count() costs ~0.3 ms a call here


def _oversubscribed():
    try:
        return os.getloadavg()[0] > _OVERSUBSCRIBED_LOAD_PER_CORE * _CORES
    except OSError:
        return False


class small_gemm_threads:
    """Context: one BLAS thread inside when the machine is oversubscribed, as before after."""

    def __enter__(self):
        self._previous = []
        if _APIS and _oversubscribed():
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
