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
"""
import ctypes
import os

_M_TRIM_THRESHOLD = -1          # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_MMAP_BYTES = 32 << 20          # glibc's upper limit for the mmap threshold on 64-bit systems
_TRIM_BYTES = 1 << 30

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


__all__ = ["tune_once"]
