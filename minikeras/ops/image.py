"""Image ops of the augmentation layers: projective transforms (TensorFlow's
`ImageProjectiveTransformV3`), bilinear/nearest resizing (`tf.image.resize`) and flips.

Images are NHWC. Each op is linear in the image, so its backward pass is the exact adjoint
(a scatter-add of the sampling weights, or the transposed resize matrices).
"""
import numpy as np

from ..backend.tensor import record
from .embedding import scatter_rows
from .math import as_array

FILL_MODES = ("reflect", "wrap", "constant", "nearest")


# ---------------------------------------------------------------------------------------
# projective transforms
# ---------------------------------------------------------------------------------------
def map_coordinates(coord, length, fill_mode):
    """Bring float input coordinates back inside `[0, length - 1]` as TF's kernel does.

    reflect `(d c b a | a b c d | d c b a)`, wrap `(a b c d | a b c d | a b c d)`,
    nearest `(a a | a b c d | d d)`; constant leaves them (outside reads give fill_value).
    """
    if fill_mode == "constant":
        return coord
    if length <= 1:
        return np.zeros_like(coord)
    high = length - 1
    coord = coord.copy()
    below, above = coord < 0, coord > high
    if fill_mode == "reflect":
        span = 2 * length
        neg = coord[below]
        neg = span * np.trunc(-neg / span) + neg
        coord[below] = np.where(neg < -length, neg + span, -neg - 1)
        pos = coord[above]
        pos = pos - span * np.trunc(pos / span)
        coord[above] = np.where(pos >= length, span - pos - 1, pos)
    elif fill_mode == "wrap":
        coord[below] += length * (np.trunc(-coord[below] / high) + 1)
        coord[above] -= length * np.trunc(coord[above] / high)
    return np.clip(coord, 0, high, out=coord)


def _round_half_away(x):
    """std::round: halves go away from zero (np.round goes to even)."""
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def _sampling_taps(src_x, src_y, height, width, interpolation):
    """Integer (y, x) positions and weights that make each output value, as a list of taps."""
    if interpolation == "nearest":
        one = np.ones_like(src_x)
        return [(_round_half_away(src_y), _round_half_away(src_x), one)]
    x0, y0 = np.floor(src_x), np.floor(src_y)
    x1, y1 = x0 + 1, y0 + 1
    return [(y0, x0, (y1 - src_y) * (x1 - src_x)), (y0, x1, (y1 - src_y) * (src_x - x0)),
            (y1, x0, (src_y - y0) * (x1 - src_x)), (y1, x1, (src_y - y0) * (src_x - x0))]


def projective_transform(images, transforms, interpolation="bilinear", fill_mode="reflect",
                         fill_value=0.0):
    """Resample each image through its transform `[a0, a1, a2, b0, b1, b2, c0, c1]`, which
    maps an *output* pixel (x, y) to the input point
    `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`, `k = c0 x + c1 y + 1`.
    """
    xd = as_array(images)
    n, height, width, channels = xd.shape
    t = np.asarray(transforms, dtype=np.float32).reshape(n, 8)[:, :, None, None]
    out_y, out_x = np.meshgrid(np.arange(height, dtype=np.float32),
                               np.arange(width, dtype=np.float32), indexing="ij")
    k = t[:, 6] * out_x + t[:, 7] * out_y + 1
    singular = k == 0
    k = np.where(singular, np.float32(1), k)
    src_x = map_coordinates((t[:, 0] * out_x + t[:, 1] * out_y + t[:, 2]) / k, width, fill_mode)
    src_y = map_coordinates((t[:, 3] * out_x + t[:, 4] * out_y + t[:, 5]) / k, height, fill_mode)
    flat = xd.reshape(n * height * width, channels)
    batch_offset = (np.arange(n) * (height * width))[:, None, None]
    fill = xd.dtype.type(fill_value)
    out = np.zeros((n, height, width, channels), dtype=xd.dtype)
    gathered = []   # (flat row index, weight of each output pixel) per tap, for backward
    for tap_y, tap_x, weight in _sampling_taps(src_x, src_y, height, width, interpolation):
        inside = (tap_y >= 0) & (tap_y < height) & (tap_x >= 0) & (tap_x < width) & ~singular
        rows = batch_offset + np.where(inside, tap_y * width + tap_x, 0).astype(np.intp)
        values = np.take(flat, rows, axis=0)
        weight = weight.astype(xd.dtype, copy=False)[..., None]
        out += np.where(inside[..., None], values, fill) * weight
        gathered.append((rows, np.where(inside, weight[..., 0], 0)))

    def backward(g, needs):
        total = None
        for rows, weight in gathered:
            part = scatter_rows(rows, g * weight[..., None], n * height * width)
            total = part if total is None else total + part
        return (total.reshape(xd.shape),)
    return record(out, (images,), backward)


