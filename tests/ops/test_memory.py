"""The glibc malloc tuning of ops/memory.py: applied at import where glibc is present, never over
the user's own settings or when turned off."""
import ctypes.util
import sys

import pytest

from minikeras.ops import memory


@pytest.mark.parametrize("name, value", [("MINIKERAS_KEEP_FREED_MEMORY", "0"),
                                         ("MALLOC_TRIM_THRESHOLD_", "131072"),
                                         ("MALLOC_MMAP_THRESHOLD_", "131072")])
def test_left_alone_when_turned_off_or_set_by_the_user(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert memory.keep_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
                    reason="glibc only")
def test_applied_with_glibc(monkeypatch):
    for name in ("MINIKERAS_KEEP_FREED_MEMORY", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    assert memory.keep_freed_memory() is True
