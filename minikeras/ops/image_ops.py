"""The Keras 3 `keras.ops.image` names over the image kernels of `image.py`.

Single images (3-D) and batches (4-D) are accepted; `data_format` defaults to the global
image data format. Resizing is TensorFlow's (half-pixel centres) for "bilinear" and "nearest".
"""
import functools
import itertools

import numpy as np

from ..core import config
from ..core.tensor import Tensor
from .conv import depthwise_conv as _depthwise_conv  # (`ops.conv` is Keras 3's function)
from . import image as _image
from . import math as _m
from . import numpy_ops as _np_ops
from .numpy_ops import as_float, tensor_of
from .random import rng_for

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")
AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _as_channels_last_batch(images, data_format):
    """`images` as a 4-D channels_last Tensor, and a function restoring the caller's layout."""
    t = tensor_of(images)
    if t.ndim not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 "
                         f"(batch of images). Received input with shape: images.shape={t.shape}")
    single = t.ndim == 3
    data_format = config.normalize_data_format(data_format)
    if single:
        t = _m.expand_dims(t, 0)
    if data_format == "channels_first":
        t = _m.transpose(t, (0, 2, 3, 1))

    def restore(out):
        if data_format == "channels_first":
            out = _m.transpose(out, (0, 3, 1, 2))
        return _m.squeeze(out, axis=0) if single else out
    return t, restore


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{RESIZE_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if fill_mode != "constant":
        raise ValueError("Invalid value for argument `fill_mode`. Only `'constant'` "
                         f"is supported. Received: fill_mode={fill_mode}")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` "
                         "can be `True`.")
    if pad_to_aspect_ratio:
        raise NotImplementedError("`pad_to_aspect_ratio=True` is not supported by minikeras.")
    if len(size) != 2:
        raise ValueError("Expected `size` to be a tuple of 2 integers. "
                         f"Received: size={size}")
    t, restore = _as_channels_last_batch(images, data_format)
    height, width = t.shape[1], t.shape[2]
    target_height, target_width = int(size[0]), int(size[1])
    if antialias and (target_height < height or target_width < width):
        raise NotImplementedError("`antialias=True` when downsampling is not supported by "
                                  "minikeras.")
    if crop_to_aspect_ratio:
        crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
        crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
        top = int(float(height - crop_height) / 2)
        left = int(float(width - crop_width) / 2)
        t = _m.getitem(t, (slice(None), slice(top, top + crop_height),
                           slice(left, left + crop_width)))
    if t.dtype.kind != "f":
        t = as_float(t)
    return restore(_image.resize(t, target_height, target_width, interpolation))


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Resample through `[a0, a1, a2, b0, b1, b2, c0, c1]` per image (output pixel (x, y)
    reads the input at `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`,
    `k = c0 x + c1 y + 1`)."""
    if interpolation not in AFFINE_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{AFFINE_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if fill_mode not in FILL_MODES:
        raise ValueError("Invalid value for argument `fill_mode`. Expected of one "
                         f"{FILL_MODES}. Received: fill_mode={fill_mode}")
    t, restore = _as_channels_last_batch(images, data_format)
    transforms = np.asarray(tensor_of(transform).data, np.float32)
    if transforms.ndim not in (1, 2):
        raise ValueError("Invalid transform rank: expected rank 1 (single transform) or rank 2 "
                         f"(batch of transforms). Received input with shape: "
                         f"transform.shape={transforms.shape}")
    transforms = np.broadcast_to(transforms.reshape(-1, 8), (t.shape[0], 8))
    # Keras' "mirror" is TensorFlow's "reflect" without repeating the edge, and its
    # "reflect" repeats it: the kernel's "reflect" is Keras' "reflect".
    if fill_mode == "mirror":
        raise NotImplementedError("`fill_mode='mirror'` is not supported by minikeras.")
    return restore(_image.projective_transform(as_float(t), transforms, interpolation,
                                               fill_mode, fill_value))


def rgb_to_grayscale(images, data_format=None):
    """`0.2989 R + 0.5870 G + 0.1140 B`, keeping a channel axis of size 1."""
    t, restore = _as_channels_last_batch(as_float(images), data_format)
    if t.shape[-1] != 3:
        raise ValueError("Invalid channel size: expected 3 (RGB), received "
                         f"{t.shape[-1]}. images.shape={t.shape}")
    weights = np.asarray([0.2989, 0.5870, 0.1140], t.dtype).reshape(3, 1)
    return restore(_m.matmul(t, weights))


def _box(images, data_format, top, left, bottom, right, target_height, target_width, verb):
    t, restore = _as_channels_last_batch(images, data_format)
    height, width = t.shape[1], t.shape[2]
    if top is None:
        top = height - target_height - bottom if verb == "crop" else \
            target_height - height - bottom
    if left is None:
        left = width - target_width - right if verb == "crop" else target_width - width - right
    if bottom is None:
        bottom = height - target_height - top if verb == "crop" else \
            target_height - height - top
    if right is None:
        right = width - target_width - left if verb == "crop" else target_width - width - left
    if min(top, left, bottom, right) < 0:
        raise ValueError(f"The {verb} sizes must be non-negative. Received: top={top}, "
                         f"left={left}, bottom={bottom}, right={right}")
    return t, restore, int(top), int(left), int(bottom), int(right)


def _need_two(name_a, a, name_b, b, name_c, c):
    given = sum(v is not None for v in (a, b, c))
    if given != 2:
        raise ValueError(f"Must specify exactly two of {name_a}, {name_b}, {name_c}. "
                         f"Received: {name_a}={a}, {name_b}={b}, {name_c}={c}")


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    _need_two("top_padding", top_padding, "bottom_padding", bottom_padding,
              "target_height", target_height)
    _need_two("left_padding", left_padding, "right_padding", right_padding,
              "target_width", target_width)
    t, restore, top, left, bottom, right = _box(
        images, data_format, top_padding, left_padding, bottom_padding, right_padding,
        target_height, target_width, "pad")
    return restore(_m.pad(t, [(0, 0), (top, bottom), (left, right), (0, 0)]))


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    _need_two("top_cropping", top_cropping, "bottom_cropping", bottom_cropping,
              "target_height", target_height)
    _need_two("left_cropping", left_cropping, "right_cropping", right_cropping,
              "target_width", target_width)
    t, restore, top, left, bottom, right = _box(
        images, data_format, top_cropping, left_cropping, bottom_cropping, right_cropping,
        target_height, target_width, "crop")
    height, width = t.shape[1], t.shape[2]
    return restore(_m.getitem(t, (slice(None), slice(top, height - bottom),
                                  slice(left, width - right))))


def _spatial_tuple(value, rank, name):
    values = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != rank:
        raise ValueError(f"Expected `{name}` to be an int or a tuple of {rank} ints. "
                         f"Received: {name}={value}")
    return tuple(int(v) for v in values)


def _patches(t, size, strides, dilation, padding):
    """Patches over the spatial axes of a channels_last batch, each flattened (spatial
    offsets, then channels) into the last axis."""
    rank = t.ndim - 2
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"`padding` must be 'valid' or 'same'. Received: padding={padding}")
    if padding == "same":
        pads = []
        for n, k, s, d in zip(t.shape[1:-1], size, strides, dilation):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        t = _m.pad(t, [(0, 0)] + pads + [(0, 0)])
    counts = []
    for i, (k, s, d) in enumerate(zip(size, strides, dilation)):
        axis = 1 + 2 * i                       # earlier axes already split into (count, k)
        count = (t.shape[axis] - (k - 1) * d - 1) // s + 1
        counts.append(count)
        index = np.arange(count)[:, None] * s + np.arange(k)[None] * d
        t = _m.gather(t, index, axis=axis)
    # (n, o1, k1, o2, k2, ..., c) -> (n, o1, o2, ..., k1, k2, ..., c)
    order = [0] + [1 + 2 * i for i in range(rank)] + [2 + 2 * i for i in range(rank)] + \
        [2 * rank + 1]
    return _m.reshape(_m.transpose(t, order), (t.shape[0], *counts, -1))


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches of `size` every `strides` pixels, flattened into the channel axis
    (row, column, channel order, as `tf.image.extract_patches`)."""
    size = _spatial_tuple(size, 2, "size")
    strides = size if strides is None else _spatial_tuple(strides, 2, "strides")
    t, restore = _as_channels_last_batch(images, data_format)
    return restore(_patches(t, size, strides, _spatial_tuple(dilation_rate, 2, "dilation_rate"),
                            padding))


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                       data_format=None):
    """3-D patches of a `(batch, depth, height, width, channels)` volume (or one volume),
    flattened into the last axis."""
    t = tensor_of(volumes)
    if t.ndim not in (4, 5):
        raise ValueError("Invalid volumes rank: expected rank 4 (single volume) or rank 5 "
                         f"(batch of volumes). Received: volumes.shape={t.shape}")
    size = _spatial_tuple(size, 3, "size")
    strides = size if strides is None else _spatial_tuple(strides, 3, "strides")
    single = t.ndim == 4
    if single:
        t = _m.expand_dims(t, 0)
    channels_first = config.normalize_data_format(data_format) == "channels_first"
    if channels_first:
        t = _m.transpose(t, (0, 2, 3, 4, 1))
    out = _patches(t, size, strides, _spatial_tuple(dilation_rate, 3, "dilation_rate"),
                   padding)
    if channels_first:
        out = _m.transpose(out, (0, 4, 1, 2, 3))
    return _m.squeeze(out, axis=0) if single else out


def _gaussian_1d(size, sigma, dtype):
    positions = np.arange(size, dtype=dtype) - np.asarray((size - 1) / 2, dtype)
    weights = np.exp(np.asarray(-0.5, dtype) * np.square(positions / np.asarray(sigma, dtype)))
    return weights / weights.sum()


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Depthwise 'same' convolution with a normalised Gaussian kernel (zero padding)."""
    t, restore = _as_channels_last_batch(as_float(images), data_format)
    size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    sigma = (sigma, sigma) if isinstance(sigma, (int, float)) else tuple(sigma)
    # Keras 3 builds outer(rows from size[1], columns from size[0]) and reshapes it to size.
    kernel = np.multiply.outer(_gaussian_1d(size[1], sigma[1], t.dtype),
                               _gaussian_1d(size[0], sigma[0], t.dtype)).reshape(size)
    kernel = np.tile(kernel[:, :, None, None], (1, 1, t.shape[-1], 1)).astype(t.dtype)
    return restore(_depthwise_conv(t, kernel, (1, 1), "same", (1, 1)))


_SOBEL_ROWS = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])


def sobel_edges(images, data_format=None):
    """Vertical and horizontal Sobel responses (reflect padding), stacked on a new last axis:
    shape `(*images.shape, 2)`, as `tf.image.sobel_edges`."""
    t = as_float(images)
    if t.ndim != 4:
        raise ValueError(f"Expected a 4-D batch of images. Received: images.shape={t.shape}")
    channels_first = config.normalize_data_format(data_format) == "channels_first"
    if channels_first:
        t = _m.transpose(t, (0, 2, 3, 1))
    height, width = t.shape[1], t.shape[2]
    padded = _np_ops.pad(t, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    responses = []
    for kernel in (_SOBEL_ROWS, _SOBEL_ROWS.T):
        total = None
        for dy in range(3):
            for dx in range(3):
                if kernel[dy, dx] == 0:
                    continue
                window = _m.getitem(padded, (slice(None), slice(dy, dy + height),
                                             slice(dx, dx + width)))
                term = _m.multiply(window, np.asarray(kernel[dy, dx], t.dtype))
                total = term if total is None else _m.add(total, term)
        responses.append(total)
    edges = _m.stack(responses, axis=-1)
    return _m.transpose(edges, (0, 3, 1, 2, 4)) if channels_first else edges


def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to hue, saturation, value in [0, 1] (`tf.image.rgb_to_hsv`)."""
    t, restore = _as_channels_last_batch(as_float(images), data_format)
    d = t.data
    red, green, blue = d[..., 0], d[..., 1], d[..., 2]
    value = d.max(axis=-1)
    spread = value - d.min(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        saturation = np.where(value > 0, spread / value, 0)
        norm = 1 / (6 * spread)
        hue = np.where(red == value, norm * (green - blue),
                       np.where(green == value, norm * (blue - red) + 2 / 6,
                                norm * (red - green) + 4 / 6))
    hue = np.where(spread > 0, hue, 0)
    hue = np.where(hue < 0, hue + 1, hue)
    return restore(_np_ops.tensor_of(np.stack([hue, saturation, value], -1).astype(d.dtype)))


def hsv_to_rgb(images, data_format=None):
    """Hue, saturation, value in [0, 1] to RGB (`tf.image.hsv_to_rgb`)."""
    t, restore = _as_channels_last_batch(as_float(images), data_format)
    d = t.data
    hue, saturation, value = d[..., 0], d[..., 1], d[..., 2]
    sixths = hue * 6
    red = np.clip(np.abs(sixths - 3) - 1, 0, 1)
    green = np.clip(2 - np.abs(sixths - 2), 0, 1)
    blue = np.clip(2 - np.abs(sixths - 4), 0, 1)
    rgb = np.stack([red, green, blue], -1)
    out = value[..., None] * (1 - saturation[..., None] + saturation[..., None] * rgb)
    return restore(_np_ops.tensor_of(out.astype(d.dtype)))


MAP_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _inside(index, size, fill_mode):
    """Indices brought inside `[0, size)` by `fill_mode`, and which were inside already
    (only "constant" cares)."""
    if fill_mode == "constant":
        return np.clip(index, 0, size - 1), (index >= 0) & (index < size)
    valid = np.ones(index.shape, bool)
    if fill_mode == "nearest":
        return np.clip(index, 0, size - 1), valid
    if fill_mode == "wrap":
        return np.mod(index, size), valid
    index = np.abs(index)
    if fill_mode == "mirror":
        # (d c b | a b c d | c b a). Keras 3.15 on TensorFlow folds with period 2 * size and
        # reads out of bounds at index == size; this is the whole-sample mirror (scipy's).
        period = max(2 * (size - 1), 1)
        folded = np.mod(index, period)
        return np.where(folded >= size, period - folded, folded), valid
    period = 2 * size                  # reflect, as Keras 3: (d c b a | a b c d | d c b a)
    folded = np.mod(index, period)
    return np.where(folded < size, folded, period - folded - 1), valid


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Sample `inputs` at the points `coordinates[:, ...]` (one row per input axis) with
    nearest (`order=0`) or linear (`order=1`) interpolation; differentiable in `inputs`."""
    t = tensor_of(inputs)
    coords = np.asarray(tensor_of(coordinates).data)
    if coords.shape[0] != t.ndim:
        raise ValueError("First dim of `coordinates` must be the same as the rank of `inputs`. "
                         f"Received inputs with shape: {t.shape} and coordinate leading dim of "
                         f"{coords.shape[0]}")
    if coords.ndim < 2:
        raise ValueError("Invalid coordinates rank: expected at least rank 2. Received input "
                         f"with shape: {coords.shape}")
    if fill_mode not in MAP_FILL_MODES:
        raise ValueError("Invalid value for argument `fill_mode`. Expected one of "
                         f"{set(MAP_FILL_MODES)}. Received: fill_mode={fill_mode}")
    if order not in (0, 1):
        raise NotImplementedError("map_coordinates currently requires order<=1")
    weight_dtype = coords.dtype if coords.dtype.kind == "f" else np.dtype(config.floatx())
    per_axis = []
    for coordinate, size in zip(coords, t.shape):
        if order == 0:
            nearest = coordinate if coordinate.dtype.kind in "iu" else np.round(coordinate)
            taps = [(nearest.astype(np.int64), np.ones((), weight_dtype))]
        else:
            lower = np.floor(coordinate)
            upper_weight = (coordinate - lower).astype(weight_dtype)
            taps = [(lower.astype(np.int64), 1 - upper_weight),
                    (lower.astype(np.int64) + 1, upper_weight)]
        per_axis.append([(*_inside(index, size, fill_mode), w) for index, w in taps])
    flat = _m.reshape(t if t.dtype.kind == "f" else as_float(t), (-1,))
    total = None
    for combination in itertools.product(*per_axis):
        indices, valids, weights = zip(*combination)
        position = np.ravel_multi_index(indices, t.shape)
        gathered = _m.gather(flat, position)
        weight = np.asarray(functools.reduce(np.multiply, weights), flat.dtype)
        if fill_mode == "constant":
            valid = functools.reduce(np.logical_and, valids)
            gathered = _m.where(valid, gathered, np.asarray(fill_value, flat.dtype))
        term = _m.multiply(gathered, weight)
        total = term if total is None else _m.add(total, term)
    if t.dtype.kind != "f":
        return _m.cast(_m.round(total), t.dtype)
    return total


def _points(points, name):
    array = np.asarray(tensor_of(points).data, np.float32)
    if array.ndim not in (2, 3) or array.shape[-2:] != (4, 2):
        raise ValueError(f"Invalid {name} shape: expected (4,2) for a single image or (N,4,2) "
                         f"for a batch. Received shape: {array.shape}")
    return array


def homography_transforms(start_points, end_points):
    """The projective transforms `[a0, a1, a2, b0, b1, b2, c0, c1]` taking each end point
    (output pixel) to its start point (input pixel): an 8x8 linear system per image."""
    start = start_points.reshape(-1, 4, 2).astype(np.float64)
    end = end_points.reshape(-1, 4, 2).astype(np.float64)
    count = start.shape[0]
    system = np.zeros((count, 8, 8))
    ex, ey = end[..., 0], end[..., 1]
    sx, sy = start[..., 0], start[..., 1]
    system[:, 0::2, 0], system[:, 0::2, 1], system[:, 0::2, 2] = ex, ey, 1
    system[:, 1::2, 3], system[:, 1::2, 4], system[:, 1::2, 5] = ex, ey, 1
    system[:, 0::2, 6], system[:, 0::2, 7] = -sx * ex, -sx * ey
    system[:, 1::2, 6], system[:, 1::2, 7] = -sy * ex, -sy * ey
    targets = start.reshape(count, 8, 1)
    return np.linalg.solve(system, targets)[..., 0].astype(np.float32)


def perspective_transform(images, start_points, end_points, interpolation="bilinear",
                          fill_value=0, data_format=None):
    """Warp so that `start_points` (4 corners, (x, y)) land on `end_points`; outside reads
    give `fill_value`."""
    start, end = _points(start_points, "start_points"), _points(end_points, "end_points")
    if interpolation not in AFFINE_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{AFFINE_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if start.shape != end.shape:
        raise ValueError("start_points and end_points must have the same shape. Received "
                         f"start_points.shape={start.shape}, end_points.shape={end.shape}")
    t, restore = _as_channels_last_batch(images, data_format)
    transforms = homography_transforms(start, end)
    transforms = np.broadcast_to(transforms, (t.shape[0], 8))
    return restore(_image.projective_transform(as_float(t), transforms, interpolation,
                                               "constant", fill_value))


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """Structural similarity per image pair: local statistics under a 'valid' Gaussian window,
    the SSIM map averaged over positions and channels (a scalar for single images)."""
    first, second = as_float(image1), as_float(image2)
    for name, t in (("image1", first), ("image2", second)):
        if t.ndim not in (3, 4):
            raise ValueError(f"Invalid {name} rank: expected rank 3 (single image) or rank 4 "
                             f"(batch of images). Received input with shape: "
                             f"{name}.shape={t.shape}")
    x, _ = _as_channels_last_batch(first, data_format)
    y, _ = _as_channels_last_batch(second, data_format)
    window = np.multiply.outer(_gaussian_1d(filter_size, filter_sigma, x.dtype),
                               _gaussian_1d(filter_size, filter_sigma, x.dtype))
    kernel = np.tile(window[:, :, None, None], (1, 1, x.shape[-1], 1)).astype(x.dtype)

    def local_mean(t):
        return _depthwise_conv(t, kernel, (1, 1), "valid", (1, 1))
    mu_x, mu_y = local_mean(x), local_mean(y)
    mu_xx, mu_yy, mu_xy = _m.multiply(mu_x, mu_x), _m.multiply(mu_y, mu_y), _m.multiply(mu_x, mu_y)
    var_x = _m.subtract(local_mean(_m.multiply(x, x)), mu_xx)
    var_y = _m.subtract(local_mean(_m.multiply(y, y)), mu_yy)
    covariance = _m.subtract(local_mean(_m.multiply(x, y)), mu_xy)
    c1 = np.asarray((k1 * max_val) ** 2, x.dtype)
    c2 = np.asarray((k2 * max_val) ** 2, x.dtype)
    two = np.asarray(2, x.dtype)
    numerator = _m.multiply(_m.add(_m.multiply(two, mu_xy), c1),
                            _m.add(_m.multiply(two, covariance), c2))
    denominator = _m.multiply(_m.add(_m.add(mu_xx, mu_yy), c1),
                              _m.add(_m.add(var_x, var_y), c2))
    per_image = _m.mean(_m.divide(numerator, denominator), axis=(1, 2, 3))
    return _m.squeeze(per_image, axis=0) if first.ndim == 3 else per_image


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear",
                      fill_mode="reflect", fill_value=0.0, seed=None, data_format=None):
    """Displace every pixel by Gaussian noise smoothed with a Gaussian of `sigma` (kernel
    `6 int(sigma) | 1`) and scaled by `alpha`, then resample (Keras 3's recipe; the two
    displacement fields are drawn independently, where Keras 3.15 on TensorFlow draws the same
    field twice)."""
    if interpolation not in AFFINE_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{AFFINE_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if fill_mode not in FILL_MODES:
        raise ValueError("Invalid value for argument `fill_mode`. Expected of one "
                         f"{FILL_MODES}. Received: fill_mode={fill_mode}")
    t, restore = _as_channels_last_batch(as_float(images), data_format)
    n, height, width, channels = t.shape
    rng = rng_for(seed)
    size = 6 * int(sigma) | 1
    fields = rng.standard_normal((2, n, height, width, 1)).astype(t.dtype) * \
        np.asarray(sigma, t.dtype)
    dy, dx = (gaussian_blur(f, (size, size), (sigma, sigma), "channels_last").data[..., 0]
              for f in fields)
    rows, cols = np.meshgrid(np.arange(height, dtype=t.dtype), np.arange(width, dtype=t.dtype),
                             indexing="ij")
    grid_shape = (n, height, width, channels)
    coordinates = np.stack([
        np.broadcast_to(np.arange(n, dtype=t.dtype)[:, None, None, None], grid_shape),
        np.broadcast_to((rows + alpha * dy)[..., None], grid_shape),
        np.broadcast_to((cols + alpha * dx)[..., None], grid_shape),
        np.broadcast_to(np.arange(channels, dtype=t.dtype), grid_shape)])
    order = AFFINE_INTERPOLATIONS.index(interpolation)
    return restore(map_coordinates(t, coordinates, order, fill_mode, fill_value))


SCALE_AND_TRANSLATE_METHODS = ("linear", "bilinear", "trilinear", "triangle", "cubic",
                               "bicubic", "tricubic", "lanczos3", "lanczos5")


def _triangle(x):
    return np.maximum(0.0, 1 - np.abs(x))


def _keys_cubic(x):
    """Keys' cubic convolution kernel (a = -0.5) of |x|."""
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))


def _lanczos(radius):
    def kernel(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            value = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi * x) ** 2
        return np.where(x > radius, 0.0, np.where(x > 1e-3, value, 1.0))
    return kernel


_RESAMPLING_KERNELS = {"linear": _triangle, "cubic": _keys_cubic, "lanczos3": _lanczos(3.0),
                       "lanczos5": _lanczos(5.0)}


def _resampling_matrix(in_size, out_size, scale, translation, kernel, antialias):
    """(in_size, out_size) weights: output sample j reads input i with weight
    kernel(|i - s_j| / k), normalised per output, `s_j = (j + 0.5 - translation) / scale - 0.5`,
    `k = max(1 / scale, 1)` when antialiasing; samples outside the input get 0."""
    stretch = max(1 / scale, 1.0) if antialias else 1.0
    samples = (np.arange(out_size) + 0.5 - translation) / scale - 0.5
    weights = kernel(np.abs(samples[None, :] - np.arange(in_size)[:, None]) / stretch)
    totals = weights.sum(axis=0, keepdims=True)
    usable = np.abs(totals) > 1000.0 * float(np.finfo(np.float32).eps)
    weights = np.where(usable, weights / np.where(totals != 0, totals, 1), 0.0)
    inside = (samples >= -0.5) & (samples <= in_size - 0.5)
    return np.where(inside[None, :], weights, 0.0)


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True):
    """Resample the `spatial_dims` of `images` to `output_shape`, output position
    `(x + 0.5) * scale + translation - 0.5` reading input position x (jax.image's
    scale_and_translate)."""
    if method not in SCALE_AND_TRANSLATE_METHODS:
        raise ValueError("Invalid value for argument `method`. Expected of one "
                         f"{SCALE_AND_TRANSLATE_METHODS}. Received: method={method}")
    family = "linear" if method in ("linear", "bilinear", "trilinear", "triangle") else \
        "cubic" if method in ("cubic", "bicubic", "tricubic") else method
    t = tensor_of(images)
    integer_input = t.dtype.kind != "f"
    out = as_float(t)
    scale = np.asarray(tensor_of(scale).data, np.float64).reshape(-1)
    translation = np.asarray(tensor_of(translation).data, np.float64).reshape(-1)
    for i, axis in enumerate(spatial_dims):
        axis %= t.ndim
        weights = _resampling_matrix(t.shape[axis], int(output_shape[axis]), scale[i],
                                     translation[i], _RESAMPLING_KERNELS[family], antialias)
        moved = _m.tensordot(out, weights.astype(out.dtype), ([axis], [0]))
        order = list(range(moved.ndim - 1))
        order.insert(axis, moved.ndim - 1)
        out = _m.transpose(moved, order)
    if integer_input:
        low, high = t.data.min(), t.data.max()
        return Tensor(np.clip(np.round(out.data), low, high).astype(t.dtype))
    return out
