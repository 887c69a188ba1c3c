"""float16 products as TensorFlow's CPU kernels compute them: float16 operands, float32
accumulation, the result rounded to float16 (checked against tf 2.21: equal bits for matmul
and conv2d). NumPy has no float16 BLAS (its float16 matmul loops in C, ~7x slower than float32
BLAS, and accumulates otherwise) and its float16 elementwise loops are several times slower
than float32 ones, so float16 work runs in float32 wherever that gives the float16 bits:
`parallel.matmul` and `math._product` for matrices, `conv_in_float32` and `pool_in_float32`
here for convolutions and pooling."""
import numpy as np

from ..core.tensor import as_array, record
from . import math as _math

HALF = np.dtype(np.float16)
_SINGLE = np.dtype(np.float32)


def conv_in_float32(conv, x, kernel, bias=None, activation=None, **options):
    """A float16 convolution: the float32 one on the float16 values (recorded casts, so the
    gradients are float16 products too), then the rounding, bias and activation of
    TensorFlow's separate float16 ops (`_round_bias_activation`)."""
    out = conv(_math.cast(x, _SINGLE), _math.cast(kernel, _SINGLE), **options)
    channel_axis = -1 if options.get("data_format", "channels_last") == "channels_last" else 1
    return _round_bias_activation(out, bias, activation, channel_axis)


def pool_in_float32(pool, x, *args, **options):
    """float16 pooling on the float32 values, rounded (a max is exact in any float type)."""
    return _math.cast(pool(_math.cast(x, _SINGLE), *args, **options), HALF)


def _round_bias_activation(out, bias, activation, channel_axis):
    """`activation(round16(round16(out) + bias))` from a float32 `out`, as one op in float32:
    the sum of two float16 values is exact in float32, so rounding it once gives TensorFlow's
    float16 BiasAdd; relu commutes with rounding; tanh is taken of the rounded sum."""
    values = as_array(out).astype(HALF).astype(_SINGLE)
    shape = [1] * values.ndim
    if bias is not None:
        shape[channel_axis] = -1
        values += as_array(bias).astype(_SINGLE).reshape(shape)
    if activation == "relu":
        np.maximum(values, 0, out=values)
    elif activation == "tanh":
        values = np.tanh(values.astype(HALF).astype(_SINGLE))
    result = values.astype(HALF)
    reduce_axes = tuple(i for i in range(values.ndim) if i != channel_axis % values.ndim)

    def backward(g, needs):
        g = g.astype(_SINGLE)
        if activation == "relu":
            g *= result > 0
        elif activation == "tanh":
            y = result.astype(_SINGLE)
            g = (g * (1 - y * y)).astype(HALF).astype(_SINGLE)
        gb = None
        if bias is not None and needs[1]:      # float32 accumulation, as BiasAddGrad
            gb = np.add.reduce(g, axis=reduce_axes).astype(as_array(bias).dtype)
        return (g if needs[0] else None), gb
    return record(result, (out, bias), backward)
