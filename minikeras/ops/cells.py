"""Copies by runs of contiguous values, each run one opaque (void) element: NumPy then moves a
run with one memcpy instead of an inner loop over a few dozen floats (~20 ns a run on
strided layouts). The convolution, pooling and Winograd kernels copy channel runs of
`(..., channels)` cells and window runs of im2col rows this way."""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def channel_cells(array):
    """`array (..., c)` as `(...)` opaque cells of its last axis' `c` values (a view: writing a
    cell writes the floats), or None unless that axis is non-empty and contiguous."""
    if array.shape[-1] == 0 or array.strides[-1] != array.itemsize:
        return None
    return array.view(np.dtype((np.void, array.shape[-1] * array.itemsize)))[..., 0]


def copy_cells(dest, source):
    """`dest[...] = source` for arrays of one dtype, cell by cell when both last axes are
    contiguous (strided cells, e.g. width phases), else element by element."""
    dest_cells, source_cells = channel_cells(dest), channel_cells(source)
    if dest_cells is None or source_cells is None or dest.dtype != source.dtype or \
            not source.size:
        dest[...] = source
    else:
        np.copyto(dest_cells, source_cells)


def copy_byte_runs(source, shape, strides, dest):
    """Copy into the C-contiguous `dest` the runs of `shape[-1]` bytes that `shape` and byte
    `strides` (the last one 1) lay out over the buffer of `source` (its last axis contiguous),
    starting at its first value, in that order."""
    element = np.dtype((np.void, shape[-1]))
    runs = as_strided(source[..., :1].view(np.uint8), shape, strides, writeable=False)
    dest_runs = dest.reshape(-1, shape[-1] // dest.itemsize).view(element)
    np.copyto(dest_runs.reshape(shape[:-1] + (1,))[..., 0], runs.view(element)[..., 0])
