"""Every convolution, pooling and spatial reshaping layer over the argument combinations tf.keras
allows (padding x strides x dilation x data_format, groups, output_padding, keepdims, ...).

Per case: the output shape equals `compute_output_shape` (also with `None` spatial dimensions),
the forward pass equals a direct NumPy definition, tape gradients equal central finite
differences (float64) and `from_config(get_config())` round-trips. The full grid is marked slow;
every fifth case runs by default.
"""
import itertools

import numpy as np
import pytest

from minikeras import layers
from gradcheck import check_layer_gradients
from test_convolutional import reference_conv
from test_pooling_reshaping import reference_pool

SPATIAL = {1: (7,), 2: (6, 5), 3: (4, 5, 3)}
SMALL_SPATIAL = {1: (5,), 2: (5, 4), 3: (3, 4, 3)}     # for the finite-difference checks


def sample_every(cases, n=5):
    """All cases, the ones not on the sample marked slow."""
    return [case if i % n == 0 else pytest.param(*case.values, marks=pytest.mark.slow, id=case.id)
            for i, case in enumerate(cases)]


def _input(rank, channels, data_format, spatial=None, seed=0):
    spatial = spatial or SPATIAL[rank]
    x = np.random.default_rng(seed).standard_normal((2,) + spatial + (channels,))
    # Contiguous: gradcheck perturbs the input through a flat view of it.
    return x, np.ascontiguousarray(np.moveaxis(x, -1, 1) if data_format == "channels_first" else x)


def _channels_last(out, data_format):
    return np.moveaxis(out, 1, -1) if data_format == "channels_first" else out


def _with_none_spatial(shape, data_format):
    """`(None, None.., C)` (or channels_first) version of a batch shape."""
    if data_format == "channels_first":
        return (None, shape[1]) + (None,) * (len(shape) - 2)
    return (None,) + (None,) * (len(shape) - 2) + (shape[-1],)


def _check_shapes_and_config(layer, x_in, out, data_format):
    assert layer.compute_output_shape((None,) + x_in.shape[1:]) == (None,) + out.shape[1:]
    none_shape = layer.compute_output_shape(_with_none_spatial(x_in.shape, data_format))
    expected = _with_none_spatial((None,) + out.shape[1:], data_format)
    assert none_shape == expected
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(x_in.astype(np.float32))
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]


# ---------------------------------------------------------------------------------------
# convolutions
# ---------------------------------------------------------------------------------------
STRIDE_DILATION = ((1, 1), (2, 1), (1, 2))


def conv_cases():
    kinds = [("Conv", 1), ("Conv", 2), ("Conv", 3), ("SeparableConv", 1), ("SeparableConv", 2),
             ("DepthwiseConv", 1), ("DepthwiseConv", 2)]
    for (kind, rank), data_format, (stride, dilation) in itertools.product(
            kinds, ("channels_last", "channels_first"), STRIDE_DILATION):
        paddings = ["valid", "same"]
        if rank == 1 and kind != "DepthwiseConv":
            paddings.append("causal")
        for padding in paddings:
            groups = 2 if (kind == "Conv" and rank == 2 and stride == 1 and dilation == 1) else 1
            yield pytest.param(kind, rank, padding, stride, dilation, data_format, groups,
                               id=f"{kind}{rank}D-{padding}-s{stride}-d{dilation}-{data_format}"
                                  f"-g{groups}")


def _make_conv(kind, rank, padding, stride, dilation, data_format, groups):
    kernel_size = {1: 3, 2: (3, 2), 3: 2}[rank]
    common = dict(strides=stride, padding=padding, dilation_rate=dilation, data_format=data_format,
                  activation="tanh", bias_initializer="random_normal")
    if kind == "Conv":
        return getattr(layers, f"Conv{rank}D")(4, kernel_size, groups=groups, **common)
    if kind == "SeparableConv":
        return getattr(layers, f"SeparableConv{rank}D")(3, kernel_size, depth_multiplier=2, **common)
    return getattr(layers, f"DepthwiseConv{rank}D")(kernel_size, depth_multiplier=2, **common)


def _reference(layer, kind, x, padding):
    """The layer's output on channels_last `x`, from the direct definition in float64."""
    strides, dilation = layer.strides, layer.dilation_rate
    if kind == "Conv":
        pre = reference_conv(x, layer.kernel.numpy(), strides, padding, dilation, layer.groups)
    else:
        depthwise = layer.depthwise_kernel.numpy()
        channels = depthwise.shape[-2]
        grouped = depthwise.reshape(depthwise.shape[:-2] + (1, -1))
        pre = reference_conv(x, grouped, strides, padding, dilation, groups=channels)
        if kind == "SeparableConv":
            pre = pre @ layer.pointwise_kernel.numpy().reshape(pre.shape[-1], -1)
    return np.tanh(pre + layer.bias.numpy())


@pytest.mark.parametrize("kind,rank,padding,stride,dilation,data_format,groups",
                         sample_every(list(conv_cases())))
