"""The file zoo (tests/fixtures/file_zoo): ~20 small models written by real tf_keras 2.21
(legacy `.h5` whole model and weights) and Keras 3.15 (`.keras`, `.weights.h5`) with fixed
random weights. Every file loads in minikeras (load_model, or load_weights into the same
architecture built by minikeras) and predicts what the writing library predicted; compiled
models come back compiled with their optimizer state, and one more train step gives the
writer's next weights."""
import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from fixtures.file_zoo import zoo_models

EXPECTED = np.load(fixture_path("file_zoo", "expected.npz"))
TAGS = {"tk.h5": "tk", "tk_weights.h5": "tk", "k3.keras": "k3", "k3.weights.h5": "k3"}


def zoo_file(name, kind):
    return fixture_path("file_zoo", f"{name}.{kind}")


def arrays(prefix):
    count = 0
    while f"{prefix}/{count}" in EXPECTED or f"{prefix}/{count:03d}" in EXPECTED:
        count += 1
    return [EXPECTED[f"{prefix}/{i}"] if f"{prefix}/{i}" in EXPECTED else
            EXPECTED[f"{prefix}/{i:03d}"] for i in range(count)]


def saved_weights(name, tag):
    """The weights each writer saved (the compiled models trained a little first)."""
    return arrays(f"{name}/saved/{tag}") if name in zoo_models.COMPILED else \
        arrays(f"{name}/w")


def assert_close(got, want, what):
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        assert g.dtype == np.float32, what
        scale = max(1.0, float(np.abs(w).max()))
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=2e-6 * scale, err_msg=what)


def assert_predicts(model, name, tag):
    prediction = model.predict(arrays(f"{name}/x"), verbose=0)
    assert_close(prediction, arrays(f"{name}/pred/{tag}"), f"{name} predictions ({tag})")
    return prediction


@pytest.mark.parametrize("kind", ["tk.h5", "k3.keras"])
@pytest.mark.parametrize("name", list(zoo_models.MODELS))
def test_load_model(name, kind):
    model = keras.models.load_model(zoo_file(name, kind))
    for got, want in zip(model.get_weights(), saved_weights(name, TAGS[kind])):
        np.testing.assert_array_equal(got, want)
    assert_predicts(model, name, TAGS[kind])


@pytest.mark.parametrize("kind", ["tk_weights.h5", "tk.h5", "k3.weights.h5", "k3.keras"])
@pytest.mark.parametrize("name", list(zoo_models.MODELS))
def test_load_weights_into_same_architecture(name, kind):
    model = zoo_models.build(name, keras)
    model.load_weights(zoo_file(name, kind))
    for got, want in zip(model.get_weights(), saved_weights(name, TAGS[kind])):
        np.testing.assert_array_equal(got, want)
    # Built with Keras 2 defaults, the model predicts what tf_keras predicts with the same
    # weights (Keras 3 changed a few defaults, e.g. ConvLSTM2D's recurrent activation); the
    # compiled models trained before saving, so each writer saved other weights.
    assert_predicts(model, name, TAGS[kind] if name in zoo_models.COMPILED else "tk")


@pytest.mark.parametrize("kind", ["tk.h5", "k3.keras"])
@pytest.mark.parametrize("name", zoo_models.COMPILED)
def test_compiled_model_resumes_training(name, kind):
    tag = TAGS[kind]
    model = keras.models.load_model(zoo_file(name, kind))
    assert model.optimizer is not None
    reference = zoo_models.build(name, keras).optimizer
    assert type(model.optimizer) is type(reference)
    assert int(model.optimizer.iterations.numpy()) == int(EXPECTED[f"{name}/iterations/{tag}"]) - 1
    model.train_on_batch(arrays(f"{name}/x_train"), EXPECTED[f"{name}/y_train"])
    for weight, want in zip(model.weights, arrays(f"{name}/next/{tag}")):
        if tag == "k3" and "moving_variance" in weight.name:
            continue    # Keras 3 moves it towards the biased batch variance, tf.keras unbiased
        np.testing.assert_allclose(weight.numpy(), want, rtol=1e-5, atol=1e-6,
                                   err_msg=weight.name)
