"""Convolution layers: forward vs a direct NumPy definition, output shapes without data,
finite-difference gradients, config round trips and argument errors, over Keras' combinations."""
import itertools

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from gradcheck import check_layer_gradients

pytestmark = pytest.mark.skipif(not hasattr(keras.layers, "Conv2D"), reason="conv layers missing")


def tf_same_pads(size, k, s, d):
    effective = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + effective - size, 0)
    return total // 2, total - total // 2


def reference_conv(x, kernel, strides, padding, dilation, groups=1):
    """Direct definition, channels_last: out[b, o, f] = sum x_pad[b, o*s + t*d, c] K[t, c, f]."""
    rank = x.ndim - 2
    ksize = kernel.shape[:rank]
    if padding == "same":
        pads = [tf_same_pads(n, k, s, d) for n, k, s, d in zip(x.shape[1:-1], ksize, strides, dilation)]
    elif padding == "causal":
        pads = [((ksize[0] - 1) * dilation[0], 0)]
    else:
        pads = [(0, 0)] * rank
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    out_sizes = [(n - (k - 1) * d - 1) // s + 1 for n, k, s, d in
                 zip(xp.shape[1:-1], ksize, strides, dilation)]
    cin_g = kernel.shape[-2]
    filters = kernel.shape[-1]
    fpg = filters // groups
    out = np.zeros((x.shape[0], *out_sizes, filters))
    for pos in itertools.product(*[range(n) for n in out_sizes]):
        for taps in itertools.product(*[range(k) for k in ksize]):
            idx = tuple(p * s + t * d for p, t, s, d in zip(pos, taps, strides, dilation))
            patch = xp[(slice(None),) + idx]            # (B, Cin)
            for g in range(groups):
                out[(slice(None),) + pos + (slice(g * fpg, (g + 1) * fpg),)] += \
                    patch[:, g * cin_g:(g + 1) * cin_g] @ kernel[taps][:, g * fpg:(g + 1) * fpg]
    return out


CLASSES = {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D} if hasattr(layers, "Conv2D") else {}


def combos():
    for rank in (1, 2, 3):
        paddings = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
        for padding, (stride, dilation), data_format in itertools.product(
                paddings, ((1, 1), (2, 1), (1, 2), (3, 1)), ("channels_last", "channels_first")):
            if rank == 3 and (data_format == "channels_first" or stride == 3):
                continue
            yield rank, padding, stride, dilation, data_format


