"""BatchNormalization: tf.keras fixture cases (outputs and every weight after each training step),
NumPy references for every layout and option, finite-difference gradients (float64), the
tf.keras 2 training rules, config round trips, shapes without data and argument errors."""
import json
import logging
import os
import signal

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.core.tensor import Tensor
from minikeras.ops import batch_norm as bn_ops
from minikeras.ops import parallel
from conftest import fixture_path
from gradcheck import check_gradients, check_layer_gradients

with open(fixture_path("bn", "cases.json")) as _handle:
    CASES = json.load(_handle)
ARRAYS = np.load(fixture_path("bn", "cases.npz"))


def _normalise(value):
    return json.loads(json.dumps(value))


# ---------------------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------------------
def reference_train(x, gamma, beta, axes, epsilon, weights=None):
    """Batch normalisation with the batch moments over `axes` (float64); `weights` are
    frequency weights."""
    x = x.astype(np.float64)
    if weights is None:
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    else:
        w = np.broadcast_to(weights, x.shape).astype(np.float64)
        total = w.sum(axis=axes, keepdims=True)
        mean = (w * x).sum(axis=axes, keepdims=True) / total
        var = (w * (x - mean) ** 2).sum(axis=axes, keepdims=True) / total
    out = (x - mean) / np.sqrt(var + epsilon)
    if gamma is not None:
        out = out * gamma
    if beta is not None:
        out = out + beta
    return out, mean, var


def broadcast_param(value, shape, axis):
    """A per-channel vector shaped to broadcast over an input of `shape` along `axis`."""
    target = [1] * len(shape)
    target[axis] = shape[axis]
    return np.reshape(value, target)


def random_weights(layer, rng):
    """Random gamma/beta/moving statistics (variances positive) so every weight matters."""
    values = []
    for weight in layer.weights:
        if "variance" in weight.name or "stddev" in weight.name:
            values.append(rng.uniform(0.5, 2.0, weight.shape))
        else:
            values.append(rng.standard_normal(weight.shape))
    layer.set_weights([v.astype(weight.dtype) for v, weight in zip(values, layer.weights)])
    return layer.get_weights()


