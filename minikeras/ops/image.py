"""Image ops of the augmentation layers: projective transforms (TensorFlow's
`ImageProjectiveTransformV3`), resizing (`tf.image.resize`, every interpolation) and flips.

Images are NHWC. Each op is linear in the image, so its backward pass is the exact adjoint
(a scatter-add of the sampling weights, or the transposed resize matrices).
"""
import numpy as np

from ..core.tensor import record
from .embedding import scatter_rows
from ..core.tensor import as_array

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
    if fill_mode == "constant" or singular.any():
        out, gathered = _sample_with_fill(flat, batch_offset, src_x, src_y, singular,
                                          (n, height, width, channels), interpolation,
                                          fill_value)
    else:
        out, gathered = _sample_inside(flat, batch_offset, src_x, src_y, height, width,
                                       interpolation)

    def backward(g, needs):
        total = None
        for rows, weight in gathered():
            part = scatter_rows(rows, g * weight[..., None], n * height * width)
            total = part if total is None else total + part
        return (total.reshape(xd.shape),)
    return record(out, (images,), backward)


def _sample_inside(flat, batch_offset, src_x, src_y, height, width, interpolation):
    """Sampling when every coordinate was mapped inside the image (reflect, wrap, nearest):
    no bounds checks; the `+1` neighbour at the last row/column has weight 0, so it is clamped.
    Returns the output and a function giving (flat rows, weight) per tap for backward."""
    dtype = flat.dtype
    if interpolation == "nearest":
        rows = batch_offset + (np.floor(src_y + np.float32(0.5)).astype(np.intp) * width
                               + np.floor(src_x + np.float32(0.5)).astype(np.intp))
        return np.take(flat, rows, axis=0), lambda: [(rows, np.ones(rows.shape, dtype))]
    x0, y0 = np.floor(src_x), np.floor(src_y)
    fx, fy = (src_x - x0).astype(dtype), (src_y - y0).astype(dtype)
    x0, y0 = x0.astype(np.intp), y0.astype(np.intp)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    top_row, bottom_row = batch_offset + y0 * width, batch_offset + y1 * width
    corners = [top_row + x0, top_row + x1, bottom_row + x0, bottom_row + x1]
    v00, top, v10, bottom = (np.take(flat, rows, axis=0) for rows in corners)
    # Weights repeated over channels: NumPy broadcasts slowly along a short last axis.
    channels = flat.shape[1]
    wx = np.repeat(fx[..., None], channels, axis=-1)
    wy = np.repeat(fy[..., None], channels, axis=-1)
    # TF's order of operations, in place: top = v00 + (v01 - v00) * wx, and so on.
    top -= v00
    top *= wx
    top += v00
    bottom -= v10
    bottom *= wx
    bottom += v10
    bottom -= top
    bottom *= wy
    out = np.add(top, bottom, out=top)

    def taps():
        weights = [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx]
        return list(zip(corners, weights))
    return out, taps


