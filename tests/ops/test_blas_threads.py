"""small_gemm_threads: one BLAS thread inside while the machine is oversubscribed, the
previous count restored after; nothing changes on a quiet machine."""
import pytest

from minikeras.ops import blas_threads

pytestmark = pytest.mark.skipif(not blas_threads._APIS, reason="no OpenBLAS in this process")


def counts():
    return [getter() for _, getter in blas_threads._APIS]


def test_one_thread_inside_when_oversubscribed(monkeypatch):
    setter, getter = blas_threads._APIS[0]
    before = getter()
    setter(2)
    try:
        monkeypatch.setattr(blas_threads, "_oversubscribed", lambda: True)
        with blas_threads.small_gemm_threads():
            assert counts()[0] == 1
        assert getter() == 2
        monkeypatch.setattr(blas_threads, "_oversubscribed", lambda: False)
        with blas_threads.small_gemm_threads():
            assert getter() == 2
        with pytest.raises(RuntimeError):
            monkeypatch.setattr(blas_threads, "_oversubscribed", lambda: True)
            with blas_threads.small_gemm_threads():
                raise RuntimeError("inside")
        assert getter() == 2        # restored after an error too
    finally:
        setter(before)
