"""Training batch normalization with a fused activation (`batch_norm_train(activation=...)`,
and the Sequential BatchNormalization -> Activation pairs that use it): the same numbers as the
batch-norm op followed by the activation op, finite-difference gradients (float64), the same
training as with the fusion off, and the cases that must not fuse."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.core.tensor import Tensor, Variable, compute_gradients, recording_scope
from minikeras.models import fusion
from minikeras.ops import activation_kernels
from minikeras.ops import batch_norm as bn_ops
from gradcheck import check_gradients

ACTIVATIONS = ("sigmoid", "tanh", "relu", "relu6")

# (shape, reduced axes): channels-last conv and dense layouts (tiled), channels-first (tiled,
# 3-D view), odd sizes, and a non-contiguous kept block (plain path: the activation op follows).
LAYOUTS = [((16, 6, 6, 3), (0, 1, 2)), ((9, 7), (0,)), ((5, 3, 4, 4), (0, 2, 3)),
           ((3, 5, 7), (0, 1)), ((2, 3, 4, 5), (0, 2))]


def _param_shape(shape, axes):
    if axes == tuple(range(len(shape) - 1)):
        return (shape[-1],)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _forward_and_grads(x, gamma, beta, axes, activation, fused, weights):
    with recording_scope():
        if fused:
            out, _ = bn_ops.batch_norm_train(x, gamma, beta, axes, 1e-3, activation=activation)
        else:
            normalized, _ = bn_ops.batch_norm_train(x, gamma, beta, axes, 1e-3)
            out = bn_ops.apply_activation(activation, normalized)
        loss = keras.ops.sum(keras.ops.multiply(out, Tensor(weights)))
    grads = compute_gradients(loss, [x, gamma, beta])
    return [out.data] + [np.asarray(g.data) for g in grads]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape,axes", LAYOUTS)
def test_same_numbers_as_the_two_ops(shape, axes, activation, monkeypatch):
    """Output and all three gradients equal the unfused chain's bit for bit (the fused passes
    make the same NumPy calls in the same order); small tiles walk the multi-tile code."""
    monkeypatch.setattr(bn_ops, "_TILE_ELEMENTS", 64)
    rng = np.random.default_rng(3)
    x = Variable(rng.standard_normal(shape).astype(np.float32) * 3 + 1)
    pshape = _param_shape(shape, axes)
    gamma = Variable(rng.standard_normal(pshape).astype(np.float32))   # negative scales too
    beta = Variable(rng.standard_normal(pshape).astype(np.float32))
    weights = rng.standard_normal(shape).astype(np.float32)
    fused = _forward_and_grads(x, gamma, beta, axes, activation, True, weights)
    chain = _forward_and_grads(x, gamma, beta, axes, activation, False, weights)
    for got, expected in zip(fused, chain):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_split_tiles_and_short_ufunc_buffer_give_the_same_numbers(activation, monkeypatch):
    """Tiles split over two threads (each thread sets and restores its own ufunc buffer)."""
    rng = np.random.default_rng(6)
    shape, axes = (24, 6, 6, 5), (0, 1, 2)
    x = Variable(rng.standard_normal(shape).astype(np.float32))
    gamma = Variable(rng.standard_normal(5).astype(np.float32))
    beta = Variable(rng.standard_normal(5).astype(np.float32))
    weights = rng.standard_normal(shape).astype(np.float32)
    chain = _forward_and_grads(x, gamma, beta, axes, activation, False, weights)
    monkeypatch.setattr(bn_ops, "_TILE_ELEMENTS", 256)
    monkeypatch.setattr(bn_ops, "_THREADED_ELEMENTS", 1)
    monkeypatch.setattr(bn_ops, "_SHORT_BUFFER_ELEMENTS", 1)
    bn_ops._LAYOUTS.clear()
    buffer_size = np.getbufsize()
    fused = _forward_and_grads(x, gamma, beta, axes, activation, True, weights)
    bn_ops._LAYOUTS.clear()
    assert np.getbufsize() == buffer_size
    for got, expected in zip(fused, chain):
        np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_fused_against_numpy(activation):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((32, 5, 5, 4)).astype(np.float32) * 4
    gamma = rng.random(4).astype(np.float32) * 4 + 0.5          # relu6: values above the cap
    beta = rng.standard_normal(4).astype(np.float32)
    out, _ = bn_ops.batch_norm_train(x, gamma, beta, (0, 1, 2), 1e-3, activation=activation)
    x64 = x.astype(np.float64)
    y = (x64 - x64.mean((0, 1, 2))) / np.sqrt(x64.var((0, 1, 2)) + 1e-3) * gamma + beta
    expected = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh,
                "relu": lambda v: np.maximum(v, 0), "relu6": lambda v: np.clip(v, 0, 6)}[
                    activation](y)
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)


def test_sigmoid_saturates_without_warnings():
    """Huge normalised values: exp overflows to inf inside the kernel, the logistic is 0 or 1."""
    x = np.array([[-1e4], [1e4], [0.0]], np.float32)
    gamma = np.array([1e3], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, _ = bn_ops.batch_norm_train(x, gamma, None, (0,), 1e-3, activation="sigmoid")
    np.testing.assert_array_equal(out.data[:2, 0], [0.0, 1.0])


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape,axes", [((6, 2, 2, 3), (0, 1, 2)), ((5, 3, 2), (0, 2)),
                                        ((4, 3, 2), (0, 1))])
def test_gradients_against_finite_differences(float64, shape, axes, activation, monkeypatch):
    monkeypatch.setattr(bn_ops, "_TILE_ELEMENTS", 8)
    rng = np.random.default_rng(5)
    pshape = _param_shape(shape, axes)
    # relu: keep the normalised values away from its kink
    x = rng.standard_normal(shape)
    gamma = rng.standard_normal(pshape)
    beta = rng.standard_normal(pshape) * (3 if activation == "relu" else 1)

    def fn(x, gamma, beta):
        return bn_ops.batch_norm_train(x, gamma, beta, axes, 1e-3, activation=activation)[0]
    check_gradients(fn, [x, gamma, beta], rtol=1e-5, atol=1e-7)


def test_unknown_activation_is_refused():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="softmax"):
        bn_ops.batch_norm_train(x, None, None, (0,), 1e-3, activation="softmax")
    with pytest.raises(ValueError, match="elu"):
        activation_kernels.activation_in_place("elu", x)


# ---------------------------------------------------------------------------------------
# Sequential BatchNormalization -> Activation pairs in training
# ---------------------------------------------------------------------------------------
def _lenet_like():
    return keras.Sequential([
        keras.Input((10, 10, 1)),
        layers.Conv2D(4, 3), layers.BatchNormalization(), layers.Activation("sigmoid"),
        layers.MaxPooling2D(2),
        layers.Conv2D(5, 3), layers.BatchNormalization(), layers.Activation("relu"),
        layers.Flatten(),
        layers.Dense(7), layers.BatchNormalization(), layers.Activation("tanh"),
        layers.Dense(6), layers.BatchNormalization(), layers.Activation("sigmoid"),
        layers.Dense(3, activation="softmax"),
    ])


def _train(enabled, monkeypatch, build=_lenet_like, loss="categorical_crossentropy"):
    monkeypatch.setattr(fusion, "TRAINING_ENABLED", enabled)
    keras.utils.set_random_seed(7)
    model = build()
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), loss)
    rng = np.random.default_rng(8)
    x = rng.random((40, 10, 10, 1)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 3, 40), 3)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    return history.history["loss"], model.get_weights(), model.predict(x, verbose=0)


def _spy_fused_activations(monkeypatch):
    """The `activation` argument of every training batch-norm call, as a growing list."""
    calls = []
    original = bn_ops.batch_norm_train

    def spy(*args, **kwargs):
        calls.append(kwargs.get("activation"))
        return original(*args, **kwargs)
    monkeypatch.setattr(keras.layers.normalization.batch_normalization, "batch_norm_train", spy)
    return calls


def test_sequential_training_same_as_unfused(monkeypatch):
    calls = _spy_fused_activations(monkeypatch)
    fused_loss, fused_weights, fused_predictions = _train(True, monkeypatch)
    assert set(calls) == {"sigmoid", "relu", "tanh"}     # every pair fused
    calls.clear()
    loss, weights, predictions = _train(False, monkeypatch)
    assert set(calls) == {None}
    assert fused_loss == loss
    for got, expected in zip(fused_weights, weights):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(fused_predictions, predictions)


def test_pairs_that_do_not_fuse():
    bn, sigmoid = layers.BatchNormalization(), layers.Activation("sigmoid")
    bn.build((None, 3))
    sigmoid.build((None, 3))
    assert fusion.training_activation(bn, sigmoid, False) == "sigmoid"
    assert fusion.training_activation(bn, sigmoid, True) is None          # the model output
    relus = [layers.ReLU(), layers.ReLU(6.0), layers.ReLU(5.0), layers.ReLU(negative_slope=0.1),
             layers.ReLU(threshold=1.0)]
    assert fusion.training_activation(bn, relus[0], False) is None        # not built
    for relu in relus:
        relu.build((None, 3))
    assert [fusion.training_activation(bn, relu, False) for relu in relus] == \
        ["relu", "relu6", None, None, None]
    softmax = layers.Activation("softmax")
    softmax.build((None, 3))
    assert fusion.training_activation(bn, softmax, False) is None
    sigmoid.activity_regularizer = keras.regularizers.L2(0.1)
    assert fusion.training_activation(bn, sigmoid, False) is None

    class OwnBatchNorm(layers.BatchNormalization):
        pass
    own = OwnBatchNorm()
    own.build((None, 3))
    tanh = layers.Activation("tanh")
    tanh.build((None, 3))
    assert fusion.training_activation(own, tanh, False) is None


def test_sigmoid_output_keeps_its_logits(monkeypatch):
    """A model ending in BatchNormalization -> sigmoid keeps the unfused pair, so binary
    cross-entropy reads the logits as tf.keras does: the same losses as with fusion off."""
    def build():
        return keras.Sequential([keras.Input((10, 10, 1)), layers.Flatten(), layers.Dense(3),
                                 layers.BatchNormalization(), layers.Activation("sigmoid")])
    fused_loss, fused_weights, _ = _train(True, monkeypatch, build, "binary_crossentropy")
    loss, weights, _ = _train(False, monkeypatch, build, "binary_crossentropy")
    assert fused_loss == loss
    for got, expected in zip(fused_weights, weights):
        np.testing.assert_array_equal(got, expected)


def test_frozen_batch_norm_applies_the_activation_in_inference_mode(monkeypatch):
    """A frozen BatchNormalization runs in inference mode; the pair still applies the
    activation (after the inference normalization)."""
    def build():
        model = _lenet_like()
        model.layers[1].trainable = False
        return model
    fused = _train(True, monkeypatch, build)
    unfused = _train(False, monkeypatch, build)
    assert fused[0] == unfused[0]
    for got, expected in zip(fused[1], unfused[1]):
        np.testing.assert_array_equal(got, expected)


def _residual_functional():
    """BN -> relu pairs inside residual blocks, a BN whose output has two readers, a BN
    called with an explicit training argument, and a BN -> sigmoid pair as the model output."""
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same")(inputs)
    x = layers.Activation("relu")(layers.BatchNormalization()(x))             # fused
    y = layers.Conv2D(4, 3, padding="same")(x)
    y = layers.Activation("tanh")(layers.BatchNormalization()(y))             # fused
    y = layers.Conv2D(4, 3, padding="same")(y)
    shared = layers.BatchNormalization()(y)                                   # two readers
    x = layers.Activation("relu")(layers.Add()([shared, x]))
    x = layers.Add()([x, layers.Activation("sigmoid")(shared)])
    x = layers.BatchNormalization()(x, training=True)                         # extra argument
    x = layers.Activation("relu")(x)
    x = layers.Dense(3)(layers.GlobalAveragePooling2D()(x))
    out = layers.Activation("sigmoid")(layers.BatchNormalization()(x))        # model output
    return keras.Model(inputs, out)


def test_functional_training_same_as_unfused(monkeypatch):
    model = _residual_functional()
    pairs = fusion.training_graph_pairs(model)
    names = {type(model._run_plan[step][0].layer).__name__ for step in pairs}
    assert names == {"BatchNormalization"} and len(pairs) == 2

    calls = _spy_fused_activations(monkeypatch)

    def run(enabled):
        monkeypatch.setattr(fusion, "TRAINING_ENABLED", enabled)
        keras.utils.set_random_seed(9)
        model = _residual_functional()
        model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "binary_crossentropy")
        rng = np.random.default_rng(10)
        x = rng.random((24, 8, 8, 3)).astype(np.float32)
        y = (rng.random((24, 3)) > 0.5).astype(np.float32)
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        return history.history["loss"], model.get_weights()
    fused_loss, fused_weights = run(True)
    assert sorted(set(calls), key=str) == [None, "relu", "tanh"]
    calls.clear()
    loss, weights = run(False)
    assert set(calls) == {None}
    assert fused_loss == loss
    for got, expected in zip(fused_weights, weights):
        np.testing.assert_array_equal(got, expected)


def _relu6_net():
    """Both spellings of ReLU6 (a ReLU layer with max_value 6, Activation('relu6')) after
    batch normalizations, and a plain ReLU layer."""
    return keras.Sequential([
        keras.Input((10, 10, 1)),
        layers.Conv2D(4, 3), layers.BatchNormalization(), layers.ReLU(6.0),
        layers.DepthwiseConv2D(3, strides=2, padding="same"), layers.BatchNormalization(),
        layers.Activation("relu6"),
        layers.Conv2D(5, 1), layers.BatchNormalization(), layers.ReLU(),
        layers.GlobalAveragePooling2D(), layers.Dense(3, activation="softmax"),
    ])


def test_relu6_pairs_train_as_unfused(monkeypatch):
    calls = _spy_fused_activations(monkeypatch)
    fused = _train(True, monkeypatch, _relu6_net)
    assert set(calls) == {"relu6", "relu"}
    calls.clear()
    unfused = _train(False, monkeypatch, _relu6_net)
    assert set(calls) == {None}
    assert fused[0] == unfused[0]
    for got, expected in zip(fused[1] + [fused[2]], unfused[1] + [unfused[2]]):
        np.testing.assert_array_equal(got, expected)


def test_functional_relu_layer_pairs():
    inputs = keras.Input((6, 6, 2))
    x = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(3, 3)(inputs)))
    x = layers.ReLU(4.0)(layers.BatchNormalization()(x))                 # cap 4: not fused
    model = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(x)))
    pairs = fusion.training_graph_pairs(model)
    assert len(pairs) == 2          # graph pairs; the cap is checked at call time
    names = [fusion.fused_training_step(model, step, None, pairs) for step in sorted(pairs)]
    assert names == ["relu6", None]
