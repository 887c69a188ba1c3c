"""Inference fusion (models/fusion.py, ops/fused.py): fused chains give the layer-by-layer
results to float32 round-off, on many chains and odd shapes; chains break where they must."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.layers import (Activation, Add, AveragePooling1D, AveragePooling2D,
                              BatchNormalization, Conv1D, Conv2D, Conv3D, Dense,
                              DepthwiseConv2D, MaxPooling2D, MaxPooling3D, ReLU)
from minikeras.core.tensor import GradientTape
from minikeras.models import fusion
from minikeras.ops import fused

L = keras.layers


def randomize_batch_norms(model, rng):
    """Statistics and parameters far from the defaults, some gains negative."""
    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            shape = layer.moving_mean.shape
            if layer.gamma is not None:
                layer.gamma.assign(rng.normal(0, 1, shape).astype("float32"))
            if layer.beta is not None:
                layer.beta.assign(rng.normal(0, 0.5, shape).astype("float32"))
            layer.moving_mean.assign(rng.normal(0, 0.5, shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.3, 2.0, shape).astype("float32"))


def chains_of(model):
    cached = model.__dict__.get("_fusion_plan")
    if cached is None:
        return []
    plan = cached[-1]
    if isinstance(plan, fusion.GraphPlan):
        return [[type(layer).__name__ for layer in chain.layers] for chain in plan.chains]
    return [[type(layer).__name__ for layer in layers] for layers, chain in plan.segments
            if chain]


def arrays(outputs):
    """A model's output(s) as a list of arrays."""
    if isinstance(outputs, (list, tuple)):
        return [np.asarray(o.numpy()) for o in outputs]
    return [np.asarray(outputs.numpy())]


def unfused(model, x, monkeypatch, **kwargs):
    with monkeypatch.context() as patch:
        patch.setattr(fusion, "ENABLED", False)
        results = arrays(model(x, training=False, **kwargs))
    return results if len(results) > 1 else results[0]


def assert_fused_matches(model, x, monkeypatch, expected_chains, rng=None):
    randomize_batch_norms(model, rng or np.random.default_rng(1))
    references = unfused(model, x, monkeypatch)
    results = arrays(model(x, training=False))
    assert chains_of(model) == expected_chains
    references = references if isinstance(references, list) else [references]
    for result, reference in zip(results, references):
        assert result.dtype == np.float32 and result.shape == reference.shape
        scale = max(1.0, float(np.abs(reference).max()))
        np.testing.assert_allclose(result, reference, rtol=2e-5, atol=2e-5 * scale)
    return results


def image(rng, *shape):
    return rng.normal(0, 1, shape).astype("float32")


# ---------------------------------------------------------------------------------------
# chains on odd shapes, against the layer-by-layer path
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("padding,strides,pool,pool_strides,pool_padding", [
    ("same", 1, 2, 2, "valid"),
    ("valid", 2, 3, 2, "same"),
    ("same", 2, 3, 1, "valid"),
    ("valid", 1, 2, 3, "same"),
])
def test_conv_bn_relu_maxpool(batch, padding, strides, pool, pool_strides, pool_padding,
                              monkeypatch):
    rng = np.random.default_rng(0)
    model = keras.Sequential([
        keras.Input((13, 11, 5)),
        Conv2D(7, 3, strides=strides, padding=padding),
        BatchNormalization(), Activation("relu"),
        MaxPooling2D(pool, strides=pool_strides, padding=pool_padding),
        L.Flatten(), Dense(3)])
    assert_fused_matches(model, image(rng, batch, 13, 11, 5), monkeypatch,
                         [["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"]])


