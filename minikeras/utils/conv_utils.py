"""`keras.utils.conv_utils`: shape arithmetic and argument checks of the convolution layers."""
import numpy as np

from ..core.config import normalize_data_format  # noqa: F401
from ..layers.conv_utils import (  # noqa: F401
    normalize_tuple, normalize_padding, conv_output_length, deconv_output_length,
)


def conv_input_length(output_length, filter_size, padding, stride):
    """The input length a convolution needs to give `output_length` (None stays None)."""
    if output_length is None:
        return None
    if padding not in ("same", "valid", "full"):
        raise ValueError(f"Unsupported padding: {padding}")
    pad = {"same": filter_size // 2, "valid": 0, "full": filter_size - 1}[padding]
    return (output_length - 1) * stride - 2 * pad + filter_size


def convert_kernel(kernel):
    """A convolution kernel flipped along its spatial axes (Theano <-> TensorFlow layout):
    `kernel[::-1, ::-1, ..., :, :]`."""
    kernel = np.asarray(kernel)
    if not 3 <= kernel.ndim <= 5:
        raise ValueError(f"Invalid kernel shape: {kernel.shape}")
    flip = (slice(None, None, -1),) * (kernel.ndim - 2) + (slice(None), slice(None))
    return np.copy(kernel[flip])
