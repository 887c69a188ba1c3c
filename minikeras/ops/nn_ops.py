"""The Keras 3 `keras.ops.nn` names, with Keras 3's signatures and defaults.

Built on the fused ops of `nn.py` and `conv.py` and the ops of `math.py`; all differentiable
except `one_hot`, `multi_hot` and `psnr`'s integer paths. Keras 3 differs from Keras 2 in a few
defaults kept here: `gelu(approximate=True)`, `hard_sigmoid = relu6(x + 3) / 6`,
`leaky_relu(negative_slope=0.2)`.
"""
import numpy as np

from ..core import config
from ..core.tensor import Tensor, record
# By name from the module: the package attribute `ops.conv` is Keras 3's function.
from .conv import avg_pool as _avg_pool, conv as _conv_kernel, conv_transpose as _conv_transpose
from .conv import depthwise_conv as _depthwise_conv, max_pool as _max_pool
from . import math as _m
from . import nn as _nn
from .numpy_ops import as_float, data_of, rsqrt, tensor_of


def _scalar(value, t):
    return np.asarray(value, t.dtype)


# ---------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------
def relu(x):
    return _nn.relu(as_float(x))


def relu6(x):
    return _nn.relu(as_float(x), max_value=6.0)


def sigmoid(x):
    return _m.sigmoid(as_float(x))


def softplus(x):
    return _m.softplus(as_float(x))


def softsign(x):
    return _nn.softsign(as_float(x))


def silu(x):
    return _nn.silu(as_float(x))


swish = silu


def log_sigmoid(x):
    t = as_float(x)
    return _m.negative(_m.softplus(_m.negative(t)))


def leaky_relu(x, negative_slope=0.2):
    return _nn.leaky_relu(as_float(x), negative_slope)


def hard_sigmoid(x):
    """Keras 3's `relu6(x + 3) / 6` (Keras 2's slope was 0.2), computed so: its rounding, and
    relu6's slope 0 at x = +-3 (a clip's gradient would pass there)."""
    t = as_float(x)
    return _m.divide(_nn.relu(_m.add(t, _scalar(3, t)), max_value=6.0), _scalar(6, t))


def hard_silu(x):
    t = as_float(x)
    return _m.multiply(t, hard_sigmoid(t))


hard_swish = hard_silu


def elu(x, alpha=1.0):
    return _nn.elu(as_float(x), alpha)


def selu(x):
    return _nn.selu(as_float(x))


def gelu(x, approximate=True):
    """Gaussian error linear unit: the tanh approximation by default (Keras 3), erf if not."""
    t = as_float(x)
    half = _m.multiply(_scalar(0.5, t), t)
    if approximate:
        cube = _m.multiply(_scalar(np.float32(0.044715), t), _m.power(t, _scalar(3, t)))
        inner = _m.multiply(_scalar(np.sqrt(2 / np.pi), t), _m.add(t, cube))
        return _m.multiply(half, _m.add(_m.tanh(inner), _scalar(1, t)))
    # tf.nn.gelu: 0.5 * x * erfc(-x * cast(0.7071067811865476)); the cast of a Python float
    # goes through float32, and erfc keeps the negative tail's precision that 1 + erf loses.
    root_half = _scalar(np.float32(0.7071067811865476), t)
    return _m.multiply(half, _m.erfc(_m.multiply(_m.negative(t), root_half)))


def celu(x, alpha=1.0):
    t = as_float(x)
    a = _scalar(alpha, t)
    negative = _m.minimum(t, _scalar(0, t))
    return _m.add(_m.maximum(t, _scalar(0, t)), _m.multiply(a, _m.expm1(_m.divide(negative, a))))


def glu(x, axis=-1):
    t = as_float(x)
    if t.shape[axis] % 2:
        raise ValueError("axis size must be divisible by 2. "
                         f"Received: x.shape={t.shape} with axis={axis}")
    first, second = _m.split(t, 2, axis=axis)
    return _m.multiply(first, _m.sigmoid(second))


def hard_tanh(x):
    t = as_float(x)
    return _m.clip(t, _scalar(-1, t), _scalar(1, t))


