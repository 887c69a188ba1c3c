"""Keep freed array memory in the process instead of handing it back to the OS.

A training step allocates and frees the same large arrays every time (activations, their
gradients, im2col buffers). glibc's malloc returns such blocks to the OS: big ones are separate
`mmap`s, and the heap's free top is trimmed. Every step then faults the pages in again, and the
kernel zeroes each one; two threads faulting at once also queue on the process' memory-map
lock. Measured on lenet_bn training (this 2-core VM): ~2,800 page faults per step, a fifth of
the CPU time in the kernel. With the settings below the faults drop to about one per step.

TensorFlow's allocator likewise keeps what it has reserved. Peak memory does not grow (a block
is reused, not duplicated); memory stays reserved after a large model is deleted.

`MINIKERAS_KEEP_FREED_MEMORY=0` leaves malloc as it is. Only glibc is tuned; elsewhere this is
a no-op.
"""
import ctypes
import ctypes.util
import os

# mallopt parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

_MMAP_THRESHOLD = 32 << 20      # glibc's largest allowed value: blocks below are heap-allocated
_TRIM_THRESHOLD = 1 << 30       # free heap top kept up to this size
_TOP_PAD = 64 << 20             # heap grows by at least this much at a time


def keep_freed_memory():
    """Tune glibc's malloc once (see the module docstring); returns whether it was tuned."""
    if os.environ.get("MINIKERAS_KEEP_FREED_MEMORY", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        ctypes.CDLL(None).gnu_get_libc_version     # glibc only
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    results = [mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD),
               mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD),
               mallopt(_M_TOP_PAD, _TOP_PAD)]
    return all(result == 1 for result in results)
