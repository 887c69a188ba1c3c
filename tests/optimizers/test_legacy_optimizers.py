"""`keras.optimizers.legacy` (tf.keras' pre-2.11 optimizers, with `decay=`) and the deprecated
`fit_generator` / `evaluate_generator` / `predict_generator`."""
import json
import warnings

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

LEGACY = json.load(open(fixture_path("training", "peer", "legacy_optimizers.json")))
CASES = LEGACY["cases"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['class']}-{i}" for i, c in enumerate(CASES)])
def test_steps_config_and_variables_as_tf_keras(case):
    opt = getattr(keras.optimizers.legacy, case["class"])(**case["kwargs"])
    variables = [keras.Variable(np.array(w, np.float32), name=name)
                 for w, name in zip(LEGACY["w0"], ("dense/kernel", "dense/bias"))]
    for grads, want in zip(LEGACY["grads"], case["steps"]):
        opt.apply_gradients(zip([np.array(g, np.float32) for g in grads], variables))
        for variable, expected in zip(variables, want):
            np.testing.assert_allclose(variable.data, expected, rtol=1e-5, atol=1e-6)
    assert opt.get_config() == case["config"]
    assert [v.name for v in opt.variables] == case["variable_names"]
    assert [list(v.shape) for v in opt.variables] == case["variable_shapes"]
    restored = type(opt).from_config(opt.get_config())
    assert restored.get_config() == opt.get_config()


def test_decay_given_to_a_current_optimizer_builds_the_legacy_one_as_keras_2():
    with pytest.warns(UserWarning, match="building keras.optimizers.legacy.Adam"):
        optimizer = keras.optimizers.Adam(decay=0.1)
    assert type(optimizer) is keras.optimizers.legacy.Adam and optimizer.decay == 0.1
    assert keras.optimizers.legacy.Adam(decay=0.1).decay == 0.1
    with pytest.raises(TypeError, match="Unexpected keyword argument passed to optimizer"):
        keras.optimizers.legacy.SGD(weight_decay=0.1)


def test_legacy_compiled_h5_loads_and_resumes_as_tf_keras():
    recorded = json.load(open(fixture_path("training", "peer", "compiled_legacy_adam.json")))
    arrays = np.load(fixture_path("files2", "files2.npz"))
    model = keras.models.load_model(fixture_path("training", "peer", "compiled_legacy_adam.h5"))
    assert type(model.optimizer) is keras.optimizers.legacy.Adam
    assert model.optimizer.get_config() == recorded["training_config"]["optimizer_config"]["config"]
    assert [v.name for v in model.optimizer.variables] == recorded["optimizer_weight_names"]
    assert int(model.optimizer.iterations) == 8
    history = model.fit(arrays["x"], arrays["y"], batch_size=8, epochs=2, shuffle=False,
                        verbose=0).history
    np.testing.assert_allclose(history["loss"], recorded["history_after_reload"]["loss"],
                               rtol=1e-6)


def test_legacy_optimizer_round_trips_through_h5(tmp_path):
    arrays = np.load(fixture_path("files2", "files2.npz"))
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(6,))])
    model.compile(keras.optimizers.legacy.RMSprop(0.01, decay=0.1, momentum=0.5), "mse")
    model.fit(arrays["x"], arrays["y"], batch_size=8, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "m.h5")
        loaded = keras.models.load_model(tmp_path / "m.h5")
    assert type(loaded.optimizer) is keras.optimizers.legacy.RMSprop
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        assert a.name == b.name
        np.testing.assert_array_equal(a.data, b.data)


def batches(x, y, batch_size):
    while True:
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]


def test_generator_methods_warn_and_delegate():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")

    def model():
        keras.backend.clear_session()
        m = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
        m.set_weights([np.ones((3, 1), np.float32), np.zeros(1, np.float32)])
        m.compile(keras.optimizers.SGD(0.1), "mse")
        return m
    old, new = model(), model()
    with pytest.warns(UserWarning, match="`Model.fit_generator` is deprecated and will be removed "
                                         "in a future version. Please use `Model.fit`"):
        old_history = old.fit_generator(batches(x, y, 4), steps_per_epoch=4, epochs=2,
                                        verbose=0).history
    new_history = new.fit(batches(x, y, 4), steps_per_epoch=4, epochs=2, verbose=0).history
    assert old_history == new_history
    with pytest.warns(UserWarning, match="`Model.evaluate_generator` is deprecated"):
        assert old.evaluate_generator(batches(x, y, 4), steps=4) == \
            new.evaluate(batches(x, y, 4), steps=4, verbose=0)
    with pytest.warns(UserWarning, match="`Model.predict_generator` is deprecated"):
        np.testing.assert_array_equal(old.predict_generator(batches(x, y, 4), steps=4),
                                      new.predict(batches(x, y, 4), steps=4, verbose=0))


