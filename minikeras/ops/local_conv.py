"""Convolution with unshared weights (tf.keras' LocallyConnected1D/2D, `K.local_conv*`).

Every output position p has its own `(window * channels_in, channels_out)` matrix. The input
windows are gathered once into `(positions, batch, window * channels_in)` and multiplied with
the per-position matrices in one batched matmul.

Windows follow tf.keras' `conv_utils.conv_connected_inputs`: along an axis with kernel k and
stride s, output p reads inputs `[p*s, p*s + k)` for "valid" and `[p*s - k//2, p*s - k//2 + k)`
for "same", the part outside the input reading nothing (zeros).
"""
import numpy as np

from ..core.tensor import as_array, record
from .math import reshape, transpose


def output_length(size, kernel, stride, padding):
    """tf.keras' conv_output_length for "valid" / "same" (None stays None)."""
    if size is None:
        return None
    length = size - kernel + 1 if padding == "valid" else size
    return (length + stride - 1) // stride


def window_indices(input_spatial, kernel_size, strides, padding, output_spatial=None):
    """The input windows of every output position, in flattened coordinates.

    Returns `(output_spatial, index, valid)`: `index[p, w]` is the flat (row-major) input
    position read by output position p (row-major over `output_spatial`, by default the
    convolution's output size) at window offset w (row-major over `kernel_size`), `valid[p, w]`
    whether it lies inside the input (`index` is 0 where it does not)."""
    rank = len(input_spatial)
    if output_spatial is None:
        output_spatial = tuple(output_length(n, k, s, padding)
                               for n, k, s in zip(input_spatial, kernel_size, strides))
    output_spatial = tuple(output_spatial)
    index = np.zeros((1,) * (2 * rank), np.int64)
    valid = np.ones((1,) * (2 * rank), bool)
    for axis, (size, kernel, stride, out) in enumerate(
            zip(input_spatial, kernel_size, strides, output_spatial)):
        start = np.arange(out) * stride - (kernel // 2 if padding == "same" else 0)
        position = start[:, None] + np.arange(kernel)[None, :]           # (out, kernel)
        shape = [1] * (2 * rank)
        shape[axis], shape[rank + axis] = out, kernel
        index = index * size + position.reshape(shape)
        valid = valid & ((position >= 0) & (position < size)).reshape(shape)
    positions, window = int(np.prod(output_spatial)), int(np.prod(kernel_size))
    index = np.broadcast_to(index, output_spatial + tuple(kernel_size)).reshape(positions, window)
    valid = np.broadcast_to(valid, output_spatial + tuple(kernel_size)).reshape(positions, window)
    return output_spatial, np.where(valid, index, 0), valid


def unshared_matmul(inputs, kernel, index, valid):
    """`out[b, p] = patch(b, p) @ kernel[p]`, differentiable in `inputs` and `kernel`.

    `inputs` is `(batch, input_positions, channels_in)` (spatial axes flattened, channels
    last), `kernel` is `(positions, window * channels_in, channels_out)` with the patch
    features ordered (window offset, channel); `index`/`valid` come from `window_indices`.
    Returns `(batch, positions, channels_out)`."""
    x, w = as_array(inputs), as_array(kernel)
    batch, channels = x.shape[0], x.shape[2]
    positions, window = index.shape
    all_valid = bool(valid.all())
    patches = x[:, index]                                           # (batch, P, window, C)
    if not all_valid:
        patches = patches * valid[None, :, :, None].astype(x.dtype)
    patches = np.ascontiguousarray(patches.transpose(1, 0, 2, 3)).reshape(
        positions, batch, window * channels)
    out = np.matmul(patches, w).transpose(1, 0, 2)                  # (batch, P, filters)

    def backward(g, needs):
        g = np.ascontiguousarray(np.transpose(g, (1, 0, 2)))         # (P, batch, filters)
        grad_kernel = np.matmul(patches.transpose(0, 2, 1), g) if needs[1] else None
        grad_inputs = None
        if needs[0]:
            grad_patches = np.matmul(g, w.transpose(0, 2, 1)).reshape(
                positions, batch, window, channels)
            grad_inputs = np.zeros(x.shape, g.dtype)
            # One scatter per window offset: for a fixed offset distinct positions read
            # distinct inputs, so plain fancy-index += accumulates correctly.
            for offset in range(window):
                used = np.arange(positions) if all_valid else np.flatnonzero(valid[:, offset])
                grad_inputs[:, index[used, offset]] += \
                    grad_patches[used, :, offset, :].transpose(1, 0, 2)
        return grad_inputs, grad_kernel
    return record(out, (inputs, kernel), backward)


def gather_masked(source, flat_index, valid):
    """`source.ravel()[flat_index]`, zero where not `valid`; each valid index must appear once
    (the gradient is scattered back by assignment). Turns tf.keras' dense masked (mode 2) and
    sparse (mode 3) locally-connected kernels into per-position matrices."""
    data = as_array(source)
    out = data.reshape(-1)[flat_index]
    all_valid = bool(valid.all())
    if not all_valid:
        out = out * valid.astype(data.dtype)

    def backward(g, needs):
        grad = np.zeros(data.size, g.dtype)
        if all_valid:
            grad[flat_index.reshape(-1)] = g.reshape(-1)
        else:
            grad[flat_index[valid]] = g[valid]
        return (grad.reshape(data.shape),)
    return record(out, (source,), backward)


def local_conv(inputs, kernel, kernel_size, strides, output_shape, data_format):
    """tf.keras' `K.local_conv`: "valid" windows, `kernel` `(prod(output_shape), features,
    filters)` with the features ordered as the input's axes (window then channels for
    channels_last, channels then window for channels_first)."""
    rank = len(output_shape)
    shape = tuple(as_array(inputs).shape)
    channels_first = data_format == "channels_first"
    spatial = shape[2:] if channels_first else shape[1:-1]
    channels = shape[1] if channels_first else shape[-1]
    _, index, valid = window_indices(spatial, kernel_size, strides, "valid", output_shape)
    positions, window = index.shape
    filters = as_array(kernel).shape[-1]
    if channels_first:
        inputs = transpose(inputs, (0,) + tuple(range(2, rank + 2)) + (1,))
        kernel = reshape(kernel, (positions, channels, window, filters))
        kernel = reshape(transpose(kernel, (0, 2, 1, 3)), (positions, window * channels, filters))
    out = unshared_matmul(reshape(inputs, (shape[0], -1, channels)), kernel, index, valid)
    if channels_first:
        return reshape(transpose(out, (0, 2, 1)), (shape[0], filters) + tuple(output_shape))
    return reshape(out, (shape[0],) + tuple(output_shape) + (filters,))
