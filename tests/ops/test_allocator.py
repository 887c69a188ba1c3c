"""allocator.tune_once: glibc's mallopt called once per process with the two thresholds and the
top pad, never when MINIKERAS_KEEP_HEAP=0, and a harmless no-op where the C library has no
mallopt; with it, a thread other than the main one keeps the heaps of its arena that it freed
(glibc unmaps them otherwise, and the next batch faults their pages in again)."""
import os
import platform
import resource
import subprocess
import sys
import textwrap

import pytest

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
                          (allocator._M_TRIM_THRESHOLD, allocator._TRIM_BYTES),
                          (allocator._M_TOP_PAD, allocator._TOP_PAD_BYTES)]


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


THREAD_HEAPS_SCRIPT = textwrap.dedent("""
    import resource, sys, threading
    import numpy as np
    from minikeras.ops import allocator

    allocator.tune_once()
    faults = []

    def rounds():        # 80 MB of blocks: the thread's arena needs a second 64 MB heap
        for _ in range(3):
            before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            blocks = [np.ones(5 << 20, np.float32) for _ in range(4)]
            del blocks
            faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
    thread = threading.Thread(target=rounds)
    thread.start()
    thread.join()
    print(*faults)
""")


def _thread_faults(keep_heap):
    env = dict(os.environ, MINIKERAS_KEEP_HEAP=keep_heap,
               PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(),
                                                        os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, "-c", THREAD_HEAPS_SCRIPT], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [int(count) for count in result.stdout.split()]


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or
                    not hasattr(resource, "RUSAGE_THREAD"), reason="glibc's thread arenas")
def test_a_threads_freed_heaps_are_kept():
    """A thread's 80 MB of blocks, freed and allocated again: the first round faults its pages
    in, the next ones reuse them (glibc alone unmaps the freed second heap every round)."""
    first, *again = _thread_faults("1")
    assert first > 100 and max(again) < 20
    first, *again = _thread_faults("0")
    assert min(again) > 100             # the test can fail: glibc's default