def test_legacy_nadam_refuses_a_learning_rate_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.7)
    with pytest.raises(ValueError, match="The Nadam optimizer does not support "
                       r"tf.keras.optimizers.LearningRateSchedules as the learning rate."):
        keras.optimizers.legacy.Nadam(schedule)
    keras.optimizers.Nadam(schedule)   # the current Nadam takes one


SHARED = np.load(fixture_path("adl", "shared_legacy_optimizer.npz"))
SHARED_NAMES = json.load(open(fixture_path("adl", "shared_legacy_optimizer.json")))


def test_one_legacy_optimizer_trains_two_models_as_tf_keras():
    """Advanced-Deep-Learning-with-Keras' WGAN compiles its critic and the combined model with
    one RMSprop: OptimizerV2 creates the second model's slots when it first sees its variables
    (minikeras raised "cannot recognize variable"). Losses, weights and the optimizer's
    variable names after alternating steps match tf_keras 2.21 (fixture)."""
    x, y = SHARED["x"], SHARED["y"]
    for cls, kwargs in [("RMSprop", dict(learning_rate=0.01, decay=0.1)),
                        ("Adam", dict(learning_rate=0.01)),
                        ("SGD", dict(learning_rate=0.1, momentum=0.9)),
                        ("Nadam", dict(learning_rate=0.01)), ("Ftrl", dict(learning_rate=0.1))]:
        first = keras.Sequential([keras.layers.Dense(2, activation="tanh", input_shape=(3,)),
                                  keras.layers.Dense(1)])
        second = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
        first.set_weights([SHARED[f"{cls}_init_{i}"] for i in range(4)])
        second.set_weights([SHARED[f"{cls}_init_{i}"] for i in range(4, 6)])
        optimizer = getattr(keras.optimizers.legacy, cls)(**kwargs)
        first.compile(optimizer, "mse")
        second.compile(optimizer, "mse")
        losses = []
        for _ in range(3):
            losses.append(first.train_on_batch(x, y))
            losses.append(second.train_on_batch(x, y))
        np.testing.assert_allclose(losses, SHARED[f"{cls}_losses"], rtol=1e-5, err_msg=cls)
        for i, w in enumerate(first.get_weights() + second.get_weights()):
            np.testing.assert_allclose(w, SHARED[f"{cls}_final_{i}"], rtol=1e-5, atol=1e-6,
                                       err_msg=f"{cls} weight {i}")
        assert [v.name for v in optimizer.variables] == SHARED_NAMES[cls]


GAN_SHARED = json.load(open(fixture_path("gan_sweep", "shared_legacy_optimizer.json")))


@pytest.mark.parametrize("case", GAN_SHARED["cases"],
                         ids=[f"{c['class']}-{i}" for i, c in enumerate(GAN_SHARED["cases"])])
def test_one_legacy_optimizer_takes_variables_it_has_not_seen_as_tf_keras(case):
    # Keras 2 GANs compile the discriminator and the combined model with one optimizer:
    # OptimizerV2 creates the slots of a variable the first time it gets a gradient.
    opt = getattr(keras.optimizers.legacy, case["class"])(**case["kwargs"])
    variables = {name: keras.Variable(np.array(w, np.float32), name=name)
                 for name, w in GAN_SHARED["w0"].items()}
    for names, grads, want in zip(GAN_SHARED["steps"], GAN_SHARED["grads"], case["after"]):
        opt.apply_gradients(zip([np.array(g, np.float32) for g in grads],
                                [variables[name] for name in names]))
        for name, expected in want.items():
            np.testing.assert_allclose(variables[name].data, expected, rtol=1e-5, atol=1e-6)
    assert [v.name for v in opt.variables] == case["variable_names"]
    assert int(opt.iterations.data) == case["iterations"]