def _sample_with_fill(flat, batch_offset, src_x, src_y, singular, shape, interpolation,
                      fill_value):
    """General sampling: taps outside the image (or of a singular projection) read
    `fill_value`."""
    n, height, width, channels = shape
    dtype = flat.dtype
    out = np.zeros(shape, dtype=dtype)
    outside_weight = np.zeros((n, height, width), dtype=dtype)
    gathered = []
    for tap_y, tap_x, weight in _sampling_taps(src_x, src_y, height, width, interpolation):
        inside = (tap_y >= 0) & (tap_y < height) & (tap_x >= 0) & (tap_x < width) & ~singular
        rows = batch_offset + np.where(inside, tap_y * width + tap_x, 0).astype(np.intp)
        weight = weight.astype(dtype, copy=False)
        inside_weight = np.where(inside, weight, 0).astype(dtype, copy=False)
        outside_weight += weight - inside_weight
        out += np.take(flat, rows, axis=0) * inside_weight[..., None]
        gathered.append((rows, inside_weight))
    if fill_value != 0:
        out += outside_weight[..., None] * dtype.type(fill_value)
    return out, lambda: gathered


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
# resizing (tf.image.resize: half-pixel centres, no antialiasing)
# ---------------------------------------------------------------------------------------
def resize_taps(in_size, out_size, interpolation):
    """For each output index along one axis: `(lower, upper, lerp)` input indices and weight
    of the upper one (bilinear), or `(index, None, None)` (nearest)."""
    scale = np.float32(in_size / out_size)
    out_index = np.arange(out_size, dtype=np.float32)
    if interpolation == "nearest":
        source = np.floor((out_index + np.float32(0.5)) * scale).astype(np.intp)
        return np.clip(source, 0, in_size - 1), None, None
    source = (out_index + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(source)
    lower = np.maximum(floor.astype(np.intp), 0)
    upper = np.minimum(np.ceil(source).astype(np.intp), in_size - 1)
    return lower, upper, source - floor


# Interpolations that TensorFlow computes as a weighted sum over a window of input pixels per
# output pixel; here each axis is an (out, in) weight matrix built with TF's float32 steps.
MATRIX_INTERPOLATIONS = ("bicubic", "area", "lanczos3", "lanczos5", "gaussian",
                         "mitchellcubic")
_CUBIC_TABLE_SIZE = 1024


def _cubic_table():
    """TF's Keys cubic (a = -0.5) coefficient table, sampled at 1/1024 steps: row i holds the
    weights of the near tap and the far tap at fractional offset i / 1024."""
    a = -0.5
    x = (np.arange(_CUBIC_TABLE_SIZE + 1) / _CUBIC_TABLE_SIZE).astype(np.float32).astype(float)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    x = x + 1.0
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return near.astype(np.float32), far.astype(np.float32)


def _bicubic_weights(in_size, out_size):
    """`ResizeBicubic` with half-pixel centres: four taps around each sample, the offset
    rounded to the table's 1/1024 grid; taps outside the image get weight 0 and the rest are
    renormalised to sum to 1."""
    near, far = _cubic_table()
    scale = np.float32(in_size / out_size)
    sample = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    base = np.floor(sample)
    offset = np.rint((sample - base) * np.float32(_CUBIC_TABLE_SIZE)).astype(np.intp)
    base = base.astype(np.intp)
    inverse = _CUBIC_TABLE_SIZE - offset
    taps = np.stack([base - 1, base, base + 1, base + 2], axis=1)
    weights = np.stack([far[offset], near[offset], near[inverse], far[inverse]], axis=1)
    weights = np.where((taps >= 0) & (taps < in_size), weights, np.float32(0))
    totals = weights.sum(axis=1, keepdims=True, dtype=np.float32)
    weights = weights * (np.float32(1) / totals)
    matrix = np.zeros((out_size, in_size), np.float32)
    np.add.at(matrix, (np.repeat(np.arange(out_size), 4), np.clip(taps, 0, in_size - 1).ravel()),
              weights.ravel())
    return matrix


def _area_weights(in_size, out_size):
    """`ResizeArea`: each output pixel averages the input cells its footprint
    `[y * scale, (y + 1) * scale)` covers, partly covered cells by their covered fraction."""
    scale = np.float32(in_size / out_size)
    matrix = np.zeros((out_size, in_size), np.float32)
    for y in range(out_size):
        start = np.float32(y) * scale
        stop = np.float32(y + 1) * scale
        for i in range(int(np.floor(start)), int(np.ceil(stop))):
            if i < start:
                weight = scale if i + 1 > stop else np.float32(i + 1) - start
            else:
                weight = stop - np.float32(i) if i + 1 > stop else np.float32(1)
            matrix[y, min(i, in_size - 1)] += weight
    return matrix * (np.float32(1) / scale)


def _lanczos_kernel(radius):
    def kernel(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            pi = np.float32(np.pi)
            value = (np.float32(radius) * np.sin(pi * x) * np.sin(pi * x / np.float32(radius))
                     / (pi * pi * x * x))
        return np.where(x > radius, 0, np.where(x <= 1e-3, 1, value)).astype(np.float32)
    return kernel, float(radius)


def _gaussian_kernel(x):
    sigma = 1.5 / 3.0        # TF: radius 1.5, sigma = radius / 3
    return np.where(x >= 1.5, 0, np.exp(-x.astype(float) ** 2 / (2.0 * sigma * sigma))
                    ).astype(np.float32)


def _mitchell_cubic_kernel(x):
    far = (((np.float32(-7 / 18) * x + 2) * x - np.float32(10 / 3)) * x + np.float32(16 / 9))
    near = ((np.float32(7 / 6) * x - 2) * x) * x + np.float32(8 / 9)
    return np.where(x >= 2, 0, np.where(x >= 1, far, near)).astype(np.float32)


_SAMPLING_KERNELS = {"lanczos3": _lanczos_kernel(3), "lanczos5": _lanczos_kernel(5),
                     "gaussian": (_gaussian_kernel, 1.5),
                     "mitchellcubic": (_mitchell_cubic_kernel, 2.0)}


def _sampling_weights(in_size, out_size, interpolation):
    """`ScaleAndTranslate` without antialiasing or translation: output x samples input
    position `(x + 0.5) / scale` with the kernel over the input pixels within its radius,
    weights normalised to sum to 1."""
    kernel, radius = _SAMPLING_KERNELS[interpolation]
    scale = np.float32(out_size) / np.float32(in_size)
    inverse = np.float32(1.0 / float(scale))
    matrix = np.zeros((out_size, in_size), np.float32)
    for x in range(out_size):
        sample = (np.float32(x) + np.float32(0.5)) * inverse
        start = int(np.ceil(sample - np.float32(radius) - np.float32(0.5)))
        stop = int(np.floor(sample + np.float32(radius) - np.float32(0.5)))
        start = min(max(start, 0), in_size - 1)
        stop = min(max(stop, 0), in_size - 1) + 1
        sources = np.arange(start, stop)
        weights = kernel(np.abs(sources.astype(np.float32) + np.float32(0.5) - sample))
        total = weights.sum(dtype=np.float32)
        if abs(total) >= 1000.0 * np.finfo(np.float32).tiny:
            matrix[x, start:stop] = weights * (np.float32(1) / total)
    return matrix


def resize_matrix(in_size, out_size, interpolation):
    """The (out_size, in_size) matrix of one axis' resize weights."""
    if interpolation == "bicubic":
        return _bicubic_weights(in_size, out_size)
    if interpolation == "area":
        return _area_weights(in_size, out_size)
    if interpolation in _SAMPLING_KERNELS:
        return _sampling_weights(in_size, out_size, interpolation)
    lower, upper, lerp = resize_taps(in_size, out_size, interpolation)
    matrix = np.zeros((out_size, in_size), dtype=np.float32)
    rows = np.arange(out_size)
    if lerp is None:
        matrix[rows, lower] = 1
        return matrix
    np.add.at(matrix, (rows, lower), 1 - lerp)   # out_size entries: tiny
    np.add.at(matrix, (rows, upper), lerp)
    return matrix


def _resample_axis(arr, axis, taps):
    lower, upper, lerp = taps
    low = np.take(arr, lower, axis=axis)
    if lerp is None:
        return low
    shape = [1] * arr.ndim
    shape[axis] = -1
    return low + (np.take(arr, upper, axis=axis) - low) * lerp.astype(arr.dtype).reshape(shape)


def _apply_matrices(x, rows, cols):
    """`rows @ image @ cols.T` for each image and channel of a NHWC batch."""
    n, in_height, in_width, channels = x.shape
    height, width = rows.shape[0], cols.shape[0]
    out = np.matmul(rows.astype(x.dtype), x.reshape(n, in_height, in_width * channels))
    out = np.matmul(cols.astype(x.dtype), out.reshape(n * height, in_width, channels))
    return out.reshape(n, height, width, channels)


def resize(images, height, width, interpolation="bilinear"):
    """Resize a NHWC batch to (height, width) as `tf.image.resize` (no antialiasing).
    Bilinear is computed as TF does, `top + (bottom - top) * y_lerp` with
    `top = left + (right - left) * x_lerp`; the other windowed interpolations as weight
    matrices (MATRIX_INTERPOLATIONS)."""
    xd = as_array(images)
    in_height, in_width = xd.shape[1], xd.shape[2]
    if not in_height or not in_width:
        # e.g. a crop to an aspect ratio the image is too small for
        raise ValueError(f"input image must be of non-zero size; received images of shape "
                         f"{xd.shape}")
    if interpolation in MATRIX_INTERPOLATIONS:
        out = _apply_matrices(xd, resize_matrix(in_height, height, interpolation),
                              resize_matrix(in_width, width, interpolation))
    else:
        out = _resample_axis(xd, 2, resize_taps(in_width, width, interpolation))
        out = _resample_axis(out, 1, resize_taps(in_height, height, interpolation))

    def backward(g, needs):
        rows = resize_matrix(in_height, height, interpolation)
        cols = resize_matrix(in_width, width, interpolation)
        return (_apply_matrices(g, rows.T, cols.T),)
    return record(out, (images,), backward)


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
