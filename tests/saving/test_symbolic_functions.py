"""K.* and keras.losses.* functions called on KerasTensors build the TFOpLambda layers tf.keras
records (names, op symbols, call arguments, summary rows), compute what the eager functions
compute, and survive a JSON round trip; the Keras 2 VAE example trains with fit(x)."""
import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from conftest import fixture_path
import fixtures.symbolic_cases as symbolic_cases
import fixtures.vae_example as vae_example

RECORDED = json.load(open(fixture_path("functions", "peer", "symbolic_k.json")))
VAE = json.load(open(fixture_path("functions", "peer", "vae.json")))
CASES = symbolic_cases.cases(keras, K)
# random_normal draws its seed; switch is recorded as one layer here (tf.keras: eleven ops);
# logsumexp is not a tf.keras 2.21 backend function.
DIFFERENT = {"random_normal", "switch", "logsumexp"}
EXACT = sorted(name for name in CASES if name not in DIFFERENT)
RNG = np.random.default_rng(0)
X = (RNG.random((3, 4)) + 0.1).astype("float32")
Y = (RNG.random((3, 4)) + 0.1).astype("float32")


def graph(name):
    K.clear_session()
    x, y = keras.Input((4,), name="x"), keras.Input((4,), name="y")
    return keras.Model([x, y], CASES[name](x, y))


def recorded_layers(model):
    return [{key: entry[key] for key in ("class_name", "name", "config", "inbound_nodes")}
            for entry in json.loads(model.to_json())["config"]["layers"]
            if entry["class_name"] != "InputLayer"]


@pytest.mark.parametrize("name", EXACT)
def test_layers_as_tf_keras_records_them(name):
    assert recorded_layers(graph(name)) == RECORDED[name]


def test_random_normal_records_the_ops_with_a_drawn_seed():
    got, want = recorded_layers(graph("random_normal")), RECORDED["random_normal"]
    assert [e["name"] for e in got] == [e["name"] for e in want]
    assert got[:2] == want[:2]
    seed = got[2]["inbound_nodes"][0][0][3]["seed"]
    assert isinstance(seed, int)
    assert got[2]["inbound_nodes"][0][0][3] == {**want[2]["inbound_nodes"][0][0][3], "seed": seed}


NUMERIC = [name for name in CASES if name not in ("random_normal", "shape", "switch")]


@pytest.mark.parametrize("name", NUMERIC)
def test_graph_computes_what_the_eager_function_computes(name):
    model = graph(name)
    got = K.get_value(model([X, Y]))
    want = CASES[name](keras.backend.constant(X), keras.backend.constant(Y))
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(K.get_value(want), dtype=np.float64),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["vae_kl", "losses_kld", "batch_dot", "concatenate", "bce"])
def test_json_round_trip(name):
    model = graph(name)
    restored = keras.models.model_from_json(model.to_json())
    assert restored.to_json() == model.to_json()
    np.testing.assert_allclose(restored.predict([X, Y], verbose=0),
                               model.predict([X, Y], verbose=0), rtol=1e-6)


def test_vae_kl_summary_as_tf_keras():
    K.clear_session()
    x = keras.Input((4,))
    z_mean, z_log_var = keras.layers.Dense(2)(x), keras.layers.Dense(2)(x)
    kl = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
    lines = []
    keras.Model(x, kl).summary(print_fn=lines.append)
    assert "\n".join(lines) == RECORDED["__vae_summary__"]


def test_vae_example_summary_config_and_fit_without_targets():
    K.clear_session()
    vae = vae_example.build(keras, K)
    lines = []
    vae.summary(print_fn=lines.append)
    assert "\n".join(lines) == VAE["summary"]
    got = recorded_layers(vae)
    want = [entry for entry in VAE["layers"] if entry["class_name"] != "InputLayer"]
    # The nested encoder/decoder configs hold the sampling Lambda's bytecode: compare the rest.
    assert [(g["class_name"], g["name"], g["inbound_nodes"]) for g in got] == \
        [(w["class_name"], w["name"], w["inbound_nodes"]) for w in want]
    assert [g["config"] for g in got if g["class_name"] != "Functional"] == \
        [w["config"] for w in want if w["class_name"] != "Functional"]
    x = (np.random.default_rng(1).random((64, vae_example.ORIGINAL_DIM)) > 0.5).astype("float32")
    before = [np.array(w) for w in vae.get_weights()]
    history = vae.fit(x, epochs=12, batch_size=8, verbose=0, validation_data=(x, None)).history
    assert np.mean(history["loss"][-3:]) < np.mean(history["loss"][:3])
    assert len(history["val_loss"]) == 12 and np.all(np.isfinite(history["val_loss"]))
    assert all(not np.array_equal(a, b) for a, b in zip(before, vae.get_weights()))


def test_symbolic_add_loss_is_recomputed_and_round_trips():
    K.clear_session()
    x = keras.Input((4,))
    hidden = keras.layers.Dense(3)(x)
    model = keras.Model(x, keras.layers.Dense(2)(hidden))
    model.add_loss(K.mean(K.square(hidden)))
    assert [layer.name for layer in model.layers][-3:] == [
        "tf.math.square", "tf.math.reduce_mean", "add_loss"]
    model.compile("sgd", "mse")
    zeros = np.zeros((3, 2), np.float32)
    hidden_value = X @ model.layers[1].get_weights()[0] + model.layers[1].get_weights()[1]
    mse = np.mean(np.square(model.predict(X, verbose=0)))
    np.testing.assert_allclose(model.evaluate(X, zeros, verbose=0),
                               mse + np.mean(np.square(hidden_value)), rtol=1e-5)
    restored = keras.models.model_from_json(model.to_json())
    restored.set_weights(model.get_weights())
    restored.compile("sgd", "mse")
    np.testing.assert_allclose(restored.evaluate(X, zeros, verbose=0),
                               model.evaluate(X, zeros, verbose=0), rtol=1e-6)


def test_summary_row_of_a_backend_function():
    K.clear_session()
    x = keras.Input((4,))
    out = io.StringIO()
    with redirect_stdout(out):
        keras.Model(x, K.square(x)).summary()
    assert " tf.math.square (TFOpLambda  (None, 4)" in out.getvalue()
