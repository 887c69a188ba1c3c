"""Argument checks and shape arithmetic shared by convolution, pooling and reshaping layers."""
import numpy as np



# Sizes, strides and windows beyond this are typos or hostile configs (as in
# engine/argument_checks.MAX_ELEMENTS).
_LARGEST_SIZE = 2 ** 48


def normalize_tuple(value, n, name, allow_zero=False):
    """An int or an iterable of `n` ints -> a tuple of `n` ints, with Keras' error wording.

    Example: `normalize_tuple(3, 2, "kernel_size") == (3, 3)`.
    """
    # tf.keras' words (conv_utils.normalize_tuple); Keras 3 writes `Received {name}={value}`
    error_msg = f"The `{name}` argument must be a tuple of {n} integers. Received: {value}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        result = (int(value),) * n
    else:
        try:
            result = tuple(value)
        except TypeError:
            raise ValueError(error_msg) from None
        if len(result) != n:
            raise ValueError(error_msg)
        for item in result:
            if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
                raise ValueError(f"{error_msg}including element {item} of type {type(item)}")
        result = tuple(int(item) for item in result)
    if any(v > _LARGEST_SIZE for v in result):
        raise ValueError(f"{error_msg}: {max(result)} is too large.")
    if allow_zero:
        bad, requirement = {v for v in result if v < 0}, ">= 0"
    else:
        bad, requirement = {v for v in result if v <= 0}, "> 0"
    if bad:
        raise ValueError(f"{error_msg} including {bad} that does not satisfy the requirement "
                         f"`{requirement}`.")
    return result


def normalize_padding(value):
    """'valid', 'same' or 'causal' (any case) -> lower case, as Keras' conv_utils."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in ("valid", "same", "causal"):
        raise ValueError('The `padding` argument must be a list/tuple or one of "valid", "same" '
                         f'(or "causal", only for `Conv1D). Received: {padding}')
    return padding


def conv_output_length(size, kernel, padding, stride, dilation=1):
    """Keras' output length of a convolution along one axis (None stays None)."""
    if size is None:
        return None
    effective = (kernel - 1) * dilation + 1
    if padding in ("same", "causal"):
        length = size
    elif padding == "valid":
        length = size - effective + 1
    elif padding == "full":
        length = size + effective - 1
    else:
        raise ValueError(f"Unknown padding: {padding}")
    return (length + stride - 1) // stride


def deconv_output_length(size, kernel, padding, output_padding=None, stride=1, dilation=1):
    """Keras' output length of a transposed convolution along one axis."""
    if size is None:
        return None
    kernel = (kernel - 1) * dilation + 1
    if output_padding is None:
        if padding == "valid":
            return size * stride + max(kernel - stride, 0)
        if padding == "full":
            return size * stride - (stride + kernel - 2)
        return size * stride
    pad = {"same": kernel // 2, "valid": 0, "full": kernel - 1}[padding]
    return (size - 1) * stride + kernel - 2 * pad + output_padding
