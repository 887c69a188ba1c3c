"""Each optimizer's first steps against the documented update rules, computed by hand in
float64 NumPy; plus clipping, weight decay, EMA, learning-rate handling and slots."""
import math
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K

W0 = np.array([[0.5, -1.5, 2.0], [0.25, -0.75, 1.0]])
GRADS = [np.array([[0.1, -0.2, 0.3], [-0.4, 0.5, 0.05]]),
         np.array([[-0.3, 0.1, 0.2], [0.6, -0.1, 0.0]]),
         np.array([[0.2, 0.2, -0.5], [0.1, 0.3, -0.2]])]


def run(optimizer, grads=GRADS, w0=W0):
    """Apply `grads` one step each to a float32 copy of `w0`; the weights after each step."""
    variable = keras.Variable(w0.astype(np.float32), name="w")
    history = []
    for grad in grads:
        optimizer.apply_gradients([(grad.astype(np.float32), variable)])
        history.append(np.array(variable.data))
    return history


def check(optimizer, reference_steps, rtol=1e-5):
    got = run(optimizer)
    assert all(w.dtype == np.float32 for w in got)
    for step, (actual, expected) in enumerate(zip(got, reference_steps)):
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-7,
                                   err_msg=f"after step {step + 1}")


def test_sgd_plain_momentum_and_nesterov():
    lr, mu = 0.1, 0.9
    w, steps = W0.copy(), []
    for g in GRADS:
        w = w - lr * g
        steps.append(w)
    check(keras.optimizers.SGD(lr), steps)
    for nesterov in (False, True):
        w, m, steps = W0.copy(), np.zeros_like(W0), []
        for g in GRADS:
            m = mu * m - lr * g
            w = w + (mu * m - lr * g if nesterov else m)
            steps.append(w)
        check(keras.optimizers.SGD(lr, momentum=mu, nesterov=nesterov), steps)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop(centered, momentum):
    lr, rho, eps = 0.01, 0.8, 1e-7
    w, v, a, mom, steps = W0.copy(), 0 * W0, 0 * W0, 0 * W0, []
    for g in GRADS:
        v = rho * v + (1 - rho) * g ** 2
        a = rho * a + (1 - rho) * g
        increment = lr * g / np.sqrt((v - a ** 2 if centered else v) + eps)
        mom = momentum * mom + increment
        w = w - (mom if momentum else increment)
        steps.append(w)
    check(keras.optimizers.RMSprop(lr, rho=rho, momentum=momentum, centered=centered), steps)


def test_rmsprop_docstring_example():
    opt = keras.optimizers.RMSprop(learning_rate=0.1)
    var = keras.Variable(10.0)
    opt.minimize(lambda: (var * var) / 2.0, [var])
    np.testing.assert_allclose(float(var), 9.683772, rtol=1e-6)


def test_adagrad():
    lr, init, eps = 0.1, 0.2, 1e-7
    w, acc, steps = W0.copy(), np.full_like(W0, init), []
    for g in GRADS:
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + eps)
        steps.append(w)
    check(keras.optimizers.Adagrad(lr, initial_accumulator_value=init), steps)


def test_adadelta():
    lr, rho, eps = 1.0, 0.9, 1e-6
    w, eg, edx, steps = W0.copy(), 0 * W0, 0 * W0, []
    for g in GRADS:
        eg = rho * eg + (1 - rho) * g * g
        delta = -np.sqrt(edx + eps) * g / np.sqrt(eg + eps)
        edx = rho * edx + (1 - rho) * delta * delta
        w = w + lr * delta
        steps.append(w)
    check(keras.optimizers.Adadelta(lr, rho=rho, epsilon=eps), steps)


def adam_reference(lr, b1, b2, eps, amsgrad=False, weight_decay=0.0):
    w, m, v, vhat, steps = W0.copy(), 0 * W0, 0 * W0, 0 * W0, []
    for t, g in enumerate(GRADS, start=1):
        w = w - w * weight_decay * lr
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        vhat = np.maximum(vhat, v)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - m * alpha / (np.sqrt(vhat if amsgrad else v) + eps)
        steps.append(w)
    return steps


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam(amsgrad):
    check(keras.optimizers.Adam(0.02, beta_1=0.8, beta_2=0.9, amsgrad=amsgrad),
          adam_reference(0.02, 0.8, 0.9, 1e-7, amsgrad))


def test_adamw_decays_weights_before_the_adam_step():
    check(keras.optimizers.AdamW(0.02, 0.1, beta_1=0.8, beta_2=0.9),
          adam_reference(0.02, 0.8, 0.9, 1e-7, weight_decay=0.1))
    with pytest.raises(ValueError, match="Missing value of `weight_decay`"):
        keras.optimizers.AdamW(weight_decay=None)


