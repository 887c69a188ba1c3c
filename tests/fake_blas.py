"""A stand-in for OpenBLAS' thread-count setter and getter, for tests of the BLAS thread
policy (`ops/parallel.py`)."""


class FakeBlas:
    """Records the thread counts set."""

    def __init__(self, threads):
        self.threads, self.history = threads, []

    def set(self, n):
        self.threads = n
        self.history.append(n)

    def get(self):
        return self.threads
