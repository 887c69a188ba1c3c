"""The backward pass computes only the gradients that lead to the requested variables: a frozen
BatchNormalization (or any frozen layer) costs no gamma/beta/kernel gradient in fit, while a
tape asking for them still gets them."""
import numpy as np

import minikeras as keras
from minikeras import layers
from minikeras.ops import batch_norm as batch_norm_ops


def spy_on_inference_backward(monkeypatch):
    """Record the `needs` every batch-norm inference backward is called with."""
    calls = []
    original = batch_norm_ops.batch_norm_inference

    def wrapped(*args, **kwargs):
        out = original(*args, **kwargs)
        backward = out._backward
        if backward is not None:
            def recording(g, needs):
                calls.append(tuple(needs))
                return backward(g, needs)
            out._backward = recording
        return out
    monkeypatch.setattr(batch_norm_ops, "batch_norm_inference", wrapped)
    import minikeras.layers.normalization.batch_normalization as bn_module
    monkeypatch.setattr(bn_module, "batch_norm_inference", wrapped)
    return calls


def model_with_frozen_bn():
    model = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.BatchNormalization(),
                              layers.Dense(2)])
    model.layers[1].trainable = False
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def test_fit_asks_no_gamma_beta_gradient_of_a_frozen_batch_norm(monkeypatch):
    calls = spy_on_inference_backward(monkeypatch)
    model = model_with_frozen_bn()
    bn = model.layers[1]
    gamma, beta = np.array(bn.gamma.data), np.array(bn.beta.data)
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    before = model.layers[0].get_weights()[0].copy()
    model.fit(x, np.zeros((8, 2), np.float32), epochs=1, batch_size=4, verbose=0)
    assert calls and all(needs == (True, False, False) for needs in calls)
    np.testing.assert_array_equal(bn.gamma.data, gamma)
    np.testing.assert_array_equal(bn.beta.data, beta)
    assert not np.array_equal(model.layers[0].get_weights()[0], before)   # dense still trains


def test_a_tape_asking_for_gamma_still_gets_it(monkeypatch):
    calls = spy_on_inference_backward(monkeypatch)
    model = model_with_frozen_bn()
    bn = model.layers[1]
    x = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    with keras.GradientTape() as tape:
        loss = keras.backend.sum(model(x, training=True))
    gamma_grad, = tape.gradient(loss, [bn.gamma])
    assert calls[-1] == (False, True, False)   # nothing asked below it: no dx either
    hidden = model.layers[0](x).numpy()
    normalized = (hidden - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() +
                                                             bn.epsilon)
    expected = (normalized * model.layers[2].get_weights()[0].sum(axis=1)).sum(axis=0)
    np.testing.assert_allclose(gamma_grad, expected, rtol=1e-5, atol=1e-6)


def test_frozen_dense_kernel_gradient_is_skipped():
    """The same pruning for any layer: asking only for the last kernel leaves the others None."""
    model = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    x = np.ones((2, 3), np.float32)
    with keras.GradientTape() as tape:
        loss = keras.backend.sum(model(x))
    grads = tape.gradient(loss, [model.layers[1].kernel, model.layers[0].kernel])
    assert all(g is not None for g in grads)
    with keras.GradientTape() as tape:
        loss = keras.backend.sum(model(x))
    (only,) = tape.gradient(loss, [model.layers[1].kernel])
    np.testing.assert_allclose(only, np.repeat(model.layers[0](x).numpy().sum(0)[:, None], 2, 1),
                               rtol=1e-6)