def test_adamax():
    lr, b1, b2, eps = 0.02, 0.8, 0.9, 1e-7
    w, m, u, steps = W0.copy(), 0 * W0, 0 * W0, []
    for t, g in enumerate(GRADS, start=1):
        m = m + (g - m) * (1 - b1)
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr * m / ((1 - b1 ** t) * (u + eps))
        steps.append(w)
    check(keras.optimizers.Adamax(lr, beta_1=b1, beta_2=b2), steps)


def test_nadam():
    lr, b1, b2, eps = 0.02, 0.8, 0.9, 1e-7
    w, m, v, product, steps = W0.copy(), 0 * W0, 0 * W0, 1.0, []
    for t, g in enumerate(GRADS, start=1):
        u_t = b1 * (1 - 0.5 * 0.96 ** t)
        u_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        product *= u_t
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        m_hat = u_next * m / (1 - product * u_next) + (1 - u_t) * g / (1 - product)
        v_hat = v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        steps.append(w)
    check(keras.optimizers.Nadam(lr, beta_1=b1, beta_2=b2), steps)


def test_ftrl():
    lr, power, init, l1, l2, shrink, beta = 0.1, -0.5, 0.1, 0.01, 0.02, 0.03, 0.5
    w, n, z, steps = W0.copy(), np.full_like(W0, init), 0 * W0, []
    l2_total = l2 + beta / (2 * lr)
    for g in GRADS:
        g_shrunk = g + 2 * shrink * w
        n_new = n + g * g
        z = z + g_shrunk - (n_new ** -power - n ** -power) / lr * w
        quadratic = n_new ** -power / lr + 2 * l2_total
        w = (np.clip(z, -l1, l1) - z) / quadratic
        n = n_new
        steps.append(w)
    check(keras.optimizers.Ftrl(lr, power, init, l1, l2, shrink, beta), steps)


def test_clipnorm_clips_each_gradient_to_the_norm():
    big = [GRADS[0] * 10]
    norm = np.linalg.norm(big[0])
    got = run(keras.optimizers.SGD(1.0, clipnorm=0.5), big)[0]
    np.testing.assert_allclose(got, W0 - big[0] * 0.5 / norm, rtol=1e-6)
    small = run(keras.optimizers.SGD(1.0, clipnorm=100.0), big)[0]
    np.testing.assert_allclose(small, W0 - big[0], rtol=1e-6)


def test_global_clipnorm_scales_all_gradients_together():
    a = keras.Variable(np.ones(2, np.float32))
    b = keras.Variable(np.ones(3, np.float32))
    ga, gb = np.array([3.0, 4.0], np.float32), np.array([0.0, 0.0, 12.0], np.float32)
    keras.optimizers.SGD(1.0, global_clipnorm=1.3).apply_gradients([(ga, a), (gb, b)])
    scale = 1.3 / 13.0
    np.testing.assert_allclose(a.data, 1 - ga * scale, rtol=1e-6)
    np.testing.assert_allclose(b.data, 1 - gb * scale, rtol=1e-6)


def test_clipvalue_and_docstring_example():
    opt = keras.optimizers.SGD(learning_rate=1, clipvalue=1)
    var1, var2 = keras.Variable(2.0), keras.Variable(2.0)
    opt.apply_gradients(zip([np.float32(2.0), np.float32(2.0)], [var1, var2]))
    assert float(var1) == 1.0 and float(var2) == 1.0


def test_clipnorm_and_global_clipnorm_are_exclusive():
    with pytest.raises(ValueError, match="At most one of `clipnorm` and `global_clipnorm`"):
        keras.optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)


def test_weight_decay_and_exclusion_docstring_example():
    opt = keras.optimizers.SGD(1, weight_decay=0.004)
    var1, var2 = keras.Variable(2.0), keras.Variable(2.0)
    opt.exclude_from_weight_decay(var_list=[var2])
    opt.apply_gradients(zip([np.float32(0), np.float32(0)], [var1, var2]))
    np.testing.assert_allclose([float(var1), float(var2)], [1.992, 2.0], rtol=1e-7)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["bias"])


def test_exclude_from_weight_decay_by_name():
    opt = keras.optimizers.AdamW(learning_rate=1.0, weight_decay=0.5, beta_1=0.0)
    kernel = keras.Variable(np.float32(2.0), name="dense/kernel")
    bias = keras.Variable(np.float32(2.0), name="dense/bias")
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients([(np.float32(0), kernel), (np.float32(0), bias)])
    assert float(kernel) == 1.0 and float(bias) == 2.0


