"""Argument checks and shape arithmetic shared by convolution, pooling and reshaping layers."""


def normalize_tuple(value, n, name, allow_zero=False):
    """An int or an iterable of `n` ints -> a tuple of `n` ints (Keras' wording on errors)."""
    kind = "non-negative" if allow_zero else "positive"
    if isinstance(value, int):
        result = (value,) * n
    else:
        try:
            result = tuple(value)
        except TypeError:
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received: {value}") from None
        if len(result) != n or not all(isinstance(v, int) for v in result):
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received: {value}")
    bad = [v for v in result if (v < 0 if allow_zero else v <= 0)]
    if bad:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. Received {name}="
                         f"{value} including {bad} that does not satisfy the requirement "
                         f"`{'>= 0' if allow_zero else '> 0'}` ({kind}).")
    return result


def normalize_padding(value, allowed=("valid", "same")):
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"The `padding` argument must be a string, one of {set(allowed)}. "
                         f"Received: {value}")
    return value.lower()


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
