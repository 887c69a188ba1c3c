"""Max pooling right after a training batch norm with a fused activation
(`batch_norm.max_pool_after_activation`, taken by Sequential stacks BatchNormalization ->
Activation -> MaxPooling): the activation's gradient is taken on the pooled gradient and the
batch norm skips it. The same bits as the pooling op followed by the batch norm's own activation
gradient (whole-model training and op-level gradients, a NaN input included), and the cases
that must not take it."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.core.tensor import Tensor, Variable, compute_gradients, recording_scope
from minikeras.models import fusion
from minikeras.ops import batch_norm as bn_ops
from minikeras.ops.conv import max_pool

# activation, spatial rank, input size, pooling padding, pool size: tiling with a dropped last
# row/column, 'same' padding, 3x3 windows with ties (relu zeros), 1-D and 3-D, relu6
CASES = [("sigmoid", 2, 12, "valid", 2), ("tanh", 2, 13, "same", 2), ("relu", 2, 11, "valid", 3),
         ("sigmoid", 1, 15, "valid", 2), ("tanh", 3, 7, "valid", 2), ("relu6", 2, 12, "valid", 2)]


def _model(activation, rank, size, padding, pool):
    conv = {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D}[rank]
    pooling = {1: layers.MaxPooling1D, 2: layers.MaxPooling2D, 3: layers.MaxPooling3D}[rank]
    keras.utils.set_random_seed(3)
    model = keras.models.Sequential([
        keras.Input(shape=(size,) * rank + (3,)), conv(4, 3), layers.BatchNormalization(),
        layers.Activation(activation), pooling(pool, padding=padding), layers.Flatten(),
        layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss="categorical_crossentropy")
    return model


@pytest.mark.parametrize("activation,rank,size,padding,pool", CASES)
def test_sequential_training_same_bits_as_the_layers_one_by_one(activation, rank, size, padding,
                                                                pool, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.random((24,) + (size,) * rank + (3,), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 24)]
    taken = []
    original = fusion.max_pool_after_activation
    monkeypatch.setattr(fusion, "max_pool_after_activation",
                        lambda *args: taken.append(1) or original(*args))
    results = {}
    for on in (False, True):
        monkeypatch.setattr(fusion, "POOL_AFTER_ACTIVATION", on)
        model = _model(activation, rank, size, padding, pool)
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        results[on] = (model.get_weights(), history.history["loss"])
    assert len(taken) == 6                                  # 3 steps x 2 epochs, fused only
    assert results[True][1] == results[False][1]
    for fused, plain in zip(results[True][0], results[False][0]):
        np.testing.assert_array_equal(fused, plain)


def _gradients(x, gamma, beta, weights, fused):
    with recording_scope():
        normalized, _ = bn_ops.batch_norm_train(x, gamma, beta, (0, 1, 2), 1e-3,
                                                activation="sigmoid")
        pooled = bn_ops.max_pool_after_activation(normalized, (2, 2), "valid") if fused else \
            max_pool(normalized, (2, 2), (2, 2), "valid")
        loss = keras.ops.sum(keras.ops.multiply(pooled, Tensor(weights)))
    return [pooled.data] + [np.asarray(g.data) for g in compute_gradients(loss, [x, gamma, beta])]


@pytest.mark.parametrize("with_nan", [False, True])
def test_op_gradients_same_bits_as_pool_then_activation_gradient(with_nan):
    """Ties between windows' values (a quantized input) and, with a NaN in the input (its
    channel's statistics and outputs are NaN), the NaN spread as the unfused ops spread it."""
    rng = np.random.default_rng(1)
    data = np.round(rng.standard_normal((6, 8, 10, 3)), 1).astype(np.float32)
    if with_nan:
        data[2, 3, 4, 1] = np.nan
    weights = rng.standard_normal((6, 4, 5, 3)).astype(np.float32)
    runs = []
    for fused in (False, True):
        x = Variable(data.copy())
        gamma = Variable(np.array([0.7, 1.2, 0.9], np.float32))
        beta = Variable(np.linspace(-0.2, 0.2, 3, dtype=np.float32))
        runs.append(_gradients(x, gamma, beta, weights, fused))
    for fused, plain in zip(runs[1], runs[0]):
        np.testing.assert_array_equal(fused, plain)
    assert np.isnan(runs[1][1]).any() == with_nan


def test_pooling_not_after_the_fused_op_is_left_to_the_layer():
    """A plain tensor, or a batch norm output whose activation is a separate op (the plain
    layout), gives None: the pooling layer runs as usual."""
    x = Variable(np.random.default_rng(2).random((4, 6, 6, 2), dtype=np.float32))
    with recording_scope():
        assert bn_ops.max_pool_after_activation(keras.ops.multiply(x, 2.0), (2, 2),
                                                "valid") is None
        # reduced axes (0, 2) keep a non-contiguous block: the activation op follows
        out, _ = bn_ops.batch_norm_train(x, None, None, (0, 2), 1e-3, activation="sigmoid")
        assert bn_ops.max_pool_after_activation(out, (2, 2), "valid") is None


def test_stacks_that_do_not_take_it(monkeypatch):
    """Strides other than the pool size, channels_first, or no activation between: the
    pooling layer is called."""
    taken = []
    original = fusion.max_pool_after_activation
    monkeypatch.setattr(fusion, "max_pool_after_activation",
                        lambda *args: taken.append(1) or original(*args))
    x = np.random.default_rng(3).random((4, 9, 9, 3), dtype=np.float32)
    y = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    for stack in ([layers.BatchNormalization(), layers.Activation("sigmoid"),
                   layers.MaxPooling2D(3, strides=2)],
                  [layers.BatchNormalization(), layers.MaxPooling2D(2)]):
        model = keras.models.Sequential([keras.Input(shape=(9, 9, 3)), *stack,
                                         layers.Flatten(), layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert not taken


def _functional(branch):
    keras.utils.set_random_seed(5)
    inputs = keras.Input(shape=(10, 10, 3))
    h = layers.Conv2D(4, 3)(inputs)
    h = layers.Activation("sigmoid")(layers.BatchNormalization()(h))
    pooled = layers.Flatten()(layers.MaxPooling2D(2)(h))
    if branch:                                   # a second reader of the activation's output
        pooled = layers.Concatenate()([pooled, layers.GlobalAveragePooling2D()(h)])
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(pooled))
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss="categorical_crossentropy")
    return model


@pytest.mark.parametrize("branch", [False, True])
def test_functional_training_same_bits(branch, monkeypatch):
    """A Functional graph takes it when the pooling is the activation's only reader."""
    rng = np.random.default_rng(4)
    x = rng.random((16, 10, 10, 3), dtype=np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 16)]
    taken = []
    original = fusion.max_pool_after_activation
    monkeypatch.setattr(fusion, "max_pool_after_activation",
                        lambda *args: taken.append(1) or original(*args))
    weights = {}
    for on in (False, True):
        monkeypatch.setattr(fusion, "POOL_AFTER_ACTIVATION", on)
        model = _functional(branch)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        weights[on] = model.get_weights()
    assert len(taken) == (0 if branch else 4)
    for fused, plain in zip(weights[True], weights[False]):
        np.testing.assert_array_equal(fused, plain)