def test_ema_docstring_example_and_finalize():
    opt = keras.optimizers.SGD(learning_rate=1, use_ema=True, ema_momentum=0.5,
                               ema_overwrite_frequency=3)
    var1, var2 = keras.Variable(2.0), keras.Variable(2.0)
    grads = [np.float32(1.0), np.float32(1.0)]
    expected = [1.0, 0.0, -0.125]  # the third step overwrites with the moving average
    for value in expected:
        opt.apply_gradients(zip(grads, [var1, var2]))
        np.testing.assert_allclose([float(var1), float(var2)], [value, value], rtol=1e-7)
    opt = keras.optimizers.Adam(use_ema=True, ema_momentum=0.9)
    var = keras.Variable(np.float32(1.0))
    opt.apply_gradients([(np.float32(0.5), var)])
    average = 0.9 * 1.0 + 0.1 * float(var)
    opt.finalize_variable_values([var])
    np.testing.assert_allclose(float(var), average, rtol=1e-6)
    # built lazily by apply_gradients: tf.keras' slots sit in the optimizer's name scope
    assert [v.name for v in opt.variables] == ["iteration:0", "Adam/average/Variable:0",
                                               "Adam/m/Variable:0", "Adam/v/Variable:0"]
    with pytest.raises(ValueError, match="`ema_momentum` must be in the range"):
        keras.optimizers.SGD(use_ema=True, ema_momentum=1.5)


def test_schedule_drives_the_learning_rate_step_by_step():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = keras.optimizers.SGD(learning_rate=schedule)
    steps = run(opt)
    w = W0.copy()
    for t, (g, got) in enumerate(zip(GRADS, steps)):
        w = w - 0.1 * 0.5 ** t * g
        np.testing.assert_allclose(got, w, rtol=1e-6)
    np.testing.assert_allclose(float(opt.learning_rate), 0.1 * 0.5 ** 2, rtol=1e-6)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.5
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "ExponentialDecay"
    again = keras.optimizers.SGD.from_config(config)
    assert isinstance(again._learning_rate, keras.optimizers.schedules.ExponentialDecay)
    assert again.get_config() == config


def test_learning_rate_is_a_settable_variable():
    opt = keras.optimizers.Adam()
    assert opt.learning_rate.dtype == np.float32
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == 0.5
    K.set_value(opt.lr, 0.25)
    assert float(K.get_value(opt.learning_rate)) == 0.25
    opt.learning_rate.assign(0.125)
    assert opt.get_config()["learning_rate"] == 0.125
    opt.lr = 0.0625
    assert float(opt.lr) == 0.0625
    run(opt)  # a new rate takes effect at the next step, and setting it again still works
    opt.learning_rate = 0.01
    np.testing.assert_allclose(float(opt.learning_rate), 0.01)


def test_lr_is_a_deprecated_alias_of_learning_rate():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = keras.optimizers.SGD(lr=0.3)
    assert any("`lr` is deprecated" in str(w.message) for w in caught)
    np.testing.assert_allclose(float(opt.learning_rate), 0.3)
    np.testing.assert_allclose(run(opt)[0], W0 - 0.3 * GRADS[0], rtol=1e-6)


