"""The fused training op conv (+ bias, relu) -> max pooling (ops/conv_pool.py) and the
Sequential training path that uses it (models/fusion.py `run_training_stack`)."""
import importlib

import numpy as np
import pytest

import minikeras as keras
from minikeras.core.tensor import Tensor, Variable
from tests.gradcheck import check_gradients

conv_pool = importlib.import_module("minikeras.ops.conv_pool")
conv_op = importlib.import_module("minikeras.ops.conv")
fusion = importlib.import_module("minikeras.models.fusion")


def reference(x, kernel, bias, padding, dilation, activation, pool, pool_padding):
    """Direct loops (float64): convolution, bias, activation, max pooling."""
    rank = kernel.ndim - 2
    pads = conv_op.conv_pads(x.shape[1:-1], kernel.shape[:-2], (1,) * rank, padding, dilation)
    xp = np.pad(x.astype(np.float64), [(0, 0)] + list(pads) + [(0, 0)])
    spatial = [n - (k - 1) * d for n, k, d in zip(xp.shape[1:-1], kernel.shape[:-2], dilation)]
    y = np.zeros((x.shape[0],) + tuple(spatial) + (kernel.shape[-1],))
    for tap in np.ndindex(*kernel.shape[:-2]):
        index = (slice(None),) + tuple(slice(t * d, t * d + n)
                                       for t, d, n in zip(tap, dilation, spatial))
        y += xp[index] @ kernel[tap].astype(np.float64)
    y += bias
    if activation == "relu":
        y = np.maximum(y, 0)
    pooled = [n // p for n, p in zip(spatial, pool)]
    out = np.full((x.shape[0],) + tuple(pooled) + (kernel.shape[-1],), -np.inf)
    for tap in np.ndindex(*pool):
        index = (slice(None),) + tuple(slice(t, t + o * p, p) for t, o, p in zip(tap, pooled, pool))
        out = np.maximum(out, y[index])
    return out


def unfused(x, kernel, bias, padding, dilation, activation, pool, pool_padding):
    rank = np.ndim(kernel) - 2
    y = conv_op.conv(x, kernel, (1,) * rank, padding, dilation, bias=bias, activation=activation)
    return conv_op.max_pool(y, pool, pool, pool_padding)


# (x shape, kernel shape, conv padding, dilation, pool size)
CASES = [
    ((2, 9, 11, 3), (2, 2, 3, 5), "valid", (1, 1), (2, 2)),        # few channels, odd sizes
    ((1, 13, 12, 16), (2, 2, 16, 8), "valid", (1, 1), (2, 2)),     # grid products, batch 1
    ((2, 13, 12, 10), (2, 2, 10, 8), "same", (1, 1), (3, 2)),      # windows leave a margin
    ((2, 11, 9, 10), (2, 2, 10, 6), "valid", (2, 1), (2, 3)),      # dilation
    ((3, 8, 7, 12), (1, 1, 12, 4), "valid", (1, 1), (2, 2)),       # 1x1
    ((2, 17, 12), (3, 12, 5), "same", (1,), (2,)),                 # 1-D
    ((2, 17, 4), (4, 4, 5), "causal", (1,), (3,)),                 # 1-D, 4 taps, causal
    ((1, 7, 8, 6, 9), (2, 1, 2, 9, 4), "valid", (1, 1, 1), (2, 2, 2)),   # 3-D
    ((2, 11, 13, 2), (2, 2, 2, 3), "same", (2, 2), (3, 2)),       # few channels, dilation
    ((1, 7, 9, 6, 2), (2, 1, 2, 2, 4), "valid", (1, 1, 2), (2, 2, 2)),   # 3-D, few channels
]


def _arrays(case, dtype, seed=0):
    x_shape, k_shape = case[:2]
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(x_shape).astype(dtype),
            (rng.standard_normal(k_shape) * 0.5).astype(dtype),
            (rng.standard_normal(k_shape[-1]) * 0.3).astype(dtype))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("activation", ["relu", None])
