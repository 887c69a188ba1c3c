"""Embedding gradients as tf.keras keeps them (tf.IndexedSlices): the rows of each lookup,
duplicate ids not yet summed. Gradient clipping sees those rows (clipnorm, global_clipnorm,
clipvalue act on each lookup separately) and the legacy optimizers' sparse kernels update
only the rows looked up.

We hand out the summed dense gradient and remember, beside it, the rows it was summed from:
id(dense gradient) -> (weak reference to it, flat ids, rows). Two such gradients of the same
table added on the tape (a shared Embedding) give their concatenated rows, as tf.keras
concatenates IndexedSlices; any other array (a dense contribution added, a cast) has no
entry and is a plain dense gradient, as tf.keras densifies IndexedSlices + Tensor."""
import weakref

import numpy as np

_LOOKUP_ROWS = {}


def _forget(key, reference):
    entry = _LOOKUP_ROWS.get(key)
    if entry is not None and entry[0] is reference:
        del _LOOKUP_ROWS[key]


def remember_lookup_rows(dense, flat_ids, rows):
    """Record that the array `dense` is the sum of `rows` scattered to `flat_ids`."""
    key = id(dense)
    reference = weakref.ref(dense, lambda ref, key=key: _forget(key, ref))
    _LOOKUP_ROWS[key] = (reference, flat_ids, rows)


def lookup_rows(gradient):
    """`(flat ids, rows)` when the array `gradient` is, unchanged, an embedding table's
    gradient from lookups, else None."""
    entry = _LOOKUP_ROWS.get(id(gradient))
    if entry is None or entry[0]() is not gradient:
        return None
    return entry[1], entry[2]


def _plain_sum(a, b):
    return a + b


_dense_sum = _plain_sum


def set_dense_sum(function):
    """Use `function(a, b)` (the same values as `a + b`) for the tape's gradient sums: ops/
    installs one that adds large arrays on two threads (core cannot import ops)."""
    global _dense_sum
    _dense_sum = function


def add_gradients(a, b):
    """`a + b`, keeping the looked-up rows when both are lookup gradients."""
    total = _dense_sum(a, b)
    if _LOOKUP_ROWS:
        rows_a, rows_b = lookup_rows(a), lookup_rows(b)
        if rows_a is not None and rows_b is not None and isinstance(total, np.ndarray):
            remember_lookup_rows(total, np.concatenate([rows_a[0], rows_b[0]]),
                                 np.concatenate([rows_a[1], rows_b[1]]))
    return total