def test_iterations_and_slot_variables():
    opt = keras.optimizers.Adam(amsgrad=True)
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.compile(opt, "mse")
    model.train_on_batch(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32))
    model.train_on_batch(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32))
    assert int(opt.iterations) == 2 and opt.iterations.dtype == np.int64
    assert [v.name for v in opt.variables()] == [
        "iteration:0", "Adam/m/dense/kernel:0", "Adam/v/dense/kernel:0", "Adam/m/dense/bias:0",
        "Adam/v/dense/bias:0", "Adam/vhat/dense/kernel:0", "Adam/vhat/dense/bias:0"]
    weights = opt.get_weights()
    fresh = keras.optimizers.Adam(amsgrad=True)
    fresh.build(model.trainable_weights)
    fresh.set_weights(weights)
    for a, b in zip(fresh.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not compatible"):
        fresh.set_weights([np.zeros(3)] + weights[1:])
    with pytest.raises(ValueError, match="not compatible"):  # checked before any is assigned
        fresh.set_weights([np.zeros_like(w) for w in weights[:-1]] + [np.zeros(5)])
    for a, b in zip(fresh.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_sgd_and_rmsprop_slot_names():
    variable = keras.Variable(np.zeros(2, np.float32), name="dense/kernel")
    sgd = keras.optimizers.SGD()
    sgd.apply_gradients([(np.ones(2, np.float32), variable)])
    assert [v.name for v in sgd.variables] == ["iteration:0", "SGD/m/dense/kernel:0"]
    rms = keras.optimizers.RMSprop(momentum=0.5, centered=True)
    rms.apply_gradients([(np.ones(2, np.float32), variable)])
    assert [v.name for v in rms.variables] == [
        "iteration:0", "RMSprop/velocity/dense/kernel:0", "RMSprop/momentum/dense/kernel:0",
        "RMSprop/average_gradient/dense/kernel:0"]


def test_unknown_variable_after_build_is_an_error():
    opt = keras.optimizers.SGD()
    a, b = keras.Variable(np.float32(1.0), name="a"), keras.Variable(np.float32(1.0), name="b")
    opt.apply_gradients([(np.float32(1.0), a)])
    with pytest.raises(KeyError, match="cannot recognize variable b:0"):
        opt.apply_gradients([(np.float32(1.0), b)])


def test_no_gradients_is_an_error_and_none_gradients_are_skipped():
    opt = keras.optimizers.SGD(1.0)
    a, b = keras.Variable(np.float32(1.0)), keras.Variable(np.float32(1.0))
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply_gradients([(None, a)])
    opt = keras.optimizers.SGD(1.0)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(None, a), (np.float32(0.5), b)])
    assert float(a) == 1.0 and float(b) == 0.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="`momentum` must be between"):
        keras.optimizers.SGD(momentum=1.5)
    with pytest.raises(TypeError, match="foo is not a valid argument"):
        keras.optimizers.Adam(foo=1)
    with pytest.raises(ValueError, match="`learning_rate_power` needs to be negative"):
        keras.optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="Unknown optimizer: .adamz."):
        keras.optimizers.get("adamz")


def test_positional_arguments_bind_in_keras_order():
    assert keras.optimizers.SGD(0.1, 0.9, True).get_config()["nesterov"] is True
    assert keras.optimizers.AdamW(0.1, 0.01).weight_decay == 0.01
    assert keras.optimizers.RMSprop(0.1, 0.8, 0.5).momentum == 0.5


def test_serialize_round_trip_for_every_class():
    for name in ("SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax", "Nadam",
                 "Ftrl"):
        opt = getattr(keras.optimizers, name)(learning_rate=0.05)
        config = keras.optimizers.serialize(opt)
        assert config["class_name"] == name and config["module"] == "keras.optimizers"
        again = keras.optimizers.deserialize(config)
        assert type(again) is type(opt) and again.get_config() == opt.get_config()
        assert keras.optimizers.get({"class_name": name.lower(), "config": {}}).name == name


def test_denormal_slots_are_flushed():
    opt = keras.optimizers.Adam()
    var = keras.Variable(np.ones(4, np.float32))
    tiny = np.array([1e-20, 0, 0, 0], np.float32)
    for _ in range(64):
        opt.apply_gradients([(tiny, var)])
    v = opt.variables[2].data
    assert v[0] == 0  # 1e-40 would be a denormal float32


def test_custom_optimizer_subclass_and_experimental_namespace():
    class PlainSGD(keras.optimizers.Optimizer):
        def __init__(self, learning_rate=0.01, name="PlainSGD", **kwargs):
            super().__init__(name=name, **kwargs)
            self._learning_rate = self._build_learning_rate(learning_rate)

        def build(self, var_list):
            super().build(var_list)
            if self._built:
                return
            self._built = True

        def update_step(self, gradient, variable):
            variable.assign_sub(gradient * float(self.learning_rate))
    np.testing.assert_allclose(run(PlainSGD(0.5))[0], W0 - 0.5 * GRADS[0], rtol=1e-6)
    assert keras.optimizers.experimental.Adam is keras.optimizers.Adam


def test_fit_leaves_the_exponential_moving_average_in_the_model():
    import minikeras as keras
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = rng.standard_normal((32, 1)).astype(np.float32)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    opt = keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    model.compile(opt, "mse")
    initial = [w.copy() for w in model.get_weights()]
    # Track the average by hand: ema = m * ema + (1 - m) * w after every step.
    ema = [w.copy() for w in initial]
    for start in range(0, 32, 8):
        model.train_on_batch(x[start:start + 8], y[start:start + 8])
        ema = [0.5 * e + 0.5 * w for e, w in zip(ema, model.get_weights())]
    model.set_weights(initial)
    model2 = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model2.set_weights(initial)
    model2.compile(keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), "mse")
    model2.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(model2.get_weights(), ema):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