@pytest.mark.parametrize("rank,padding,stride,dilation,data_format", list(combos()))
def test_conv_forward_and_shape(rank, padding, stride, dilation, data_format):
    rng = np.random.default_rng(rank * 10 + stride)
    spatial = {1: (9,), 2: (7, 6), 3: (5, 4, 5)}[rank]
    kernel_size = {1: 3, 2: (3, 2), 3: 2}[rank]
    layer = {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D}[rank](
        4, kernel_size, strides=stride, padding=padding, dilation_rate=dilation,
        data_format=data_format, bias_initializer="random_normal")
    x = rng.standard_normal((2,) + spatial + (3,)).astype(np.float32)
    x_in = np.moveaxis(x, -1, 1) if data_format == "channels_first" else x
    out = layer(x_in).numpy()
    expected = reference_conv(x.astype(np.float64), layer.kernel.numpy().astype(np.float64),
                              layer.strides, padding, layer.dilation_rate) + layer.bias.numpy()
    if data_format == "channels_first":
        expected = np.moveaxis(expected, -1, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    assert out.dtype == np.float32
    assert layer.compute_output_shape((None,) + x_in.shape[1:]) == (None,) + out.shape[1:]
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_grouped_conv_matches_reference():
    rng = np.random.default_rng(0)
    layer = layers.Conv2D(6, 3, groups=3, padding="same")
    x = rng.standard_normal((2, 5, 5, 6)).astype(np.float32)
    out = layer(x).numpy()
    assert layer.kernel.shape == (3, 3, 2, 6)
    expected = reference_conv(x, layer.kernel.numpy(), (1, 1), "same", (1, 1), groups=3)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("rank,padding,stride,dilation,data_format", [
    (1, "causal", 1, 2, "channels_last"), (1, "same", 2, 1, "channels_first"),
    (2, "same", 2, 1, "channels_last"), (2, "valid", 1, 2, "channels_first"),
    (2, "same", 1, 1, "channels_last"), (3, "same", 2, 1, "channels_last"),
])
def test_conv_gradients(float64, rank, padding, stride, dilation, data_format):
    rng = np.random.default_rng(1)
    spatial = {1: (6,), 2: (5, 6), 3: (3, 4, 3)}[rank]
    layer = CLASSES[rank](2, 2 if rank == 3 else 3, strides=stride, padding=padding,
                          dilation_rate=dilation, data_format=data_format, activation="tanh")
    shape = (2, 2) + spatial if data_format == "channels_first" else (2,) + spatial + (2,)
    check_layer_gradients(layer, rng.standard_normal(shape))


def test_grouped_conv_gradients(float64):
    check_layer_gradients(layers.Conv2D(4, 2, groups=2), np.random.default_rng(2).standard_normal((2, 4, 4, 4)))


def test_seed_positional_arguments_bind_like_keras():
    layer = layers.Conv2D(64, 3, 3, input_shape=(3, 32, 32), padding="same")
    assert layer.strides == (3, 3)
    assert layer.compute_output_shape((None, 3, 32, 32)) == (None, 1, 11, 64)
    assert layers.Conv2D(64, 3, 3, padding="same").get_config()["strides"] == (3, 3)


def test_conv_argument_errors():
    with pytest.raises(ValueError, match="strictly positive"):
        layers.Conv2D(0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Conv2D(4, (3, 3, 3))
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(4, 3, padding="causal")
    with pytest.raises(ValueError, match="dilation_rate > 1"):
        layers.Conv2D(4, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="divisible by the number of groups"):
        layers.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="data_format"):
        layers.Conv2D(4, 3, data_format="channels_middle")
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 3"):
        layer = layers.Conv2D(2, 1)
        layer(np.zeros((1, 4, 4, 3), np.float32))
        layer(np.zeros((1, 4, 4, 2), np.float32))


# --- transposed, depthwise and separable ------------------------------------------------------
@pytest.mark.parametrize("rank,padding,stride,output_padding", [
    (1, "valid", 2, None), (1, "same", 3, 1), (2, "valid", 2, None), (2, "same", 2, None),
    (2, "same", 3, (1, 2)), (2, "valid", 1, None), (3, "same", 2, None),
])
def test_conv_transpose_is_the_adjoint_of_conv(rank, padding, stride, output_padding):
    rng = np.random.default_rng(3)
    cls = {1: layers.Conv1DTranspose, 2: layers.Conv2DTranspose, 3: layers.Conv3DTranspose}[rank]
    layer = cls(3, 3, strides=stride, padding=padding, output_padding=output_padding, use_bias=False)
    spatial = (4,) * rank
    x = rng.standard_normal((2,) + spatial + (2,)).astype(np.float64)
    out = layer(x.astype(np.float32)).numpy().astype(np.float64)
    assert layer.kernel.shape == (3,) * rank + (3, 2)
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + out.shape[1:]
    y = rng.standard_normal(out.shape)
    kernel = layer.kernel.numpy().astype(np.float64)      # (k, filters, in) = conv layout (k, in', out')
    conv_y = reference_conv(y, kernel, (stride,) * rank, padding, (1,) * rank)
    # A transposed output longer than the conv needs leaves its last rows untouched by the conv.
    conv_y = conv_y[(slice(None),) + tuple(slice(0, n) for n in spatial)]
    np.testing.assert_allclose(np.sum(out * y), np.sum(x * conv_y), rtol=1e-4)


def test_conv_transpose_gradients_and_errors(float64):
    rng = np.random.default_rng(4)
    check_layer_gradients(layers.Conv2DTranspose(2, 3, strides=2, padding="same"),
                          rng.standard_normal((2, 3, 3, 2)))
    check_layer_gradients(layers.Conv2DTranspose(2, 2, strides=2, data_format="channels_first"),
                          rng.standard_normal((1, 2, 3, 2)))
    with pytest.raises(ValueError, match="must be greater than output padding"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)


def test_depthwise_and_separable_conv():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
    depthwise = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    out = depthwise(x).numpy()
    assert [w.name for w in depthwise.weights] == ["depthwise_conv2d/depthwise_kernel:0",
                                                   "depthwise_conv2d/bias:0"]
    kernel = depthwise.depthwise_kernel.numpy()                  # (3, 3, 3, 2)
    as_grouped = kernel.reshape(3, 3, 1, 6)                       # channel c*2+m from input c
    np.testing.assert_allclose(out, reference_conv(x, as_grouped, (1, 1), "same", (1, 1), groups=3),
                               rtol=1e-4, atol=1e-5)
    assert depthwise.compute_output_shape((None, 6, 5, 3)) == (None, 6, 5, 6)
    separable = layers.SeparableConv2D(4, 3, depth_multiplier=2, strides=2)
    out = separable(x).numpy()
    assert [w.shape for w in separable.weights] == [(3, 3, 3, 2), (1, 1, 6, 4), (4,)]
    inner = reference_conv(x, separable.depthwise_kernel.numpy().reshape(3, 3, 1, 6), (2, 2),
                           "valid", (1, 1), groups=3)
    expected = inner @ separable.pointwise_kernel.numpy()[0, 0]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    for layer in (depthwise, separable, layers.SeparableConv1D(2, 3), layers.DepthwiseConv1D(2)):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config


def test_depthwise_separable_gradients(float64):
    rng = np.random.default_rng(6)
    check_layer_gradients(layers.DepthwiseConv2D(2, depth_multiplier=2, strides=2),
                          rng.standard_normal((2, 4, 5, 2)))
    check_layer_gradients(layers.SeparableConv1D(3, 3, padding="same"), rng.standard_normal((2, 5, 2)))


def test_conv_on_too_short_input_at_run_time_says_why():
    """DLwP 6.4's Conv1D stack on a length-(None) input: a batch too short for the kernel gets
    Keras' downsampling error, not NumPy's "negative dimensions are not allowed"."""
    model = keras.Sequential([layers.Conv1D(4, 5, input_shape=(None, 3))])
    with pytest.raises(ValueError, match=r"<= 0 due to downsampling in conv1d.*\[3\]"):
        model.predict(np.zeros((2, 3, 3), "float32"), verbose=0)
