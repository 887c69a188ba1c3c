"""Keep freed memory in the C heap between training and predict steps (glibc only).

A step allocates and frees the same large arrays every time (layer outputs, gradients, kernel
buffers). glibc's malloc serves blocks above its mmap threshold (128 KB, raised on the fly up to
the largest block freed) with fresh `mmap` pages and returns heap tops above its trim threshold
to the system, so every step pays a page fault per 4 KB it writes first, and page faults are
expensive on virtual machines: lenet_bn training spent a quarter of its CPU time faulting
(1.70 -> 1.22 CPU seconds per epoch, one thread, with the two settings below). `tune_once()`
raises the mmap threshold to glibc's maximum (32 MB: larger blocks still get their own pages and
go back to the system when freed) and the trim threshold to `_TRIM_BYTES`, on the first step a
process runs. The cost: up to `_TRIM_BYTES` of freed memory stays with the process (peak memory
is unchanged). `MINIKERAS_KEEP_HEAP=0` leaves malloc alone; a C library without `mallopt`
(not glibc) is left alone too.

Threads other than the main one (the kernels' split worker, predict's batch thread) allocate
from arenas of their own, made of 64 MB heaps, and glibc unmaps such a heap once all of its
blocks are free whatever the trim threshold, unless the heap before it lacks `M_TOP_PAD`
bytes of room: resnet_small predict's batch thread faulted in 0.5-1.3k pages a batch afresh
(8-12 ms of system time a batch, the kernel clearing huge pages). `tune_once()` sets the top
pad to `_TOP_PAD_BYTES` (one heap), so a thread keeps its heaps as the main heap keeps its
top. The main heap then grows by that much more address space at a time (untouched pages are
not memory).
"""
import ctypes
import os

_M_TRIM_THRESHOLD = -1          # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_TOP_PAD = -2
_MMAP_BYTES = 32 << 20          # glibc's upper limit for the mmap threshold on 64-bit systems
_TRIM_BYTES = 1 << 30
_TOP_PAD_BYTES = 64 << 20       # glibc's heap size for arenas of other threads (64-bit)

_tuned = False


def tune_once():
    """Apply the settings once per process (a no-op afterwards, or where unsupported)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    if os.environ.get("MINIKERAS_KEEP_HEAP", "1") == "0":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES)
    mallopt(_M_TOP_PAD, _TOP_PAD_BYTES)


__all__ = ["tune_once"]
