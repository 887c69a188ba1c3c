"""Run a loop of small matrix products on one BLAS thread when the machine is oversubscribed.

A recurrent layer makes one small GEMM per timestep (e.g. 32x128 by 128x512). OpenBLAS splits
each over its worker threads, which spin-wait between calls; when more processes are runnable
than there are cores, those threads are descheduled and every small GEMM waits for them:
measured 5-10x slower than one thread on a loaded 2-core machine. On a quiet machine the
threads help, so the limit applies only while the 1-minute load exceeds 1.5x the core count.

OpenBLAS is found among the libraries loaded in the process (NumPy's wheel ships it); with
any other BLAS, or no /proc, this is a no-op.
"""
from . import parallel

_APIS = parallel.find_openblas_thread_apis()


def _oversubscribed():
    return parallel.oversubscribed()


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
