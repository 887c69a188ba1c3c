"""allocator.tune_once: glibc's mallopt called once per process with the two thresholds, never
when MINIKERAS_KEEP_HEAP=0, and a harmless no-op where the C library has no mallopt."""
from minikeras.ops import allocator


class FakeLibc:
    def __init__(self):
        self.calls = []

        def mallopt(param, value):
            self.calls.append((param, value))
            return 1
        self.mallopt = mallopt


def test_thresholds_are_set_once(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(allocator, "_tuned", False)
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: libc)
    monkeypatch.delenv("MINIKERAS_KEEP_HEAP", raising=False)
    allocator.tune_once()
    allocator.tune_once()
    assert libc.calls == [(allocator._M_MMAP_THRESHOLD, allocator._MMAP_BYTES),
                          (allocator._M_TRIM_THRESHOLD, allocator._TRIM_BYTES)]


def test_opt_out_and_missing_mallopt_leave_malloc_alone(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(allocator, "_tuned", False)
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: libc)
    monkeypatch.setenv("MINIKERAS_KEEP_HEAP", "0")
    allocator.tune_once()
    assert libc.calls == []

    def no_library(name):
        raise OSError("no C library")
    monkeypatch.setattr(allocator, "_tuned", False)
    monkeypatch.delenv("MINIKERAS_KEEP_HEAP")
    monkeypatch.setattr(allocator.ctypes, "CDLL", no_library)
    allocator.tune_once()                       # no error
    assert allocator._tuned