def test_conv_family(float64, kind, rank, padding, stride, dilation, data_format, groups):
    layer = _make_conv(kind, rank, padding, stride, dilation, data_format, groups)
    x, x_in = _input(rank, 4, data_format)
    out = layer(x_in).numpy()
    np.testing.assert_allclose(_channels_last(out, data_format), _reference(layer, kind, x, padding),
                               rtol=1e-10, atol=1e-10)
    _check_shapes_and_config(layer, x_in, out, data_format)
    small = _make_conv(kind, rank, padding, stride, dilation, data_format, groups)
    check_layer_gradients(small, _input(rank, 2 if kind != "Conv" else 4, data_format,
                                        SMALL_SPATIAL[rank], seed=1)[1])


# ---------------------------------------------------------------------------------------
# transposed convolutions
# ---------------------------------------------------------------------------------------
def reference_conv_transpose(x, kernel, strides, padding, dilation, out_spatial):
    """Direct scatter definition, channels_last: every input position adds `x @ K[t].T` at
    `o * s + t * d`, then TF's 'same' cropping (the gradient of a 'same' convolution)."""
    rank = x.ndim - 2
    ksize = kernel.shape[:rank]
    effective = [(k - 1) * d + 1 for k, d in zip(ksize, dilation)]
    los = []
    for n_in, n_out, s, e in zip(x.shape[1:-1], out_spatial, strides, effective):
        total = max((n_in - 1) * s + e - n_out, 0) if padding == "same" else 0
        los.append(total // 2)
    full_sizes = [max((n - 1) * s + e, lo + o) for n, s, e, lo, o in
                  zip(x.shape[1:-1], strides, effective, los, out_spatial)]
    full = np.zeros((x.shape[0], *full_sizes, kernel.shape[-2]))
    for pos in itertools.product(*[range(n) for n in x.shape[1:-1]]):
        for taps in itertools.product(*[range(k) for k in ksize]):
            idx = tuple(p * s + t * d for p, t, s, d in zip(pos, taps, strides, dilation))
            full[(slice(None),) + idx] += x[(slice(None),) + pos] @ kernel[taps].T
    return full[(slice(None),) + tuple(slice(lo, lo + o) for lo, o in zip(los, out_spatial))]


def transpose_cases():
    for rank, data_format, padding, (stride, dilation, output_padding) in itertools.product(
            (1, 2, 3), ("channels_last", "channels_first"), ("valid", "same"),
            ((1, 1, None), (2, 1, None), (3, 1, 1), (1, 2, None))):
        yield pytest.param(rank, padding, stride, dilation, output_padding, data_format,
                           id=f"Conv{rank}DTranspose-{padding}-s{stride}-d{dilation}-"
                              f"op{output_padding}-{data_format}")


@pytest.mark.parametrize("rank,padding,stride,dilation,output_padding,data_format",
                         sample_every(list(transpose_cases())))
def test_conv_transpose_family(float64, rank, padding, stride, dilation, output_padding,
                               data_format):
    cls = getattr(layers, f"Conv{rank}DTranspose")
    kernel_size = {1: 3, 2: (3, 2), 3: 2}[rank]

    def make():
        return cls(3, kernel_size, strides=stride, padding=padding, output_padding=output_padding,
                   dilation_rate=dilation, data_format=data_format, activation="tanh",
                   bias_initializer="random_normal")
    layer = make()
    x, x_in = _input(rank, 2, data_format, SMALL_SPATIAL[rank])
    out = layer(x_in).numpy()
    out_last = _channels_last(out, data_format)
    assert layer.kernel.shape == layer.kernel_size + (3, 2)
    expected = reference_conv_transpose(x, layer.kernel.numpy(), layer.strides, padding,
                                        layer.dilation_rate, out_last.shape[1:-1])
    np.testing.assert_allclose(out_last, np.tanh(expected + layer.bias.numpy()), rtol=1e-10,
                               atol=1e-10)
    _check_shapes_and_config(layer, x_in, out, data_format)
    check_layer_gradients(make(), _input(rank, 2, data_format, SMALL_SPATIAL[rank], seed=1)[1])


# ---------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------
def pool_cases():
    for rank, mode, data_format, padding, (pool, stride) in itertools.product(
            (1, 2, 3), ("max", "avg"), ("channels_last", "channels_first"), ("valid", "same"),
            ((2, None), (3, 2), (2, 1))):
        yield pytest.param(rank, mode, pool, stride, padding, data_format,
                           id=f"{mode}{rank}D-p{pool}-s{stride}-{padding}-{data_format}")


@pytest.mark.parametrize("rank,mode,pool,stride,padding,data_format",
                         sample_every(list(pool_cases())))
def test_pooling_family(float64, rank, mode, pool, stride, padding, data_format):
    cls = getattr(layers, f"{'MaxPooling' if mode == 'max' else 'AveragePooling'}{rank}D")
    layer = cls(pool, strides=stride, padding=padding, data_format=data_format)
    x, x_in = _input(rank, 3, data_format)
    out = layer(x_in).numpy()
    expected = reference_pool(x, layer.pool_size, layer.strides, padding, mode)
    np.testing.assert_allclose(_channels_last(out, data_format), expected, rtol=1e-12)
    _check_shapes_and_config(layer, x_in, out, data_format)
    # Distinct values: finite differences are well defined around a unique maximum.
    small = _input(rank, 2, data_format, SMALL_SPATIAL[rank], seed=2)[1]
    check_layer_gradients(cls(pool, strides=stride, padding=padding, data_format=data_format), small)


def global_cases():
    for rank, mode, data_format, keepdims in itertools.product(
            (1, 2, 3), ("max", "avg"), ("channels_last", "channels_first"), (False, True)):
        yield pytest.param(rank, mode, data_format, keepdims,
                           id=f"global-{mode}{rank}D-{data_format}-keepdims{keepdims}")


@pytest.mark.parametrize("rank,mode,data_format,keepdims", sample_every(list(global_cases())))
def test_global_pooling_family(float64, rank, mode, data_format, keepdims):
    name = f"Global{'MaxPooling' if mode == 'max' else 'AveragePooling'}{rank}D"
    layer = getattr(layers, name)(data_format=data_format, keepdims=keepdims)
    x, x_in = _input(rank, 3, data_format)
    out = layer(x_in).numpy()
    reduce = np.max if mode == "max" else np.mean
    expected = reduce(x, axis=tuple(range(1, rank + 1)), keepdims=keepdims)
    if keepdims and data_format == "channels_first":
        expected = np.moveaxis(expected, -1, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert layer.compute_output_shape((None,) + x_in.shape[1:]) == (None,) + out.shape[1:]
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    check_layer_gradients(getattr(layers, name)(data_format=data_format, keepdims=keepdims),
                          _input(rank, 2, data_format, SMALL_SPATIAL[rank], seed=3)[1])


# ---------------------------------------------------------------------------------------
# cropping, zero padding, upsampling
# ---------------------------------------------------------------------------------------
def _crop_reference(x, pairs):
    return x[(slice(None),) + tuple(slice(lo, n - hi) for n, (lo, hi) in
                                    zip(x.shape[1:-1], pairs)) + (slice(None),)]


def _pad_reference(x, pairs):
    return np.pad(x, [(0, 0)] + list(pairs) + [(0, 0)])


def _upsample_reference(x, sizes):
    for axis, size in enumerate(sizes, start=1):
        x = np.repeat(x, size, axis=axis)
    return x


RESHAPING = [
    ("Cropping1D", dict(cropping=(1, 2)), lambda x: _crop_reference(x, [(1, 2)])),
    ("Cropping2D", dict(cropping=((1, 0), (2, 1))), lambda x: _crop_reference(x, [(1, 0), (2, 1)])),
    ("Cropping3D", dict(cropping=1), lambda x: _crop_reference(x, [(1, 1)] * 3)),
    ("ZeroPadding1D", dict(padding=(2, 1)), lambda x: _pad_reference(x, [(2, 1)])),
    ("ZeroPadding2D", dict(padding=((1, 0), (0, 2))), lambda x: _pad_reference(x, [(1, 0), (0, 2)])),
    ("ZeroPadding3D", dict(padding=(1, 0, 2)), lambda x: _pad_reference(x, [(1, 1), (0, 0), (2, 2)])),
    ("UpSampling1D", dict(size=3), lambda x: _upsample_reference(x, (3,))),
    ("UpSampling2D", dict(size=(2, 3)), lambda x: _upsample_reference(x, (2, 3))),
    ("UpSampling3D", dict(size=(1, 2, 2)), lambda x: _upsample_reference(x, (1, 2, 2))),
]


def reshaping_cases():
    for (name, kwargs, reference), data_format in itertools.product(
            RESHAPING, ("channels_last", "channels_first")):
        if name.endswith("1D") and data_format == "channels_first":
            continue          # the 1-D layers have no data_format argument in tf.keras
        yield pytest.param(name, kwargs, reference, data_format, id=f"{name}-{data_format}")


@pytest.mark.parametrize("name,kwargs,reference,data_format", sample_every(list(reshaping_cases()),
                                                                            n=2))
def test_reshaping_family(float64, name, kwargs, reference, data_format):
    rank = int(name[-2])
    extra = {} if rank == 1 else {"data_format": data_format}
    layer = getattr(layers, name)(**kwargs, **extra)
    x, x_in = _input(rank, 2, data_format)
    out = layer(x_in).numpy()
    np.testing.assert_array_equal(_channels_last(out, data_format), reference(x))
    _check_shapes_and_config(layer, x_in, out, data_format)
    check_layer_gradients(getattr(layers, name)(**kwargs, **extra),
                          _input(rank, 2, data_format, SMALL_SPATIAL[rank], seed=4)[1])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_bilinear_upsampling_gradients_and_shapes(float64, data_format):
    layer = layers.UpSampling2D((2, 3), data_format=data_format, interpolation="bilinear")
    x, x_in = _input(2, 2, data_format, (3, 2))
    out = layer(x_in).numpy()
    _check_shapes_and_config(layer, x_in, out, data_format)
    check_layer_gradients(layer, x_in)