def test_forward_matches_reference(case, activation):
    x, kernel, bias = _arrays(case, np.float32)
    _, _, padding, dilation, pool = case
    out = conv_pool.conv_max_pool(Tensor(x), Tensor(kernel), Tensor(bias), padding, dilation,
                                  activation, pool, "valid")
    assert out is not None and out.dtype == np.float32
    expected = reference(x, kernel, bias, padding, dilation, activation, pool, "valid")
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("activation", ["relu", None])
def test_gradients_match_separate_ops(case, activation):
    x, kernel, bias = _arrays(case, np.float32, seed=1)
    _, _, padding, dilation, pool = case
    results = []
    for op in (unfused, conv_pool.conv_max_pool):
        xv, kv, bv = Tensor(x), Variable(kernel), Variable(bias)
        with keras.GradientTape() as tape:
            tape.watch(xv)
            out = op(xv, kv, bv, padding, dilation, activation, pool, "valid")
            weights = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
            loss = keras.ops.sum(out * weights)
        grads = tape.gradient(loss, [xv, kv, bv])
        results.append([out.numpy()] + [np.asarray(g) for g in grads])
    for got, expected in zip(results[1], results[0]):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-5,
                                   atol=1e-5 * max(1.0, float(np.max(np.abs(expected)))))


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[6], CASES[7]])
def test_finite_differences(float64, case):
    x, kernel, bias = _arrays(case, np.float64, seed=3)
    _, _, padding, dilation, pool = case
    # smaller shapes keep the finite differences quick
    x = x[:1]

    def fn(xt, kt, bt):
        return conv_pool.conv_max_pool(xt, kt, bt, padding, dilation, "relu", pool, "valid")
    check_gradients(fn, [x, kernel, bias], rtol=1e-5, atol=1e-7)


def test_first_maximum_wins_ties():
    # equal values in every window: the gradient goes to the window's first cell, as the
    # max pooling op routes it
    x = np.ones((1, 5, 5, 1), np.float32)
    kernel = np.ones((1, 1, 1, 2), np.float32)
    xv = Tensor(x)
    with keras.GradientTape() as tape:
        tape.watch(xv)
        loss = keras.ops.sum(conv_pool.conv_max_pool(xv, Tensor(kernel), None, "valid", (1, 1),
                                                     "relu", (2, 2), "valid"))
    dx = np.asarray(tape.gradient(loss, xv))[0, ..., 0]
    expected = np.zeros((5, 5), np.float32)
    expected[0:4:2, 0:4:2] = 2          # two filters, each routing 1 to the first cell
    np.testing.assert_array_equal(dx, expected)