def test_residual_blocks_functional(monkeypatch):
    """ResNet blocks: conv-BN-relu, conv-BN-Add-relu, a projection shortcut, Winograd
    shapes (3x3 stride 1) and stride 2."""
    rng = np.random.default_rng(2)
    inputs = keras.Input((9, 10, 3))
    x = Conv2D(16, 3, padding="same")(inputs)
    x = BatchNormalization()(x)
    x = Activation("relu")(x)
    for filters, stride in ((16, 1), (24, 2)):
        y = Conv2D(filters, 3, strides=stride, padding="same")(x)
        y = BatchNormalization()(y)
        y = ReLU()(y)
        y = Conv2D(filters, 3, padding="same", use_bias=False)(y)
        y = BatchNormalization(center=False)(y)
        shortcut = x if stride == 1 else Conv2D(filters, 1, strides=stride)(x)
        x = Add()([y, shortcut])
        x = Activation("relu")(x)
    outputs = Dense(4)(L.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    block = ["Conv2D", "BatchNormalization", "ReLU"]
    tail = ["Conv2D", "BatchNormalization", "Add", "Activation"]
    assert_fused_matches(model, image(rng, 6, 9, 10, 3), monkeypatch,
                         [["Conv2D", "BatchNormalization", "Activation"], block, tail, block,
                          tail])


def test_preactivation_blocks_without_heads(monkeypatch):
    """ResNet v2 / DenseNet patterns: BN -> ReLU before a convolution (no head), a shared
    convolution output, Add -> ReLU on its own, BN -> ReLU -> pooling."""
    rng = np.random.default_rng(16)
    inputs = keras.Input((10, 9, 6))
    x = ReLU()(BatchNormalization()(inputs))
    c = Conv2D(6, 3, padding="same")(x)                          # read twice: no chain
    y = Activation("relu")(BatchNormalization()(c))
    y = Conv2D(6, 3, padding="same", dilation_rate=2)(y)
    x = Activation("relu")(Add()([y, c]))
    x = AveragePooling2D(2)(ReLU(max_value=6.0)(BatchNormalization()(x)))
    model = keras.Model(inputs, L.Concatenate()([x, MaxPooling2D(2)(c)]))
    assert_fused_matches(model, image(rng, 3, 10, 9, 6), monkeypatch,
                         [["BatchNormalization", "ReLU"],
                          ["BatchNormalization", "Activation"],
                          ["Conv2D", "Add", "Activation", "BatchNormalization", "ReLU",
                           "AveragePooling2D"]])


def test_residual_operand_first_and_add_into_pool(monkeypatch):
    """Add([shortcut, chain]) (chain second), then sigmoid and average pooling."""
    rng = np.random.default_rng(3)
    inputs = keras.Input((8, 7, 4))
    y = Conv2D(4, 2, padding="same", activation="tanh")(inputs)
    y = BatchNormalization()(y)                   # after tanh: an affine step, not folded
    x = Add()([inputs, y])
    x = Activation("sigmoid")(x)
    x = AveragePooling2D(2, padding="same")(x)
    model = keras.Model(inputs, L.Flatten()(x))
    assert_fused_matches(model, image(rng, 3, 8, 7, 4), monkeypatch,
                         [["Conv2D", "BatchNormalization", "Add", "Activation",
                           "AveragePooling2D"]])


def test_maxpool_after_negative_affine(monkeypatch):
    """A batch normalization after a nonlinearity with negative gains must stay before the
    max pooling (it does not commute with max)."""
    rng = np.random.default_rng(4)
    model = keras.Sequential([keras.Input((10, 10, 6)), Conv2D(6, 3, activation="relu"),
                              BatchNormalization(), MaxPooling2D(2)])
    randomize_batch_norms(model, rng)
    model.layers[1].gamma.assign(-np.abs(model.layers[1].gamma.numpy()))
    reference = unfused(model, image(rng, 4, 10, 10, 6), monkeypatch)
    x = image(np.random.default_rng(4), 4, 10, 10, 6)
    reference = unfused(model, x, monkeypatch)
    np.testing.assert_allclose(model(x).numpy(), reference, rtol=2e-5, atol=2e-5)
    assert chains_of(model) == [["Conv2D", "BatchNormalization", "MaxPooling2D"]]


@pytest.mark.parametrize("pool", [MaxPooling2D, AveragePooling2D])
def test_steps_after_the_pooling(pool, monkeypatch):
    """Conv -> pooling -> BN -> ReLU (normalization after pooling, negative gains)."""
    rng = np.random.default_rng(18)
    model = keras.Sequential([keras.Input((11, 12, 3)), Conv2D(5, 3, activation="tanh"),
                              pool(2, padding="same"), BatchNormalization(), ReLU(),
                              Conv2D(4, 1)])
    assert_fused_matches(model, image(rng, 3, 11, 12, 3), monkeypatch,
                         [["Conv2D", pool.__name__, "BatchNormalization", "ReLU"]])


def test_conv1d_relu6_average_pool(monkeypatch):
    rng = np.random.default_rng(5)
    model = keras.Sequential([keras.Input((17, 3)), Conv1D(5, 4, padding="causal"),
                              Activation("relu6"), AveragePooling1D(3, padding="same")])
    assert_fused_matches(model, 4 * image(rng, 2, 17, 3), monkeypatch,
                         [["Conv1D", "Activation", "AveragePooling1D"]])


def test_conv3d_grouped_and_strided(monkeypatch):
    rng = np.random.default_rng(6)
    model = keras.Sequential([keras.Input((5, 6, 7, 4)),
                              Conv3D(6, (2, 3, 2), strides=(1, 2, 1), groups=2),
                              BatchNormalization(), ReLU(max_value=1.5), MaxPooling3D(2)])
    assert_fused_matches(model, image(rng, 3, 5, 6, 7, 4), monkeypatch,
                         [["Conv3D", "BatchNormalization", "ReLU", "MaxPooling3D"]])


@pytest.mark.parametrize("multiplier,strides", [(1, 1), (2, 2)])
def test_mobilenet_depthwise_separable(multiplier, strides, monkeypatch):
    rng = np.random.default_rng(7)
    model = keras.Sequential([
        keras.Input((11, 9, 8)),
        Conv2D(8, 3, strides=2, padding="same", use_bias=False), BatchNormalization(),
        ReLU(6.0),
        DepthwiseConv2D(3, strides=strides, padding="same", depth_multiplier=multiplier,
                        use_bias=multiplier == 2),
        BatchNormalization(), ReLU(6.0),
        Conv2D(12, 1, use_bias=False), BatchNormalization(), ReLU(6.0)])
    assert_fused_matches(model, image(rng, 3, 11, 9, 8), monkeypatch,
                         [["Conv2D", "BatchNormalization", "ReLU"],
                          ["DepthwiseConv2D", "BatchNormalization", "ReLU"],
                          ["Conv2D", "BatchNormalization", "ReLU"]])


def test_dense_chains(monkeypatch):
    """LeNet's Dense -> BN -> sigmoid, and a Dense on 3-D input with an activation."""
    rng = np.random.default_rng(8)
    model = keras.Sequential([keras.Input((5, 6)), Dense(7, activation="relu"),
                              BatchNormalization(), Activation("tanh"), L.Flatten(),
                              Dense(9), BatchNormalization(), Activation("sigmoid"),
                              Dense(2)])
    assert_fused_matches(model, image(rng, 300, 5, 6), monkeypatch,
                         [["Dense", "BatchNormalization", "Activation"],
                          ["Dense", "BatchNormalization", "Activation"]])


def test_two_thread_splits_of_dense_and_elementwise_chains(monkeypatch):
    """Inputs large enough for the row splits of dense and elementwise chains."""
    rng = np.random.default_rng(17)
    model = keras.Sequential([keras.Input((24, 20, 8)), BatchNormalization(), ReLU(),
                              MaxPooling2D(2), L.Flatten(), Dense(300), BatchNormalization(),
                              Activation("tanh"), Dense(2)])
    assert_fused_matches(model, image(rng, 41, 24, 20, 8), monkeypatch,
                         [["BatchNormalization", "ReLU", "MaxPooling2D"],
                          ["Dense", "BatchNormalization", "Activation"]])


def test_large_samples_in_bands(monkeypatch):
    """A sample larger than a chunk: the convolution is done in bands of rows, each with its
    epilogue (residual add included); with pooling, whole samples."""
    rng = np.random.default_rng(9)
    inputs = keras.Input((150, 160, 3))
    y = Conv2D(48, 3, padding="same")(inputs)
    y = BatchNormalization()(y)
    residual = Conv2D(48, 1)(inputs)
    x = Activation("relu")(Add()([y, residual]))
    pooled = MaxPooling2D(2)(Activation("relu")(BatchNormalization()(Conv2D(48, 2)(x))))
    odd = MaxPooling2D((3, 2))(Conv2D(8, 2, strides=(1, 2), activation="relu")(x))
    model = keras.Model(inputs, [pooled, odd])
    assert_fused_matches(model, image(rng, 1, 150, 160, 3), monkeypatch,
                         [["Conv2D", "BatchNormalization", "Add", "Activation"],
                          ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"],
                          ["Conv2D", "MaxPooling2D"]])


def test_predict_and_evaluate_match(monkeypatch):
    """predict (batches, two threads) and evaluate's loss from a sigmoid output (its logits)."""
    rng = np.random.default_rng(10)
    model = keras.Sequential([keras.Input((12, 12, 2)), Conv2D(4, 3), BatchNormalization(),
                              Activation("relu"), MaxPooling2D(2), L.Flatten(), Dense(1),
                              BatchNormalization(), Activation("sigmoid")])
    model.compile(loss="binary_crossentropy")
    randomize_batch_norms(model, rng)
    x = image(rng, 37, 12, 12, 2)
    y = (rng.random((37, 1)) > 0.5).astype("float32")
    with monkeypatch.context() as patch:
        patch.setattr(fusion, "ENABLED", False)
        reference = model.predict(x, batch_size=16, verbose=0)
        reference_loss = model.evaluate(x, y, batch_size=16, verbose=0)
    np.testing.assert_allclose(model.predict(x, batch_size=16, verbose=0), reference,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=16, verbose=0), reference_loss,
                               rtol=1e-5)
    # The model's sigmoid output is not fused: the loss needs its logits.
    assert chains_of(model) == [["Conv2D", "BatchNormalization", "Activation",
                                 "MaxPooling2D"], ["Dense", "BatchNormalization"]]


