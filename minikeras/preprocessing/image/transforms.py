"""Single-image transforms of Keras 2's `keras.preprocessing.image` (NumPy arrays, rank 3).

The geometric transforms compose one 3x3 matrix (rotation, then shift, shear, zoom, each
right-multiplied, then moved about the image centre) and sample every channel with SciPy's
`ndimage.affine_transform`, as keras-preprocessing does, so the pixels match tf.keras. SciPy
and Pillow are optional (`minikeras[image]`) and imported when a transform needs them.
"""
import numpy as np

from ...utils import image_utils


def _ndimage():
    try:
        from scipy import ndimage
    except ImportError as error:
        raise ImportError("Image transformations require SciPy. Install SciPy.") from error
    return ndimage


def _image_enhance():
    try:
        from PIL import ImageEnhance
    except ImportError as error:
        raise ImportError("Using brightness shifts requires PIL. Install PIL or Pillow."
                          ) from error
    return ImageEnhance


def flip_axis(x, axis):
    """`x` reversed along `axis`."""
    return np.flip(np.asarray(x), axis)


def transform_matrix_offset_center(matrix, x, y):
    """`matrix` (3x3, about the origin) made to act about the centre of an x-by-y image."""
    o_x = float(x) / 2 - 0.5
    o_y = float(y) / 2 - 0.5
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return np.dot(np.dot(offset, matrix), reset)


def _affine_factors(theta, tx, ty, shear, zx, zy):
    """The non-identity factors, in the order keras-preprocessing multiplies them."""
    factors = []
    if theta != 0:
        angle = np.deg2rad(theta)
        factors.append(np.array([[np.cos(angle), -np.sin(angle), 0],
                                 [np.sin(angle), np.cos(angle), 0],
                                 [0, 0, 1]]))
    if tx != 0 or ty != 0:
        factors.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        angle = np.deg2rad(shear)
        factors.append(np.array([[1, -np.sin(angle), 0], [0, np.cos(angle), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        factors.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    return factors


def _check_axes(x, row_axis, col_axis, channel_axis):
    axes = [row_axis, col_axis, channel_axis]
    if np.unique(axes).size != 3:
        raise ValueError("'row_axis', 'col_axis', and 'channel_axis' must be distinct")
    if set(axes) != {0, 1, 2}:
        raise ValueError(f"Invalid axis' indices: {set(axes) - {0, 1, 2}}")
    if x.ndim != 3:
        raise ValueError("Input arrays must be multi-channel 2D images.")
    if channel_axis not in (0, 2):
        raise ValueError("Channels are allowed and the first and last dimensions.")


def sampling_matrix(theta, tx, ty, shear, zx, zy, rows, cols, row_axis=0, col_axis=1):
    """The 3x3 map from output to input array coordinates (row, col when `row_axis` comes
    first) of `apply_affine_transform` on a rows-by-cols image; None for no transform."""
    factors = _affine_factors(theta, tx, ty, shear, zx, zy)
    if not factors:
        return None
    matrix = factors[0]
    for factor in factors[1:]:
        matrix = np.dot(matrix, factor)
    matrix = transform_matrix_offset_center(matrix, rows, cols)
    if col_axis > row_axis:
        # The matrix is written for (x, y) coordinates; arrays index (row, col): swap both.
        matrix[:, [0, 1]] = matrix[:, [1, 0]]
        matrix[[0, 1]] = matrix[[1, 0]]
    return matrix


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1, col_axis=2,
                           channel_axis=0, fill_mode="nearest", cval=0.0, order=1):
    """Rotation `theta` (degrees), shift (`tx` along rows, `ty` along columns, in pixels),
    `shear` (degrees) and zoom (`zx`, `zy`) of one image, filled per `fill_mode`
    ('constant' with `cval`, 'nearest', 'reflect', 'wrap') with spline order `order`."""
    ndimage = _ndimage()
    _check_axes(x, row_axis, col_axis, channel_axis)
    matrix = sampling_matrix(theta, tx, ty, shear, zx, zy, x.shape[row_axis], x.shape[col_axis],
                             row_axis, col_axis)
    if matrix is None:
        return x
    channels = np.moveaxis(x, channel_axis, 0)
    warped = [ndimage.affine_transform(channel, matrix[:2, :2], matrix[:2, 2], order=order,
                                       mode=fill_mode, cval=cval)
              for channel in channels]
    return np.moveaxis(np.stack(warped, axis=0), 0, channel_axis)


def apply_channel_shift(x, intensity, channel_axis=0):
    """Adds `intensity` to every channel, clipped to the image's own min and max."""
    low, high = np.min(x), np.max(x)
    channels = np.moveaxis(x, channel_axis, 0)
    shifted = np.stack([np.clip(channel + intensity, low, high) for channel in channels])
    return np.moveaxis(shifted, 0, channel_axis)


def apply_brightness_shift(x, brightness, scale=True):
    """Pillow's `ImageEnhance.Brightness(brightness)` on the image as 8-bit pixels (channels
    last). With `scale`, or when the values leave [0, 255], min..max is mapped onto 0..255
    first; without `scale` such an image is mapped back afterwards."""
    image_enhance = _image_enhance()
    low, high = np.min(x), np.max(x)
    outside_8bit = (low < 0) or (high > 255)
    img = image_utils.array_to_img(x, scale=outside_8bit or scale)
    img = image_enhance.Brightness(img).enhance(brightness)
    out = image_utils.img_to_array(img)
    if not scale and outside_8bit:
        out = out / 255 * (high - low) + low
    return out


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                    cval=0.0, interpolation_order=1):
    """A rotation drawn uniformly in [-rg, rg] degrees."""
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                 cval=0.0, interpolation_order=1):
    """A shift drawn uniformly in [-hrg, hrg] x height (rows), then [-wrg, wrg] x width."""
    tx = np.random.uniform(-hrg, hrg) * x.shape[row_axis]
    ty = np.random.uniform(-wrg, wrg) * x.shape[col_axis]
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                 cval=0.0, interpolation_order=1):
    """A shear drawn uniformly in [-intensity, intensity] degrees."""
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                cval=0.0, interpolation_order=1):
    """Zooms `zx`, `zy` drawn together, uniformly in `zoom_range` (no draw when it is (1, 1))."""
    if len(zoom_range) != 2:
        raise ValueError("`zoom_range` should be a tuple or list of two floats. Received: "
                         f"{zoom_range}")
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_channel_shift(x, intensity_range, channel_axis=0):
    """A channel shift drawn uniformly in [-intensity_range, intensity_range]."""
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def random_brightness(x, brightness_range, scale=True):
    """A brightness factor drawn uniformly in `brightness_range`."""
    if len(brightness_range) != 2:
        raise ValueError("`brightness_range should be tuple or list of two floats. Received: "
                         f"{brightness_range}")
    factor = np.random.uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, factor, scale)
