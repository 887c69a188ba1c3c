"""float16 products as TensorFlow's CPU kernels compute them: float16 operands, float32
accumulation, the result rounded to float16 (checked against tf 2.21: equal bits for matmul
and conv2d). NumPy has no float16 BLAS (its float16 matmul loops in C, ~7x slower than float32
BLAS, and accumulates otherwise), so products of float16 arrays run in float32 and are rounded
once: `parallel.matmul` and `math._product` do so for matrices, `conv_in_float32` here for
convolutions."""
import numpy as np

from . import math as _math
from .nn import bias_add

HALF = np.dtype(np.float16)
_SINGLE = np.dtype(np.float32)


def conv_in_float32(conv, x, kernel, bias=None, activation=None, **options):
    """A float16 convolution: the float32 one on the float16 values (recorded casts, so the
    gradients are float16 products too), rounded; then the float16 bias and activation, each
    rounded as TensorFlow's separate float16 ops do."""
    out = _math.cast(conv(_math.cast(x, _SINGLE), _math.cast(kernel, _SINGLE), **options), HALF)
    if bias is not None:
        channels_last = options.get("data_format", "channels_last") == "channels_last"
        out = bias_add(out, bias, axis=-1 if channels_last else 1)
    if activation == "relu":
        out = _math.maximum(out, np.zeros((), HALF))
    elif activation == "tanh":
        out = _math.tanh(out)
    return out