# ---------------------------------------------------------------------------------------
# where chains must break or fall back
# ---------------------------------------------------------------------------------------
class MyConv(Conv2D):
    pass


def test_user_subclass_activity_regularizer_and_shared_tensors_break_chains(monkeypatch):
    rng = np.random.default_rng(11)
    inputs = keras.Input((8, 8, 3))
    a = Activation("relu")(MyConv(4, 3)(inputs))                    # user subclass: no head
    b = Conv2D(4, 3, activity_regularizer="l2")(inputs)               # activity regularizer
    b = Activation("relu")(b)
    c = Conv2D(4, 3)(inputs)                                          # read twice: chain stops
    d = Activation("relu")(c)
    e = L.Multiply()([c, d])
    model = keras.Model(inputs, [a, b, e])
    x = image(rng, 2, 8, 8, 3)
    with monkeypatch.context() as patch:
        patch.setattr(fusion, "ENABLED", False)
        reference = [r.numpy() for r in model(x)]
    for got, want in zip(model(x), reference):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    assert fusion.graph_plan(model) is None


def test_training_mode_and_tape_run_layer_by_layer(monkeypatch):
    rng = np.random.default_rng(12)
    model = keras.Sequential([keras.Input((6, 6, 2)), Conv2D(3, 3), BatchNormalization(),
                              Activation("relu")])
    randomize_batch_norms(model, rng)
    x = image(rng, 4, 6, 6, 2)
    with monkeypatch.context() as patch:
        patch.setattr(fusion, "ENABLED", False)
        reference = model(x, training=True).numpy()        # batch statistics
    np.testing.assert_allclose(model(x, training=True).numpy(), reference, rtol=1e-6)
    # Under a tape nothing is fused: the gradient reaches every weight.
    with GradientTape() as tape:
        loss = keras.ops.sum(model(x, training=False)) if hasattr(keras, "ops") else \
            model(x, training=False).sum()
    grads = tape.gradient(loss, model.trainable_weights)
    assert all(g is not None and np.abs(np.asarray(g)).sum() > 0 for g in grads)


