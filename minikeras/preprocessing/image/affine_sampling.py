"""SciPy's `ndimage.affine_transform` at spline orders 0 and 1, for a whole batch at once.

keras-preprocessing warps each channel of each image with its own SciPy call (~40 us each
with its Python wrapper). Here every image of a batch, each with its own 2x2 matrix and
offset, is sampled by a few gathers for the whole batch. Where SciPy's rules decide which
pixels are read, they are followed step for step, so the taps are SciPy's own:

- input coordinates `(o0 * m[0, 0] + o1 * m[0, 1]) + offset[0]` in float64, the order in
  which SciPy sums them;
- a point outside the image is folded back per SciPy's `map_coordinate` ('reflect' and 'wrap'
  with SciPy's periods, 'constant' gives `cval`; 'nearest' leaves the point and clamps the
  taps);
- the footprint starts at `floor(c)` (order 1) or `floor(c + 0.5)` (order 0); taps outside
  the image are clamped ('nearest'), reflected ('reflect') or mirrored about the edge pixels
  ('constant', 'wrap'), as SciPy's spline boundary modes do;
- order-1 weights are `1 - frac` and `1 - (1 - frac)`.

Order 0 therefore gives SciPy's pixels bit for bit, and so does order 1 on whole-pixel shifts
(weights 1 and 0). Order-1 blends are summed in the images' dtype (SciPy sums in float64 and
rounds once): the same pixels to float32 round-off. Diagonal matrices (shifts, zooms: what
`ImageDataGenerator` draws without rotation or shear) blend whole rows first, then columns.
Orders 2-5 need SciPy's spline prefilter and stay on SciPy (`SUPPORTED_ORDERS`).
"""
import numpy as np

SUPPORTED_ORDERS = (0, 1)


def _fold(coordinate, length, fill_mode):
    """SciPy's `map_coordinate` for the sampling point: (`coordinate` brought back inside
    the image, for 'constant' a mask of where it left [0, length - 1], else None).
    'nearest' leaves the point alone (its taps are clamped instead)."""
    if fill_mode == "constant":
        return coordinate, (coordinate < 0) | (coordinate > length - 1)
    if fill_mode == "nearest":
        return coordinate, None
    below, above = coordinate < 0, coordinate > length - 1
    if not (below.any() or above.any()):
        return coordinate, None
    if length <= 1:
        return np.where(below | above, 0.0, coordinate), None
    if fill_mode == "reflect":
        period = 2 * length
        low = np.where(coordinate < -period,
                       period * np.trunc(-coordinate / period) + coordinate, coordinate)
        # SciPy keeps -in - 1 above -1 for points a hair below 0
        low = np.where(low < -length, low + period, np.where(low > -1e-15, 1e-15, -low) - 1)
        high = coordinate - period * np.trunc(coordinate / period)
        high = np.where(high >= length, period - high - 1, high)
    elif fill_mode == "wrap":
        # SciPy's 'wrap' repeats with period length - 1 (the edge pixels coincide)
        period = length - 1
        low = coordinate + period * (np.trunc(-coordinate / period) + 1)
        high = coordinate - period * np.trunc(coordinate / period)
    else:
        raise ValueError(f"Unsupported fill_mode {fill_mode!r}")
    return np.where(below, low, np.where(above, high, coordinate)), None


def _fold_taps(index, length, fill_mode):
    """Footprint indices outside [0, length) brought inside as SciPy does: clamped for
    'nearest', reflected about the pixel edges (period 2 * length) for 'reflect', mirrored
    about the edge pixels (period 2 * length - 2) for 'constant' and 'wrap'."""
    if length <= 1:
        return np.zeros_like(index)
    if fill_mode == "nearest":
        return np.clip(index, 0, length - 1)
    if fill_mode == "reflect":
        period = 2 * length
        folded = index % period
        return np.where(folded >= length, period - 1 - folded, folded)
    period = 2 * length - 2
    folded = index % period
    return np.where(folded >= length, period - folded, folded)


def _axis_taps(coordinate, length, order, fill_mode):
    """(tap indices, tap weights or None, outside mask or None) along one axis; the taps are
    a list of `order + 1` integer arrays shaped like `coordinate`."""
    folded, outside = _fold(coordinate, length, fill_mode)
    if outside is not None:
        folded = np.where(outside, 0.0, folded)
    if order == 0:
        start = np.floor(folded + 0.5).astype(np.intp)
        return [_fold_taps(start, length, fill_mode)], None, outside
    start = np.floor(folded)
    first_weight = 1.0 - (folded - start)
    start = start.astype(np.intp)
    taps = [_fold_taps(start, length, fill_mode), _fold_taps(start + 1, length, fill_mode)]
    return taps, [first_weight, 1.0 - first_weight], outside