def hard_shrink(x, threshold=0.5):
    t = as_float(x)
    return _m.where(np.abs(t.data) > threshold, t, _scalar(0, t))


def soft_shrink(x, threshold=0.5):
    t = as_float(x)
    limit = _scalar(threshold, t)
    shifted = _m.where(t.data > limit, _m.subtract(t, limit), _m.add(t, limit))
    return _m.where(np.abs(t.data) > limit, shifted, _scalar(0, t))


def tanh_shrink(x):
    t = as_float(x)
    return _m.subtract(t, _m.tanh(t))


def threshold(x, threshold, default_value):
    t = as_float(x)
    return _m.where(t.data > threshold, t, _scalar(default_value, t))


def sparse_plus(x):
    t = as_float(x)
    middle = _m.multiply(_scalar(0.25, t), _m.square(_m.add(t, _scalar(1, t))))
    return _m.where(t.data <= -1, _scalar(0, t), _m.where(t.data < 1, middle, t))


def sparse_sigmoid(x):
    t = as_float(x)
    middle = _m.multiply(_scalar(0.5, t), _m.add(t, _scalar(1, t)))
    return _m.where(t.data <= -1, _scalar(0, t),
                    _m.where(t.data >= 1, _scalar(1, t), middle))


def squareplus(x, b=4):
    t = as_float(x)
    root = _m.sqrt(_m.add(_m.square(t), _scalar(b, t)))
    return _m.divide(_m.add(t, root), _scalar(2, t))


def softmax(x, axis=-1):
    t = as_float(x)
    return _nn.softmax(t, axis=tuple(axis) if isinstance(axis, list) else axis)


def log_softmax(x, axis=-1):
    t = as_float(x)
    return _nn.log_softmax(t, axis=tuple(axis) if isinstance(axis, list) else axis)


def sparsemax(x, axis=-1):
    """Euclidean projection onto the simplex along `axis`; the gradient is the output gradient
    minus its mean over the support, on the support."""
    t = as_float(x)
    xd = t.data
    ordered = -np.sort(-xd, axis=axis)
    ranks = np.arange(1, xd.shape[axis] + 1, dtype=xd.dtype)
    shape = [1] * xd.ndim
    shape[axis] = -1
    ranks = ranks.reshape(shape)
    cumulative = np.cumsum(ordered, axis=axis)
    in_support = 1 + ranks * ordered > cumulative
    k = np.sum(in_support, axis=axis, keepdims=True)
    tau = (np.take_along_axis(cumulative, k - 1, axis=axis) - 1) / k.astype(xd.dtype)
    out = np.maximum(xd - tau, 0).astype(xd.dtype)
    support = out > 0

    def backward(g, needs):
        count = np.maximum(np.sum(support, axis=axis, keepdims=True), 1)
        mean_on_support = np.sum(g * support, axis=axis, keepdims=True) / count
        return ((g - mean_on_support) * support,)
    return record(out, (t,), backward)