def test_plan_follows_layer_and_weight_changes(monkeypatch):
    rng = np.random.default_rng(13)
    model = keras.Sequential([keras.Input((7, 7, 2)), Conv2D(3, 2), BatchNormalization(),
                              Activation("relu"), MaxPooling2D(2)])
    x = image(rng, 3, 7, 7, 2)
    assert_fused_matches(model, x, monkeypatch,
                         [["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"]])
    model.layers[0].set_weights([w * 2 for w in model.layers[0].get_weights()])
    model.layers[2].activation = keras.activations.get("softplus")    # not fusable
    first = model(x, training=False).numpy()          # layer by layer; the plan goes stale
    second = model(x, training=False).numpy()         # a new plan
    assert chains_of(model) == [["Conv2D", "BatchNormalization"]]
    for result in (first, second):
        np.testing.assert_allclose(result, unfused(model, x, monkeypatch), rtol=2e-5,
                                   atol=2e-5)
    model.layers[1].activity_regularizer = keras.regularizers.L2(0.1)
    model(x, training=False)
    assert model.losses and fusion.stack_plan(model, model._stack) is None
    model.layers[1].trainable = False           # inference either way: still fused
    np.testing.assert_allclose(model(x, training=True).numpy(), unfused(model, x, monkeypatch),
                               rtol=2e-5, atol=2e-5)


