"""Side 1x1 convolutions (models/fusion.py `attach_side_convs`, conv_kernels.SideProduct): a
ResNet projection shortcut computed by the chain of the convolution beside it, from the same
im2col rows where it can, gives the layer-by-layer numbers (float32 round-off)."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.layers import Activation, Add, BatchNormalization, Conv1D, Conv2D, MaxPooling2D
from minikeras.models import fusion
from minikeras.ops import conv_kernels

from tests.engine.test_inference_fusion import arrays, image, randomize_batch_norms, unfused


def side_layers(model):
    plan = fusion.graph_plan(model)
    return [chain.side.name for chain in plan.chains if chain.side is not None] if plan else []


def count_side_routes(monkeypatch):
    """`{"rows": n, "own": n}`: side products taken from im2col rows / computed on their own."""
    calls = {"rows": 0, "own": 0}
    from_rows, on_its_own = conv_kernels.SideProduct.from_rows, \
        conv_kernels.SideProduct.on_its_own

    def rows(self, *args):
        calls["rows"] += 1
        return from_rows(self, *args)

    def own(self, *args):
        calls["own"] += 1
        return on_its_own(self, *args)
    monkeypatch.setattr(conv_kernels.SideProduct, "from_rows", rows)
    monkeypatch.setattr(conv_kernels.SideProduct, "on_its_own", own)
    return calls


def projection_block(inputs, filters, strides, kernel=3, padding="same", shortcut_padding="valid",
                     shortcut_activation=None, shortcut_bias=True):
    y = Conv2D(filters, kernel, strides=strides, padding=padding)(inputs)
    y = Activation("relu")(BatchNormalization()(y))
    y = BatchNormalization()(Conv2D(filters, 3, padding="same")(y))
    shortcut = Conv2D(filters, 1, strides=strides, padding=shortcut_padding,
                      activation=shortcut_activation, use_bias=shortcut_bias)(inputs)
    return Activation("relu")(Add()([y, shortcut]))


def assert_matches(model, x, monkeypatch):
    randomize_batch_norms(model, np.random.default_rng(1))
    reference = unfused(model, x, monkeypatch)
    result = arrays(model(x, training=False))[0]
    scale = max(1.0, float(np.abs(reference).max()))
    np.testing.assert_allclose(result, reference, rtol=2e-5, atol=2e-5 * scale)
    return result


@pytest.mark.parametrize("batch", [1, 3, 17])
@pytest.mark.parametrize("size, strides, shortcut_activation, shortcut_bias", [
    ((8, 8), 2, None, True), ((9, 7), 2, "relu", False), ((10, 10), 3, "tanh", True),
    ((6, 6), 1, None, True)])
def test_projection_shortcut_from_the_rows_matches_layer_by_layer(batch, size, strides,
                                                                  shortcut_activation,
                                                                  shortcut_bias, monkeypatch):
    calls = count_side_routes(monkeypatch)
    rng = np.random.default_rng(3)
    inputs = keras.Input(size + (12,))
    x = Activation("relu")(BatchNormalization()(Conv2D(12, 3, padding="same")(inputs)))
    model = keras.Model(inputs, projection_block(x, 20, strides,
                                                 shortcut_activation=shortcut_activation,
                                                 shortcut_bias=shortcut_bias))
    assert_matches(model, image(rng, batch, *size, 12), monkeypatch)
    assert len(side_layers(model)) == 1
    # 'same' padding of odd sizes at stride 2-3 puts padding before the first row or column
    # for some of these: the rows then hold the shortcut's values at another tap, or not at
    # all (then it runs on its own, the same numbers).
    assert calls["rows"] + calls["own"] > 0


def test_shortcut_beside_a_winograd_convolution_runs_on_its_own(monkeypatch):
    calls = count_side_routes(monkeypatch)
    monkeypatch.setattr(conv_kernels, "_PLANS", {})
    monkeypatch.setattr(conv_kernels, "plan", lambda key, candidates, **options:
                        conv_kernels._PLANS.setdefault(
                            key, "winograd" if "winograd" in candidates
                            else next(iter(candidates))))
    rng = np.random.default_rng(4)
    inputs = keras.Input((8, 8, 16))
    model = keras.Model(inputs, projection_block(inputs, 24, 1))
    x = image(rng, 4, 8, 8, 16)
    assert_matches(model, x, monkeypatch)
    assert_matches(model, x, monkeypatch)           # the lean Winograd route once planned
    assert side_layers(model) and calls["own"] >= 1 and calls["rows"] == 0


def test_shortcut_taken_from_the_rows_at_the_padding_tap(monkeypatch):
    # 'same' 3x3 stride 2 on even sizes: pads (0, 1), tap (0, 0); 5x5 'same' stride 2 on
    # 8x8: pads (1, 2), tap (1, 1).
    calls = count_side_routes(monkeypatch)
    rng = np.random.default_rng(5)
    for kernel in (3, 5):
        inputs = keras.Input((8, 8, 10))
        model = keras.Model(inputs, projection_block(inputs, 16, 2, kernel=kernel))
        before = calls["rows"]
        assert_matches(model, image(rng, 6, *inputs.shape[1:]), monkeypatch)
        assert calls["rows"] > before


def test_side_product_columns_against_numpy():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 7, 8, 5)).astype(np.float32)
    kernel = rng.standard_normal((1, 1, 5, 4)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    head = rng.standard_normal((3, 3, 5, 6)).astype(np.float32)
    side = conv_kernels.SideProduct(kernel, bias, "relu", (2, 2), x.shape, np.float32)
    out, _ = conv_kernels.conv_forward(x, head, (2, 2), [(1, 1), (0, 1)], (1, 1),
                                       epilogue=None, side=side)
    expected = np.maximum(np.einsum("nhwc,cf->nhwf", x[:, ::2, ::2], kernel[0, 0]) + bias, 0)
    np.testing.assert_allclose(side.out, expected, rtol=1e-5, atol=1e-5)


def test_side_not_taken_when_read_before_the_chain_ends_or_strides_differ(monkeypatch):
    rng = np.random.default_rng(7)
    inputs = keras.Input((8, 8, 6))
    y = Activation("relu")(BatchNormalization()(Conv2D(8, 3, strides=2, padding="same")(inputs)))
    # strides differ from the head's: not a side
    other = Conv2D(8, 1, strides=1)(inputs)
    pooled = MaxPooling2D(2)(other)
    model = keras.Model(inputs, Add()([y, pooled]))
    assert_matches(model, image(rng, 2, 8, 8, 6), monkeypatch)
    assert side_layers(model) == []
    # a 1-D head and 1-D shortcut pair up as well
    inputs = keras.Input((11, 4))
    y = Activation("relu")(BatchNormalization()(Conv1D(6, 3, strides=2, padding="same")(inputs)))
    y = BatchNormalization()(Conv1D(6, 3, padding="same")(y))
    model = keras.Model(inputs, Activation("relu")(Add()([y, Conv1D(6, 1, strides=2)(inputs)])))
    assert_matches(model, image(rng, 5, 11, 4), monkeypatch)
    assert len(side_layers(model)) == 1


def test_changed_shortcut_layer_runs_layer_by_layer_then_replans(monkeypatch):
    rng = np.random.default_rng(8)
    inputs = keras.Input((8, 8, 6))
    model = keras.Model(inputs, projection_block(inputs, 10, 2))
    x = image(rng, 3, 8, 8, 6)
    assert_matches(model, x, monkeypatch)
    shortcut = [layer for layer in model.layers if isinstance(layer, Conv2D)][-1]
    shortcut.activation = keras.activations.get("softplus")     # cannot be a side any more
    assert_matches(model, x, monkeypatch)
    assert side_layers(model) == []
    shortcut.activation = keras.activations.get("linear")
    shortcut.kernel.assign(shortcut.kernel.numpy() * 2.0)
    assert_matches(model, x, monkeypatch)


def test_shortcut_weights_are_read_at_every_call(monkeypatch):
    rng = np.random.default_rng(9)
    inputs = keras.Input((8, 8, 6))
    model = keras.Model(inputs, projection_block(inputs, 10, 2))
    x = image(rng, 3, 8, 8, 6)
    first = assert_matches(model, x, monkeypatch)
    shortcut = [layer for layer in model.layers if isinstance(layer, Conv2D)][-1]
    shortcut.kernel.assign(shortcut.kernel.numpy() * -2.0)
    shortcut.bias.assign(np.full(10, 0.5, "float32"))
    second = assert_matches(model, x, monkeypatch)
    assert len(side_layers(model)) == 1 and not np.allclose(first, second)