def test_a_tie_made_by_the_bias_goes_to_the_first_cell():
    # 0 and 2**-25 differ, but each plus a bias of 1 rounds to 1.0 in float32: the unfused
    # layers pool relu(conv + bias), see a tie and route the gradient to the first cell
    x = np.array([0.0, 2.0 ** -25, -1.0, -1.0], np.float32).reshape(1, 2, 2, 1)
    xv = Tensor(x)
    with keras.GradientTape() as tape:
        tape.watch(xv)
        loss = keras.ops.sum(conv_pool.conv_max_pool(
            xv, Tensor(np.ones((1, 1, 1, 1), np.float32)), Tensor(np.ones(1, np.float32)),
            "valid", (1, 1), "relu", (2, 2), "valid"))
    dx = np.asarray(tape.gradient(loss, xv)).reshape(-1)
    np.testing.assert_array_equal(dx, [1.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("arguments", [
    dict(strides=(2, 2)),                       # strided convolution
    dict(kernel=(3, 3, 4, 2)),                  # 9 taps
    dict(pool_strides=(1, 1)),                  # overlapping windows
    dict(pool_pads=[(0, 1), (0, 1)]),           # padded pooling
    dict(activation="tanh"),
    dict(groups=2, kernel=(2, 2, 2, 2)),
])
def test_applies_only_to_its_cases(arguments):
    settings = dict(x_shape=(2, 9, 9, 4), kernel=(2, 2, 4, 2), strides=(1, 1),
                    pads=[(0, 0), (0, 0)], dilation=(1, 1), groups=1, pool_size=(2, 2),
                    pool_strides=(2, 2), pool_pads=[(0, 0), (0, 0)], activation="relu")
    assert conv_pool.applies(*settings.values())
    settings.update(arguments)
    assert not conv_pool.applies(*settings.values())


def test_same_pooling_falls_back_when_it_pads():
    x, kernel, bias = _arrays(((1, 10, 9, 4), (2, 2, 4, 3)), np.float32)
    # 9 x 8 convolution output: 'same' 2x2 pooling pads the odd axis
    assert conv_pool.conv_max_pool(Tensor(x), Tensor(kernel), Tensor(bias), "valid", (1, 1),
                                   "relu", (2, 2), "same") is None
    # even output: no padding, fused
    out = conv_pool.conv_max_pool(Tensor(x[:, :9, :9]), Tensor(kernel), Tensor(bias), "valid",
                                  (1, 1), "relu", (2, 2), "same")
    expected = reference(x[:, :9, :9], kernel, bias, "valid", (1, 1), "relu", (2, 2), "valid")
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


def _model(layers, seed):
    keras.utils.set_random_seed(seed)
    model = layers()
    model = model if isinstance(model, keras.Model) else keras.Sequential(model)
    model.compile(keras.optimizers.Adam(1e-2), "categorical_crossentropy")
    return model


def _functional_layers(shape):
    L = keras.layers

    def layers():
        inputs = keras.Input(shape)
        a = L.MaxPooling2D(2)(L.Conv2D(6, 2, activation="relu")(inputs))     # fused
        shared = L.Conv2D(6, 2)(a)                                          # two readers
        b = L.Add()([L.MaxPooling2D(2)(shared), L.AveragePooling2D(2)(shared)])
        outputs = L.Dense(5, activation="softmax")(L.GlobalAveragePooling2D()(b))
        return keras.Model(inputs, outputs)
    return layers


@pytest.mark.parametrize("name", ["2d", "1d", "channels_first", "functional"])
def test_sequential_training_same_as_layer_by_layer(name, monkeypatch):
    L = keras.layers
    if name == "2d":
        shape = (21, 19, 3)

        def layers():
            return [keras.Input(shape), L.Conv2D(8, 2, activation="relu"), L.MaxPooling2D(2),
                    L.Conv2D(12, 2, activation="relu", padding="same"), L.MaxPooling2D(2),
                    L.Conv2D(6, 3), L.MaxPooling2D(2),         # 9 taps: layer by layer
                    L.GlobalAveragePooling2D(), L.Dense(5, activation="softmax")]
    elif name == "1d":
        shape = (30, 10)

        def layers():
            return [keras.Input(shape), L.Conv1D(8, 3, padding="causal"), L.MaxPooling1D(3),
                    L.Flatten(), L.Dense(5, activation="softmax")]
    elif name == "functional":
        shape = (21, 19, 3)
        layers = _functional_layers(shape)
    else:
        shape = (3, 12, 11)

        def layers():
            return [keras.Input(shape),
                    L.Conv2D(8, 2, activation="relu", data_format="channels_first"),
                    L.MaxPooling2D(2, data_format="channels_first"), L.Flatten(),
                    L.Dense(5, activation="softmax")]
    rng = np.random.default_rng(0)
    x = rng.random((20,) + shape, dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 5, 20), 5)
    runs = []
    for enabled in (True, False):
        monkeypatch.setattr(fusion, "ENABLED", enabled)
        model = _model(layers, 1)
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        runs.append((history.history["loss"], model.get_weights()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    for fused_weight, plain_weight in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(fused_weight, plain_weight, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("functional", [False, True])
def test_training_calls_the_fused_op(monkeypatch, functional):
    calls = []
    original = conv_pool.conv_max_pool

    def counting(*args, **kwargs):
        out = original(*args, **kwargs)
        calls.append(out is not None)
        return out
    monkeypatch.setattr(conv_pool, "conv_max_pool", counting)
    L = keras.layers
    if functional:
        model = _model(_functional_layers((12, 12, 3)), 0)
    else:
        model = _model(lambda: [keras.Input((12, 12, 3)), L.Conv2D(4, 2, activation="relu"),
                                L.MaxPooling2D(2), L.Flatten(), L.Dense(5, activation="softmax")],
                       0)
    x = np.random.default_rng(0).random((4, 12, 12, 3), dtype=np.float32)
    model.fit(x, np.eye(5, dtype=np.float32)[[0, 1, 2, 3]], verbose=0)
    assert calls == [True]                      # one pair per step (the shared conv is not)
    calls.clear()
    model.predict(x, verbose=0)                 # inference keeps its own fusion
    assert not calls


def test_kernel_gradient_thread_split_is_deterministic():
    x, kernel, bias = _arrays(((6, 15, 14, 3), (2, 2, 3, 5)), np.float32, seed=4)
    grads = []
    for _ in range(2):
        out, ctx = conv_pool.forward(x, kernel, bias, [(0, 0), (0, 0)], (1, 1), (2, 2), "relu")
        grads.append(conv_pool.gradients(ctx, np.ones_like(out), True, True, True))
    for first, second in zip(*grads):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("route", ["phases", "conv_forward"])
def test_inference_chain_routes_match_layer_by_layer(monkeypatch, route):
    fused_ops = importlib.import_module("minikeras.ops.fused")
    monkeypatch.setattr(fused_ops, "_PLANS", {})
    monkeypatch.setattr(fused_ops, "_plan_on_one_blas_thread", lambda key, candidates: route)
    calls = []
    original = fused_ops._phase_chain
    monkeypatch.setattr(fused_ops, "_phase_chain",
                        lambda *args: calls.append(1) or original(*args))
    L = keras.layers
    keras.utils.set_random_seed(3)
    inputs = keras.Input((23, 20, 3))
    h = L.MaxPooling2D(2)(L.Conv2D(8, 2, activation="relu")(inputs))
    h = L.Conv2D(12, 2, padding="same")(h)
    h = L.ReLU()(L.BatchNormalization()(h))                  # folded, relu after the pooling
    h = L.MaxPooling2D((2, 3))(h)
    outputs = L.Dense(4)(L.Flatten()(h))
    model = keras.Model(inputs, outputs)
    bn = model.layers[4]
    rng = np.random.default_rng(0)
    bn.set_weights([rng.random(12) + 0.5, rng.standard_normal(12), rng.standard_normal(12),
                    rng.random(12) + 0.5])
    x = rng.random((5, 23, 20, 3), dtype=np.float32)
    fused_out = model.predict(x, verbose=0)
    assert len(calls) == (2 if route == "phases" else 0)
    monkeypatch.setattr(fusion, "ENABLED", False)
    np.testing.assert_allclose(fused_out, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", [CASES[0], CASES[6], CASES[8]])
@pytest.mark.parametrize("chunk_bytes", [1, 1 << 12, None])
def test_kept_im2col_rows_give_the_recomputed_gradients(monkeypatch, case, chunk_bytes):
    # training keeps a few-channel layer's im2col rows for backward, chunk by chunk
    if chunk_bytes is not None:
        monkeypatch.setattr(conv_pool, "CHUNK_BYTES", chunk_bytes)
        monkeypatch.setattr(conv_pool, "FORWARD_CHUNK_BYTES", chunk_bytes)
    x, kernel, bias = _arrays(case, np.float32, seed=5)
    x = np.concatenate([x] * 3)                 # several chunks
    _, _, padding, dilation, pool = case
    rank = kernel.ndim - 2
    pads = conv_op.conv_pads(x.shape[1:-1], kernel.shape[:-2], (1,) * rank, padding, dilation)
    grads = {}
    for keep in (True, False):
        monkeypatch.setattr(conv_pool, "KEEP_COLS", keep)
        out, ctx = conv_pool.forward(x, kernel, bias, pads, dilation, pool, "relu",
                                     cached_output=True)
        assert (ctx.cols is not None) == keep
        g = np.random.default_rng(6).standard_normal(out.shape).astype(np.float32)
        copies = []
        original = conv_pool._Geometry.phase_cols
        monkeypatch.setattr(conv_pool._Geometry, "phase_cols",
                            lambda *args: copies.append(1) or original(*args))
        grads[keep] = conv_pool.gradients(ctx, g, True, True, True)
        monkeypatch.setattr(conv_pool._Geometry, "phase_cols", original)
        assert bool(copies) != keep             # kept rows: no windows copied again
    for kept, recomputed in zip(grads[True], grads[False]):
        np.testing.assert_allclose(kept, recomputed, rtol=1e-5,
                                   atol=1e-5 * max(1.0, float(np.max(np.abs(recomputed)))))


def test_frozen_kernel_keeps_no_im2col_rows(monkeypatch):
    made = []
    original = conv_pool._KeptCols
    monkeypatch.setattr(conv_pool, "_KeptCols", lambda *args: made.append(1) or original(*args))
    x, kernel, bias = _arrays(CASES[0], np.float32, seed=7)
    for trainable in (True, False):
        made.clear()
        xv, kv = Tensor(x), Variable(kernel, trainable=trainable)
        with keras.GradientTape() as tape:
            tape.watch(xv)
            loss = keras.ops.sum(conv_pool.conv_max_pool(xv, kv, Tensor(bias), "valid", (1, 1),
                                                         "relu", (2, 2), "valid"))
        dx = np.asarray(tape.gradient(loss, xv))
        assert np.isfinite(dx).all() and np.abs(dx).max() > 0
        assert len(made) == trainable