def test_masked_and_float64_inputs_fall_back(monkeypatch):
    rng = np.random.default_rng(14)
    model = keras.Sequential([keras.Input((5, 4)), L.Masking(0.0), Dense(3), Activation("relu"),
                              BatchNormalization()])
    x = image(rng, 2, 5, 4)
    x[0, 2] = 0
    assert_fused_matches(model, x, monkeypatch, [["Dense", "Activation",
                                                  "BatchNormalization"]])
    model64 = keras.Sequential([keras.Input((4,), dtype="float64"),
                                Dense(3, dtype="float64"), Activation("relu", dtype="float64")])
    out = model64(np.ones((2, 4)))
    assert out.dtype == np.float64 and fusion.stack_plan(model64, model64._stack) is None


# ---------------------------------------------------------------------------------------
# the epilogue against a NumPy reference
# ---------------------------------------------------------------------------------------
def test_epilogue_moves_monotone_steps_past_max_pooling():
    rng = np.random.default_rng(15)
    product = rng.normal(size=(2, 6, 6, 3)).astype("float32")
    residual = rng.normal(size=(2, 6, 6, 3)).astype("float32")
    bias = rng.normal(size=3).astype("float32")
    gain, shift = np.array([0.5, 2.0, 1.0], "float32"), rng.normal(size=3).astype("float32")
    epilogue = fused.Epilogue([fused.bias_step(bias), fused.residual_step(residual),
                               fused.affine_step(gain, shift), fused.activation_step("relu6")],
                              fused.Pooling("max", (2, 2), (2, 2), [(0, 0), (0, 0)]))
    assert [s[0] for s in epilogue.before] == ["bias", "residual"]
    out = np.empty(epilogue.output_shape(product.shape), "float32")
    epilogue.pool_into(product.copy(), out, 0)
    full = np.clip((product + bias + residual) * gain + shift, 0, 6)
    want = full.reshape(2, 3, 2, 3, 2, 3).max(axis=(2, 4))
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------
# random chains
# ---------------------------------------------------------------------------------------
def _random_elementwise(rng):
    choice = rng.integers(5)
    if choice == 0:
        return BatchNormalization()
    if choice == 1:
        return ReLU(max_value=float(rng.choice([None, 6.0, 0.5]) or 0) or None)
    return Activation(["relu", "sigmoid", "tanh", "relu6", "linear"][rng.integers(5)])


