"""allocator.tune_once: glibc's mallopt called once per process with the two thresholds and the
one-arena cap, never when MINIKERAS_KEEP_HEAP=0, and a harmless no-op where the C library has
no mallopt; the split worker and predict's batch thread, started after it, allocate from the
main heap (glibc's malloc_stats lists one arena)."""
import os
import platform
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
                          (allocator._M_ARENA_MAX, 1)]


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


ARENAS_SCRIPT = textwrap.dedent("""
    import ctypes, sys
    import numpy as np
    from minikeras.ops import parallel
    from minikeras.models import predict_pipeline

    def allocate(*_):
        np.ones(1 << 20, np.float32).sum()

    if sys.argv[1] == "split":          # the kernels' split worker
        parallel.run_split(allocate, 2, uses_blas=False)
    else:                               # predict's batch thread (two batches in flight)
        import minikeras as keras
        model = keras.Sequential([keras.Input((1024,)), keras.layers.Dense(1024)])
        assert predict_pipeline.in_flight_model(model, 32)
        model.predict(np.ones((128, 1024), np.float32), batch_size=32, verbose=0)
        assert predict_pipeline._pool is not None
    sys.stdout.flush()
    ctypes.CDLL(None).malloc_stats()    # per arena, on stderr
""")


def _arenas_after(kind, keep_heap):
    env = dict(os.environ, MINIKERAS_KEEP_HEAP=keep_heap, MINIKERAS_NUM_THREADS="2",
               PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(),
                                                        os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, "-c", ARENAS_SCRIPT, kind], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return sum(line.startswith("Arena ") for line in result.stderr.splitlines())


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="glibc's malloc arenas")
@pytest.mark.parametrize("kind", ["split", "batch thread"])
def test_threads_started_after_tuning_share_the_main_arena(kind):
    from minikeras.ops import parallel
    if not parallel.can_split(uses_blas=True):
        pytest.skip("one usable core (or no settable BLAS): no second thread is started")
    assert _arenas_after(kind, "1") == 1
    assert _arenas_after(kind, "0") >= 2        # the test can fail: glibc's default
