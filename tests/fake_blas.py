"""A stand-in for OpenBLAS' thread-count setter and getter, for tests of the BLAS thread
policy (`ops/parallel.py`)."""
from minikeras.ops import blas_threads, parallel


class FakeBlas:
    """Records the thread counts set."""

    def __init__(self, threads):
        self.threads, self.history = threads, []

    def set(self, n):
        self.threads = n
        self.history.append(n)

    def get(self):
        return self.threads


def install_fake_blas(monkeypatch, oversubscribed):
    """A two-thread FakeBlas in place of OpenBLAS for `parallel`, with the 'auto' policy and
    the machine reported as `oversubscribed` or not. Flat updates stay off the real
    OpenBLAS' worker (`blas_threads.split_on_blas_worker`), whose thread count the fake does
    not stand for."""
    blas = FakeBlas(2)
    monkeypatch.setattr(blas_threads, "_USE_WORKER", False)
    monkeypatch.setattr(parallel, "_BLAS", (blas.set, blas.get))
    monkeypatch.setattr(parallel, "_THREADS", 2)
    monkeypatch.setattr(parallel, "_POLICY", "auto")
    monkeypatch.setattr(parallel, "oversubscribed", lambda: oversubscribed)
    return blas