# ---------------------------------------------------------------------------------------
# losses (elementwise / per sample, as Keras 3's backend ops)
# ---------------------------------------------------------------------------------------
def _check_same_shape(target, output):
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError("Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={target.shape}, output.shape={output.shape}")


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    target, output = as_float(target), as_float(output)
    _check_same_shape(target, output)
    if len(output.shape) < 1:
        raise ValueError("Argument `output` must be at least rank 1. "
                         f"Received: output.shape={output.shape}")
    if from_logits:
        return _nn.softmax_cross_entropy(target, output, axis=axis)
    eps = _scalar(config.epsilon(), output)
    probs = _m.divide(output, _m.sum(output, axis=axis, keepdims=True))
    probs = _m.clip(probs, eps, _scalar(1, output) - eps)
    return _m.negative(_m.sum(_m.multiply(target, _m.log(probs)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = as_float(output)
    if axis != -1 and axis != output.ndim - 1:
        raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
    labels = data_of(target)
    if labels.ndim == output.ndim and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if output.ndim < 1:
        raise ValueError("Argument `output` must be at least rank 1. "
                         f"Received: output.shape={output.shape}")
    if labels.shape != output.shape[:-1]:
        raise ValueError("Arguments `target` and `output` must have the same shape up until "
                         f"the last dimension: target.shape={labels.shape}, "
                         f"output.shape={output.shape}")
    if not from_logits:
        eps = _scalar(config.epsilon(), output)
        output = _m.log(_m.clip(output, eps, _scalar(1, output) - eps))
    return _nn.sparse_softmax_cross_entropy(Tensor(labels.astype(np.int64)), output)


def binary_crossentropy(target, output, from_logits=False):
    target, output = as_float(target), as_float(output)
    _check_same_shape(target, output)
    if from_logits:
        return _nn.sigmoid_cross_entropy(target, output)
    eps = _scalar(config.epsilon(), output)
    one = _scalar(1, output)
    output = _m.clip(output, eps, one - eps)
    positive = _m.multiply(target, _m.log(output))
    negative = _m.multiply(_m.subtract(one, target), _m.log(_m.subtract(one, output)))
    return _m.negative(_m.add(positive, negative))


# ---------------------------------------------------------------------------------------
# encodings and statistics
# ---------------------------------------------------------------------------------------
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Ones at the given class indices; indices outside `[0, num_classes)` give all zeros."""
    if sparse:
        raise ValueError("Unsupported value `sparse=True`: minikeras has no sparse tensors.")
    indices = data_of(x).astype(np.int64)
    classes = np.arange(num_classes).reshape((1,) * indices.ndim + (num_classes,))
    out = (indices[..., None] == classes).astype(config.floatx() if dtype is None else dtype)
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return Tensor(out)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Ones at every class index present in each sample (the last axis of a batch)."""
    if sparse:
        raise ValueError("Unsupported value `sparse=True`: minikeras has no sparse tensors.")
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("Argument `num_classes` must be specified.")
    indices = data_of(inputs)
    batched = indices.ndim > 1
    hot = one_hot(indices if batched else indices[None], num_classes, dtype=dtype).data
    out = np.max(hot, axis=-2)
    if not batched:
        out = out[0]
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return Tensor(out)


def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) over `axes`, the biased variance (as `tf.nn.moments`)."""
    t = as_float(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    mean_kept = _m.mean(t, axis=axes, keepdims=True)
    variance = _m.mean(_m.square(_m.subtract(t, _m.stop_gradient(mean_kept))), axis=axes,
                       keepdims=keepdims)
    # The variance's gradient through the mean is zero (sum of centred values), so
    # stopping it changes no gradient and saves a pass.
    mean_out = mean_kept if keepdims else _m.squeeze(mean_kept, axis=axes)
    return mean_out, variance


def normalize(x, axis=-1, order=2, epsilon=None):
    """`x / norm(x, order)` along `axis`, with the norm floored at `epsilon`."""
    if not isinstance(order, int) or order < 1:
        raise ValueError("Argument `order` must be an int >= 1. "
                         f"Received: order={order}")
    t = as_float(x)
    eps = config.epsilon() if epsilon is None else epsilon
    if order == 2:
        inverse = rsqrt(_m.sum(_m.square(t), axis=axis, keepdims=True))
        return _m.multiply(t, _m.minimum(inverse, _scalar(1 / eps, t)))
    norms = _m.power(_m.sum(_m.power(_m.abs(t), _scalar(order, t)), axis=axis, keepdims=True),
                     _scalar(1 / order, t))
    return _m.divide(t, _m.maximum(norms, _scalar(eps, t)))


def _along(value, axis, ndim):
    """A per-channel vector shaped to broadcast against an `ndim` input along `axis`."""
    t = tensor_of(value)
    if t.ndim != 1:
        return t
    shape = [1] * ndim
    shape[axis] = -1
    return _m.reshape(t, shape)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    t = as_float(x)
    axis %= t.ndim
    inverse = rsqrt(_m.add(_along(variance, axis, t.ndim), _scalar(epsilon, t)))
    if scale is not None:
        inverse = _m.multiply(inverse, _along(scale, axis, t.ndim))
    out = _m.multiply(_m.subtract(t, _along(mean, axis, t.ndim)), inverse)
    return out if offset is None else _m.add(out, _along(offset, axis, t.ndim))


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    if kwargs.pop("rms_scaling", False):
        return rms_normalization(x, gamma, axis, epsilon)
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    t = as_float(x)
    eps = config.epsilon() if epsilon is None else epsilon
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    mean, variance = moments(t, axes, keepdims=True)
    out = _m.multiply(_m.subtract(t, mean), rsqrt(_m.add(variance, _scalar(eps, t))))
    if gamma is not None:
        out = _m.multiply(out, gamma)
    return out if beta is None else _m.add(out, beta)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    t = as_float(x)
    eps = config.epsilon() if epsilon is None else epsilon
    mean_square = _m.mean(_m.square(t), axis=axis, keepdims=True)
    out = _m.multiply(t, rsqrt(_m.add(mean_square, _scalar(eps, t))))
    return out if scale is None else _m.multiply(out, scale)


def psnr(x1, x2, max_val):
    a, b = as_float(x1), as_float(x2)
    if a.shape != b.shape:
        raise ValueError("Input shapes must be the same. "
                         f"Received: x1.shape={a.shape}, x2.shape={b.shape}")
    mse = _m.mean(_m.square(_m.subtract(a, b)))
    ratio = _m.divide(_scalar(float(max_val) ** 2, a), mse)
    return _m.multiply(_scalar(10 / np.log(10), a), _m.log(ratio))


# ---------------------------------------------------------------------------------------
# convolution and pooling (Keras 3 argument forms over the kernels of conv.py)
# ---------------------------------------------------------------------------------------
def _data_format(data_format):
    return config.normalize_data_format(data_format)


def _tuple(value, rank, name):
    values = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != rank:
        raise ValueError(f"The `{name}` argument must be a tuple of {rank} integers. "
                         f"Received: {name}={value}")
    return tuple(int(v) for v in values)


def _padding(padding):
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError("`padding` must be either 'valid' or 'same'. "
                         f"Received: padding={padding}")
    return padding


def _spatial_rank(inputs, name="inputs"):
    rank = inputs.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"Inputs to conv operation should have ndim=3, 4, or 5, corresponding "
                         f"to 1D, 2D and 3D inputs. Received input shape: {inputs.shape}.")
    return rank


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    x, k = as_float(inputs), tensor_of(kernel)
    rank = _spatial_rank(x)
    data_format = _data_format(data_format)
    channels = x.shape[-1] if data_format == "channels_last" else x.shape[1]
    if channels % k.shape[-2]:
        raise ValueError("The number of input channels must be evenly divisible by "
                         f"kernel.shape[-2]. Received: inputs.shape={x.shape}, "
                         f"kernel.shape={k.shape}")
    return _conv_kernel(x, k, _tuple(strides, rank, "strides"), _padding(padding),
                        _tuple(dilation_rate, rank, "dilation_rate"),
                        groups=channels // k.shape[-2], data_format=data_format)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    x, k = as_float(inputs), tensor_of(kernel)
    rank = _spatial_rank(x)
    return _depthwise_conv(x, k, _tuple(strides, rank, "strides"), _padding(padding),
                           _tuple(dilation_rate, rank, "dilation_rate"),
                           data_format=_data_format(data_format))


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def _transposed_length(size, k, stride, padding, output_padding, dilation):
    effective = (k - 1) * dilation + 1
    if output_padding is None:
        return size * stride + (max(effective - stride, 0) if padding == "valid" else 0)
    pad = effective // 2 if padding == "same" else 0
    return (size - 1) * stride + effective - 2 * pad + output_padding


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    x, k = as_float(inputs), tensor_of(kernel)
    rank = _spatial_rank(x)
    data_format = _data_format(data_format)
    strides = _tuple(strides, rank, "strides")
    dilation = _tuple(dilation_rate, rank, "dilation_rate")
    padding = _padding(padding)
    extra = (None,) * rank if output_padding is None else \
        _tuple(output_padding, rank, "output_padding")
    spatial = x.shape[1:-1] if data_format == "channels_last" else x.shape[2:]
    output_spatial = tuple(_transposed_length(n, kk, s, padding, p, d) for n, kk, s, p, d in
                           zip(spatial, k.shape[:-2], strides, extra, dilation))
    return _conv_transpose(x, k, strides, padding, dilation, output_spatial,
                           data_format=data_format)


def _pool_arguments(inputs, pool_size, strides, padding):
    x = as_float(inputs)
    rank = _spatial_rank(x)
    pool_size = _tuple(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else _tuple(strides, rank, "strides")
    return x, pool_size, strides, _padding(padding)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    x, pool_size, strides, padding = _pool_arguments(inputs, pool_size, strides, padding)
    return _max_pool(x, pool_size, strides, padding, _data_format(data_format))


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    x, pool_size, strides, padding = _pool_arguments(inputs, pool_size, strides, padding)
    return _avg_pool(x, pool_size, strides, padding, _data_format(data_format))


def depth_to_space(x, block_size, data_format="channels_last"):
    t = tensor_of(x)
    if t.ndim != 4:
        raise ValueError(f"Input tensor must have rank 4. Received: x.shape={t.shape}")
    if data_format == "channels_first":
        t = _m.transpose(t, (0, 2, 3, 1))
    n, h, w, c = t.shape
    b = int(block_size)
    out = _m.reshape(t, (n, h, w, b, b, c // (b * b)))
    out = _m.transpose(out, (0, 1, 3, 2, 4, 5))
    out = _m.reshape(out, (n, h * b, w * b, c // (b * b)))
    return _m.transpose(out, (0, 3, 1, 2)) if data_format == "channels_first" else out


def space_to_depth(x, block_size, data_format="channels_last"):
    t = tensor_of(x)
    if t.ndim != 4:
        raise ValueError(f"Input tensor must have rank 4. Received: x.shape={t.shape}")
    if data_format == "channels_first":
        t = _m.transpose(t, (0, 2, 3, 1))
    n, h, w, c = t.shape
    b = int(block_size)
    out = _m.reshape(t, (n, h // b, b, w // b, b, c))
    out = _m.transpose(out, (0, 1, 3, 2, 4, 5))
    out = _m.reshape(out, (n, h // b, w // b, b * b * c))
    return _m.transpose(out, (0, 3, 1, 2)) if data_format == "channels_first" else out


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """`softmax(q k^T * scale + bias, masked) v` over inputs shaped (batch, seq, heads, dim)."""
    if flash_attention:
        raise ValueError("Flash attention is not supported by minikeras (NumPy backend). "
                         f"Received: flash_attention={flash_attention}")
    q, k, v = as_float(query), as_float(key), as_float(value)
    if q.ndim != 4:
        raise ValueError("`dot_product_attention` only supports 4D inputs. "
                         f"Received: query.shape={q.shape}, key.shape={k.shape}, "
                         f"value.shape={v.shape}.")
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    logits = _m.multiply(_m.matmul(_m.transpose(q, (0, 2, 1, 3)), _m.transpose(k, (0, 2, 3, 1))),
                         _scalar(scale, q))                     # (batch, heads, tq, tk)
    if attn_logits_soft_cap is not None:
        cap = _scalar(attn_logits_soft_cap, q)
        logits = _m.multiply(_m.tanh(_m.divide(logits, cap)), cap)
    if bias is not None:
        logits = _m.add(logits, bias)
    keep = None if mask is None else np.asarray(data_of(mask), bool)
    if is_causal:
        causal = np.tri(q.shape[1], k.shape[1], dtype=bool)
        keep = causal if keep is None else keep & causal
    if keep is not None:
        logits = _m.where(keep, logits, _scalar(np.finfo(q.dtype).min * 0.7, q))
    weights = _nn.softmax(logits, axis=-1)
    out = _m.matmul(weights, _m.transpose(v, (0, 2, 1, 3)))     # (batch, heads, tq, dim)
    return _m.transpose(out, (0, 2, 1, 3))


def _adaptive_pool(inputs, output_size, data_format, reduce):
    """Output cell i along an axis of n inputs pools inputs floor(i n / out) to
    ceil((i + 1) n / out) (windows may overlap)."""
    x = as_float(inputs)
    rank = _spatial_rank(x)
    sizes = _tuple(output_size, rank, "output_size")
    channels_last = _data_format(data_format) == "channels_last"
    first_spatial = 1 if channels_last else 2
    out = x
    for offset, out_size in enumerate(sizes):
        axis = first_spatial + offset
        n = out.shape[axis]
        cells = []
        for i in range(out_size):
            start, stop = (i * n) // out_size, -((-(i + 1) * n) // out_size)
            index = [slice(None)] * out.ndim
            index[axis] = slice(start, stop)
            cells.append(reduce(_m.getitem(out, tuple(index)), axis=axis, keepdims=True))
        out = _m.concatenate(cells, axis=axis)
    return out


def adaptive_average_pool(inputs, output_size, data_format=None):
    return _adaptive_pool(inputs, output_size, data_format, _m.mean)


def adaptive_max_pool(inputs, output_size, data_format=None):
    return _adaptive_pool(inputs, output_size, data_format, _m.max)


def _pair(value):
    return (int(value), int(value)) if isinstance(value, (int, np.integer)) else \
        tuple(int(v) for v in value)


def _patch_positions(padded_size, kernel_size, dilation, stride):
    """Flat positions in the padded (H, W) plane of every (kh, kw, patch) tap, and the count of
    patches along each axis."""
    counts = [(n - d * (k - 1) - 1) // s + 1 for n, k, d, s in
              zip(padded_size, kernel_size, dilation, stride)]
    rows = (np.arange(kernel_size[0])[:, None] * dilation[0] +
            np.arange(counts[0])[None] * stride[0])                  # (kh, oh)
    cols = (np.arange(kernel_size[1])[:, None] * dilation[1] +
            np.arange(counts[1])[None] * stride[1])                  # (kw, ow)
    flat = rows[:, None, :, None] * padded_size[1] + cols[None, :, None, :]  # (kh, kw, oh, ow)
    return flat.reshape(-1), counts


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of a channels-first `(N, C, H, W)` batch as `(N, C * kh * kw, L)`
    (im2col, channel-major, as `torch.nn.functional.unfold`)."""
    t = tensor_of(x)
    if t.ndim != 4:
        raise ValueError(f"Input must be a 4D tensor. Received: input.shape={t.shape}")
    kernel_size, dilation, padding, stride = (_pair(v) for v in (kernel_size, dilation,
                                                                 padding, stride))
    n, c, h, w = t.shape
    padded = _m.pad(t, [(0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2])
    positions, counts = _patch_positions(padded.shape[2:], kernel_size, dilation, stride)
    taps = _m.gather(_m.reshape(padded, (n, c, -1)), positions, axis=2)
    return _m.reshape(taps, (n, c * kernel_size[0] * kernel_size[1], counts[0] * counts[1]))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of `unfold`: blocks `(N, C * kh * kw, L)` summed back into
    `(N, C, *output_size)` (overlaps add up)."""
    t = as_float(x)
    if t.ndim != 3:
        raise ValueError(f"Input must be a 3D tensor. Received: input.shape={t.shape}")
    output_size, kernel_size, dilation, padding, stride = (
        _pair(v) for v in (output_size, kernel_size, dilation, padding, stride))
    n = t.shape[0]
    c = t.shape[1] // (kernel_size[0] * kernel_size[1])
    padded_size = (output_size[0] + 2 * padding[0], output_size[1] + 2 * padding[1])
    positions, counts = _patch_positions(padded_size, kernel_size, dilation, stride)
    if counts[0] * counts[1] != t.shape[2]:
        raise ValueError(f"Expected {counts[0] * counts[1]} blocks for output_size="
                         f"{output_size}, got {t.shape[2]}. Received: x.shape={t.shape}")
    values = t.data.reshape(n, c, -1)
    plane = np.zeros((n, c, padded_size[0] * padded_size[1]), t.dtype)
    np.add.at(plane, (slice(None), slice(None), positions), values)
    plane = plane.reshape(n, c, *padded_size)
    crop = (slice(None), slice(None), slice(padding[0], padding[0] + output_size[0]),
            slice(padding[1], padding[1] + output_size[1]))

    def backward(g, needs):
        g_plane = np.zeros((n, c) + padded_size, g.dtype)
        g_plane[crop] = g
        return (g_plane.reshape(n, c, -1)[:, :, positions].reshape(t.shape),)
    return record(np.ascontiguousarray(plane[crop]), (t,), backward)