# ---------------------------------------------------------------------------------------
# tf.keras fixtures
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_case(case):
    name = case["name"]
    layer = layers.BatchNormalization(**case["kwargs"])
    layer.build((None,) + tuple(case["input_shape"][1:]))
    assert [w.name for w in layer.weights] == [f"{layer.name}/{n}" for n in case["weight_names"]]
    assert [w.name for w in layer.trainable_weights] == \
        [f"{layer.name}/{n}" for n in case["trainable_weight_names"]]
    assert [list(w.shape) for w in layer.weights] == case["weight_shapes"]
    assert bool(layer.fused) == case["fused"]
    assert _normalise(layer.get_config()) == case["config"]
    n_weights = len(case["weight_names"])
    layer.set_weights([ARRAYS[f"{name}/w_init/{i}"] for i in range(n_weights)])
    x_test = ARRAYS[f"{name}/x_test"]
    np.testing.assert_allclose(layer(x_test, training=False).numpy(),
                               ARRAYS[f"{name}/out_infer_before"], rtol=1e-5, atol=1e-5)
    for step in range(case["steps"]):
        out = layer(ARRAYS[f"{name}/step{step}/x"], training=True)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.numpy(), ARRAYS[f"{name}/step{step}/out"],
                                   rtol=1e-5, atol=1e-5)
        for i, weight in enumerate(layer.get_weights()):
            np.testing.assert_allclose(weight, ARRAYS[f"{name}/step{step}/w/{i}"], rtol=1e-5,
                                       atol=1e-5, err_msg=f"{case['weight_names'][i]} step {step}")
    np.testing.assert_allclose(layer(x_test, training=False).numpy(),
                               ARRAYS[f"{name}/out_infer_after"], rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------
# forward and moving statistics against NumPy, for every layout
# ---------------------------------------------------------------------------------------
LAYOUTS = [  # (input shape, axis, tf.keras takes the fused kernel)
    ((8, 5), -1, False),                 # after Dense
    ((4, 6, 3), -1, False),              # after Conv1D
    ((4, 3, 5, 3), -1, True),            # after Conv2D, channels_last
    ((4, 3, 5, 3), 1, True),             # after Conv2D, channels_first
    ((4, 3, 5, 3), 2, False),            # another axis of a 4-D input
    ((2, 3, 4, 2, 3), -1, True),         # after Conv3D, channels_last
    ((2, 3, 4, 2, 3), 1, True),          # after Conv3D, channels_first
    ((2, 3, 4, 2, 3), 2, False),         # 5-D, other axis: general path
    ((4, 3, 5, 2), [1, 3], False),       # several axes
    ((4, 6, 3), 1, False),               # channels_first Conv1D
]


@pytest.mark.parametrize("shape,axis,fused", LAYOUTS)
def test_layouts_against_numpy(shape, axis, fused):
    rng = np.random.default_rng(1)
    layer = layers.BatchNormalization(axis=axis, momentum=0.8)
    x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
    layer(x[:1], training=False)
    gamma, beta, moving_mean, moving_var = random_weights(layer, rng)
    assert bool(layer.fused) == fused
    axes_list = [axis] if isinstance(axis, int) else axis
    axes_list = [a % len(shape) for a in axes_list]
    reduce = tuple(i for i in range(len(shape)) if i not in axes_list)

    def as_input(value):
        return value if value.ndim == len(shape) else broadcast_param(value, shape, axes_list[0])
    expected, mean, var = reference_train(x, as_input(gamma), as_input(beta), reduce, 1e-3)
    out = layer(x, training=True)
    assert out.dtype == np.float32 and out.shape == shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
    count = x.size // np.prod([shape[a] for a in axes_list])
    fed_var = var * count / (count - 1) if fused else var
    np.testing.assert_allclose(layer.moving_mean.numpy(),
                               0.8 * moving_mean + 0.2 * mean.reshape(moving_mean.shape), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               0.8 * moving_var + 0.2 * fed_var.reshape(moving_var.shape),
                               rtol=1e-5)
    infer = layer(x, training=False)
    mm, mv = as_input(layer.moving_mean.numpy()), as_input(layer.moving_variance.numpy())
    np.testing.assert_allclose(infer.numpy(), (x - mm) / np.sqrt(mv + 1e-3) * as_input(gamma)
                               + as_input(beta), rtol=1e-4, atol=1e-5)


def test_fused_false_feeds_biased_variance_on_4d():
    x = np.random.default_rng(2).standard_normal((3, 2, 2, 4)).astype(np.float32)
    fused, general = layers.BatchNormalization(momentum=0.0), \
        layers.BatchNormalization(momentum=0.0, fused=False)
    fused(x, training=True)
    general(x, training=True)
    var = x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(general.moving_variance.numpy(), var, rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(), var * 12 / 11, rtol=1e-5)
    assert fused.fused is True and general.fused is False


def test_fused_path_keeps_small_epsilon():
    """TF 2.21's fused_batch_norm uses epsilon as given, as the general path does (TF < 2.x
    raised it to 1.001e-5; checked with tf_keras 2.21: epsilon 1e-6 gives 1e-6)."""
    x = np.random.default_rng(3).standard_normal((2, 2, 2, 3)).astype(np.float32) * 1e-3
    fused = layers.BatchNormalization(epsilon=1e-7)
    general = layers.BatchNormalization(epsilon=1e-7, fused=False)
    expected_fused, _, _ = reference_train(x, None, None, (0, 1, 2), 1e-7)
    expected_general, _, _ = reference_train(x, None, None, (0, 1, 2), 1e-7)
    np.testing.assert_allclose(fused(x, training=True).numpy(), expected_fused, rtol=1e-4)
    np.testing.assert_allclose(general(x, training=True).numpy(), expected_general, rtol=1e-4)


def test_center_and_scale_off():
    x = np.random.default_rng(4).standard_normal((6, 3)).astype(np.float32)
    layer = layers.BatchNormalization(center=False, scale=False)
    out = layer(x, training=True)
    assert [w.name for w in layer.weights] == ["batch_normalization/moving_mean:0",
                                               "batch_normalization/moving_variance:0"]
    assert layer.trainable_weights == [] and layer.gamma is None and layer.beta is None
    np.testing.assert_allclose(out.numpy(), reference_train(x, None, None, (0,), 1e-3)[0],
                               rtol=1e-5, atol=1e-6)
    scale_only = layers.BatchNormalization(center=False)
    scale_only(x)
    assert [w.name.split("/")[1] for w in scale_only.weights] == \
        ["gamma:0", "moving_mean:0", "moving_variance:0"]


def test_virtual_batches_group_samples_as_tf_keras():
    """virtual_batch_size=2 on a batch of 8: reshaped to (2, 4, ...), so virtual batch j holds
    samples j and j + 4; the moving statistics take the mean over the 4 virtual batches."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    layer = layers.BatchNormalization(virtual_batch_size=2, momentum=0.5)
    out = layer(x, training=True).numpy()
    groups = x.reshape(2, 4, 3)
    mean = groups.mean(axis=0, keepdims=True)
    var = groups.var(axis=0, keepdims=True)
    expected = ((groups - mean) / np.sqrt(var + 1e-3)).reshape(8, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * mean.mean(axis=1, keepdims=True),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               0.5 + 0.5 * var.mean(axis=1, keepdims=True), rtol=1e-5)
    assert layer.moving_mean.shape == (1, 1, 3)


def test_virtual_batches_after_conv():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 2, 3, 4)).astype(np.float32)
    layer = layers.BatchNormalization(virtual_batch_size=3, momentum=0.0)
    out = layer(x, training=True).numpy()
    assert [w.shape for w in layer.weights] == [(1, 1, 1, 1, 4)] * 4
    groups = x.reshape(3, 2, 2, 3, 4)
    expected = (groups - groups.mean(axis=(0, 2, 3), keepdims=True)) / \
        np.sqrt(groups.var(axis=(0, 2, 3), keepdims=True) + 1e-3)
    np.testing.assert_allclose(out, expected.reshape(x.shape), rtol=1e-4, atol=1e-5)
    infer = layer(x, training=False).numpy()
    mm, mv = layer.moving_mean.numpy()[0], layer.moving_variance.numpy()[0]
    np.testing.assert_allclose(infer, (x - mm) / np.sqrt(mv + 1e-3), rtol=1e-4, atol=1e-5)


def test_virtual_batches_with_renorm_and_mask():
    rng = np.random.default_rng(27)
    x = rng.standard_normal((6, 4, 2)).astype(np.float32)
    layer = layers.BatchNormalization(virtual_batch_size=3, renorm=True, momentum=0.0,
                                      renorm_clipping={"rmax": 1e3, "rmin": 0.0, "dmax": 1e3})
    out = layer(x, training=True).numpy()
    groups = x.reshape(3, 2, 4, 2)
    mean = groups.mean(axis=(0, 2), keepdims=True)
    var = groups.var(axis=(0, 2), keepdims=True)
    new_mean, new_var = mean.mean(axis=1, keepdims=True), var.mean(axis=1, keepdims=True)
    r, d = np.sqrt(new_var + 1e-3), new_mean          # initial renorm_stddev 1, renorm_mean 0
    expected = (groups - mean) / np.sqrt(var + 1e-3) * r + d
    np.testing.assert_allclose(out, expected.reshape(x.shape), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), new_mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), new_var, rtol=1e-4)
    masked = layers.BatchNormalization(virtual_batch_size=3, momentum=0.0)
    mask = rng.uniform(size=(6, 4)) > 0.3
    out = masked(x, training=True, mask=mask).numpy()
    weights = mask.reshape(3, 2, 4)[..., None]
    expected, _, _ = reference_train(groups, None, None, (0, 2), 1e-3, weights=weights)
    np.testing.assert_allclose(out, expected.reshape(x.shape), rtol=1e-4, atol=1e-5)
    # inference needs no divisible batch
    assert masked(x[:5], training=False).shape == (5, 4, 2)


def test_renorm_against_numpy_over_steps():
    """r and d from the pre-update renorm statistics, clipped; renorm statistics with
    renorm_momentum; moving_variance derived from moving_stddev."""
    rng = np.random.default_rng(7)
    clip = {"rmax": 1.5, "rmin": 0.7, "dmax": 0.5}
    layer = layers.BatchNormalization(renorm=True, renorm_clipping=clip, renorm_momentum=0.6,
                                      momentum=0.9, epsilon=1e-2)
    layer.build((None, 4))
    gamma, beta, mmean, mvar, mstd, rmean, rstd = random_weights(layer, rng)
    mstd = np.sqrt(mvar + 0.0)   # any consistent state will do
    layer.moving_stddev.assign(mstd)
    eps = 1e-2
    for step in range(3):
        x = (rng.standard_normal((10, 4)) * (step + 1) + step).astype(np.float32)
        mean, var = x.mean(axis=0), x.var(axis=0)
        std = np.sqrt(var + eps)
        r = np.clip(std / np.maximum(rstd, np.sqrt(eps)), 0.7, 1.5)
        d = np.clip((mean - rmean) / np.maximum(rstd, np.sqrt(eps)), -0.5, 0.5)
        expected = ((x - mean) / std * r + d) * gamma + beta
        out = layer(x, training=True)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
        rmean = rmean - (rmean - mean) * 0.4
        rstd = rstd - (rstd - std) * 0.4
        mmean = mmean - (mmean - mean) * 0.1
        mstd = mstd - (mstd - std) * 0.1
        mvar = np.maximum(mstd ** 2 - eps, 0)
        for weight, value in zip(layer.weights[2:], (mmean, mvar, mstd, rmean, rstd)):
            np.testing.assert_allclose(weight.numpy(), value, rtol=1e-5, atol=1e-6,
                                       err_msg=weight.name)
    infer = layer(x, training=False).numpy()
    np.testing.assert_allclose(infer, (x - mmean) / np.sqrt(mvar + eps) * gamma + beta,
                               rtol=1e-4, atol=1e-5)


def test_adjustment_applies_in_training_only():
    x = np.random.default_rng(8).standard_normal((5, 3)).astype(np.float32)
    seen = []

    def adjustment(shape):
        seen.append(tuple(shape))
        return np.full(shape[-1:], 2.0, np.float32), np.full(shape[-1:], 0.5, np.float32)
    layer = layers.BatchNormalization(adjustment=adjustment, momentum=0.0)
    layer(x[:1], training=False)
    gamma, beta, _, _ = random_weights(layer, np.random.default_rng(9))
    plain = reference_train(x, None, None, (0,), 1e-3)[0]
    np.testing.assert_allclose(layer(x, training=True).numpy(), (plain * 2 + 0.5) * gamma + beta,
                               rtol=1e-4, atol=1e-5)
    assert seen == [(5, 3)]
    mm, mv = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    np.testing.assert_allclose(layer(x, training=False).numpy(),
                               (x - mm) / np.sqrt(mv + 1e-3) * gamma + beta, rtol=1e-4, atol=1e-5)
    assert len(seen) == 1
    assert layer.fused is False


def test_mask_gives_weighted_moments():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], bool)
    layer = layers.BatchNormalization(momentum=0.0)
    out = layer(x, training=True, mask=mask)
    expected, mean, var = reference_train(x, None, None, (0, 1), 1e-3, weights=mask[..., None])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), mean.ravel(), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), var.ravel(), rtol=1e-5)


def test_fused_path_warns_and_ignores_mask():
    x = np.random.default_rng(11).standard_normal((2, 3, 3, 2)).astype(np.float32)
    layer = layers.BatchNormalization()
    with pytest.warns(UserWarning, match="Masking is not supported with `fused=True`"):
        out = layer(x, training=True, mask=np.ones((2, 3, 3), bool))
    np.testing.assert_allclose(out.numpy(), reference_train(x, None, None, (0, 1, 2), 1e-3)[0],
                               rtol=1e-4, atol=1e-5)


def test_tiled_path_on_a_large_batch():
    """A batch big enough for several cache tiles, folded channels-last rows and two threads."""
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((64, 16, 16, 64)) * 2 + 5).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    gamma = rng.standard_normal(64).astype(np.float32)
    beta = rng.standard_normal(64).astype(np.float32)
    layout = bn_ops._Layout(x.shape, (0, 1, 2))
    assert layout.view is not None and layout.fold > 1 and len(layout.tiles()) > 1
    gamma_t, beta_t, x_t = Tensor(gamma), Tensor(beta), Tensor(x)
    with keras.GradientTape() as tape:
        tape.watch([x_t, gamma_t, beta_t])
        out, _ = bn_ops.batch_norm_train(x_t, gamma_t, beta_t, (0, 1, 2), 1e-3)
    dx, dgamma, dbeta = tape.gradient(out, [x_t, gamma_t, beta_t], output_gradients=Tensor(g))
    expected, mean, var = reference_train(x, gamma, beta, (0, 1, 2), 1e-3)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-4)
    xhat = (x - mean) / np.sqrt(var + 1e-3)
    n = x.size // 64
    ref_dx = gamma / np.sqrt(var + 1e-3) * (g - g.sum((0, 1, 2)) / n
                                           - xhat * (g * xhat).sum((0, 1, 2)) / n)
    np.testing.assert_allclose(dx.numpy(), ref_dx, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(dgamma.numpy(), (g * xhat).sum((0, 1, 2)), rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(dbeta.numpy(), g.sum((0, 1, 2)), rtol=1e-4, atol=1e-2)
    assert dx.dtype == np.float32 and out.dtype == np.float32


def test_float32_accuracy_with_a_large_mean():
    """|mean| = 100 std: float32 results stay within ~eps * |mean| / std of float64 ones."""
    rng = np.random.default_rng(29)
    x = (rng.standard_normal((32, 8, 8, 16)) + 100).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    gamma, beta = Tensor(np.ones(16, np.float32)), Tensor(np.zeros(16, np.float32))
    x_t = Tensor(x)
    with keras.GradientTape() as tape:
        tape.watch([x_t, gamma, beta])
        out, _ = bn_ops.batch_norm_train(x_t, gamma, beta, (0, 1, 2), 1e-3)
    dx, dgamma = tape.gradient(out, [x_t, gamma], output_gradients=Tensor(g))
    expected, mean, var = reference_train(x, None, None, (0, 1, 2), 1e-3)
    n = x.size // 16
    ref_dgamma = (g * expected).sum((0, 1, 2))
    ref_dx = (g - g.sum((0, 1, 2)) / n - expected * ref_dgamma / n) / np.sqrt(var + 1e-3)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(dgamma.numpy(), ref_dgamma, atol=1e-4 * np.abs(ref_dgamma).max())
    np.testing.assert_allclose(dx.numpy(), ref_dx, atol=1e-5 * np.abs(ref_dx).max())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_threaded_tiles_work_in_a_forked_child(monkeypatch):
    """The worker pool of the parent is not inherited: a child must not wait on it."""
    monkeypatch.setattr(parallel, "_THREADS", 2)
    x = np.random.default_rng(30).standard_normal((64, 16, 16, 64)).astype(np.float32)
    expected = bn_ops.batch_moments(x, (0, 1, 2)).mean
    pid = os.fork()
    if pid == 0:   # child: exit 0 only if the threaded path completes with the same result
        signal.alarm(20)
        same = np.array_equal(bn_ops.batch_moments(x, (0, 1, 2)).mean, expected)
        os._exit(0 if same else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


# ---------------------------------------------------------------------------------------
# gradients against central finite differences (float64)
# ---------------------------------------------------------------------------------------
GRAD_CONFIGS = [
    ((5, 3), {}),
    ((3, 2, 3, 2), {}),                                   # channels_last conv
    ((2, 3, 2, 2), {"axis": 1}),                          # channels_first conv
    ((3, 4, 2), {"axis": 1}),                             # channels_first Conv1D
    ((2, 2, 3, 2, 2), {}),                                # Conv3D
    ((3, 2, 3, 2), {"axis": [1, 3]}),                     # several axes
    ((4, 3), {"center": False}),
    ((4, 3), {"scale": False}),
    ((4, 3), {"center": False, "scale": False}),
    ((6, 3), {"virtual_batch_size": 2}),
    ((4, 2, 3), {"virtual_batch_size": 2}),
    ((4, 3), {"renorm": True, "renorm_clipping": {"rmax": 1.0, "rmin": 1.0, "dmax": 0.0}}),
    ((4, 2, 3), {"virtual_batch_size": 2, "renorm": True,
                 "renorm_clipping": {"rmax": 1.0, "rmin": 1.0, "dmax": 0.0}}),
]


@pytest.mark.parametrize("shape,kwargs", GRAD_CONFIGS)
@pytest.mark.parametrize("training", [True, False])
def test_gradients(float64, shape, kwargs, training):
    rng = np.random.default_rng(13)
    layer = layers.BatchNormalization(**kwargs)
    x = rng.standard_normal(shape) * 2 + 1
    layer(x[:2] if "virtual_batch_size" in kwargs else x[:1])
    random_weights(layer, rng)
    check_layer_gradients(layer, x, training=training, rtol=1e-5, atol=1e-7)


def test_gradients_of_multi_tile_path(float64, monkeypatch):
    """Tiny tiles and folded rows so that a small input walks the tiled code paths."""
    monkeypatch.setattr(bn_ops, "_TILE_ELEMENTS", 8)
    monkeypatch.setattr(bn_ops, "_WIDE_ROW", 8)
    rng = np.random.default_rng(14)
    for shape, axis in (((4, 2, 2, 2), -1), ((3, 2, 2, 3), 1)):
        layer = layers.BatchNormalization(axis=axis)
        x = rng.standard_normal(shape)
        layer(x)
        assert len(bn_ops._Layout(shape, [i for i in range(4) if i != axis % 4]).tiles()) > 1
        random_weights(layer, rng)
        check_layer_gradients(layer, x, training=True)


def _restoring(layer, fn):
    """Call `fn` with the layer's statistics reset first: renorm's r and d depend on them."""
    state = [(w, w.numpy().copy()) for w in layer.non_trainable_weights]

    def call(*args):
        for weight, value in state:
            weight.assign(value)
        return fn(*args)
    return call


def test_gradients_renorm_with_active_clipping(float64):
    """Clipped r and d are locally constant, so the stop-gradient equals the true derivative."""
    rng = np.random.default_rng(15)
    layer = layers.BatchNormalization(renorm=True, renorm_clipping={"rmin": 0.8, "rmax": 1.2,
                                                                      "dmax": 0.1})
    x = rng.standard_normal((6, 3))
    layer(x, training=False)
    random_weights(layer, rng)
    layer.renorm_stddev.assign(np.array([0.05, 20.0, 0.05]))   # r clipped to rmax/rmin
    layer.renorm_mean.assign(np.array([5.0, -5.0, 5.0]))       # d clipped to -dmax/+dmax
    fn = _restoring(layer, lambda xs: layer(xs, training=True))
    check_gradients(fn, [x], extra_variables=layer.trainable_weights)


def test_gradients_renorm_treat_r_and_d_as_constants(float64):
    """Unclipped r and d: the tape's gradient is the derivative with r and d held at their
    values (tf.stop_gradient), i.e. that of (xhat * r + d) * gamma + beta for fixed r, d."""
    rng = np.random.default_rng(16)
    layer = layers.BatchNormalization(renorm=True, epsilon=1e-3)
    x = rng.standard_normal((7, 3)) * 1.5 + 0.3
    layer(x, training=False)
    gamma, beta, _, _, _, rmean, rstd = random_weights(layer, rng)
    mean, var = x.mean(0), x.var(0)
    r = np.sqrt(var + 1e-3) / rstd
    d = (mean - rmean) / rstd
    assert np.all((r > 0) & np.isfinite(r))
    state = layer.get_weights()
    x_t = Tensor(x)
    with keras.GradientTape() as tape:
        tape.watch(x_t)
        out = layer(x_t, training=True)
    weights = rng.standard_normal(out.shape)
    grads = tape.gradient(out, [x_t, layer.gamma, layer.beta], output_gradients=Tensor(weights))
    layer.set_weights(state)

    def frozen(xs, gs, bs):
        normed = (xs - xs.mean(0)) / np.sqrt(xs.var(0) + 1e-3)
        return np.sum(weights * ((normed * r + d) * gs + bs))
    for k, base in enumerate((x, gamma, beta)):
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            args = [x.copy(), gamma.copy(), beta.copy()]
            args[k][i] += 1e-6
            plus = frozen(*args)
            args[k][i] -= 2e-6
            numeric[i] = (plus - frozen(*args)) / 2e-6
        np.testing.assert_allclose(grads[k].numpy(), numeric, rtol=1e-5, atol=1e-7)


def test_gradients_adjustment(float64):
    rng = np.random.default_rng(17)
    adj_scale, adj_bias = rng.uniform(0.9, 1.1, 3), rng.uniform(-0.1, 0.1, 3)
    layer = layers.BatchNormalization(adjustment=lambda shape: (adj_scale, adj_bias))
    x = rng.standard_normal((5, 3))
    layer(x)
    random_weights(layer, rng)
    check_layer_gradients(layer, x, training=True)


def test_gradients_under_a_mask(float64):
    rng = np.random.default_rng(18)
    layer = layers.BatchNormalization()
    x = rng.standard_normal((3, 4, 2))
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 0, 0]], bool)
    layer(x)
    random_weights(layer, rng)
    check_layer_gradients(layer, x, training=True, mask=mask)


def test_moving_statistics_get_no_gradient():
    rng = np.random.default_rng(19)
    layer = layers.BatchNormalization(renorm=True)
    x = Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    layer(x)
    for training in (True, False):
        with keras.GradientTape(persistent=True) as tape:
            out = layer(x, training=training)
        non_trainable = layer.non_trainable_weights
        assert len(non_trainable) == 5
        assert all(g is None for g in tape.gradient(out, non_trainable))
        assert all(g is not None for g in tape.gradient(out, layer.trainable_weights))


# ---------------------------------------------------------------------------------------
# training / inference rules
# ---------------------------------------------------------------------------------------
def test_frozen_layer_runs_in_inference_mode():
    rng = np.random.default_rng(20)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    layer = layers.BatchNormalization(trainable=False)
    layer(x)
    random_weights(layer, rng)
    before = layer.get_weights()
    expected = layer(x, training=False).numpy()
    np.testing.assert_array_equal(layer(x, training=True).numpy(), expected)
    for got, want in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_inference_when_training_is_not_given():
    x = np.random.default_rng(21).standard_normal((6, 3)).astype(np.float32) + 4
    layer = layers.BatchNormalization()
    out = layer(x)
    np.testing.assert_allclose(out.numpy(), x / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0)


def _bn_model(trainable=True):
    model = keras.Sequential([layers.BatchNormalization(input_shape=(3,), momentum=0.9,
                                                        trainable=trainable)])
    model.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    return model


def test_fit_updates_moving_statistics_once_per_step():
    rng = np.random.default_rng(22)
    x = (rng.standard_normal((8, 3)) * 2 + 1).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    model = _bn_model()
    bn = model.layers[0]
    model.train_on_batch(x, y)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + 0.1 * x.var(0), rtol=1e-5)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    mean, var = 0.1 * x.mean(0), 0.9 + 0.1 * x.var(0)
    for half in (x[:4], x[4:]):
        mean = 0.9 * mean + 0.1 * half.mean(0)
        var = 0.9 * var + 0.1 * half.var(0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), var, rtol=1e-5)
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean, rtol=1e-5)


def test_fit_with_frozen_layer_uses_moving_statistics():
    rng = np.random.default_rng(23)
    x = (rng.standard_normal((8, 3)) * 2 + 1).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    model = keras.Sequential([layers.Dense(3, input_shape=(3,)),
                              layers.BatchNormalization(momentum=0.9, trainable=False)])
    model.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    dense, bn = model.layers
    random_weights(bn, rng)
    before = bn.get_weights()
    kernel, bias = dense.get_weights()
    gamma, beta, mean, var = before
    # the first step's loss is that of the inference-mode output, at the initial weights
    expected = np.mean(((x @ kernel + bias - mean) / np.sqrt(var + 1e-3) * gamma + beta - y) ** 2)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)
    for got, want in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    assert len(model.trainable_weights) == 2
    assert not np.allclose(dense.get_weights()[0], kernel)
    np.testing.assert_array_equal(model(x, training=True).numpy(), model(x, training=False).numpy())


def test_fit_trains_gamma_and_beta():
    rng = np.random.default_rng(24)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    model = _bn_model()
    bn = model.layers[0]
    model.train_on_batch(x, y)
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)
    grad_out = 2 * (xhat - y) / y.size
    np.testing.assert_allclose(bn.gamma.numpy(), 1 - 0.1 * (grad_out * xhat).sum(0), rtol=1e-5)
    np.testing.assert_allclose(bn.beta.numpy(), -0.1 * grad_out.sum(0), rtol=1e-5, atol=1e-7)


def test_regularizers_and_constraints():
    layer = layers.BatchNormalization(gamma_regularizer=keras.regularizers.l2(0.1),
                                      beta_regularizer=keras.regularizers.l1(0.2),
                                      beta_constraint="non_neg")
    model = keras.Sequential([layers.Dense(3, input_shape=(3,)), layer])
    model.compile(keras.optimizers.SGD(learning_rate=1.0), "mse")
    layer.set_weights([np.array([1.0, 2.0, -1.0], np.float32), np.array([0.5, -0.5, 1.0], np.float32),
                       np.zeros(3, np.float32), np.ones(3, np.float32)])
    np.testing.assert_allclose([float(loss.numpy()) for loss in layer.losses],
                               [0.1 * 6.0, 0.2 * 2.0], rtol=1e-6)
    x = np.random.default_rng(26).standard_normal((4, 3)).astype(np.float32)
    model.train_on_batch(x, -10 * np.ones((4, 3), np.float32))
    assert np.all(layer.beta.numpy() >= 0) and np.any(layer.beta.numpy() == 0)


# ---------------------------------------------------------------------------------------
# weights, shapes, configs
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,input_shape,shapes", [
    ({}, (None, 5), [(5,)] * 4),
    ({"axis": 1}, (None, 4, 6, 6), [(4,)] * 4),
    ({"axis": [1, 2]}, (None, 3, 4, 5), [(1, 3, 4, 1)] * 4),
    ({"axis": (-1, 1)}, (None, 3, 4), [(1, 3, 4)] * 4),
    ({"virtual_batch_size": 4}, (None, 6, 6, 2), [(1, 1, 1, 1, 2)] * 4),
    ({"renorm": True}, (None, 3), [(3,)] * 7),
    ({"renorm": True, "virtual_batch_size": 2}, (None, 3), [(1, 1, 3)] * 7),
])
def test_weight_shapes(kwargs, input_shape, shapes):
    layer = layers.BatchNormalization(**kwargs)
    layer.build(input_shape)
    assert [w.shape for w in layer.weights] == shapes
    assert [w.trainable for w in layer.weights] == [True, True] + [False] * (len(shapes) - 2)


def test_renorm_stddev_initialised_from_variance_initializer():
    layer = layers.BatchNormalization(renorm=True, moving_variance_initializer="constant")
    layer.moving_variance_initializer = keras.initializers.Constant(4.0)
    layer.build((None, 2))
    np.testing.assert_allclose(layer.moving_stddev.numpy(), [2.0, 2.0])
    np.testing.assert_allclose(layer.renorm_stddev.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("kwargs", [
    {},
    {"axis": 1, "momentum": 0.9, "epsilon": 1e-5, "center": False},
    {"axis": [1, 2], "scale": False, "gamma_regularizer": "l2", "beta_constraint": "non_neg"},
    {"renorm": True, "renorm_clipping": {"rmax": 2.0}, "renorm_momentum": 0.5},
    {"virtual_batch_size": 2, "beta_initializer": "ones", "moving_variance_initializer": "zeros"},
    {"fused": False, "trainable": False, "name": "bn"},
])
def test_config_round_trip(kwargs):
    layer = layers.BatchNormalization(**kwargs)
    config = layer.get_config()
    clone = layers.BatchNormalization.from_config(config)
    assert clone.get_config() == config
    built_clone = layers.BatchNormalization.from_config(config)
    shape = (4, 3, 4, 2)
    built_clone(np.zeros(shape, np.float32))
    layer(np.zeros(shape, np.float32))
    assert [w.name for w in built_clone.weights] == [w.name for w in layer.weights]
    assert [w.shape for w in built_clone.weights] == [w.shape for w in layer.weights]


def test_config_has_tf_keras_keys_only():
    config = layers.BatchNormalization(synchronized=True).get_config()
    assert set(config) == {"name", "trainable", "dtype", "axis", "momentum", "epsilon", "center",
                           "scale", "beta_initializer", "gamma_initializer",
                           "moving_mean_initializer", "moving_variance_initializer",
                           "beta_regularizer", "gamma_regularizer", "beta_constraint",
                           "gamma_constraint"}
    assert config["axis"] == -1


def test_adjustment_is_left_out_of_config(caplog):
    layer = layers.BatchNormalization(adjustment=lambda shape: (1.0, 0.0))
    with caplog.at_level(logging.WARNING):
        config = layer.get_config()
    assert "adjustment" not in config
    assert "cannot be serialized" in caplog.text


def test_positional_arguments_bind_in_keras_order():
    layer = layers.BatchNormalization(1, 0.9, 1e-2, False, False, "ones", "zeros", "ones", "zeros",
                                      None, None, None, None, True)
    assert (layer.axis, layer.momentum, layer.epsilon, layer.center, layer.scale) == \
        (1, 0.9, 1e-2, False, False)
    assert layer.synchronized is True and layer.fused is False
    with pytest.raises(TypeError):
        layers.BatchNormalization(1, 0.9, 1e-2, False, False, "ones", "zeros", "ones", "zeros",
                                  None, None, None, None, False, True)


def test_compute_output_shape_without_data():
    layer = layers.BatchNormalization(axis=1)
    assert layer.compute_output_shape((None, 3, 8, 8)) == (None, 3, 8, 8)
    assert not layer.built
    inputs = keras.Input(shape=(16, 16, 8))
    outputs = layers.BatchNormalization()(inputs)
    assert outputs.shape == (None, 16, 16, 8)
    model = keras.Model(inputs, outputs)
    assert model.layers[1].output_shape == (None, 16, 16, 8)
    assert model.count_params() == 32


def test_sequential_after_dense_summary_counts():
    model = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.BatchNormalization(),
                              layers.Dense(2)])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert " batch_normalization (Batch  (None, 4)                 16        " in text
    assert "Total params: 42 (168.00 Byte)" in text
    assert "Trainable params: 34 (136.00 Byte)" in text
    assert "Non-trainable params: 8 (32.00 Byte)" in text


# ---------------------------------------------------------------------------------------
# argument errors (tf.keras' wording)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,error,match", [
    ({"axis": "channels"}, TypeError,
     "Expected an int or a list/tuple of ints for the argument 'axis'"),
    ({"axis": 1.5}, TypeError, "but received: 1.5"),
    ({"fused": True, "renorm": True}, ValueError, "Passing both `fused=True` and `renorm=True`"),
    ({"fused": True, "axis": 2}, ValueError, "only supported when axis is 1 or 3"),
    ({"fused": True, "axis": [1, 3]}, ValueError, "only supported when axis is 1 or 3"),
    ({"fused": True, "virtual_batch_size": 2}, ValueError, "`virtual_batch_size` is specified"),
    ({"fused": True, "adjustment": lambda s: (1, 0)}, ValueError, "`adjustment` is specified"),
    ({"fused": True, "synchronized": True}, ValueError, "not supported when `synchronized=True`"),
    ({"renorm": True, "renorm_clipping": {"rmax": 3, "bad": 1}}, ValueError,
     "Received invalid keys for `renorm_clipping` argument"),
    ({"unknown_argument": 1}, TypeError, "Keyword argument not understood"),
])
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        layers.BatchNormalization(**kwargs)


@pytest.mark.parametrize("kwargs,shape,match", [
    ({"fused": True}, (None, 5), "only support 4D or 5D input tensors"),
    ({"axis": 2}, (None, 5), r"Expected 0 <= axis < inputs.rank \(with inputs.rank=2\)"),
    ({"axis": [1, -1]}, (None, 5), r"Duplicate axis: \(1, 1\)"),
    ({"axis": -4}, (None, 3, 3, 2), "Unsupported axis. The use of `fused=True`"),
    ({"virtual_batch_size": 0}, (None, 5), "must be a positive integer"),
    ({"virtual_batch_size": 2, "axis": [0, 1]}, (None, 5), "axis cannot include 0"),
    ({"virtual_batch_size": 2, "adjustment": lambda s: (1, 0)}, (None, 5),
     "adjustment cannot be specified"),
    ({}, (None, None), "Input has undefined `axis` dimension"),
])
def test_build_errors(kwargs, shape, match):
    with pytest.raises(ValueError, match=match):
        layers.BatchNormalization(**kwargs).build(shape)


def test_fused_true_needs_float32(float64):
    with pytest.raises(ValueError, match="compute dtype is float16, bfloat16, or float32"):
        layers.BatchNormalization(fused=True)
    assert layers.BatchNormalization().fused is False   # float64 takes the general path


def test_call_errors():
    layer = layers.BatchNormalization(virtual_batch_size=3)
    with pytest.raises(ValueError, match="divides the true batch size"):
        layer(np.zeros((8, 2), np.float32), training=True)
    layer = layers.BatchNormalization()
    layer(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="expected axis 1 of input shape to have value 4"):
        layer(np.zeros((2, 5), np.float32))


def test_float32_throughout():
    x = np.random.default_rng(25).standard_normal((4, 3, 3, 2)).astype(np.float32)
    for kwargs in ({}, {"fused": False}, {"renorm": True}, {"virtual_batch_size": 2}, {"axis": 1}):
        layer = layers.BatchNormalization(**kwargs)
        x_t = Tensor(x)
        with keras.GradientTape() as tape:
            tape.watch(x_t)
            out = layer(x_t, training=True)
        grads = tape.gradient(out, [x_t] + layer.trainable_weights)
        assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
        assert all(w.dtype == np.float32 for w in layer.weights)
        assert layer(x, training=False).dtype == np.float32


# ---------------------------------------------------------------------------------------
# LeNet with batch normalization, on the digits set
# ---------------------------------------------------------------------------------------
def lenet_bn():
    L = layers
    return keras.Sequential([
        L.Conv2D(6, 5, input_shape=(28, 28, 1)), L.BatchNormalization(), L.Activation("relu"),
        L.MaxPooling2D(),
        L.Conv2D(16, 5), L.BatchNormalization(), L.Activation("relu"), L.MaxPooling2D(),
        L.Flatten(),
        L.Dense(120), L.BatchNormalization(), L.Activation("relu"),
        L.Dense(84), L.BatchNormalization(), L.Activation("relu"),
        L.Dense(10, activation="softmax"),
    ])


needs_conv = pytest.mark.skipif(not (hasattr(layers, "Conv2D") and hasattr(layers, "MaxPooling2D")),
                                reason="conv layers missing")


@needs_conv
@pytest.mark.parametrize("conv_class,shape,data_format", [
    ("Conv1D", (3, 7, 2), "channels_last"),
    ("Conv2D", (3, 6, 5, 2), "channels_last"),
    ("Conv2D", (3, 2, 6, 5), "channels_first"),
    ("Conv3D", (2, 4, 4, 3, 2), "channels_last"),
])
def test_after_conv_layers(conv_class, shape, data_format):
    rng = np.random.default_rng(28)
    conv = getattr(layers, conv_class)(4, 3, data_format=data_format)
    axis = 1 if data_format == "channels_first" else -1
    bn = layers.BatchNormalization(axis=axis, momentum=0.5)
    x = rng.standard_normal(shape).astype(np.float32)
    y = conv(x).numpy()
    out = bn(conv(x), training=True).numpy()
    channel = axis % y.ndim
    reduce = tuple(i for i in range(y.ndim) if i != channel)
    np.testing.assert_allclose(out, reference_train(y, None, None, reduce, 1e-3)[0],
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.5 * y.mean(axis=reduce), rtol=1e-4,
                               atol=1e-6)
    model = keras.Sequential([conv, bn, layers.Flatten(), layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((shape[0], 1), np.float32), epochs=1, verbose=0)
    assert model.count_params() == conv.count_params() + 16 + model.layers[-1].count_params()


@needs_conv
def test_lenet_bn_summary_counts():
    model = lenet_bn()
    bn_layers = [l for l in model.layers if isinstance(l, layers.BatchNormalization)]
    assert [l.name for l in bn_layers] == ["batch_normalization"] + \
        [f"batch_normalization_{i}" for i in (1, 2, 3)]
    assert [l.output_shape for l in bn_layers] == [(None, 24, 24, 6), (None, 8, 8, 16),
                                                   (None, 120), (None, 84)]
    channels = [6, 16, 120, 84]
    convs = (5 * 5 * 1 + 1) * 6 + (5 * 5 * 6 + 1) * 16
    denses = (256 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10
    non_trainable = sum(2 * c for c in channels)
    trainable = convs + denses + sum(2 * c for c in channels)
    assert [l.count_params() for l in bn_layers] == [4 * c for c in channels]
    lines = []
    model.summary(print_fn=lines.append)
    total = trainable + non_trainable
    assert (total, trainable, non_trainable) == (45330, 44878, 452)
    assert f"Total params: {total} ({total * 4 / 1024:.2f} KB)" in lines
    assert f"Trainable params: {trainable} ({trainable * 4 / 1024:.2f} KB)" in lines
    assert f"Non-trainable params: {non_trainable} ({non_trainable * 4 / 1024:.2f} KB)" in lines
    assert " batch_normalization (Batch  (None, 24, 24, 6)         24        " in lines
    assert " Normalization)                                                  " in lines
    assert len(model.trainable_weights) == 10 + 8
    assert len(model.non_trainable_weights) == 8


def digits_28x28(count):
    """The 8x8 digits upsampled 3x (24x24) and zero-padded to LeNet's 28x28, scaled to [0, 1]."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()

    def prepare(images):
        big = images.repeat(3, axis=1).repeat(3, axis=2).astype(np.float32) / 16
        return np.pad(big, ((0, 0), (2, 2), (2, 2)))[..., None]
    return prepare(x_train[:count]), y_train[:count], prepare(x_test), y_test


@needs_conv
def test_lenet_bn_trains_on_digits():
    x_train, y_train, _, _ = digits_28x28(400)
    model = lenet_bn()
    model.compile(keras.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=20, epochs=2, verbose=0)
    assert history.history["loss"][1] < 0.6 * history.history["loss"][0]
    assert history.history["accuracy"][1] > 0.8
    moving_means = [l.moving_mean.numpy() for l in model.layers
                    if isinstance(l, layers.BatchNormalization)]
    assert all(np.all(m != 0) for m in moving_means)


@needs_conv
@pytest.mark.slow
def test_lenet_bn_learns_digits():
    """Long enough for the moving statistics (momentum 0.99) to settle: inference accuracy."""
    x_train, y_train, x_test, y_test = digits_28x28(None)
    model = lenet_bn()
    model.compile(keras.optimizers.Adam(learning_rate=0.005), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=16, epochs=5, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.9
