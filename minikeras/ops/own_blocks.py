"""Arrays that a library function allocates itself, placed in a heap block this thread wrote
last.

A fresh array comes from the heap's free blocks, often one just freed after OpenBLAS' worker
wrote half of it (a product's output of the same size). Where the host places this VM's two
vCPUs far apart (different L3 domains, `benchmarks/bench_cross_core.py`), writing such a block
costs ~3x a block this core wrote: `bit_generator.random_raw(32768)` right after a two-thread
product 142-183 us against 71 us idle. NumPy's bit generators take no `out=` array, so
`held_result` keeps the previous result's block for this thread and frees it just before the
next allocation of the same size: glibc hands the freed block back (an exact fit; checked: one
address over 600 calls), and nothing else can take it meanwhile. The same numbers either way;
only where they are written changes.
"""
import threading

# Blocks held per thread: one per key, for at most this many keys (the oldest dropped), and
# only results of at most _MAX_BYTES (larger ones do not stay in a core's caches anyway).
_MAX_KEYS = 8
_MAX_BYTES = 1 << 21


class _Held(threading.local):
    def __init__(self):
        self.blocks = {}


_held = _Held()


def held_result(key, allocate):
    """`allocate()` (a function returning a fresh array that the caller does not keep past its
    own use), run right after this thread's previous result for `key` was freed. The result is
    held until the next call with `key` (if at most `_MAX_BYTES`): callers must not hand it,
    or views of it, out."""
    blocks = _held.blocks
    blocks.pop(key, None)               # freed now, unless a view of it is still alive
    result = allocate()
    if result.nbytes <= _MAX_BYTES:
        if len(blocks) >= _MAX_KEYS:
            blocks.pop(next(iter(blocks)))
        blocks[key] = result
    return result