def affine_sample(images, matrices, offsets, order=1, fill_mode="nearest", cval=0.0):
    """`scipy.ndimage.affine_transform(channel, matrices[b], offsets[b], order=order,
    mode=fill_mode, cval=cval)` for every channel of every image, at once.

    images: (batch, rows, cols, channels), a floating dtype; matrices: (batch, 2, 2) and
    offsets: (batch, 2) mapping output (row, col) to input (row, col). Returns a new array
    of the images' shape and dtype.
    """
    if order not in SUPPORTED_ORDERS:
        raise ValueError(f"affine_sample supports spline orders {SUPPORTED_ORDERS}, got {order}")
    batch = images.shape[0]
    matrices = np.asarray(matrices, dtype=np.float64).reshape(batch, 2, 2)
    offsets = np.asarray(offsets, dtype=np.float64).reshape(batch, 2)
    if not (matrices[:, 0, 1].any() or matrices[:, 1, 0].any()):
        return _separable_sample(images, matrices, offsets, order, fill_mode, cval)
    return _general_sample(images, matrices, offsets, order, fill_mode, cval)


def _separable_sample(images, matrices, offsets, order, fill_mode, cval):
    """Diagonal matrices (shifts, zooms): the row taps depend on the output row only and the
    column taps on the output column, so rows are blended first (whole rows gathered), then
    columns."""
    batch, rows, cols, channels = images.shape
    # SciPy's (o0 * m00 + o1 * 0.0) + shift: the zero product changes no bit of the sum
    row_coordinate = np.arange(rows) * matrices[:, 0, 0, None] + offsets[:, 0, None]
    col_coordinate = np.arange(cols) * matrices[:, 1, 1, None] + offsets[:, 1, None]
    row_taps, row_weights, row_outside = _axis_taps(row_coordinate, rows, order, fill_mode)
    col_taps, col_weights, col_outside = _axis_taps(col_coordinate, cols, order, fill_mode)
    image_rows = images.reshape(batch * rows, cols * channels)
    row_base = (np.arange(batch) * rows)[:, None]
    blended_rows = _gather_blend(image_rows, [(row_base + tap).reshape(-1) for tap in row_taps],
                                 row_weights, (batch * rows, 1))
    pixels = blended_rows.reshape(batch * rows * cols, channels)
    col_base = (np.arange(batch * rows) * cols).reshape(batch, rows, 1)
    result = _gather_blend(pixels, [(col_base + tap[:, None, :]).reshape(-1) for tap in col_taps],
                           col_weights, (batch, 1, cols, 1), (batch, rows, cols, channels))
    result = result.reshape(batch, rows, cols, channels)
    if row_outside is not None:
        outside = row_outside[:, :, None] | col_outside[:, None, :]
        result[outside] = cval
    return result


def _general_sample(images, matrices, offsets, order, fill_mode, cval):
    """Any matrices: every output pixel's taps and weights, one gather per footprint tap."""
    batch, rows, cols, channels = images.shape
    matrices = matrices.reshape(batch, 2, 2, 1, 1)
    offsets = offsets.reshape(batch, 2, 1, 1)
    out_row = np.arange(rows, dtype=np.float64)[:, None]
    out_col = np.arange(cols, dtype=np.float64)[None, :]
    row_coordinate = (out_row * matrices[:, 0, 0] + out_col * matrices[:, 0, 1]) + offsets[:, 0]
    col_coordinate = (out_row * matrices[:, 1, 0] + out_col * matrices[:, 1, 1]) + offsets[:, 1]
    row_taps, row_weights, row_outside = _axis_taps(row_coordinate, rows, order, fill_mode)
    col_taps, col_weights, col_outside = _axis_taps(col_coordinate, cols, order, fill_mode)
    pixels = images.reshape(batch * rows * cols, channels)
    image_start = (np.arange(batch) * (rows * cols))[:, None, None]
    indices, weights = [], []
    for r, row_tap in enumerate(row_taps):
        row_start = image_start + row_tap * cols
        for c, col_tap in enumerate(col_taps):
            indices.append((row_start + col_tap).reshape(-1))
            if order:
                weights.append(row_weights[r] * col_weights[c])
    result = _gather_blend(pixels, indices, weights if order else None,
                           (batch * rows * cols, 1))
    result = result.reshape(batch, rows, cols, channels)
    if row_outside is not None:
        result[row_outside | col_outside] = cval
    return result


def _gather_blend(source, indices, weights, weight_shape, view_shape=None):
    """sum over taps of `source[index] * weight`, in the source's dtype (`weights` None: the
    single tap as is). The rows of `source` are gathered with `np.take` into two buffers
    reused across taps: fresh arrays of this size cost more in page faults than the sums.
    `view_shape` views each gathered block so the weights broadcast."""
    total = np.take(source, indices[0], axis=0, mode="clip")
    if weights is None:
        return total
    dtype = source.dtype

    def weighted(block, weight):
        block = block if view_shape is None else block.reshape(view_shape)
        block *= weight.astype(dtype).reshape(weight_shape)
    weighted(total, weights[0])
    scratch = np.empty_like(total)
    for index, weight in zip(indices[1:], weights[1:]):
        np.take(source, index, axis=0, out=scratch, mode="clip")  # unbuffered
        weighted(scratch, weight)
        total += scratch
    return total
