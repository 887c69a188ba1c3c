"""The rnn_sentiment model of fixtures/recurrent (summary, prediction), the legacy .h5 files
real tf.keras wrote, saving and reloading in every format, and recurrent layers in functional
graphs (masks, initial states as extra inputs)."""
import importlib.util
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

MODEL_ARRAYS = np.load(fixture_path("recurrent", "models", "rnn_sentiment.npz"))
EXPECTED = np.load(fixture_path("recurrent", "files", "expected.npz"))
with open(fixture_path("recurrent", "files", "files.json")) as _handle:
    FILES = json.load(_handle)
_spec = importlib.util.spec_from_file_location("recurrent_models",
                                               fixture_path("recurrent", "recurrent_models.py"))
recurrent_models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(recurrent_models)


def sentiment_model():
    keras.backend.clear_session()
    model = recurrent_models.rnn_sentiment(keras)
    model.set_weights([MODEL_ARRAYS[f"flat/{i:03d}"] for i in range(6)])
    return model


def summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines).splitlines()


def test_sentiment_model_summary_and_prediction():
    model = sentiment_model()
    with open(fixture_path("recurrent", "models", "rnn_sentiment.summary.txt")) as handle:
        assert summary_lines(model) == handle.read().splitlines()
    assert summary_lines(model) == FILES["models"]["rnn_sentiment"]["summary_lines"]
    prediction = model.predict(MODEL_ARRAYS["input/0"], verbose=0)
    np.testing.assert_allclose(prediction, MODEL_ARRAYS["out_infer"], atol=1e-5)
    # the all-padding row: the LSTM output is its zero initial state
    padded = np.where(~MODEL_ARRAYS["input/0"].any(axis=1))[0]
    assert padded.size == 1
    bias = MODEL_ARRAYS["flat/005"]
    np.testing.assert_allclose(prediction[padded[0]], 1 / (1 + np.exp(-bias)), atol=1e-6)


@pytest.mark.parametrize("entry", FILES["files"], ids=[f["file"] for f in FILES["files"]])
def test_real_keras_h5_files_load_and_predict(entry):
    path = fixture_path("recurrent", "files", entry["file"])
    keras.backend.clear_session()
    if entry["kind"] == "legacy_weights":
        model = recurrent_models.rnn_sentiment(keras)
        model.load_weights(path)
    else:
        model = keras.models.load_model(path)
        assert summary_lines(model) == entry["loaded_summary_lines"]
    x = EXPECTED["rnn_sentiment/x"]
    np.testing.assert_allclose(model.predict(x, verbose=0), EXPECTED["rnn_sentiment/expected"],
                               atol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), EXPECTED[f"pred/{entry['file']}"],
                               atol=1e-5)
    for layer in ("embedding", "lstm", "dense"):
        for i, weight in enumerate(model.get_layer(layer).get_weights()):
            np.testing.assert_array_equal(weight, EXPECTED[f"rnn_sentiment/w/{layer}/{i}"])


@pytest.mark.parametrize("suffix", [".h5", ".keras", "weights.h5", "legacy_weights.h5"])
def test_recurrent_models_round_trip_through_files(tmp_path, suffix):
    keras.backend.clear_session()
    inputs = keras.Input(shape=(6, 3))
    masked = keras.layers.Masking()(inputs)
    seq = keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True))(masked)
    seq = keras.layers.TimeDistributed(keras.layers.Dense(3))(seq)
    out, h, c = keras.layers.LSTM(5, return_state=True, go_backwards=True)(seq)
    stacked = keras.layers.RNN([keras.layers.SimpleRNNCell(2), keras.layers.LSTMCell(3)])(seq)
    outputs = keras.layers.Concatenate()([out, h, c, stacked])
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).standard_normal((4, 6, 3)).astype(np.float32)
    x[0, 4:] = 0
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / ("model" + suffix if not suffix.endswith("weights.h5") else suffix))
    if suffix in (".h5", ".keras"):
        model.save(path)
        keras.backend.clear_session()
        loaded = keras.models.load_model(path)
    else:
        model.save_weights(path)
        loaded = keras.Model.from_config(model.get_config())
        loaded.load_weights(path)
    assert [w.name for w in loaded.weights] == [w.name for w in model.weights]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-6)
    assert summary_lines(loaded) == summary_lines(model)