def translation_transforms(dx, dy):
    """Transforms that shift images by (dx, dy) pixels (right and down when positive)."""
    ones, zeros = np.ones_like(dx), np.zeros_like(dx)
    return np.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)


def rotation_transforms(angles, height, width):
    """Transforms that rotate images counter-clockwise by `angles` (radians) about their
    centre (TF's `get_rotation_matrix`)."""
    cos, sin = np.cos(angles), np.sin(angles)
    x_offset = ((width - 1) - (cos * (width - 1) - sin * (height - 1))) / 2.0
    y_offset = ((height - 1) - (sin * (width - 1) + cos * (height - 1))) / 2.0
    zeros = np.zeros_like(angles)
    return np.stack([cos, -sin, x_offset, sin, cos, y_offset, zeros, zeros], axis=1)


def zoom_transforms(zoom_x, zoom_y, height, width):
    """Transforms that scale the sampling grid about the image centre (TF's
    `get_zoom_matrix`): factors above 1 zoom out, below 1 zoom in."""
    x_offset = ((width - 1.0) / 2.0) * (1.0 - zoom_x)
    y_offset = ((height - 1.0) / 2.0) * (1.0 - zoom_y)
    zeros = np.zeros_like(zoom_x)
    return np.stack([zoom_x, zeros, x_offset, zeros, zoom_y, y_offset, zeros, zeros], axis=1)


# ---------------------------------------------------------------------------------------
# resizing: one (out, in) interpolation matrix per spatial axis
# ---------------------------------------------------------------------------------------
def resize_matrix(in_size, out_size, interpolation):
    """Row i holds the weights of the input pixels that make output pixel i under
    `tf.image.resize` (half-pixel centres, no antialiasing)."""
    scale = np.float32(in_size / out_size)
    out_index = np.arange(out_size, dtype=np.float32)
    matrix = np.zeros((out_size, in_size), dtype=np.float32)
    rows = np.arange(out_size)
    if interpolation == "nearest":
        source = np.floor((out_index + np.float32(0.5)) * scale).astype(np.intp)
        matrix[rows, np.clip(source, 0, in_size - 1)] = 1
        return matrix
    source = (out_index + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(source)
    lerp = source - floor
    lower = np.maximum(floor.astype(np.intp), 0)
    upper = np.minimum(np.ceil(source).astype(np.intp), in_size - 1)
    np.add.at(matrix, (rows, lower), 1 - lerp)   # out_size entries: tiny, once per shape
    np.add.at(matrix, (rows, upper), lerp)
    return matrix


def resize(images, rows_matrix, cols_matrix):
    """`out[n, i, j, c] = sum_ab rows[i, a] cols[j, b] images[n, a, b, c]` as two GEMMs."""
    xd = as_array(images)
    rows_matrix = rows_matrix.astype(xd.dtype, copy=False)
    cols_matrix = cols_matrix.astype(xd.dtype, copy=False)
    out = np.matmul(rows_matrix, xd.reshape(xd.shape[0], xd.shape[1], -1))
    out = out.reshape(xd.shape[0], rows_matrix.shape[0], xd.shape[2], xd.shape[3])
    out = np.einsum("jb,nibc->nijc", cols_matrix, out, optimize=True)

    def backward(g, needs):
        gx = np.einsum("jb,nijc->nibc", cols_matrix, g, optimize=True)
        gx = np.matmul(rows_matrix.T, gx.reshape(g.shape[0], g.shape[1], -1))
        return (gx.reshape(xd.shape),)
    return record(np.ascontiguousarray(out), (images,), backward)


# ---------------------------------------------------------------------------------------
# flips
# ---------------------------------------------------------------------------------------
def random_flip(images, flip_rows, flip_cols):
    """Flip image n top-bottom where `flip_rows[n]` and left-right where `flip_cols[n]`."""
    xd = as_array(images)

    def apply(arr):
        if flip_cols is not None:
            arr = np.where(flip_cols[:, None, None, None], arr[:, :, ::-1], arr)
        if flip_rows is not None:
            arr = np.where(flip_rows[:, None, None, None], arr[:, ::-1], arr)
        return arr
    # A flip is its own inverse and the two flips commute: backward applies the same flips.
    return record(apply(xd), (images,), lambda g, needs: (apply(g),))
