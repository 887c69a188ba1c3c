"""Dropout's raw words for the next step, drawn ahead on OpenBLAS' worker during the update.

A training step's dropout layers draw their 32-bit words (`nn.keep_mask`) on the main thread
while the other core idles (the mlp: two 128x512 masks, ~75 us each of PCG64's `random_raw`
near, ~100 far). In a step that keeps BLAS' threads the optimizer's flat update runs in two
parts, the second on OpenBLAS' worker (`blas_threads.BlasWorkerHalves`), which balances the two
parts; the words the next step will draw are drawn there first (`draw_noted`), into a copy of
each generator set to its current state, so that the update's split absorbs them.

`take` hands them out only when the generator is exactly in the state they were drawn from
(its whole `state`, compared under its lock) and the count is the same, and then sets the
generator to the state the copy reached: the same words and the same generator state as
drawing them at the call, whatever happened in between (another draw from the generator, a
re-seeding, a different batch size: the words are dropped and drawn at the call as before).
"""
import collections
import threading

import numpy as np

# Generators whose state can be copied into another instance of their type and whose raw
# draws are the 64-bit words `keep_mask` reads.
_KINDS = (np.random.PCG64, np.random.PCG64DXSM, np.random.SFC64, np.random.Philox)
# Fewer words are not worth a copy of the state (a few microseconds).
MIN_WORDS = 4096
# Notes kept while no update draws them (one-BLAS-thread steps): the older half is dropped.
_MAX_NOTED = 64

_lock = threading.Lock()                # one `draw_noted` at a time
_noted = []                             # [(bit generator, count)] since the last draw, in order
_ready = {}                             # id(bit generator) -> (it, deque of drawn words)
_copies = {}                            # bit generator type -> an instance set to each state
ENABLED = True                          # benchmarks' A/B switch


def take(bit_generator, count):
    """`bit_generator.random_raw(count)` drawn ahead, with the generator moved on as that call
    would; None (nothing changed) when none were drawn from its present state. Notes the draw
    for the next `draw_noted` either way."""
    if not ENABLED or count < MIN_WORDS or not isinstance(bit_generator, _KINDS):
        return None
    if len(_noted) >= _MAX_NOTED:
        del _noted[:_MAX_NOTED // 2]
    _noted.append((bit_generator, count))
    entry = _ready.get(id(bit_generator))
    if entry is None or entry[0] is not bit_generator:
        return None
    queue = entry[1]
    words = None
    if queue:
        before, drawn, after = queue.popleft()
        if drawn.size == count:
            with bit_generator.lock:
                if bit_generator.state == before:
                    bit_generator.state = after
                    words = drawn
    if words is None:
        _ready.pop(id(bit_generator), None)
    return words


def draw_noted():
    """Draw the words noted since the last call, per generator in the order they were taken,
    from copies of the generators' present states (the other thread's part of a split update:
    nothing draws from them meanwhile, and `take` checks the state anyway)."""
    global _noted, _ready
    if not _lock.acquire(blocking=False):
        return
    try:
        noted, _noted = _noted, []
        ready = {}
        for bit_generator, count in noted:
            entry = ready.get(id(bit_generator))
            if entry is None:
                with bit_generator.lock:
                    state = bit_generator.state
                entry = ready[id(bit_generator)] = (bit_generator, collections.deque(), [state])
            copy = _copy_of(bit_generator)
            before = entry[2][0]
            copy.state = before
            words = copy.random_raw(count)
            entry[2][0] = copy.state
            entry[1].append((before, words, entry[2][0]))
        _ready = {key: (generator, queue) for key, (generator, queue, _) in ready.items()}
    finally:
        _lock.release()


def forget():
    """Drop what was drawn ahead and noted (tests)."""
    global _noted, _ready
    _noted, _ready = [], {}


def _copy_of(bit_generator):
    kind = type(bit_generator)
    copy = _copies.get(kind)
    if copy is None:
        copy = _copies[kind] = kind(0)
    return copy
