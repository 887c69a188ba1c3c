"""Image files and arrays: `load_img`, `img_to_array`, `array_to_img`, `save_img`.

Files go through Pillow, as in Keras; Pillow is an optional dependency (`minikeras[image]`),
imported only when one of these functions runs.
"""
import io
import pathlib
import warnings

import numpy as np

from ..core import config
from ..ops.image import MATRIX_INTERPOLATIONS, resize

# Keras' names for Pillow's resampling filters (`load_img(interpolation=...)`).
PIL_INTERPOLATION_NAMES = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def require_pil(what):
    """`PIL.Image`, or Keras' ImportError naming the function that needed it."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(f"Could not import PIL.Image. The use of `{what}` requires PIL."
                          ) from error
    return Image


def pil_resampling(interpolation):
    """The Pillow filter for a Keras interpolation name."""
    image_module = require_pil("load_img")
    if interpolation not in PIL_INTERPOLATION_NAMES:
        raise ValueError(
            f"Invalid interpolation method {interpolation} specified. Supported methods are "
            f"{', '.join(PIL_INTERPOLATION_NAMES)}")
    resampling = getattr(image_module, "Resampling", image_module)
    return getattr(resampling, interpolation.upper())


def _data_format_and_dtype(data_format, dtype):
    return (data_format or config.image_data_format()), (dtype or config.floatx())


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A rank-3 array as a PIL image (1 channel: 'L', or 'I' above 255; 3: 'RGB'; 4: 'RGBA').
    `scale` maps the array's min..max onto 0..255 first; values are then truncated to uint8."""
    data_format, dtype = _data_format_and_dtype(data_format, dtype)
    image_module = require_pil("array_to_img")
    x = np.asarray(x, dtype=dtype)
    if x.ndim != 3:
        raise ValueError("Expected image array to have rank 3 (single image). Got array with "
                         f"shape: {x.shape}")
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Invalid data_format: {data_format}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x /= peak
        x *= 255
    channels = x.shape[2]
    if channels == 4:
        return image_module.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return image_module.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:   # 32-bit signed integer grayscale
            return image_module.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_module.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image (or anything array-like) as a rank-3 array, channels where
    `data_format` puts them; grayscale images get a channel axis of size 1."""
    data_format, dtype = _data_format_and_dtype(data_format, dtype)
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Unknown data_format: {data_format}")
    x = np.asarray(img, dtype=dtype)
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[:, :, None]
    raise ValueError(f"Unsupported image shape: {x.shape}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Writes an image array to `path` (format from the extension unless `file_format`)."""
    data_format = data_format or config.image_data_format()
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format in ("jpg", "jpeg"):
        warnings.warn("The JPG format does not support RGBA images, converting to RGB.")
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def open_image(path):
    """The PIL image of a file path or `io.BytesIO`, as stored (no conversion)."""
    image_module = require_pil("load_img")
    if isinstance(path, io.BytesIO):
        return image_module.open(path)
    if isinstance(path, (pathlib.Path, bytes, str)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        with open(path, "rb") as handle:   # read fully: the file is closed at once
            return image_module.open(io.BytesIO(handle.read()))
    raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")


def _convert_color(img, color_mode):
    if color_mode == "grayscale":
        # 8-, 16- and 32-bit grayscale images are kept as they are
        return img if img.mode in ("L", "I;16", "I") else img.convert("L")
    if color_mode == "rgba":
        return img if img.mode == "RGBA" else img.convert("RGBA")
    if color_mode == "rgb":
        return img if img.mode == "RGB" else img.convert("RGB")
    raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')


def _centered_crop_box(size, target):
    """The largest box of the target's aspect ratio centred in an image of `size` (w, h)."""
    width, height = size
    target_width, target_height = target
    crop_height = min(height, (width * target_height) // target_width)
    crop_width = min(width, (height * target_width) // target_height)
    left = (width - crop_width) // 2
    top = (height - crop_height) // 2
    return [left, top, left + crop_width, top + crop_height]


def load_img(path, grayscale=False, color_mode="rgb", target_size=None,
             interpolation="nearest", keep_aspect_ratio=False):
    """Loads an image file as a PIL image, converted to `color_mode` and resized to
    `target_size` `(height, width)` with Pillow's `interpolation` filter (`keep_aspect_ratio`:
    crop the centre to the target's aspect ratio first)."""
    if grayscale:
        warnings.warn('grayscale is deprecated. Please use color_mode = "grayscale"')
        color_mode = "grayscale"
    img = _convert_color(open_image(path), color_mode)
    if target_size is None:
        return img
    width_height = (target_size[1], target_size[0])
    if img.size == width_height:
        return img
    resample = pil_resampling(interpolation)
    if keep_aspect_ratio:
        return img.resize(width_height, resample, box=_centered_crop_box(img.size, width_height))
    return img.resize(width_height, resample)


def resize_images(images, size, interpolation="bilinear"):
    """A NHWC batch resized as `tf.image.resize` does (half-pixel centres, no antialiasing):
    float32 (not clipped), the input dtype for 'nearest'."""
    if interpolation not in ("bilinear", "nearest") + MATRIX_INTERPOLATIONS:
        raise ValueError(f"Resize method is not implemented: {interpolation}")   # tf.image.resize
    images = np.asarray(images)
    if interpolation != "nearest":
        images = images.astype(np.float32)
    out = resize(images, size[0], size[1], interpolation)
    return np.asarray(getattr(out, "data", out))


def smart_resize(x, size, interpolation="bilinear"):
    """Resizes an image (h, w, c) or a batch (n, h, w, c) to `size` without distorting it:
    the largest centred crop with the target's aspect ratio, then `tf.image.resize`."""
    if len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers, but got: {size}.")
    img = np.asarray(x)
    if img.ndim not in (3, 4):
        raise ValueError("Expected an image array with shape `(height, width, channels)`, or "
                         "`(batch_size, height, width, channels)`, but got input with "
                         f"incorrect rank, of shape {img.shape}.")
    height, width = img.shape[-3], img.shape[-2]
    target_height, target_width = size
    crop_height = min(height, int(np.float32(width * target_height) / np.float32(target_width)))
    crop_width = min(width, int(np.float32(height * target_width) / np.float32(target_height)))
    top = int(np.float32(height - crop_height) / 2)
    left = int(np.float32(width - crop_width) / 2)
    crop = img[..., top:top + crop_height, left:left + crop_width, :]
    batch = crop if crop.ndim == 4 else crop[None]
    out = resize_images(batch, size, interpolation)
    return out if crop.ndim == 4 else out[0]
