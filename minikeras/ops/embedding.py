"""Embedding lookup: rows of a table picked by integer ids, with a dense scatter-add backward."""
import numpy as np

from ..core import indexed_rows
from ..core.tensor import record
from ..core.tensor import as_array, unwrap

# Below this many one-hot entries (ids x vocabulary) the gradient is one small GEMM
# `one_hot(ids).T @ grad`; above it, one `np.bincount` over (row, column) pairs. Both beat
# `np.add.at` (measured: 3200 ids, vocabulary 1000, width 64: add.at 5.3 ms, bincount 3.0 ms;
# 320 ids, vocabulary 50: add.at 0.12 ms, one-hot GEMM 0.03 ms).
_ONE_HOT_LIMIT = 1 << 18
# From this many table cells, with ids touching under a quarter of the rows, the rows are
# summed per distinct id first (`_scatter_few_rows`; below it the table-sized `bincount` is
# as fast: 3000 ids into 20000 x 16, 0.1 ms against 0.3).
_FEW_ROWS_CELLS = 1 << 21


def check_ids(ids, vocabulary_size):
    """Integer ids as an intp array; out-of-range ids raise TensorFlow's error."""
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        ids = ids.astype(np.int32)   # tf.keras casts non-integer ids to int32 (truncation)
    if ids.size:
        low, high = ids.min(), ids.max()
        if low < 0 or high >= vocabulary_size:
            bad = low if low < 0 else high
            where = tuple(int(i) for i in np.argwhere(ids == bad)[0])
            raise ValueError(f"indices{list(where)} = {bad} is not in [0, {vocabulary_size})")
    return ids.astype(np.intp, copy=False)


def scatter_rows(ids, grad, num_rows):
    """`out[ids[i]] += grad[i]` for every i, as a dense (num_rows, width) array."""
    flat_ids = ids.reshape(-1)
    if not flat_ids.size:      # no ids (an empty batch): the width is the gradient's last axes
        return np.zeros((num_rows, int(np.prod(grad.shape[ids.ndim:]))), grad.dtype)
    rows = grad.reshape(flat_ids.size, -1)
    width = rows.shape[1]
    if flat_ids.size * num_rows <= _ONE_HOT_LIMIT:
        one_hot = np.zeros((flat_ids.size, num_rows), dtype=grad.dtype)
        one_hot[np.arange(flat_ids.size), flat_ids] = 1
        return one_hot.T @ rows
    if num_rows * width >= _FEW_ROWS_CELLS and 4 * flat_ids.size < num_rows:
        return _scatter_few_rows(flat_ids, rows, num_rows)
    cells = (flat_ids[:, None] * width + np.arange(width)).reshape(-1)
    total = np.bincount(cells, weights=rows.reshape(-1), minlength=num_rows * width)
    return total.reshape(num_rows, width).astype(grad.dtype, copy=False)


def _scatter_few_rows(flat_ids, rows, num_rows):
    """`scatter_rows` when the ids touch few of the table's rows (a large vocabulary): the
    rows are summed per distinct id (the same float64 `bincount`, so the same sums) into a
    small array, then placed in the zeroed table; the float64 table-sized sum and its cast
    cost ~0.1 s a step at 1.2M x 50 (imdb_fasttext with bigrams)."""
    width = rows.shape[1]
    distinct, slot = np.unique(flat_ids, return_inverse=True)
    cells = (slot.reshape(-1, 1) * width + np.arange(width)).reshape(-1)
    sums = np.bincount(cells, weights=rows.reshape(-1), minlength=distinct.size * width)
    dense = np.zeros((num_rows, width), rows.dtype)
    dense[distinct] = sums.reshape(distinct.size, width)
    return dense


def lookup_rows(gradient):
    """`(flat ids, rows)` when `gradient` (array or Tensor) is, unchanged, the table gradient
    of embedding lookups (what tf.keras keeps as IndexedSlices), else None."""
    return indexed_rows.lookup_rows(unwrap(gradient))


def embedding_lookup(table, ids):
    """`table[ids]`: one row of `table` per id (ids of any shape, already validated)."""
    table_data = as_array(table)
    ids = np.asarray(ids)
    out = np.take(table_data, ids, axis=0)

    def backward(g, needs):
        if not needs[0]:
            return (None,)
        dense = scatter_rows(ids, g, table_data.shape[0])
        indexed_rows.remember_lookup_rows(dense, ids.reshape(-1),
                                          g.reshape(ids.size, dense.shape[1]))
        return (dense,)
    return record(out, (table,), backward)
