"""ops/own_blocks.held_result: the previous result for a key is freed before the next
allocation (so the heap can hand its block back), held per thread, for a bounded set of keys;
dropout's decisions do not change (tests/ops/test_nn_ops.py pins them)."""
import threading
import weakref

import numpy as np

from minikeras.ops import nn, own_blocks


def test_the_previous_result_is_freed_before_the_next_allocation():
    key = ("test", "freed")
    first = own_blocks.held_result(key, lambda: np.arange(1000.0))
    alive = weakref.ref(first)
    del first
    assert alive() is not None                      # held between calls
    seen = []

    def allocate():
        seen.append(alive())
        return np.zeros(1000)
    second = own_blocks.held_result(key, allocate)
    assert seen == [None] and alive() is None
    np.testing.assert_array_equal(second, np.zeros(1000))


def test_a_result_still_in_use_is_not_overwritten():
    key = ("test", "in use")
    first = own_blocks.held_result(key, lambda: np.full(10, 7.0))
    own_blocks.held_result(key, lambda: np.zeros(10))
    np.testing.assert_array_equal(first, np.full(10, 7.0))


def test_results_are_held_per_thread_for_a_bounded_set_of_keys():
    key = ("test", "thread")
    mine = own_blocks.held_result(key, lambda: np.ones(5))
    alive = weakref.ref(mine)
    del mine
    thread = threading.Thread(target=lambda: own_blocks.held_result(key, lambda: np.zeros(5)))
    thread.start()
    thread.join()
    assert alive() is not None                      # another thread's call kept it
    for index in range(own_blocks._MAX_KEYS):
        own_blocks.held_result(("test", "many", index), lambda: np.zeros(3))
    assert len(own_blocks._held.blocks) <= own_blocks._MAX_KEYS
    assert alive() is None                          # the oldest key was dropped


def test_dropout_words_are_held_and_the_decisions_unchanged():
    rng, same = np.random.default_rng(11), np.random.default_rng(11)
    for _ in range(3):
        got = nn.keep_mask(rng, (64, 33), 0.25)
        np.testing.assert_array_equal(got, same.random((64, 33), dtype=np.float32) >= 0.25)
    assert ("dropout_words", (64 * 33 + 1) // 2) in own_blocks._held.blocks


def test_large_results_are_not_held(monkeypatch):
    monkeypatch.setattr(own_blocks, "_MAX_BYTES", 800)
    large = own_blocks.held_result(("test", "large"), lambda: np.zeros(101))
    small = own_blocks.held_result(("test", "small"), lambda: np.zeros(100))
    assert ("test", "large") not in own_blocks._held.blocks
    assert own_blocks._held.blocks[("test", "small")] is small and large.size == 101