def test_initial_states_as_extra_functional_inputs():
    keras.backend.clear_session()
    inputs = keras.Input(shape=(5, 3))
    h0, c0 = keras.Input(shape=(4,)), keras.Input(shape=(4,))
    layer = keras.layers.LSTM(4, return_sequences=True)
    outputs = layer(inputs, initial_state=[h0, c0])
    model = keras.Model([inputs, h0, c0], outputs)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    h, c = (rng.standard_normal((2, 4)).astype(np.float32) for _ in range(2))
    expected = layer(x, initial_state=[h, c]).numpy()
    np.testing.assert_allclose(model.predict([x, h, c], verbose=0), expected, atol=1e-6)
    assert not np.allclose(expected, layer(x).numpy())
    # the list form `layer([x, h, c])`
    np.testing.assert_allclose(layer([x, h, c]).numpy(), expected, atol=1e-6)
    # through a saved config
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict([x, h, c], verbose=0), expected, atol=1e-6)


def test_masks_reach_the_rnn_through_the_graph_and_sequential():
    """Embedding(mask_zero) > Dense on 3-D > Dropout > LSTM: the mask crosses Dense and Dropout,
    so post-padding leaves the LSTM's output unchanged; GlobalAveragePooling1D averages only
    the unmasked steps."""
    keras.backend.clear_session()
    rng = np.random.default_rng(2)
    tokens = rng.integers(1, 20, size=(3, 6))
    padded = np.concatenate([tokens, np.zeros((3, 4), tokens.dtype)], axis=1)
    inputs = keras.Input(shape=(None,), dtype="int32")
    embedded = keras.layers.Embedding(20, 5, mask_zero=True)(inputs)
    dense = keras.layers.Dense(6, activation="tanh")(embedded)
    dropped = keras.layers.Dropout(0.3)(dense)
    last = keras.layers.LSTM(4)(dropped)
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.GRU(3, return_sequences=True)(dropped))
    model = keras.Model(inputs, [last, pooled])
    short, long = model.predict(tokens, verbose=0), model.predict(padded, verbose=0)
    for a, b in zip(short, long):
        np.testing.assert_allclose(a, b, atol=1e-6)
    sequential = keras.Sequential([keras.layers.Embedding(20, 5, mask_zero=True),
                                   keras.layers.Dense(6), keras.layers.Dropout(0.2),
                                   keras.layers.SimpleRNN(3)])
    np.testing.assert_allclose(sequential.predict(tokens, verbose=0),
                               sequential.predict(padded, verbose=0), atol=1e-6)


def test_pre_padding_does_not_change_the_prediction_of_a_trained_model():
    """A masked variable-length model: sequences padded in front (pad_sequences' default) or
    behind, or not at all, give the same prediction."""
    keras.backend.clear_session()
    rng = np.random.default_rng(4)
    lengths = [3, 7, 5, 2]
    sequences = [list(rng.integers(1, 30, size=n)) for n in lengths]
    model = keras.Sequential([keras.layers.Embedding(30, 6, mask_zero=True),
                              keras.layers.LSTM(5, return_sequences=True),
                              keras.layers.GRU(4), keras.layers.Dense(1)])
    pre = keras.preprocessing.sequence.pad_sequences(sequences, maxlen=9)
    post = keras.preprocessing.sequence.pad_sequences(sequences, maxlen=9, padding="post")
    model.compile("adam", "mse")
    model.fit(pre, rng.standard_normal((4, 1)), epochs=2, verbose=0)
    by_pre, by_post = model.predict(pre, verbose=0), model.predict(post, verbose=0)
    np.testing.assert_allclose(by_pre, by_post, atol=1e-5)
    for i, seq in enumerate(sequences):
        alone = model.predict(np.array([seq]), verbose=0)
        np.testing.assert_allclose(alone[0], by_pre[i], atol=1e-5)
