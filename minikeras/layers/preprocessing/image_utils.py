"""Helpers shared by the image preprocessing layers (NHWC images, batched or not)."""
import numpy as np

from ... import ops
from ...core.random import make_rng
from ...core.tensor import Tensor
from ...ops.image import resize

H_AXIS, W_AXIS = -3, -2


def to_float(inputs, dtype):
    """Cast inputs to the layer's float dtype (integer pixels become floats, as in tf.keras)."""
    if not isinstance(inputs, Tensor):
        inputs = Tensor(np.asarray(inputs))
    if inputs.dtype != dtype:
        return ops.cast(inputs, dtype)
    return inputs


def check_image_rank(inputs, layer):
    """Images only; `inputs` may be a shape (compute_output_shape: tf.keras runs `call` while
    a functional model is built, and fails there on other ranks)."""
    shape = tuple(inputs.shape) if hasattr(inputs, "shape") else tuple(inputs)
    if len(shape) not in (3, 4):
        raise ValueError(f"Layer {layer.name} expects a 3D (unbatched) or 4D (batched) image "
                         f"input in channels_last format. Received: inputs.shape={shape}")


def apply_batched(fn, inputs):
    """Run `fn` (which takes a 4D batch) on a 3D image by adding and removing a batch axis."""
    if inputs.ndim == 3:
        return ops.squeeze(fn(ops.expand_dims(inputs, 0)), 0)
    return fn(inputs)


def check_fill_mode_and_interpolation(fill_mode, interpolation):
    if fill_mode not in {"reflect", "wrap", "constant", "nearest"}:
        raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Only `reflect`, `wrap`, "
                                  "`constant` and `nearest` are supported.")
    if interpolation not in {"nearest", "bilinear"}:
        raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Only `nearest` and "
                                  "`bilinear` are supported.")


def bounds(factor):
    """`(lower, upper)` of a factor given as a number `f` (meaning `(-f, f)`) or a pair."""
    if isinstance(factor, (tuple, list)):
        return factor[0], factor[1]
    return -factor, factor


class RandomState:
    """A seeded layer draws from its own generator (same seed, same augmentations); an
    unseeded one from the global generator that `keras.utils.set_random_seed` resets."""

    def __init__(self, seed):
        self._rng = make_rng(seed) if seed is not None else None

    @property
    def rng(self):
        return self._rng if self._rng is not None else make_rng(None)


def resize_images(images, height, width, interpolation="bilinear"):
    """`tf.image.resize` (half-pixel centres, no antialiasing) of a 4D NHWC batch."""
    return resize(images, height, width, interpolation)


def smart_resize(images, height, width, interpolation="bilinear"):
    """Crop the largest centred window with the target aspect ratio, then resize it
    (`keras.utils.smart_resize`)."""
    in_height, in_width = images.shape[H_AXIS], images.shape[W_AXIS]
    crop_height = min(in_height, int(in_width * height / width))
    crop_width = min(in_width, int(in_height * width / height))
    top = int((in_height - crop_height) / 2)
    left = int((in_width - crop_width) / 2)
    cropped = ops.getitem(images, (slice(None), slice(top, top + crop_height),
                                   slice(left, left + crop_width)))
    return resize_images(cropped, height, width, interpolation)


def resized_shape(input_shape, height, width):
    shape = list(input_shape)
    shape[H_AXIS] = height
    shape[W_AXIS] = width
    return tuple(shape)