def _random_chain_model(rng):
    """Input -> [head] -> elementwise layers -> [Add with a 1x1 projection of the input]
    -> elementwise layers -> [pooling] -> elementwise layers, odd sizes."""
    size = (int(rng.integers(5, 12)), int(rng.integers(5, 12)), int(rng.integers(1, 6)))
    inputs = keras.Input(size)
    x = inputs
    head = rng.integers(4)
    filters = int(rng.integers(2, 7))
    if head == 0:
        x = Conv2D(filters, int(rng.integers(1, 4)), strides=int(rng.integers(1, 3)),
                   padding=["valid", "same"][rng.integers(2)],
                   activation=["linear", "relu", "tanh"][rng.integers(3)],
                   use_bias=bool(rng.integers(2)))(x)
    elif head == 1:
        x = DepthwiseConv2D(int(rng.integers(1, 4)), padding="same",
                            depth_multiplier=int(rng.integers(1, 3)))(x)
    elif head == 2:
        x = Dense(filters, activation=["linear", "relu"][rng.integers(2)])(x)
    for _ in range(int(rng.integers(1, 3))):
        x = _random_elementwise(rng)(x)
    if rng.integers(2):
        shortcut = Conv2D(x.shape[-1], 1, strides=(size[0] // x.shape[1] if x.shape[1] else 1))
        projected = shortcut(inputs)
        if tuple(projected.shape) == tuple(x.shape):
            x = Add()([x, projected] if rng.integers(2) else [projected, x])
            x = _random_elementwise(rng)(x)
    if rng.integers(2) and min(x.shape[1:3]) >= 2:
        pool = [MaxPooling2D, AveragePooling2D][rng.integers(2)]
        x = pool(int(rng.integers(2, 4)) if min(x.shape[1:3]) >= 3 else 2,
                 strides=int(rng.integers(1, 3)), padding=["valid", "same"][rng.integers(2)])(x)
        if rng.integers(2):
            x = _random_elementwise(rng)(x)
    return keras.Model(inputs, L.Flatten()(x)), size


@pytest.mark.parametrize("seed", range(40))
def test_random_chains(seed, monkeypatch):
    """Random chains (heads, elementwise layers, residual adds either side, pooling) against
    the layer-by-layer path."""
    rng = np.random.default_rng(100 + seed)
    model, size = _random_chain_model(rng)
    randomize_batch_norms(model, rng)
    x = image(rng, int(rng.integers(1, 6)), *size)
    reference = unfused(model, x, monkeypatch)
    result = model(x, training=False).numpy()
    scale = max(1.0, float(np.abs(reference).max()))
    np.testing.assert_allclose(result, reference, rtol=2e-5, atol=2e-5 * scale)


def test_add_after_the_pooling_stays_outside_the_chain(monkeypatch):
    """DLwP listing 7.x's downsampling residual: conv -> max-pool, added to a strided 1x1 conv
    of the block input. The Add after the pooling cannot join the conv/pool chain, and must not
    lend the chain its other operand (predict raised KeyError)."""
    rng = np.random.default_rng(4)
    inputs = keras.Input((8, 8, 3))
    y = Conv2D(5, 3, activation="relu", padding="same")(inputs)
    y = MaxPooling2D(2, strides=2)(y)
    residual = Conv2D(5, 1, strides=2, padding="same")(inputs)
    model = keras.Model(inputs, Add()([y, residual]))
    assert_fused_matches(model, image(rng, 2, 8, 8, 3), monkeypatch,
                         [["Conv2D", "MaxPooling2D"], ["Conv2D", "Add"]])


@pytest.mark.parametrize("route", ["winograd", "im2col"])
@pytest.mark.parametrize("batch, size", [(1, 7), (5, 9)])
def test_vgg_and_residual_stacks_on_each_route(route, batch, size, monkeypatch):
    """3x3 stride-1 stacks (VGG-style conv-BN-relu, a residual Add) with every 3x3 stride-1
    convolution forced onto one route: the Winograd route adds the bias inside its output
    transform; odd sizes, batch 1, 'valid' and 'same' padding."""
    lean_calls = force_route(route, monkeypatch)
    rng = np.random.default_rng(21)
    inputs = keras.Input((size, size + 2, 5))
    x = Activation("relu")(BatchNormalization()(Conv2D(12, 3, padding="same")(inputs)))
    x = Activation("relu")(BatchNormalization()(Conv2D(12, 3, padding="valid")(x)))
    y = BatchNormalization()(Conv2D(12, 3, padding="same", use_bias=False)(x))
    x = Activation("relu")(Add()([y, x]))
    model = keras.Model(inputs, Conv2D(3, 3, activation="relu")(x))
    conv_bn_relu = ["Conv2D", "BatchNormalization", "Activation"]
    x = image(rng, batch, size, size + 2, 5)
    first = assert_fused_matches(model, x, monkeypatch,
                                 [conv_bn_relu, conv_bn_relu,
                                  ["Conv2D", "BatchNormalization", "Add", "Activation"]])
    # Once the route plans are made, Winograd chains take `winograd_inference` (the
    # transformed kernel kept with the chain): the same numbers.
    lean_calls.clear()
    np.testing.assert_array_equal(arrays(model(x, training=False))[0], first[0])
    assert len(lean_calls) == (3 if route == "winograd" else 0)


def force_route(route, monkeypatch):
    """Every 3x3 stride-1 convolution planned onto `route` (plans kept, in a fresh table);
    returns the list of outputs `conv_kernels.winograd_inference` gave (None: not taken)."""
    from minikeras.ops import conv_kernels
    monkeypatch.setattr(conv_kernels, "_PLANS", {})
    monkeypatch.setattr(conv_kernels, "plan", lambda key, candidates, **options:
                        conv_kernels._PLANS.setdefault(
                            key, route if route in candidates else next(iter(candidates))))
    lean = conv_kernels.winograd_inference
    calls = []

    def spy(*args):
        out = lean(*args)
        if out is not None:
            calls.append(out)
        return out
    monkeypatch.setattr(conv_kernels, "winograd_inference", spy)
    return calls


def test_weight_changes_between_calls_are_read(monkeypatch):
    """What a chain derives from its weights (folded kernel and bias, affine maps, the
    Winograd kernel) is kept between calls only while the weights are unchanged: in-place
    assignments of each kind of weight are seen by the next call."""
    lean_calls = force_route("winograd", monkeypatch)
    from minikeras.ops import winograd
    transforms = []
    transform = winograd.transform_kernel
    monkeypatch.setattr(winograd, "transform_kernel",
                        lambda kernel: transforms.append(1) or transform(kernel))
    rng = np.random.default_rng(5)
    inputs = keras.Input((6, 7, 16))
    x = Activation("relu")(BatchNormalization()(Conv2D(16, 3, padding="same")(inputs)))
    y = BatchNormalization(scale=False)(Conv2D(16, 3, padding="same", use_bias=False)(x))
    model = keras.Model(inputs, Activation("relu")(Add()([y, inputs])))
    x = image(rng, 3, 6, 7, 16)
    assert_fused_matches(model, x, monkeypatch,
                         [["Conv2D", "BatchNormalization", "Activation"],
                          ["Conv2D", "BatchNormalization", "Add", "Activation"]])
    model(x, training=False)
    transforms.clear()
    model(x, training=False)
    assert transforms == [] and len(lean_calls) >= 2      # nothing derived again
    conv, norm = model.layers[1], model.layers[2]
    changes = [lambda: conv.kernel.assign(conv.kernel.numpy() * -1.5),
               lambda: conv.bias.assign_add(np.full(16, 0.25, "float32")),
               lambda: norm.moving_variance.assign(norm.moving_variance.numpy() * 3.0),
               lambda: norm.gamma.assign_sub(np.full(16, 0.5, "float32")),
               lambda: model.layers[5].moving_mean.assign(np.ones(16, "float32")),
               lambda: setattr(model.layers[5], "epsilon", 0.5)]
    for change in changes:
        change()
        result = arrays(model(x, training=False))[0]
        np.testing.assert_allclose(result, unfused(model, x, monkeypatch), rtol=2e-5,
                                   atol=2e-5 * max(1.0, float(np.abs(result).max())))
