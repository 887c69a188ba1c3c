"""Regressions found by the randomized file-interoperability fuzzer (recipes in
/work/peer_recipes/filefuzz/, outside the repository): each case is a small model reduced from
a failing seed, with the file the real library wrote for it (tests/fixtures/filefuzz)."""
import json
import zipfile

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from fixtures.cross_reader.spelling import as_keras3_spelling


def keras_config(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def layer_entries(config):
    return {entry["config"]["name"]: entry for entry in config["config"]["layers"]}


def wrapped_layers(keras):
    """The model of make_fixtures.py: layers nested in TimeDistributed and Bidirectional."""
    L = keras.layers
    x = inputs = keras.Input((3, 4, 4, 1), name="frames")
    x = L.TimeDistributed(L.BatchNormalization())(x)
    x = L.TimeDistributed(L.Flatten())(x)
    x = L.Bidirectional(L.LSTM(2, return_sequences=True),
                        backward_layer=L.GRU(2, return_sequences=True, go_backwards=True))(x)
    x = L.TimeDistributed(L.Conv1DTranspose(2, 3))(L.Reshape((3, 4, 1))(x))
    x = L.TimeDistributed(L.SpatialDropout1D(0.3))(x)
    x = L.TimeDistributed(L.LeakyReLU())(x)
    return keras.Model(inputs, L.Flatten()(x))


def test_wrapped_layer_configs_are_written_in_keras3_form(tmp_path):
    """Fuzz seed 12: the layer inside a wrapper kept its Keras 2 config in a .keras file
    (BatchNormalization's axis as a list, SpatialDropout's noise_shape, Conv1DTranspose's
    groups, LeakyReLU's alpha), which Keras 3 refuses to load."""
    keras3 = layer_entries(keras_config(fixture_path("filefuzz", "wrapped_layers.k3.keras")))
    model = wrapped_layers(keras)
    path = str(tmp_path / "wrapped.keras")
    model.save(path)
    ours = layer_entries(as_keras3_spelling(keras_config(path)))
    assert sorted(ours) == sorted(keras3)
    checked = 0
    for name, entry in ours.items():
        for key in ("layer", "backward_layer"):
            if key not in entry["config"]:
                continue
            nested, reference = entry["config"][key]["config"], keras3[name]["config"][key]
            reference = reference["config"]
            # (Keras 3's recurrent cells still accept the `implementation` they do not write)
            extra = set(nested) - set(reference) - {"implementation"}
            assert not extra, (name, key, extra)
            assert nested["dtype"] == reference["dtype"] or \
                nested["dtype"]["config"]["name"] == "float32"
            assert isinstance(nested["dtype"], dict)
            for argument in ("negative_slope", "filters"):
                if argument in reference:
                    assert nested[argument] == pytest.approx(reference[argument]), (name, argument)
            if "axis" in reference:       # Keras 3 takes one int (we write the built, positive one)
                assert nested["axis"] in (3, reference["axis"])
            checked += 1
    assert checked == 7


def test_loads_keras3_file_of_wrapped_layers():
    expected = np.load(fixture_path("filefuzz", "wrapped_layers.npz"))
    model = keras.models.load_model(fixture_path("filefuzz", "wrapped_layers.k3.keras"))
    prediction = model.predict(expected["x"], verbose=0)
    np.testing.assert_allclose(prediction, expected["pred"], rtol=1e-5, atol=2e-6)


def test_loads_keras3_dense_attention_with_its_seed_argument():
    """Fuzz seeds 38, 155, 161: Keras 3 writes `seed: null` in Attention and
    AdditiveAttention configs; minikeras refused the keyword."""
    expected = np.load(fixture_path("filefuzz", "dense_attention.npz"))
    model = keras.models.load_model(fixture_path("filefuzz", "dense_attention.k3.keras"))
    prediction = model.predict(expected["x"], verbose=0)
    np.testing.assert_allclose(prediction, expected["pred"], rtol=1e-5, atol=2e-6)


def test_dense_attention_seed_round_trips():
    layer = keras.layers.Attention(dropout=0.5, seed=3)
    assert keras.layers.Attention.from_config(layer.get_config()).seed == 3
    assert "seed" not in keras.layers.AdditiveAttention().get_config()   # as tf.keras writes
